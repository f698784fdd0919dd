// Each source's step, checked by what it does to the networks' state rather than by its losses: how often G's and D's
// batch-norm statistics move, which noise G's update sees, how many optimizer steps D takes.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { ArchName } from '../src/model/architectures.js';
import type { Adam } from '../src/train/adam.js';
import { trainStep, type Batch } from '../src/train/step.js';
import { createGan, disposeGan } from '../src/train/train.js';
import { Rng } from '../src/util/rng.js';
import { maxAbsDiff, tf, useTestBackend } from './helpers.js';

before(useTestBackend);

function setup(arch: ArchName, imageSize: number, channels: 1 | 3 = 1) {
  const model = { imageSize, width: 4, latent: 6, channels, classes: 0 };
  const gan = createGan({ arch, model, seed: 1, lr: 0.001, beta1: 0.5, beta2: 0.999 });
  const rng = new Rng(7);
  const n = 4;
  const batch: Batch = {
    X: tf.tidy(() => tf.tensor4d(rng.normals(n * imageSize * imageSize * channels), [n, imageSize, imageSize, channels]).tanh() as tf.Tensor4D),
    Z: tf.tensor2d(rng.normals(n * 6), [n, 6]),
    Z2: tf.tensor2d(rng.normals(n * 6), [n, 6]),
  };
  return { gan, batch, n };
}

/** G's moving statistics after `passes` training-mode forward passes on `Z`, on a copy of G's current weights. */
async function statisticsAfter(G: tf.LayersModel, build: () => tf.LayersModel, passes: tf.Tensor2D[]): Promise<Float32Array[]> {
  const copy = build();
  copy.setWeights(G.getWeights());
  for (const Z of passes) tf.tidy(() => copy.apply(Z, { training: true }) as tf.Tensor);
  const out = await Promise.all(copy.nonTrainableWeights.map((w) => w.read().data() as Promise<Float32Array>));
  copy.dispose();
  return out;
}

const statistics = (G: tf.LayersModel) => Promise.all(G.nonTrainableWeights.map((w) => w.read().data() as Promise<Float32Array>));
const close = (a: Float32Array[], b: Float32Array[]) => a.length === b.length && a.every((x, i) => maxAbsDiff(x, b[i]) < 1e-6);

test('d2l: G runs twice in training mode on the same z (update_D, then update_G recomputes G(z))', async () => {
  const { gan, batch } = setup('d2l', 16, 3);
  const build = () => createGan({ arch: 'd2l', model: { imageSize: 16, width: 4, latent: 6, channels: 3, classes: 0 }, seed: 1, lr: 0.001, beta1: 0.5, beta2: 0.999 }).G;
  const expected = await statisticsAfter(gan.G, build, [batch.Z, batch.Z]);
  tf.dispose(trainStep(gan, batch));
  assert.ok(close(await statistics(gan.G), expected));
  assert.deepEqual([gan.optD.step, gan.optG.step], [1, 1]);
  disposeGan(gan);
});

test('pytorch-examples (dcgan28): G’s statistics move once — one fake, reused for G’s update', async () => {
  const { gan, batch } = setup('dcgan28', 28);
  const build = () => createGan({ arch: 'dcgan28', model: { imageSize: 28, width: 4, latent: 6, channels: 1, classes: 0 }, seed: 1, lr: 0.001, beta1: 0.5, beta2: 0.999 }).G;
  const once = await statisticsAfter(gan.G, build, [batch.Z]);
  const twice = await statisticsAfter(gan.G, build, [batch.Z, batch.Z]);
  assert.ok(!close(once, twice), 'one and two passes must be told apart');
  tf.dispose(trainStep(gan, batch));
  assert.ok(close(await statistics(gan.G), once));
  disposeGan(gan);
});

