// The memory estimate that refuses a --batch-size or --width far beyond a backend's memory before any work.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { architecture, ARCH_NAMES } from '../src/model/architectures.js';
import { activationsPerImageOf, buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { footprint, memoryProblem } from '../src/train/memory.js';
import { useTestBackend } from './helpers.js';

before(useTestBackend);

const WASM_BUDGET = 128 * 774_346; // src/backend/index.ts: d2l at 64×64, width 64 trains at batch 128

test('the footprint, extrapolated from tiny models, equals that of the model built at the real width', () => {
  for (const name of ARCH_NAMES) {
    const arch = architecture(name);
    for (const imageSize of [16, 32, 64]) {
      if (!(Array.isArray(arch.imageSizes) ? arch.imageSizes.includes(imageSize) : (arch.imageSizes as (s: number) => boolean)(imageSize))) continue;
      for (const width of [8, 24, 64]) {
        const shape = { imageSize, width, latent: 100, channels: 3 as const, classes: 0 };
        const f = footprint(arch, shape);
        assert.equal(f.perImage, activationsPerImageOf(arch, shape), `${name} ${imageSize} px, width ${width}`);
        const G = buildGenerator(arch, shape, 0);
        const D = buildDiscriminator(arch, shape, 0);
        const sizes = [...G.weights, ...D.weights].map((w) => w.shape.reduce<number>((p, d) => p * (d ?? 1), 1));
        assert.equal(f.parameters, G.countParams() + D.countParams(), `${name} ${imageSize} px, width ${width}: parameters`);
        assert.equal(f.largestParameter, Math.max(...sizes));
        G.dispose();
        D.dispose();
      }
    }
  }
});

test('d2l at 64×64, width 64: sizes counted by hand (G 3.58 M, D 2.77 M parameters with batch norm statistics)', () => {
  const f = footprint(architecture('d2l'), { imageSize: 64, width: 64, latent: 100, channels: 3, classes: 0 });
  assert.equal(f.perImage, 774_346);
  assert.equal(f.largestPerImage, 64 * 32 * 32);
  // G: 100·512·16 + 512·256·16 + 256·128·16 + 128·64·16 + 64·3·16 weights, 4 numbers per batch-norm channel
  const g = 16 * (100 * 512 + 512 * 256 + 256 * 128 + 128 * 64 + 64 * 3) + 4 * (512 + 256 + 128 + 64);
  const d = 16 * (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512 + 512) + 4 * (64 + 128 + 256 + 512);
  assert.equal(f.parameters, g + d);
});

test('wasm: batch 256 at d2l 64×64 (measured to abort) is refused with the estimate and the batch to try; 128 is not', () => {
  const f = footprint(architecture('d2l'), { imageSize: 64, width: 64, latent: 100, channels: 3, classes: 0 });
  const hooks = { activationBudget: WASM_BUDGET };
  assert.equal(memoryProblem(hooks, 'wasm', f, 128, '64×64, width 64'), undefined);
  const refused = memoryProblem(hooks, 'wasm', f, 256, '64×64, width 64')!;
  assert.match(refused, /^--batch-size 256 does not fit in memory on wasm: a step holds 774,346 activation floats per image .* × 256 = 756 MB.*try --batch-size 128$/);
});

test('a width far beyond memory is refused for its weights, without building it', () => {
  const started = performance.now();
  const f = footprint(architecture('d2l'), { imageSize: 64, width: 4096, latent: 100, channels: 3, classes: 0 });
  assert.ok(performance.now() - started < 20_000);
  assert.match(memoryProblem({ activationBudget: WASM_BUDGET }, 'wasm', f, 1, '64×64, width 4096')!, /width 4096 does not fit in memory on wasm: .* parameters × 16 bytes .* try a smaller --width/);
});

test('webgpu: the largest activation against the adapter\'s buffer limit (lavapipe: 128 MiB)', () => {
  const f = footprint(architecture('d2l'), { imageSize: 64, width: 64, latent: 100, channels: 3, classes: 0 });
  const hooks = { maxTensorBytes: 128 * 1024 ** 2 };
  assert.equal(memoryProblem(hooks, 'webgpu', f, 512, '64×64, width 64'), undefined); // 65,536 floats × 512 = 128 MiB
  assert.match(memoryProblem(hooks, 'webgpu', f, 1024, '64×64, width 64')!, /--batch-size 1024 does not fit the GPU: .* 256 MB for the batch.*128 MB; try --batch-size 512$/);
  assert.match(memoryProblem({ maxTensorBytes: 2 ** 40 }, 'webgpu', f, 2 ** 20, '64×64, width 64')!, /more than any GPU's memory/);
});

test('webgpu: weights alone past any GPU\'s memory are refused, whatever the activations (parameters count in the total)', () => {
  // d2l at 16×16 (two blocks) and width 16,000: ~1.6e10 parameters × 16 bytes ≈ 260 GB, more than the 192 GB ceiling,
  // while one image's activations are a few MB and no single weight passes a 1 TB buffer limit
  const f = footprint(architecture('d2l'), { imageSize: 16, width: 16_000, latent: 100, channels: 3, classes: 0 });
  assert.ok(16 * f.parameters > 192 * 2 ** 30 && 8 * f.perImage < 2 ** 30, `parameters ${f.parameters}, activations ${f.perImage}`);
  const refused = memoryProblem({ maxTensorBytes: 2 ** 40 }, 'webgpu', f, 1, '16×16, width 16000');
  assert.match(refused ?? '', /^--batch-size 1 does not fit the GPU: .* more than any GPU's memory; try a smaller --batch-size or --width$/);
});
