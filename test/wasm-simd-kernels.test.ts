// Our SIMD kernels for the wasm backend (src/backend/wasm-simd-kernels.wat): the committed binaries are the text's,
// batch norm in training is right to float32 rounding against float64 worked out here (also where the mean is large
// against the spread, and with a gradient through the batch statistics themselves), and splitting the work between
// threads changes no bit.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { GENERATED, WAT, generate } from '../scripts/build-wasm-kernels.js';
import { initBackend } from '../src/backend/index.js';
import { TRAINING_BATCH_NORM, trainingBatchNorm } from '../src/backend/training-batch-norm.js';
import { parallelMin, setParallelMin } from '../src/backend/wasm-heap-workers.js';
import { randoms } from './kernel-compare.js';

test('the committed kernels are what scripts/build-wasm-kernels.ts makes of wasm-simd-kernels.wat', async () => {
  assert.equal(readFileSync(GENERATED, 'utf8'), await generate(readFileSync(WAT, 'utf8')),
    'run `npx tsx scripts/build-wasm-kernels.ts` after changing the .wat');
});

/** x: rows × channels values around `offset`, a spread that differs per channel. */
function activations(rows: number, channels: number, offset: number, seed: number): Float32Array {
  return randoms(rows * channels, seed).map((v, i) => offset + v * (0.5 + (i % channels) / channels));
}

/**
 * Batch norm over the rows of x [rows, C] in float64, and the gradient of
 * L = Σ y·w + 3·Σ mean² + 0.5·Σ variance (so that the statistics' own gradients count too).
 */
function reference(x: Float32Array, gamma: Float32Array, beta: Float32Array, w: Float32Array, channels: number, epsilon: number) {
  const rows = x.length / channels;
  const mean = new Float64Array(channels), variance = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) mean[i % channels] += x[i] / rows;
  for (let i = 0; i < x.length; i++) variance[i % channels] += (x[i] - mean[i % channels]) ** 2 / rows;
  const r = Array.from(variance, (v) => 1 / Math.sqrt(v + epsilon));
  const xhat = Float64Array.from(x, (v, i) => (v - mean[i % channels]) * r[i % channels]);
  const y = Float64Array.from(xhat, (v, i) => v * gamma[i % channels] + beta[i % channels]);
  const dbeta = new Float64Array(channels), dgamma = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    dbeta[i % channels] += w[i];
    dgamma[i % channels] += w[i] * xhat[i];
  }
  const dx = Float64Array.from(x, (v, i) => {
    const c = i % channels;
    const throughY = gamma[c] * r[c] * (w[i] - dbeta[c] / rows - xhat[i] * dgamma[c] / rows);
    return throughY + (6 * mean[c]) / rows + (2 * 0.5 * (v - mean[c])) / rows;
  });
  return { y, mean, variance, dx, dgamma, dbeta };
}

/** max |a − b| / max |b| */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

test('batch norm in training on wasm: statistics, output and gradients as float64 has them, on 1 and 2 threads', async () => {
  const before = parallelMin();
  try {
    for (const threads of [1, 2]) {
      await initBackend('wasm', { threads });
      setParallelMin(1); // split everything that can be
      assert.ok(tf.getKernel(TRAINING_BATCH_NORM, 'wasm'), 'the wasm backend has the fused kernel');
      // 70 channels: blocks of four and two left over; 1,040 rows: many chunks of rows
      for (const [channels, offset] of [[70, 0], [32, 100]] as const) {
        const rows = 1040;
        const x = activations(rows, channels, offset, 1 + channels);
        const gamma = randoms(channels, 2).map((v) => 1 + v);
        const beta = randoms(channels, 3);
        const w = randoms(rows * channels, 4);
        const epsilon = 1e-5;
        const expected = reference(x, gamma, beta, w, channels, epsilon);
        const shape = [8, 10, 13, channels];
        const [gammaT, betaT, wT] = [tf.tensor1d(gamma), tf.tensor1d(beta), tf.tensor(w, shape)];
        const f = (xv: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const { y, mean, variance } = trainingBatchNorm(xv, g as tf.Tensor1D, b as tf.Tensor1D, epsilon);
          return tf.sum(tf.mul(y, wT)).add(tf.sum(tf.square(mean)).mul(3)).add(tf.sum(variance).mul(0.5));
        };
        const xT = tf.tensor(x, shape);
        const out = trainingBatchNorm(xT, gammaT, betaT, epsilon);
        const grads = tf.grads(f)([xT, gammaT, betaT]);
        const got = {
          y: out.y.dataSync(), mean: out.mean.dataSync(), variance: out.variance.dataSync(),
          dx: grads[0].dataSync(), dgamma: grads[1].dataSync(), dbeta: grads[2].dataSync(),
        };
        const where = `${threads} thread(s), ${channels} channels around ${offset}`;
        // float32 rounding of the stored values and of the mean (at 100 its last bit is 7.6e-6), a few roundings deep
        for (const name of ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'] as const) {
          const error = relativeError(got[name], expected[name]);
          assert.ok(error < 2e-5, `${where}: ${name} is off by ${error.toExponential(2)} of its largest value`);
        }
        tf.dispose([out.y, out.mean, out.variance, ...grads, xT, gammaT, betaT, wT]);
      }
    }
  } finally {
    setParallelMin(before);
  }
});

