import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { bench, formatBench } from '../src/bench/bench.js';
import { useTestBackend } from './helpers.js';

before(useTestBackend);

test('bench times training steps and lists the kernels of one step', async () => {
  const backend = { name: 'wasm' as const, device: 'wasm (test)', skipped: [] };
  const r = await bench({ imageSize: 16, width: 4, latent: 8, batchSize: 4, steps: 2, windows: 3, warmup: 1, topKernels: 5 }, backend);
  assert.equal(r.windowsMsPerStep.length, 3);
  assert.ok(r.windowsMsPerStep.includes(r.msPerStep), 'the median is one of the windows');
  assert.ok(Math.abs(r.imagesPerSecond - (1000 * 4) / r.msPerStep) < 1e-9);
  assert.ok(r.kernels && r.kernels.length === 5);
  assert.ok(r.kernels.every((k, i) => i === 0 || r.kernels![i - 1].ms >= k.ms), 'largest first');
  // a training step runs convolutions and their gradients
  const names = r.kernels.map((k) => k.kernel).join(' ');
  assert.match(formatBench(r), /img\/s/);
  assert.ok(r.kernels.every((k) => k.calls >= 1 && k.ms >= 0), names);
});
