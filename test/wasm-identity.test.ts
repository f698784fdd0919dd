// The wasm Identity shares its input's buffer instead of copying it: a clone must keep its values when the original
// goes, and the buffer must go when both have.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmIdentity } from '../src/backend/wasm-identity.js';
import { leakCounts } from './kernel-compare.js';

before(async () => {
  registerWasmIdentity();
  assert.ok(await tf.setBackend('wasm'));
  await tf.ready();
});

test('a clone takes no buffer of its own, outlives its original, and leaves nothing behind', async () => {
  const before = leakCounts();
  const x = tf.tensor([1.5, -2, 3.25, 0], [2, 2]);
  const y = tf.clone(x);
  assert.equal(tf.backend().numDataIds(), before.dataIds + 1, 'the clone took a buffer of its own');
  const z = tf.tidy(() => (tf.engine().runKernel('Identity', { x: y }) as tf.Tensor).add(1));
  x.dispose();
  assert.deepEqual(Array.from(await y.data()), [1.5, -2, 3.25, 0]);
  assert.deepEqual(Array.from(await z.data()), [2.5, -1, 4.25, 1]);
  assert.equal(tf.backend().numDataIds(), before.dataIds + 2); // y's buffer (x's), and z's
  tf.dispose([y, z]);
  assert.equal(tf.memory().numTensors, before.numTensors);
  assert.equal(tf.backend().numDataIds(), before.dataIds);
});

test('int32 and bool clones keep their dtype and values', async () => {
  const i = tf.clone(tf.tensor([1, 2, 3], [3], 'int32'));
  const b = tf.clone(tf.tensor([1, 0], [2], 'bool'));
  assert.deepEqual([i.dtype, Array.from(await i.data())], ['int32', [1, 2, 3]]);
  assert.deepEqual([b.dtype, Array.from(await b.data())], ['bool', [1, 0]]);
  tf.dispose([i, b]);
});

test('registering twice is harmless', (t) => {
  const warn = t.mock.method(console, 'warn', () => {});
  registerWasmIdentity();
  registerWasmIdentity();
  assert.equal(warn.mock.callCount(), 0);
});
