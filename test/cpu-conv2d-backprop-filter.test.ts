// The cpu backend's Conv2DBackpropFilter (src/backend/cpu-conv2d-backprop-filter.ts) gives tfjs-backend-cpu's own
// kernel's results bit for bit — the same products summed in the same order — and a small case worked by hand.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { registerCpuConv2DBackpropFilter, unregisterCpuConv2DBackpropFilter } from '../src/backend/cpu-conv2d-backprop-filter.js';
import { initBackend } from '../src/backend/index.js';
import { type ConvCase, conv2dBackpropFilter, type DataFormat, dyShape, randoms, size } from './kernel-compare.js';

before(async () => {
  await initBackend('cpu');
});

/** dW on the cpu backend with ours registered or with tfjs's own kernel. */
function filterGradient(ours: boolean, c: ConvCase, xs: Float32Array, dys: Float32Array, format: DataFormat = 'NHWC'): Float32Array {
  if (ours) registerCpuConv2DBackpropFilter();
  else unregisterCpuConv2DBackpropFilter();
  try {
    const dy = dyShape(c.x, c.filter, c.strides, c.pad, c.dimRoundingMode, format);
    return tf.tidy(() => conv2dBackpropFilter(tf.tensor4d(xs, c.x), tf.tensor4d(dys, dy), c.filter, c.strides, c.pad, format,
      c.dimRoundingMode).dataSync() as Float32Array);
  } finally {
    registerCpuConv2DBackpropFilter();
  }
}

test('initBackend("cpu") puts ours in place of tfjs-backend-cpu\'s kernel', () => {
  const ours = tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc;
  unregisterCpuConv2DBackpropFilter();
  const theirs = tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc;
  registerCpuConv2DBackpropFilter();
  assert.notEqual(ours, theirs);
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc, ours);
});

test('worked by hand: 3×3 input, 2×2 filter, valid, stride 1', () => {
  // dW[i][j] = Σ_{r,c} x[i + r][j + c]·dy[r][c]; with dy = [[1, 0], [0, 1]] that is x[i][j] + x[i + 1][j + 1]
  const c: ConvCase = { name: 'hand', x: [1, 3, 3, 1], filter: [2, 2, 1, 1], strides: 1, pad: 'valid' };
  const dW = filterGradient(true, c, Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), Float32Array.from([1, 0, 0, 1]));
  assert.deepEqual([...dW], [1 + 5, 2 + 6, 4 + 8, 5 + 9]);
});

const cases: ConvCase[] = [
  // keras28's discriminator (5×5, stride 2, same: 28 → 14 → 7), its channels cut down 8×
  { name: 'keras28 d1: k5 s2 same, 14×14 → 7×7, batch 2, 8 → 16', x: [2, 14, 14, 8], filter: [5, 5, 8, 16], strides: 2, pad: 'same' },
  { name: 'keras28 d0: k5 s2 same, 28×28 → 14×14, batch 2, 1 → 16', x: [2, 28, 28, 1], filter: [5, 5, 1, 16], strides: 2, pad: 'same' },
  { name: 'k4 s2 same, odd 7×9, batch 3', x: [3, 7, 9, 2], filter: [4, 4, 2, 4], strides: 2, pad: 'same' },
  { name: 'k4 s1 valid, 7×9, batch 3, Cout 1 (a discriminator head)', x: [3, 7, 9, 2], filter: [4, 4, 2, 1], strides: 1, pad: 'valid' },
  { name: 'k3 s1 same, 7×9, batch 2', x: [2, 7, 9, 3], filter: [3, 3, 3, 5], strides: 1, pad: 'same' },
  { name: 'k3 strides [2,1] same, 7×9', x: [2, 7, 9, 2], filter: [3, 3, 2, 3], strides: [2, 1], pad: 'same' },
  { name: 'k3 s2 explicit uneven padding, 7×9', x: [1, 7, 9, 2], filter: [3, 3, 2, 3], strides: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { name: 'k3 s2 pad 0 rounded up, 8×10', x: [1, 8, 10, 2], filter: [3, 3, 2, 3], strides: 2, pad: 0, dimRoundingMode: 'ceil' },
];

for (const c of cases) {
  test(`bit for bit tfjs-backend-cpu's: ${c.name}`, () => {
    const dy = dyShape(c.x, c.filter, c.strides, c.pad, c.dimRoundingMode);
    // large and small values mixed, so that a change of summation order or of rounding would show
    const xs = randoms(size(c.x), 1).map((v, i) => (i % 7 === 0 ? v * 1000 : v));
    const dys = randoms(size(dy), 2);
    const theirs = filterGradient(false, c, xs, dys);
    const ours = filterGradient(true, c, xs, dys);
    assert.equal(ours.length, size(c.filter));
    assert.ok(Buffer.from(ours.buffer).equals(Buffer.from(theirs.buffer)), `${c.name}: not the same bits`);
  });
}

test('ours does the work: tfjs-backend-cpu\'s kernel is called for NCHW only', (t) => {
  // the registry hands back the very config object that ours falls back to, so a spy on it sees every fallback
  unregisterCpuConv2DBackpropFilter();
  const theirs = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;
  registerCpuConv2DBackpropFilter();
  const spy = t.mock.method(theirs, 'kernelFunc');
  const nhwc: ConvCase = { name: 'nhwc', x: [2, 7, 9, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same' };
  filterGradient(true, nhwc, randoms(size(nhwc.x), 5), randoms(size(dyShape(nhwc.x, nhwc.filter, 2, 'same')), 6));
  assert.equal(spy.mock.callCount(), 0, 'NHWC float32 went to tfjs\'s kernel');
  const nchw: ConvCase = { name: 'nchw', x: [2, 3, 7, 9], filter: [3, 3, 3, 4], strides: 2, pad: 'same' };
  filterGradient(true, nchw, randoms(size(nchw.x), 5), randoms(size(dyShape(nchw.x, nchw.filter, 2, 'same', undefined, 'NCHW')), 6), 'NCHW');
  assert.equal(spy.mock.callCount(), 1);
});

test('NCHW goes to tfjs-backend-cpu\'s kernel, with its results', () => {
  const c: ConvCase = { name: 'nchw', x: [2, 3, 7, 9], filter: [3, 3, 3, 4], strides: 2, pad: 'same' };
  const dy = dyShape(c.x, c.filter, c.strides, c.pad, undefined, 'NCHW');
  const xs = randoms(size(c.x), 3);
  const dys = randoms(size(dy), 4);
  assert.deepEqual(filterGradient(true, c, xs, dys, 'NCHW'), filterGradient(false, c, xs, dys, 'NCHW'));
});