test('hands-on (keras28): G makes D’s fakes in inference mode and trains on a second draw z₂', async () => {
  const { gan, batch } = setup('keras28', 28);
  const build = () => createGan({ arch: 'keras28', model: { imageSize: 28, width: 4, latent: 6, channels: 1, classes: 0 }, seed: 1, lr: 0.001, beta1: 0.5, beta2: 0.999 }).G;
  const onZ2 = await statisticsAfter(gan.G, build, [batch.Z2!]);
  tf.dispose(trainStep(gan, batch));
  assert.ok(close(await statistics(gan.G), onZ2));
  assert.equal(gan.optD.kind, 'rmsprop');
  assert.deepEqual([gan.optD.step, gan.optG.step], [1, 1]);
  assert.throws(() => trainStep(gan, { X: batch.X, Z: batch.Z }), /second draw of noise/);
  disposeGan(gan);
});

test('keras-gan (mlp): D takes two optimizer steps (real, then fake), G one on z₂; Keras’ Adam', async () => {
  const { gan, batch } = setup('mlp', 8);
  const build = () => createGan({ arch: 'mlp', model: { imageSize: 8, width: 4, latent: 6, channels: 1, classes: 0 }, seed: 1, lr: 0.001, beta1: 0.5, beta2: 0.999 }).G;
  const onZ2 = await statisticsAfter(gan.G, build, [batch.Z2!]);
  tf.dispose(trainStep(gan, batch));
  assert.deepEqual([gan.optD.step, gan.optG.step], [2, 1]);
  assert.ok(close(await statistics(gan.G), onZ2));
  assert.deepEqual([(gan.optD as Adam).options.form, (gan.optD as Adam).options.epsilon], ['keras', 1e-7]);
  disposeGan(gan);
});

test('conditional: the class cross-entropy joins both losses, and a step leaves no tensors behind', async () => {
  const model = { imageSize: 16, width: 4, latent: 6, channels: 1 as const, classes: 3 };
  const gan = createGan({ arch: 'd2l', model, seed: 2, lr: 0.001, beta1: 0.5, beta2: 0.999 });
  const plain = createGan({ arch: 'd2l', model: { ...model, classes: 0 }, seed: 2, lr: 0.001, beta1: 0.5, beta2: 0.999 });
  const rng = new Rng(3);
  const make = (): Batch => ({
    X: tf.tidy(() => tf.tensor4d(rng.normals(4 * 256), [4, 16, 16, 1]).tanh() as tf.Tensor4D),
    Z: tf.tensor2d(rng.normals(24), [4, 6]),
    labels: tf.tensor1d([0, 1, 2, 0], 'int32'),
    fakeLabels: tf.tensor1d([2, 2, 1, 0], 'int32'),
  });
  const first = make();
  const [lossD, lossG] = await trainStep(gan, first).data();
  // an untrained class head is near uniform: each class term adds about ln 3 per example to the adversarial ~ln 2
  assert.ok(lossD > Math.LN2 + 0.5 * Math.log(3) && lossG > Math.LN2 + 0.5 * Math.log(3), `${lossD} ${lossG}`);
  const [plainD] = await trainStep(plain, { X: first.X, Z: first.Z }).data();
  assert.ok(plainD < Math.LN2 + 0.3, `${plainD}`);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const b = make();
    tf.dispose([trainStep(gan, b), ...Object.values(b)]);
  }
  assert.equal(tf.memory().numTensors, before);
  disposeGan(gan);
  disposeGan(plain);
});

test('every form leaves tf.memory().numTensors flat from step to step', async () => {
  for (const [arch, size] of [['d2l', 16], ['dcgan28', 28], ['keras28', 28], ['mlp', 8]] as const) {
    const { gan, batch } = setup(arch, size);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      tf.dispose(trainStep(gan, batch));
      counts.push(tf.memory().numTensors);
    }
    assert.deepEqual(counts, [counts[0], counts[0], counts[0]], `${arch}: ${counts}`);
    tf.dispose(Object.values(batch));
    disposeGan(gan);
  }
});
