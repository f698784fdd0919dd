import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../src/backend/index.js';
import { tf } from './helpers.js';

before(() => initBackend('wasm'));

test('wasm UnsortedSegmentSum: rows summed per segment, ids outside [0, S) dropped (hand-worked)', async () => {
  const x = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
  const out = tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, -1], 'int32'), 3);
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(out.shape, [3, 2]);
  assert.deepEqual(Array.from(await out.data()), [3, 4, 0, 0, 6, 8]);
  tf.dispose([x, out]);
});

test('an Embedding layer trains on wasm: its gradient sums the rows of each class', async () => {
  const layer = tf.layers.embedding({ inputDim: 3, outputDim: 2, embeddingsInitializer: 'ones' });
  const classes = tf.tensor2d([[1], [1], [2]]);
  layer.apply(classes); // builds the weights
  const weight = layer.trainableWeights[0].read() as tf.Variable;
  const before = tf.memory().numTensors;
  const { grads } = tf.variableGrads(() => (layer.apply(classes) as tf.Tensor).mul(tf.tensor3d([[[1, 2]], [[3, 4]], [[5, 6]]])).sum() as tf.Scalar, [weight]);
  assert.deepEqual(Array.from(await grads[weight.name].data()), [0, 0, 4, 6, 5, 6]);
  tf.dispose(Object.values(grads));
  assert.ok(tf.memory().numTensors <= before + 1, 'no tensors left behind but the value');
  tf.dispose(classes);
});
