// Our Mean gradient against tfjs-core's own, bit for bit, on the cpu and wasm backends.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerMeanGradient } from '../src/backend/mean-grad.js';
import { randoms, size } from './kernel-compare.js';

let original: tf.GradConfig, ours: tf.GradConfig;
before(async () => {
  original = tf.getGradient('Mean');
  registerMeanGradient();
  ours = tf.getGradient('Mean');
  assert.notEqual(ours.gradFunc, original.gradFunc);
  await tf.ready();
});

const cases: { shape: number[]; axis?: number | number[]; keepDims?: boolean }[] = [
  { shape: [64, 8, 8, 16], axis: [0, 1, 2] }, // batch norm's mean
  { shape: [64, 8, 8, 16], axis: [0, 1, 2], keepDims: true },
  { shape: [7, 5], axis: 1 },
  { shape: [7, 5], axis: -2 },
  { shape: [3, 4, 5] }, // every axis: the loss
  { shape: [2, 3, 4], axis: [2, 0] },
];

/** d(Σ w·mean(x)) / dx on `backend` with `config` as Mean's gradient; w and x from a seeded PRNG, magnitudes varied. */
async function meanGrad(config: tf.GradConfig, backend: 'cpu' | 'wasm', c: (typeof cases)[number]) {
  assert.ok(await tf.setBackend(backend));
  tf.registerGradient(config);
  const xs = randoms(size(c.shape), 1);
  const g = tf.tidy(() => tf.grad((x: tf.Tensor) => {
    const m = tf.mean(x, c.axis, c.keepDims);
    return tf.sum(tf.mul(m, tf.tensor(randoms(m.size, 2).map((v, i) => v * 10 ** ((i % 5) - 2)), m.shape)));
  })(tf.tensor(xs, c.shape)));
  const values = (await g.data()) as Float32Array;
  const shape = g.shape;
  g.dispose();
  return { shape, values };
}

for (const c of cases) {
  test(`the Mean gradient is tfjs-core's bit for bit: [${c.shape}] axis ${JSON.stringify(c.axis)}${c.keepDims ? ', keepDims' : ''}`, async () => {
    try {
      for (const backend of ['cpu', 'wasm'] as const) {
        const expected = await meanGrad(original, backend, c);
        const actual = await meanGrad(ours, backend, c);
        assert.deepEqual(actual.shape, c.shape);
        assert.ok(expected.values.some((v) => v !== 0));
        assert.deepEqual(actual, expected, backend);
      }
    } finally {
      tf.registerGradient(ours);
    }
  });
}

test('it divides the reduced gradient, not one the size of x', async () => {
  assert.ok(await tf.setBackend('wasm'));
  const x = tf.ones([64, 8, 8, 16]);
  const profile = await tf.profile(() => tf.dispose(tf.grad((v: tf.Tensor) => tf.mean(v, [0, 1, 2]).sum())(x)));
  const divisions = profile.kernels.filter((k) => k.name === 'RealDiv').map((k) => k.inputShapes[0]);
  assert.deepEqual(divisions, [[1, 1, 1, 16]]);
  x.dispose();
});

test('registering twice is harmless', () => {
  registerMeanGradient();
  assert.equal(tf.getGradient('Mean').gradFunc, ours.gradFunc);
});
