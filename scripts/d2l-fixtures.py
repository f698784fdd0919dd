#!/usr/bin/python3
"""Reference numbers for test/d2l-fixtures.test.ts: two training steps of d2l's DCGAN, in PyTorch.

    apt-get install -y python3-torch          (Debian's PyTorch; not needed by CI, which reads the committed fixture)
    /usr/bin/python3 scripts/d2l-fixtures.py  (writes test/fixtures/d2l/d2l.json and d2l.bin)

The model, loss, optimizer and update_D/update_G below are d2l's code ("Dive into Deep Learning", chapters "Generative
Adversarial Networks" and "Deep Convolutional Generative Adversarial Networks", PyTorch version), verbatim; only the
sizes are small: 16x16 images, n_G = n_D = 8, latent 16, batch 8 — the topology of src/model/dcgan.ts at
--image-size 16 --width 8 (4x4 -> 8x8 -> 16x16 in G, 16x16 -> 8x8 -> 4x4 -> 1 in D).

Everything is stored in PyTorch's own layouts (NCHW images, Conv2d weights [out, in, kh, kw], ConvTranspose2d weights
[in, out, kh, kw]); the test maps them to tfjs's. d2l.bin holds little-endian float32 arrays back to back; d2l.json
names each one with its shape and offset, and holds the scalars.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from torch import nn


# ---- d2l's code ------------------------------------------------------------------------------------------------------

class G_block(nn.Module):
    def __init__(self, out_channels, in_channels=3, kernel_size=4, strides=2,
                 padding=1, **kwargs):
        super(G_block, self).__init__(**kwargs)
        self.conv2d_trans = nn.ConvTranspose2d(in_channels, out_channels,
                                kernel_size, strides, padding, bias=False)
        self.batch_norm = nn.BatchNorm2d(out_channels)
        self.activation = nn.ReLU()

    def forward(self, X):
        return self.activation(self.batch_norm(self.conv2d_trans(X)))


class D_block(nn.Module):
    def __init__(self, out_channels, in_channels=3, kernel_size=4, strides=2,
                padding=1, alpha=0.2, **kwargs):
        super(D_block, self).__init__(**kwargs)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size,
                                strides, padding, bias=False)
        self.batch_norm = nn.BatchNorm2d(out_channels)
        self.activation = nn.LeakyReLU(alpha, inplace=True)

    def forward(self, X):
        return self.activation(self.batch_norm(self.conv2d(X)))


def update_D(X, Z, net_D, net_G, loss, trainer_D):
    """Update discriminator."""
    batch_size = X.shape[0]
    ones = torch.ones((batch_size,), device=X.device)
    zeros = torch.zeros((batch_size,), device=X.device)
    trainer_D.zero_grad()
    real_Y = net_D(X)
    fake_X = net_G(Z)
    # Do not need to compute gradient for `net_G`, detach it from
    # computing gradients.
    fake_Y = net_D(fake_X.detach())
    loss_D = (loss(real_Y, ones.reshape(real_Y.shape)) +
              loss(fake_Y, zeros.reshape(fake_Y.shape))) / 2
    loss_D.backward()
    trainer_D.step()
    return loss_D


def update_G(Z, net_D, net_G, loss, trainer_G):
    """Update generator."""
    batch_size = Z.shape[0]
    ones = torch.ones((batch_size,), device=Z.device)
    trainer_G.zero_grad()
    # Recompute `fake_Y` in `update_D` to save memory
    fake_X = net_G(Z)
    fake_Y = net_D(fake_X)
    loss_G = loss(fake_Y, ones.reshape(fake_Y.shape))
    loss_G.backward()
    trainer_G.step()
    return loss_G


# ---- the fixture -----------------------------------------------------------------------------------------------------

IMAGE_SIZE, WIDTH, LATENT, CHANNELS, BATCH, STEPS = 16, 8, 16, 3, 8, 2
LR, BETAS = 0.005, [0.5, 0.999]  # d2l's lr and betas


def build():
    n_G = n_D = WIDTH
    # d2l's net_G and net_D with one middle block instead of three (16x16 instead of 64x64)
    net_G = nn.Sequential(
        G_block(in_channels=LATENT, out_channels=n_G*2, strides=1, padding=0),  # Output: (8 * 2, 4, 4)
        G_block(in_channels=n_G*2, out_channels=n_G),  # Output: (8, 8, 8)
        nn.ConvTranspose2d(in_channels=n_G, out_channels=CHANNELS, kernel_size=4, stride=2, padding=1, bias=False),
        nn.Tanh())  # Output: (3, 16, 16)
    net_D = nn.Sequential(
        D_block(n_D),  # Output: (8, 8, 8)
        D_block(in_channels=n_D, out_channels=n_D*2),  # Output: (8 * 2, 4, 4)
        nn.Conv2d(in_channels=n_D*2, out_channels=1, kernel_size=4, bias=False))  # Output: (1, 1, 1)
    return net_G, net_D


class Writer:
    def __init__(self):
        self.chunks, self.arrays, self.offset = [], [], 0

    def add(self, name, tensor):
        a = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype='<f4')
        self.arrays.append({'name': name, 'shape': list(a.shape), 'offset': self.offset})
        self.chunks.append(a.tobytes())
        self.offset += a.nbytes

    def state(self, prefix, net):
        """Parameters and batch-norm running statistics, in state_dict order."""
        for name, t in net.state_dict().items():
            if not name.endswith('num_batches_tracked'):
                self.add(f'{prefix}.{name}', t)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seed', type=int, default=0)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument('--out', default=os.path.relpath(os.path.join(here, '..', 'test', 'fixtures', 'd2l')))
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # deterministic CPU: one thread, deterministic algorithms only
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)

    net_G, net_D = build()
    # d2l's train(): the loss, the initialisation of every parameter (batch norm's too) and the optimizers
    loss = nn.BCEWithLogitsLoss(reduction='sum')
    for w in net_D.parameters():
        nn.init.normal_(w, 0, 0.02)
    for w in net_G.parameters():
        nn.init.normal_(w, 0, 0.02)
    trainer_hp = {'lr': LR, 'betas': BETAS}
    trainer_D = torch.optim.Adam(net_D.parameters(), **trainer_hp)
    trainer_G = torch.optim.Adam(net_G.parameters(), **trainer_hp)

    # A real batch as d2l's data loader gives it ([-1, 1], NCHW), and the noise as d2l's train() draws it.
    X = torch.rand(STEPS, BATCH, CHANNELS, IMAGE_SIZE, IMAGE_SIZE) * 2 - 1
    Z = torch.normal(0, 1, size=(STEPS, BATCH, LATENT, 1, 1))

    out = Writer()
    out.state('initial.G', net_G)
    out.state('initial.D', net_D)
    for s in range(STEPS):
        out.add(f'X.{s}', X[s])
        out.add(f'Z.{s}', Z[s])

    # Forward hooks see what update_D and update_G compute, without changing a line of them.
    seen = {'G': [], 'D': []}
    hooks = [net.register_forward_hook(lambda m, i, o, key=key: seen[key].append(o.detach().clone()))
             for key, net in (('G', net_G), ('D', net_D))]

    steps = []
    for s in range(STEPS):
        seen['G'].clear()
        seen['D'].clear()
        loss_D = update_D(X[s], Z[s], net_D, net_G, loss, trainer_D)
        # D's gradients now, before update_G adds its own to them (update_G zeroes only G's)
        grads_D = [p.grad.detach().clone() for p in net_D.parameters()]
        loss_G = update_G(Z[s], net_D, net_G, loss, trainer_G)
        grads_G = [p.grad.detach().clone() for p in net_G.parameters()]
        real_Y, fake_Y = seen['D'][0], seen['D'][1]  # update_D's two forward passes of D
        out.add(f'step{s}.fake_X', seen['G'][0])  # update_D's G(Z)
        out.add(f'step{s}.real_Y', real_Y.reshape(BATCH))
        out.add(f'step{s}.fake_Y', fake_Y.reshape(BATCH))
        for key, net, grads, trainer in (('G', net_G, grads_G, trainer_G), ('D', net_D, grads_D, trainer_D)):
            names = [n for n, _ in net.named_parameters()]
            for name, g in zip(names, grads):
                out.add(f'step{s}.{key}.grad.{name}', g)
            out.state(f'step{s}.{key}', net)  # weights and running statistics after the step
            for name, p in zip(names, net.parameters()):
                state = trainer.state[p]
                out.add(f'step{s}.{key}.exp_avg.{name}', state['exp_avg'])
                out.add(f'step{s}.{key}.exp_avg_sq.{name}', state['exp_avg_sq'])
        adam_steps = {key: sorted({int(trainer.state[p]['step']) for p in net.parameters()})
                      for key, net, trainer in (('G', net_G, trainer_G), ('D', net_D, trainer_D))}
        steps.append({
            'loss_D_sum': loss_D.item(),
            'loss_G_sum': loss_G.item(),
            # as d2l reports them: metric[0] / metric[2], the summed losses over the number of examples
            'loss_D': loss_D.item() / BATCH,
            'loss_G': loss_G.item() / BATCH,
            'D_x': torch.sigmoid(real_Y).mean().item(),
            'D_G_z': torch.sigmoid(fake_Y).mean().item(),
            'adam_step': {key: v[0] for key, v in adam_steps.items() if len(v) == 1},
        })
    for h in hooks:
        h.remove()

    bn = next(m for m in net_G.modules() if isinstance(m, nn.BatchNorm2d))
    manifest = {
        'generated_by': 'scripts/d2l-fixtures.py --seed %d' % args.seed,
        'torch': torch.__version__,
        'python': sys.version.split()[0],
        'shape': {'imageSize': IMAGE_SIZE, 'width': WIDTH, 'latent': LATENT, 'channels': CHANNELS, 'batch': BATCH},
        'adam': {'lr': LR, 'beta1': BETAS[0], 'beta2': BETAS[1], 'eps': trainer_D.defaults['eps']},
        'batch_norm': {'momentum': bn.momentum, 'eps': bn.eps},
        'loss_reduction': loss.reduction,
        'parameters': {'G': [n for n, _ in net_G.named_parameters()], 'D': [n for n, _ in net_D.named_parameters()]},
        'buffers': {'G': [n for n, _ in net_G.named_buffers() if 'num_batches' not in n],
                    'D': [n for n, _ in net_D.named_buffers() if 'num_batches' not in n]},
        'steps': steps,
        'arrays': out.arrays,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'd2l.bin'), 'wb') as f:
        f.write(b''.join(out.chunks))
    with open(os.path.join(args.out, 'd2l.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    print(f'{args.out}: {len(out.arrays)} arrays, {out.offset} bytes; '
          + '; '.join(f"step {s + 1}: loss_D {r['loss_D']:.6f} loss_G {r['loss_G']:.6f} D(x) {r['D_x']:.6f} "
                      f"D(G(z)) {r['D_G_z']:.6f}" for s, r in enumerate(steps)), file=sys.stderr)


if __name__ == '__main__':
    main()
