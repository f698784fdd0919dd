// The wasm Conv2DBackpropFilter is checked against the cpu backend's kernel, which tfjs ships and tests itself.
// Inputs are plain Float32Arrays from a seeded PRNG so each backend builds its own tensors from the same numbers.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { forceFilterGradientPath, registerWasmConv2DBackpropFilter } from '../src/backend/wasm-conv2d-backprop-filter.js';
import {
  assertCountsBack, assertMatchesCpu, conv2dBackpropFilter, type ConvCase, convChain, dyShape, leakCounts, randoms,
  type Shape4, size,
} from './kernel-compare.js';

before(async () => {
  registerWasmConv2DBackpropFilter();
  assert.ok(await tf.setBackend('wasm'));
  await tf.ready();
});

test('registering twice is harmless', (t) => {
  // tfjs only warns when a kernel is registered again, so a warning is the sign the check was skipped.
  const warn = t.mock.method(console, 'warn', () => {});
  registerWasmConv2DBackpropFilter();
  registerWasmConv2DBackpropFilter();
  assert.equal(warn.mock.callCount(), 0);
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
});

const cases: ConvCase[] = [
  { name: 'k4 s2 same, 8×8, batch 1 (a discriminator layer)', x: [1, 8, 8, 3], filter: [4, 4, 3, 5], strides: 2, pad: 'same' },
  { name: 'k4 s2 same, odd 7×9, batch 3', x: [3, 7, 9, 2], filter: [4, 4, 2, 4], strides: 2, pad: 'same' },
  { name: 'k4 s1 valid, 7×9, batch 3, Cout 1 (the discriminator head)', x: [3, 7, 9, 2], filter: [4, 4, 2, 1], strides: 1, pad: 'valid' },
  { name: 'k3 s1 same, 7×9, batch 3', x: [3, 7, 9, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'same' },
  { name: 'k3 s2 same, 7×9, batch 1', x: [1, 7, 9, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { name: 'k3 s2 valid, 7×9, batch 1', x: [1, 7, 9, 4], filter: [3, 3, 4, 3], strides: 2, pad: 'valid' },
  { name: 'k1 s1 valid, 7×9, batch 3', x: [3, 7, 9, 3], filter: [1, 1, 3, 5], strides: 1, pad: 'valid' },
  { name: 'k1 s2 same, 7×9, batch 1 (same that pads nothing)', x: [1, 7, 9, 2], filter: [1, 1, 2, 3], strides: 2, pad: 'same' },
  { name: 'k3 s2 valid, 7×10, batch 3 (last input column unused)', x: [3, 7, 10, 2], filter: [3, 3, 2, 4], strides: 2, pad: 'valid' },
  { name: 'k1 s2 same, 8×9, batch 3 (last input row unused)', x: [3, 8, 9, 3], filter: [1, 1, 3, 2], strides: 2, pad: 'same' },
  { name: 'k3 strides [2,1] same, 7×9, batch 3', x: [3, 7, 9, 2], filter: [3, 3, 2, 3], strides: [2, 1], pad: 'same' },
  { name: 'k3 s2 explicit pad 1, 7×9, batch 3', x: [3, 7, 9, 2], filter: [3, 3, 2, 3], strides: 2, pad: 1 },
  {
    name: 'k3 s2 explicit uneven padding, 7×9, batch 1', x: [1, 7, 9, 2], filter: [3, 3, 2, 3], strides: 2,
    pad: [[0, 0], [1, 2], [2, 0], [0, 0]],
  },
  {
    name: 'k3 s2 pad 0 rounded up, 8×10 (window reaches past the input)', x: [1, 8, 10, 2], filter: [3, 3, 2, 3],
    strides: 2, pad: 0, dimRoundingMode: 'ceil',
  },
  // the direct kernel's blocks: pairs of input channels with 16 output channels, then 4, then 1; an odd channel alone
  { name: 'k4 s2 same, 9×8, batch 2, Ci 5, Co 21', x: [2, 9, 8, 5], filter: [4, 4, 5, 21], strides: 2, pad: 'same' },
  { name: 'k3 s1 same, 6×7, batch 2, Ci 4, Co 36', x: [2, 6, 7, 4], filter: [3, 3, 4, 36], strides: 1, pad: 'same' },
];

// Both ways of computing it: our direct kernel, and the transposes (our kernels) around XNNPACK's convolution.
for (const path of ['direct', 'xnnpack'] as const) {
  for (const c of cases) {
    test(`conv2dBackpropFilter matches cpu (${path}): ${c.name}`, async () => {
      const dy = dyShape(c.x, c.filter, c.strides, c.pad, c.dimRoundingMode);
      const xs = randoms(size(c.x), 1);
      const dys = randoms(size(dy), 2);
      forceFilterGradientPath(path);
      try {
        await assertMatchesCpu('wasm', () => [
          conv2dBackpropFilter(tf.tensor4d(xs, c.x), tf.tensor4d(dys, dy), c.filter, c.strides, c.pad, 'NHWC',
            c.dimRoundingMode),
        ]);
      } finally {
        forceFilterGradientPath('auto');
      }
    });
  }
}

test('filter gradients of a conv2d → conv2dTranspose chain match cpu', async () => {
  // A discriminator-style conv followed by a generator-style transposed conv; both filter gradients go through
  // Conv2DBackpropFilter (the transposed conv's via the gradient of Conv2DBackpropInput).
  const { xShape, w1Shape, w2Shape, outShape, xs, w1s, w2s, targets } = convChain(3, 3);
  await assertMatchesCpu('wasm', () => {
    const x = tf.tensor4d(xs, xShape);
    const target = tf.tensor4d(targets, outShape);
    const loss = (w1: tf.Tensor, w2: tf.Tensor) => {
      const h = tf.leakyRelu(tf.conv2d(x, w1 as tf.Tensor4D, 2, 'same'), 0.2);
      const y = tf.conv2dTranspose(h as tf.Tensor4D, w2 as tf.Tensor4D, outShape, 2, 'same');
      return tf.sum(tf.mul(tf.tanh(y), target));
    };
    return tf.grads(loss)([tf.tensor4d(w1s, w1Shape), tf.tensor4d(w2s, w2Shape)]);
  });
});

test('leaves no tensors or buffers behind and leaves its inputs intact', async () => {
  assert.ok(await tf.setBackend('wasm'));
  const xShape: Shape4 = [2, 7, 9, 3];
  const filter: Shape4 = [4, 4, 3, 5];
  const dy = dyShape(xShape, filter, 2, 'same');
  const xs = randoms(size(xShape), 7);
  const x = tf.tensor4d(xs, xShape);
  const dyT = tf.tensor4d(randoms(size(dy), 8), dy);

  const before = leakCounts();
  const dW = conv2dBackpropFilter(x, dyT, filter, 2, 'same');
  const after = leakCounts();
  assert.equal(after.numTensors, before.numTensors + 1);
  assert.equal(after.numDataBuffers, before.numDataBuffers + 1);
  assert.equal(after.dataIds, before.dataIds + 1);

  dW.dispose();
  assertCountsBack(before);
  assert.deepEqual(await x.data(), xs);
  tf.dispose([x, dyT]);
});

test('refuses NCHW with a clear message', async () => {
  assert.ok(await tf.setBackend('wasm'));
  const x = tf.zeros([1, 3, 8, 8]) as tf.Tensor4D;
  const dy = tf.zeros([1, 5, 4, 4]) as tf.Tensor4D;
  assert.throws(() => conv2dBackpropFilter(x, dy, [4, 4, 3, 5], 2, 'same', 'NCHW'), /NHWC only/);
  tf.dispose([x, dy]);
});
