import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Rng } from '../src/util/rng.js';
import type { Adam } from '../src/train/adam.js';
import { trainStep } from '../src/train/step.js';
import { batchTensor, createGan, disposeGan, gridInputs } from '../src/train/train.js';
import { syntheticImageSet, tf, useTestBackend } from './helpers.js';

before(useTestBackend);

const options = { arch: 'd2l' as const, model: { imageSize: 16, width: 8, latent: 16, channels: 3 as const, classes: 0 }, seed: 3, lr: 0.0002, beta1: 0.5, beta2: 0.999 };

test('a training step gives finite losses, D(x) and D(G(z)) in (0, 1), and changes both networks', async () => {
  const gan = createGan(options);
  const data = syntheticImageSet(8, 16);
  const before = await gan.G.getWeights()[0].data();
  const beforeD = await gan.D.getWeights()[0].data();
  const X = batchTensor(data, [0, 1, 2, 3, 4, 5, 6, 7]);
  const Z = tf.tensor2d(new Rng(1).normals(8 * 16), [8, 16]);
  const stats = trainStep(gan, { X, Z });
  const [lossD, lossG, dx, dgz] = await stats.data();
  for (const v of [lossD, lossG]) assert.ok(Number.isFinite(v) && v > 0, `loss ${v}`);
  for (const v of [dx, dgz]) assert.ok(v > 0 && v < 1, `D output ${v}`);
  // at initialisation D is near chance, so each loss is near ln 2
  assert.ok(Math.abs(lossD - Math.LN2) < 0.2, `loss_D ${lossD}`);
  assert.notDeepEqual(await gan.G.getWeights()[0].data(), before);
  assert.notDeepEqual(await gan.D.getWeights()[0].data(), beforeD);
  for (const w of [...gan.G.getWeights(), ...gan.D.getWeights()]) {
    const values = await w.data();
    assert.ok(values.every(Number.isFinite), 'a weight became NaN or infinite');
  }
  tf.dispose([X, Z, stats]);
  disposeGan(gan);
});

test('batches arrive scaled to [-1, 1]', async () => {
  const data = syntheticImageSet(2, 16);
  const X = batchTensor(data, [1, 0]);
  const v = await X.data();
  assert.deepEqual(X.shape, [2, 16, 16, 3]);
  assert.equal(v[0], Math.fround(Math.fround(data.pixels[16 * 16 * 3] / 127.5) - 1)); // image 1 comes first
  assert.ok(Math.min(...v) >= -1 && Math.max(...v) <= 1);
  X.dispose();
});

test('tf.memory().numTensors stays flat across training steps', async () => {
  const gan = createGan(options);
  const data = syntheticImageSet(8, 16);
  const rng = new Rng(2);
  const step = async () => {
    const stats = tf.tidy(() => trainStep(gan, { X: batchTensor(data, [0, 1, 2, 3, 4, 5, 6, 7]), Z: tf.tensor2d(rng.normals(8 * 16), [8, 16]) }));
    await stats.data();
    stats.dispose();
  };
  await step(); // the first step may create lasting state (none expected, but not what this test is about)
  const counts: number[] = [];
  for (let i = 0; i < 5; i++) {
    await step();
    counts.push(tf.memory().numTensors);
  }
  assert.deepEqual(counts, Array(5).fill(counts[0]), `tensor count changed across steps: ${counts}`);
  disposeGan(gan);
});

test('the loss reduction scales the gradients (sum: batch size × mean) but not the losses reported, per example', async () => {
  const data = syntheticImageSet(8, 16);
  const run = async (reduction: 'sum' | 'mean') => {
    const created = createGan(options);
    const gan = { ...created, recipe: { ...created.recipe, reduction } };
    const stats = tf.tidy(() => trainStep(gan, { X: batchTensor(data, [0, 1, 2, 3, 4, 5, 6, 7]), Z: tf.tensor2d(new Rng(1).normals(8 * 16), [8, 16]) }));
    const out = { stats: await stats.data(), mD: await (gan.optD as Adam).m[0].data(), mG: await (gan.optG as Adam).m[0].data() };
    stats.dispose();
    disposeGan(gan);
    return out;
  };
  const [sum, mean] = [await run('sum'), await run('mean')];
  sum.stats.forEach((v, i) => assert.ok(Math.abs(v - mean.stats[i]) < 1e-6, `stat ${i}: sum ${v}, mean ${mean.stats[i]}`));
  for (const k of ['mD', 'mG'] as const) {
    const scale = Math.max(...Array.from(sum[k], Math.abs));
    assert.ok(scale > 0);
    sum[k].forEach((v, i) => assert.ok(Math.abs(v - 8 * mean[k][i]) <= 1e-5 * scale, `${k}[${i}]: sum ${v}, 8 × mean ${8 * mean[k][i]}`));
  }
});

test('the per-epoch grid: the fixed noise as it is; conditional, one row per class (10 at most), the same 7 latents in each', () => {
  const latent = 2;
  const fixed = Float32Array.from({ length: 21 * latent }, (_, i) => i + 1);
  const o = { gridImages: 21, gridColumns: 7 };
  assert.deepEqual(gridInputs(fixed, { ...o, model: { ...options.model, latent, classes: 0 } }), { z: fixed, count: 21 });
  const three = gridInputs(fixed, { ...o, model: { ...options.model, latent, classes: 3 } });
  assert.equal(three.count, 21);
  for (let r = 0; r < 3; r++) assert.deepEqual(three.z.subarray(r * 14, (r + 1) * 14), fixed.subarray(0, 14), `row ${r}`);
  assert.deepEqual(three.labels, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2]);
  const many = gridInputs(fixed, { ...o, model: { ...options.model, latent, classes: 12 } });
  assert.equal(many.count, 70);
  assert.deepEqual(many.labels?.filter((_, i) => i % 7 === 0), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(many.z.subarray(69 * latent), fixed.subarray(6 * latent, 7 * latent));
});
