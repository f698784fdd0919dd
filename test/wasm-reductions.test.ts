// The wasm Sum and Mean are checked against the cpu backend's, which sum in float64 and which tfjs ships and tests
// itself, and against hand-worked values. The accuracy checks are also run on tfjs-backend-wasm's own kernels, which
// must fail them: that is why ours exist, and it shows the checks can fail.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { reductionBlocks, registerWasmReductions, unregisterWasmReductions } from '../src/backend/wasm-reductions.js';
import { assertCountsBack, leakCounts, randoms, size } from './kernel-compare.js';

before(async () => {
  registerWasmReductions();
  assert.ok(await tf.setBackend('wasm'));
  await tf.ready();
});

/** Runs f on `backend` and reads its outputs back. */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<{ shape: number[]; values: Float32Array | Int32Array }[]> {
  assert.ok(await tf.setBackend(backend));
  const outs = tf.tidy(f);
  const read = await Promise.all(outs.map(async (t) => ({ shape: t.shape, values: (await t.data()) as Float32Array | Int32Array })));
  tf.dispose(outs);
  await tf.setBackend('wasm');
  return read;
}

/** With tfjs-backend-wasm's own Sum and Mean in place of ours for the length of f. */
async function withTfjsKernels<T>(f: () => Promise<T>): Promise<T> {
  unregisterWasmReductions();
  try {
    return await f();
  } finally {
    registerWasmReductions();
  }
}

const relative = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

/** mean and sum of 262,144 copies of 0.1: exactly float32(0.1) and 2^18 · float32(0.1), and the cpu backend agrees. */
async function checkTenthsWithin(tolerance: number): Promise<void> {
  const n = 262_144;
  const f = () => {
    const x = tf.fill([n], 0.1);
    return [tf.mean(x), tf.sum(x)];
  };
  const [[mean, sum], [cpuMean, cpuSum]] = [await on('wasm', f), await on('cpu', f)];
  const tenth = Math.fround(0.1);
  assert.equal(cpuMean.values[0], tenth);
  assert.equal(cpuSum.values[0], n * tenth); // a power of two times a float32 is exact
  assert.ok(relative(mean.values[0], cpuMean.values[0]) <= tolerance, `mean ${mean.values[0]}, cpu ${cpuMean.values[0]}`);
  assert.ok(relative(sum.values[0], cpuSum.values[0]) <= tolerance, `sum ${sum.values[0]}, cpu ${cpuSum.values[0]}`);
}

test('mean and sum of 262,144 × 0.1 are within 1e-6 of the cpu backend (exact here)', async () => {
  await checkTenthsWithin(1e-6);
  await checkTenthsWithin(0);
});

test('tfjs-backend-wasm\'s own Mean and Sum fail that check (float32 running sums)', async () => {
  await withTfjsKernels(() => assert.rejects(checkTenthsWithin(1e-6), /mean 0\.0997/));
});

/**
 * Activations like a convolution's over sprites: most positions see the same background, so most values are one
 * number (0.3, which float32 cannot hold exactly), the rest noise; NHWC.
 */
function spriteLike(shape: number[], seed: number): Float32Array {
  const noise = randoms(size(shape), seed);
  const cover = randoms(size(shape), seed + 1);
  return noise.map((v, i) => (cover[i] < 0.6 ? 0.3 : v));
}

/** Batch norm's statistics, as tf.layers.batchNormalization computes them in training. */
const moments = (xs: Float32Array, shape: number[]) => () => {
  const { mean, variance } = tf.moments(tf.tensor(xs, shape), [0, 1, 2]);
  return [mean, variance];
};

/** Batch norm's mean and variance on wasm are within `tolerance` of the cpu backend's, in standard deviations. */
async function checkMomentsWithin(tolerance: number): Promise<void> {
  const shape = [64, 16, 16, 4];
  const f = moments(spriteLike(shape, 7), shape);
  const [[mean, variance], [cpuMean, cpuVariance]] = [await on('wasm', f), await on('cpu', f)];
  for (let c = 0; c < shape[3]; c++) {
    const sigma = Math.sqrt(cpuVariance.values[c]);
    const meanError = Math.abs(mean.values[c] - cpuMean.values[c]) / sigma;
    const varianceError = Math.abs(variance.values[c] - cpuVariance.values[c]) / cpuVariance.values[c];
    assert.ok(meanError <= tolerance && varianceError <= tolerance, `channel ${c}: mean off by ${meanError} σ, variance by ${varianceError}`);
  }
}

test('batch-norm moments of sprite-like data are the cpu backend\'s, bit for bit', async () => {
  await checkMomentsWithin(0);
});

