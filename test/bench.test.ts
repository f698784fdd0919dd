import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { bench, formatBench } from '../src/bench/bench.js';
import { useTestBackend } from './helpers.js';

before(useTestBackend);

test('bench times training steps and lists the kernels of one step', async () => {
  const backend = { name: 'wasm' as const, device: 'wasm (test)', skipped: [], hooks: {} };
  const r = await bench({ arch: 'd2l', imageSize: 16, width: 4, latent: 8, batchSize: 4, steps: 2, windows: 3, warmup: 1, topKernels: 500 }, backend);
  assert.equal(r.windowsMsPerStep.length, 3);
  assert.ok(r.windowsMsPerStep.includes(r.msPerStep), 'the median is one of the windows');
  assert.ok(Math.abs(r.imagesPerSecond - (1000 * 4) / r.msPerStep) < 1e-9);
  assert.ok(r.kernels && r.kernels.length >= 10, `${r.kernels?.length} kernels`); // all of them: topKernels is above their number
  assert.ok(r.kernels.every((k, i) => i === 0 || r.kernels![i - 1].ms >= k.ms), 'largest first');
  // a training step runs convolutions and their gradients, and batch norm (on wasm our fused kernel and its gradient)
  const names = r.kernels.map((k) => k.kernel).join(' ');
  for (const kernel of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DcganTrainingBatchNorm\\b', 'DcganTrainingBatchNormGrad']) {
    assert.match(names, new RegExp(kernel));
  }
  assert.match(formatBench(r), /img\/s/);
  assert.ok(r.kernels.every((k) => k.calls >= 1 && k.ms >= 0), names);
  assert.ok(!/__op\b/.test(names), `an op wrapper is listed beside its kernel: ${names}`);
});
