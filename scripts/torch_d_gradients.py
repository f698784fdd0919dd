"""The discriminator's gradients in PyTorch, as the reference for scripts/compare-d-gradients.ts.
  usage: python3 torch_d_gradients.py DIR DTYPE        (DTYPE: float64, float32 or float32-unfused)
DIR holds manifest.json and the raw little-endian float32 files it names: the real and fake batches (NHWC) and D's
weights as tfjs keeps them (conv kernels HWIO, batch-norm gamma and beta). The model is d2l's discriminator
(Conv2d k4 s2 p1 without bias, BatchNorm2d eps 1e-5 in training mode, LeakyReLU 0.2; a k4 valid head); the loss is
d2l's update_D: (BCE-with-logits(D(X), 1) + BCE-with-logits(D(fake), 0)) / 2, each a mean over the batch.
float32-unfused writes batch norm as tfjs's layers do, as separate ops that autograd differentiates one by one (mean,
mean of squared deviations, normalise), instead of PyTorch's fused batch norm and its fused gradient.
Writes grad-DTYPE-NAME.f64 (the gradients in tfjs's layout, as float64) into DIR."""
import json, os, sys
import numpy as np
import torch
import torch.nn as nn


class UnfusedBatchNorm(nn.BatchNorm2d):
    """Training-mode batch norm as separate ops, as tfjs's layers compute it (tf.moments, then normalise)."""
    def forward(self, x):
        mean = x.mean((0, 2, 3), keepdim=True)
        var = ((x - mean) ** 2).mean((0, 2, 3), keepdim=True)
        return (x - mean) * self.weight.view(1, -1, 1, 1) / torch.sqrt(var + self.eps) + self.bias.view(1, -1, 1, 1)


def main(folder, dtype_name):
    dtype = {'float64': torch.float64, 'float32': torch.float32, 'float32-unfused': torch.float32}[dtype_name]
    BatchNorm = UnfusedBatchNorm if dtype_name.endswith('unfused') else nn.BatchNorm2d
    torch.set_num_threads(os.cpu_count() or 1)
    m = json.load(open(os.path.join(folder, 'manifest.json')))
    load = lambda name, shape: torch.from_numpy(
        np.fromfile(os.path.join(folder, name + '.f32'), dtype='<f4').reshape(shape).astype(np.float64)).to(dtype)
    n, s, c = m['batch'], m['imageSize'], m['channels']
    # NHWC → NCHW
    X = load('real', (n, s, s, c)).permute(0, 3, 1, 2).contiguous()
    F = load('fake', (n, s, s, c)).permute(0, 3, 1, 2).contiguous()
    layers, params = [], []
    for w in m['weights']:
        t = load(w['file'], w['shape'])
        if w['kind'] == 'conv':
            kh, kw, ci, co = w['shape']
            last = w['stride'] == 1
            conv = nn.Conv2d(ci, co, (kh, kw), stride=w['stride'], padding=0 if last else 1, bias=False)
            conv.weight = nn.Parameter(t.permute(3, 2, 0, 1).contiguous())  # HWIO → OIHW
            layers.append(conv)
            params.append((w['name'], conv.weight, lambda g: g.permute(2, 3, 1, 0)))
        elif w['kind'] == 'gamma':
            bn = BatchNorm(w['shape'][0], eps=1e-5)
            bn.weight = nn.Parameter(t)
            layers.append(bn)
            params.append((w['name'], bn.weight, lambda g: g))
        else:  # beta: the batch norm just added, then its activation
            bn = layers[-1]
            bn.bias = nn.Parameter(t)
            params.append((w['name'], bn.bias, lambda g: g))
            layers.append(nn.LeakyReLU(0.2))
    D = nn.Sequential(*layers).to(dtype).train()
    bce = nn.BCEWithLogitsLoss()
    real, fake = D(X).reshape(-1), D(F).reshape(-1)
    loss = (bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))) / 2
    loss.backward()
    for name, p, to_tfjs in params:
        to_tfjs(p.grad).contiguous().to(torch.float64).numpy().astype('<f8').tofile(
            os.path.join(folder, f'grad-{dtype_name}-{name.replace("/", "_")}.f64'))
    print(f'torch {torch.__version__} {dtype_name}: loss {loss.item():.9f}', flush=True)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