test('tfjs-backend-wasm\'s own kernels miss them by more than 1e-6 σ', async () => {
  await withTfjsKernels(() => assert.rejects(checkMomentsWithin(1e-6), /mean off by/));
});

interface Case {
  name: string;
  shape: number[];
  axis: number | number[] | null;
  keepDims?: boolean;
}

const cases: Case[] = [
  { name: 'all of a vector', shape: [1000], axis: null },
  { name: 'rows of a matrix', shape: [7, 5], axis: 1 },
  { name: 'columns of a matrix', shape: [7, 5], axis: 0 },
  { name: 'all of a matrix, axes given', shape: [7, 5], axis: [0, 1] },
  { name: 'negative axis', shape: [7, 5], axis: -1 },
  { name: 'batch norm\'s axes (all but channels)', shape: [4, 6, 5, 3], axis: [0, 1, 2] },
  { name: 'spatial axes', shape: [4, 6, 5, 3], axis: [1, 2] },
  { name: 'channels', shape: [4, 6, 5, 3], axis: [3] },
  { name: 'first and last', shape: [4, 6, 5, 3], axis: [0, 3] },
  { name: 'alternate axes', shape: [4, 6, 5, 3], axis: [1, 3] },
  { name: 'axes out of order (the cpu backend transposes by them)', shape: [4, 6, 5, 3], axis: [2, 0] },
  { name: 'keepDims', shape: [4, 6, 5, 3], axis: [0, 2], keepDims: true },
  { name: 'size-1 axes', shape: [1, 5, 1, 3], axis: [0, 2] },
  { name: 'a size-1 axis reduced alone', shape: [1, 5, 1, 3], axis: [2] },
  { name: 'no axes', shape: [3, 4], axis: [] },
  { name: 'empty input', shape: [0, 3], axis: 0 },
  { name: 'empty reduction', shape: [3, 0], axis: 1 },
];

// Magnitudes over eight decades, so that the order of the additions shows in the last bits.
const values = (shape: number[], seed: number) => {
  const r = randoms(size(shape), seed);
  return r.map((v, i) => v * 10 ** ((i * 7) % 9 - 4));
};

for (const c of cases) {
  test(`sum and mean are the cpu backend's, bit for bit: ${c.name}`, async () => {
    const xs = values(c.shape, 3);
    const f = () => {
      const x = tf.tensor(xs, c.shape);
      return [tf.sum(x, c.axis ?? undefined, c.keepDims), tf.mean(x, c.axis ?? undefined, c.keepDims)];
    };
    assert.deepEqual(await on('wasm', f), await on('cpu', f));
  });
}

test('mean of int32 and bool, and sum of int32, are the cpu backend\'s', async () => {
  const ints = Int32Array.from(randoms(60, 5), (v, i) => Math.round(v * 2 ** (10 + (i % 20)))); // up to 2^29: not all float32
  const f = () => {
    const x = tf.tensor(ints, [6, 10], 'int32');
    const b = tf.tensor(ints.map((v) => (v > 0 ? 1 : 0)), [6, 10], 'bool');
    return [tf.mean(x, 1), tf.mean(b, 0), tf.sum(x, 0), tf.mean(x)];
  };
  assert.deepEqual(await on('wasm', f), await on('cpu', f));
});

test('the blocks of a shape: neighbouring axes of a kind merged, size-1 axes dropped', () => {
  assert.deepEqual(reductionBlocks([4, 6, 5, 3], [0, 1, 2]), { sizes: [120, 3], reduced: [true, false], outStrides: [0, 1] });
  assert.deepEqual(reductionBlocks([4, 6, 5, 3], [1, 3]), { sizes: [4, 6, 5, 3], reduced: [false, true, false, true], outStrides: [5, 0, 1, 0] });
  assert.deepEqual(reductionBlocks([1, 5, 1, 3], [0, 2]), { sizes: [15], reduced: [false], outStrides: [1] });
  assert.deepEqual(reductionBlocks([1, 1], [0]), { sizes: [1], reduced: [false], outStrides: [1] });
});

test('no tensors or wasm buffers are left behind, and registering twice is harmless', async (t) => {
  const warn = t.mock.method(console, 'warn', () => {});
  registerWasmReductions();
  registerWasmReductions();
  assert.equal(warn.mock.callCount(), 0);
  const x = tf.tensor(values([4, 6, 5, 3], 9), [4, 6, 5, 3]);
  const before = leakCounts();
  for (const axis of [[0, 1, 2], [2, 0]]) tf.dispose([tf.sum(x, axis), tf.mean(x, axis, true)]);
  assertCountsBack(before);
  x.dispose();
});
