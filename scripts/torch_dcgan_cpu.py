"""d2l's DCGAN trained with PyTorch on the CPU, for speed beside `dcgan bench --backend wasm` (scripts/bench-threads.ts).
  usage: python3 torch_dcgan_cpu.py TORCH_DCGAN_PY IMAGE_SIZE WIDTH BATCH THREADS [STEPS] [WINDOWS]
The model comes from TORCH_DCGAN_PY (the GPU reference, shared/bench/torch_dcgan.py: d2l's G and D at 64x64 with
n_G = n_D = WIDTH, weights N(0, 0.02)); the step is its step — Adam(0.005, 0.5, 0.999), BCE on logits, one D update then
one G update per batch of random data — in fp32 on the CPU with THREADS intra-op threads. Prints the median of WINDOWS
windows of STEPS steps each, after a warm-up, in the format that file prints."""
import importlib.util, sys, time
import torch
import torch.nn as nn


def main(reference, image_size, width, batch, threads, steps=5, windows=3):
    if image_size != 64:
        sys.exit('torch_dcgan.py builds the 64x64 model only')
    spec = importlib.util.spec_from_file_location('torch_dcgan', reference)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    G, D = ref.nets(n=width)
    for w in list(G.parameters()) + list(D.parameters()):
        nn.init.normal_(w, 0, 0.02)
    loss = nn.BCEWithLogitsLoss(reduction='sum')
    oD = torch.optim.Adam(D.parameters(), lr=0.005, betas=(0.5, 0.999))
    oG = torch.optim.Adam(G.parameters(), lr=0.005, betas=(0.5, 0.999))
    X = torch.rand(batch, 3, image_size, image_size) * 2 - 1
    ones, zeros = torch.ones(batch), torch.zeros(batch)

    def step():
        Z = torch.randn(batch, 100, 1, 1)
        oD.zero_grad(set_to_none=True)
        fake = G(Z)
        lD = (loss(D(X).reshape(-1), ones) + loss(D(fake.detach()).reshape(-1), zeros)) / 2
        lD.backward(); oD.step()
        oG.zero_grad(set_to_none=True)
        lG = loss(D(G(Z)).reshape(-1), ones)
        lG.backward(); oG.step()

    for _ in range(2): step()
    ts = []
    for _ in range(windows):
        t = time.perf_counter()
        for _ in range(steps): step()
        ts.append((time.perf_counter() - t) / steps)
    med = sorted(ts)[len(ts) // 2]
    print(f"pytorch cpu  batch={batch:4d} threads={threads}: {batch/med:8.1f} img/s  {med*1e3:7.0f} ms/step  "
          f"(torch {torch.__version__}, windows {', '.join(f'{t*1e3:.0f}' for t in ts)} ms)", flush=True)


if __name__ == '__main__':
    a = sys.argv[1:]
    main(a[0], *[int(x) for x in a[1:]])
