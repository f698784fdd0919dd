// Our heap-job versions of FusedBatchNorm, LeakyRelu, Greater and Select run on the threaded build's workers; they
// must give tfjs-backend-wasm's own kernels' bytes exactly, or results would depend on the thread count. Inputs mix
// ordinary values with NaN, ±Infinity, ±0, subnormals and huge values.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { registerWasmElementwise, unregisterWasmElementwise } from '../src/backend/wasm-elementwise.js';
import { parallelMin, setParallelMin } from '../src/backend/wasm-heap-workers.js';

// Small tensors split between the worker threads too (the default leaves tensors under half a million floats on the calling
// thread): this file is about the split.
setParallelMin(1 << 16);
const PARALLEL_MIN = parallelMin();
import { randoms, size } from './kernel-compare.js';

const SPECIAL = [Number.NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 3e38, -3e38, 1e-30];

/** n float32s: mostly varied magnitudes, with a special value every 97th. */
function values(n: number, seed: number): Float32Array {
  return randoms(n, seed).map((v, i) => (i % 97 === 5 ? SPECIAL[(i / 97) % SPECIAL.length | 0] : v * 10 ** ((i % 9) - 4)));
}

before(async () => {
  assert.equal((await initBackend('wasm', { threads: 2 })).device, 'wasm (simd, 2 threads)');
});

/** The output bytes of f with our kernels and with tfjs-backend-wasm's. */
async function bothWays(f: () => tf.Tensor): Promise<[Uint8Array, Uint8Array]> {
  const bytes = async () => {
    const t = f();
    const data = await t.data();
    t.dispose();
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  };
  registerWasmElementwise();
  const ours = await bytes();
  unregisterWasmElementwise();
  try {
    return [ours, await bytes()];
  } finally {
    registerWasmElementwise();
  }
}

const shape = [8, 16, 16, 70]; // 143,360 elements, 70 channels
assert.ok(size(shape) >= PARALLEL_MIN);

test('FusedBatchNorm: the same bytes as tfjs-backend-wasm\'s, with and without scale and offset', async () => {
  const x = tf.tensor(values(size(shape), 1), shape);
  const mean = tf.tensor(values(70, 2));
  const variance = tf.tensor(values(70, 3).map((v, i) => (i === 4 ? 0 : Math.abs(v) * (i % 7)))); // zeros and subnormals too
  const scale = tf.tensor(values(70, 4));
  const offset = tf.tensor(values(70, 5));
  const cases: tf.NamedTensorMap[] = [{ x, mean, variance, scale, offset }, { x, mean, variance }, { x, mean, variance, scale }, { x, mean: tf.scalar(0.5), variance: tf.scalar(2) }];
  for (const inputs of cases) {
    const [ours, theirs] = await bothWays(() => tf.engine().runKernel('FusedBatchNorm', inputs, { varianceEpsilon: 1e-5 }) as tf.Tensor);
    assert.deepEqual(ours, theirs, Object.keys(inputs).join(', '));
  }
  tf.dispose([x, mean, variance, scale, offset]);
});

test('LeakyRelu: the same bytes', async () => {
  const x = tf.tensor(values(size(shape), 6), shape);
  for (const alpha of [0.2, 0.01, 1.7]) {
    const [ours, theirs] = await bothWays(() => tf.leakyRelu(x, alpha));
    assert.deepEqual(ours, theirs, `alpha ${alpha}`);
  }
  x.dispose();
});

test('Greater, against a number and elementwise, and Select: the same bytes', async () => {
  const a = tf.tensor(values(size(shape), 7), shape);
  const b = tf.tensor(values(size(shape), 8), shape);
  for (const [name, f] of [
    ['greater than 0', () => tf.greater(a, 0)],
    ['greater than -0.5', () => tf.greater(a, -0.5)],
    ['greater elementwise', () => tf.greater(a, b)],
    ['where', () => tf.where(tf.greater(a, b), a, b)],
    ['LeakyRelu\'s gradient', () => tf.grad((v: tf.Tensor) => tf.leakyRelu(v, 0.2))(a, b)],
  ] as const) {
    const [ours, theirs] = await bothWays(f);
    assert.deepEqual(ours, theirs, name);
  }
  tf.dispose([a, b]);
});
