import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { bench, formatBench } from '../src/bench/bench.js';
import { useTestBackend } from './helpers.js';

before(useTestBackend);

test('bench times training steps and lists the kernels of one step', async () => {
  const backend = { name: 'wasm' as const, device: 'wasm (test)', skipped: [], hooks: {} };
  const r = await bench({ arch: 'd2l', imageSize: 16, width: 4, latent: 8, batchSize: 4, steps: 2, windows: 3, warmup: 1, warmupSeconds: 0, topKernels: 500 }, backend);
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

test('the warm-up runs at least --warmup steps, and on until --warmup-seconds have passed', async () => {
  const backend = { name: 'wasm' as const, device: 'wasm (test)', skipped: [], hooks: {} };
  const options = { arch: 'd2l' as const, imageSize: 8, width: 4, latent: 4, batchSize: 2, steps: 1, windows: 1, topKernels: 0 };
  const counted = await bench({ ...options, warmup: 2, warmupSeconds: 0 }, backend);
  assert.equal(counted.warmupSteps, 2);
  const timed = await bench({ ...options, warmup: 0, warmupSeconds: 0.3 }, backend);
  assert.ok(timed.warmupSeconds >= 0.3, `${timed.warmupSeconds} s`);
  assert.ok(timed.warmupSteps >= 1, `${timed.warmupSteps} steps`);
  assert.match(formatBench(timed), new RegExp(`after ${timed.warmupSteps} warm-up steps, \\d+\\.\\d s`));
});
