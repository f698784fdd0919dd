// The wasm Conv2DBackpropFilter is checked against the cpu backend's kernel, which tfjs ships and tests itself.
// Inputs are plain Float32Arrays from a seeded PRNG so each backend builds its own tensors from the same numbers.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmConv2DBackpropFilter } from '../src/backend/wasm-conv2d-backprop-filter.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

function randoms(n: number, seed: number): Float32Array {
  // mulberry32
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1;
  }
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

// tfjs does not export its conv2dBackpropFilter op, so the kernel is run the way that op would run it.
function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, strides: number | [number, number],
  pad: Pad, dataFormat: 'NHWC' | 'NCHW' = 'NHWC', dimRoundingMode?: 'floor' | 'round' | 'ceil'): tf.Tensor4D {
  const attrs = { strides, pad, dataFormat, dimRoundingMode, filterShape };
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

async function on(backend: 'wasm' | 'cpu', f: () => tf.Tensor[]): Promise<{ shape: number[]; values: Float32Array }[]> {
  assert.ok(await tf.setBackend(backend));
  const outs = tf.tidy(f);
  const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  const result = outs.map((t, i) => ({ shape: t.shape, values: values[i] }));
  tf.dispose(outs);
  return result;
}

async function assertSameOnWasmAndCpu(f: () => tf.Tensor[]): Promise<void> {
  const wasm = await on('wasm', f);
  const cpu = await on('cpu', f);
  assert.equal(wasm.length, cpu.length);
  for (let i = 0; i < cpu.length; i++) {
    assert.deepEqual(wasm[i].shape, cpu[i].shape);
    let maxAbs = 0;
    let maxDiff = 0;
    for (let j = 0; j < cpu[i].values.length; j++) {
      maxAbs = Math.max(maxAbs, Math.abs(cpu[i].values[j]));
      maxDiff = Math.max(maxDiff, Math.abs(cpu[i].values[j] - wasm[i].values[j]));
    }
    assert.ok(maxAbs > 0, `output ${i} is all zeros, so it proves nothing`);
    assert.ok(maxDiff / maxAbs < 1e-4, `output ${i}: max |wasm - cpu| = ${maxDiff}, max |cpu| = ${maxAbs}`);
  }
}

function dyShape(xShape: Shape4, filterShape: Shape4, strides: number | [number, number], pad: Pad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil'): Shape4 {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode);
  return info.outShape;
}

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

const cases: {
  name: string; x: Shape4; filter: Shape4; strides: number | [number, number]; pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}[] = [
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
];

for (const c of cases) {
  test(`conv2dBackpropFilter matches cpu: ${c.name}`, async () => {
    const dy = dyShape(c.x, c.filter, c.strides, c.pad, c.dimRoundingMode);
    const xs = randoms(size(c.x), 1);
    const dys = randoms(size(dy), 2);
    await assertSameOnWasmAndCpu(() => [
      conv2dBackpropFilter(tf.tensor4d(xs, c.x), tf.tensor4d(dys, dy), c.filter, c.strides, c.pad, 'NHWC',
        c.dimRoundingMode),
    ]);
  });
}

test('filter gradients of a conv2d → conv2dTranspose chain match cpu', async () => {
  // A discriminator-style conv followed by a generator-style transposed conv; both filter gradients go through
  // Conv2DBackpropFilter (the transposed conv's via the gradient of Conv2DBackpropInput).
  const xShape: Shape4 = [3, 9, 7, 3];
  const w1Shape: Shape4 = [4, 4, 3, 6];
  const w2Shape: Shape4 = [4, 4, 2, 6];
  const outShape: Shape4 = [3, 10, 8, 2];
  const xs = randoms(size(xShape), 3);
  const w1s = randoms(size(w1Shape), 4);
  const w2s = randoms(size(w2Shape), 5);
  const targets = randoms(size(outShape), 6);
  await assertSameOnWasmAndCpu(() => {
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
  const backend = tf.backend();

  const before = { ...tf.memory(), dataIds: backend.numDataIds() };
  const dW = conv2dBackpropFilter(x, dyT, filter, 2, 'same');
  const after = { ...tf.memory(), dataIds: backend.numDataIds() };
  assert.equal(after.numTensors, before.numTensors + 1);
  assert.equal(after.numDataBuffers, before.numDataBuffers + 1);
  assert.equal(after.dataIds, before.dataIds + 1);

  dW.dispose();
  assert.equal(tf.memory().numTensors, before.numTensors);
  assert.equal(backend.numDataIds(), before.dataIds);
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