test('the variance is the spread around the mean even where the mean is 10⁴ spreads (no E[x²] − E[x]² cancellation)', async () => {
  await initBackend('wasm', { threads: 1 });
  const channels = 8, rows = 512;
  const x = activations(rows, channels, 3000, 9); // spreads 0.5–1, float32 spacing at 3000: 2.4e-4
  const expected = reference(x, new Float32Array(channels).fill(1), new Float32Array(channels), new Float32Array(rows * channels), channels, 1e-5);
  const { y, mean, variance } = trainingBatchNorm(tf.tensor(x, [rows, channels]), tf.ones([channels]) as tf.Tensor1D, tf.zeros([channels]) as tf.Tensor1D, 1e-5);
  assert.ok(relativeError(variance.dataSync(), expected.variance) < 1e-5, 'variance');
  assert.ok(relativeError(mean.dataSync(), expected.mean) < 1e-7, 'mean');
  tf.dispose([y, mean, variance]);
});

test('a small network\'s step gives the same bytes on 1, 2 and 3 threads with every kernel split', async () => {
  const before = parallelMin();
  const step = () => {
    const x = tf.tensor4d(randoms(4 * 16 * 16 * 3, 11), [4, 16, 16, 3]);
    const w1 = tf.tensor4d(randoms(4 * 4 * 3 * 20, 12).map((v) => v * 0.3), [4, 4, 3, 20]);
    const w2 = tf.tensor4d(randoms(4 * 4 * 3 * 20, 13).map((v) => v * 0.3), [4, 4, 3, 20]);
    const gamma = tf.tensor1d(randoms(20, 14).map((v) => 1 + v));
    const beta = tf.tensor1d(randoms(20, 15));
    const target = tf.tensor4d(randoms(4 * 16 * 16 * 3, 16), [4, 16, 16, 3]);
    // conv (direct filter gradient) → batch norm → LeakyReLU → transposed conv (combined input gradient) → tanh
    const loss = (a: tf.Tensor, b: tf.Tensor, g: tf.Tensor, o: tf.Tensor) => {
      const h = trainingBatchNorm(tf.conv2d(x, a as tf.Tensor4D, 2, 'same'), g as tf.Tensor1D, o as tf.Tensor1D, 1e-5).y;
      const y = tf.conv2dTranspose(tf.leakyRelu(h, 0.2) as tf.Tensor4D, b as tf.Tensor4D, [4, 16, 16, 3], 2, 'same');
      return tf.sum(tf.mul(tf.tanh(y), target));
    };
    const grads = tf.grads(loss)([w1, w2, gamma, beta]);
    const bytes = grads.map((t) => new Uint8Array(t.dataSync().buffer.slice(0)));
    tf.dispose([x, w1, w2, gamma, beta, target, ...grads]);
    return bytes;
  };
  try {
    const results: Uint8Array[][] = [];
    for (const threads of [1, 2, 3]) {
      await initBackend('wasm', { threads });
      setParallelMin(1);
      results.push(step());
    }
    assert.deepEqual(results[1], results[0], '2 threads against 1');
    assert.deepEqual(results[2], results[0], '3 threads against 1');
  } finally {
    setParallelMin(before);
  }
});

test('on a backend without the fused kernel, trainingBatchNorm is tf.moments and tf.batchNorm, bit for bit', async () => {
  await initBackend('cpu');
  const x = tf.tensor(activations(64, 6, 1, 21), [4, 4, 4, 6]);
  const gamma = tf.tensor1d(randoms(6, 22)), beta = tf.tensor1d(randoms(6, 23));
  const ours = trainingBatchNorm(x, gamma, beta, 1e-3);
  const moments = tf.moments(x, [0, 1, 2]);
  const theirs = tf.batchNorm(x, moments.mean, moments.variance, beta, gamma, 1e-3);
  assert.deepEqual(ours.y.dataSync(), theirs.dataSync());
  assert.deepEqual(ours.variance.dataSync(), moments.variance.dataSync());
  tf.dispose([x, gamma, beta, ours.y, ours.mean, ours.variance, moments.mean, moments.variance, theirs]);
});
