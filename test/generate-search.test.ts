import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { asGenerator, generateImages, latents } from '../src/model/generator.js';
import { search, topIndices } from '../src/generate/search.js';
import { tileGrid } from '../src/image/grid.js';
import { d2l } from '../src/model/d2l.js';
import { mlp } from '../src/model/mlp.js';
import { buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { loadModel, saveModel } from '../src/model/io.js';
import { tf, tmpDir, unshrinkBatchNorm, useTestBackend } from './helpers.js';

const shape = { imageSize: 16, width: 4, latent: 8, channels: 3 as const, classes: 0 };
let run: string;

before(async () => {
  await useTestBackend();
  run = await tmpDir();
  const G = buildGenerator(d2l, shape, 5);
  unshrinkBatchNorm(G);
  const D = buildDiscriminator(d2l, shape, 5);
  unshrinkBatchNorm(D);
  // N(0, 0.02) kernels leave every logit near 0; larger ones make the scores spread out enough to rank
  D.setWeights(D.weights.map((w) => (w.originalName.includes('kernel') ? w.read().mul(8) : w.read())));
  await saveModel(G, path.join(run, 'generator'));
  await saveModel(D, path.join(run, 'discriminator'));
  G.dispose();
  D.dispose();
});

test('topIndices: highest first, ties in candidate order', () => {
  assert.deepEqual(topIndices([0.1, 0.9, 0.5, 0.9, 0.2], 3), [1, 3, 2]);
  assert.deepEqual(topIndices([0.3], 1), [0]);
});

test('--search keeps the candidates D scores highest, best first, as D.predict scores them directly', async () => {
  const candidates = 40, n = 6;
  const out = path.join(await tmpDir(), 'best.png');
  const result = await search({ run, n, candidates, seed: 9, out, cols: 3 });

  const G = await loadModel(path.join(run, 'generator'));
  const D = await loadModel(path.join(run, 'discriminator'));
  const z = latents(9, candidates, shape.latent);
  const direct = tf.tidy(() => tf.sigmoid(D.predict(G.predict(tf.tensor2d(z, [candidates, shape.latent])) as tf.Tensor) as tf.Tensor).reshape([-1]));
  const scores = Array.from(await direct.data());
  direct.dispose();
  const ranked = scores.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s);
  assert.ok(ranked[0].s - ranked[candidates - 1].s > 1e-4, 'the untrained D should still tell candidates apart');
  assert.deepEqual(result.kept.map((k) => k.index), ranked.slice(0, n).map((r) => r.i));
  result.kept.forEach((k) => assert.ok(Math.abs(k.score - scores[k.index]) < 1e-5, `score of ${k.index}`));
  assert.ok(Math.abs(result.meanScore - scores.reduce((a, b) => a + b, 0) / candidates) < 1e-5);

  // the grid holds exactly those images, best first
  const chosen = new Float32Array(n * shape.latent);
  result.kept.forEach((k, i) => chosen.set(z.subarray(k.index * shape.latent, (k.index + 1) * shape.latent), i * shape.latent));
  const expected = tileGrid(await generateImages(asGenerator(G), chosen, n), n, 16, 3, 3);
  const written = await sharp(out).raw().toBuffer();
  assert.deepEqual(new Uint8Array(written), expected.data);
  G.dispose();
  D.dispose();
});

test('--search needs at least --n candidates and the run’s discriminator', async () => {
  const dir = await tmpDir();
  await assert.rejects(search({ run, n: 8, candidates: 4, seed: 1, out: path.join(dir, 'x.png'), cols: 7 }), /--search 4 draws fewer candidates than the --n 8/);
  const noD = await tmpDir();
  const G = buildGenerator(d2l, shape, 1);
  await saveModel(G, path.join(noD, 'generator'));
  G.dispose();
  await assert.rejects(search({ run: noD, n: 2, candidates: 4, seed: 1, out: path.join(dir, 'x.png'), cols: 7 }), /no discriminator in/);
});

test('conditional --search: candidate i is drawn and kept with class i mod classes, as dcgan sample draws image i', async () => {
  const cond = { imageSize: 8, width: 8, latent: 8, channels: 1 as const, classes: 3 };
  const condRun = await tmpDir();
  const G = buildGenerator(mlp, cond, 4);
  G.getLayer('class_embedding').setWeights([tf.tensor2d(Array.from({ length: 3 * 8 }, (_, i) => [1, -2, 3][Math.floor(i / 8)]), [3, 8])]);
  const D = buildDiscriminator(mlp, cond, 4);
  await saveModel(G, path.join(condRun, 'generator'));
  await saveModel(D, path.join(condRun, 'discriminator'));
  const candidates = 30, n = 6, seed = 11;
  const out = path.join(await tmpDir(), 'best.png');
  const result = await search({ run: condRun, n, candidates, seed, out, cols: 6 });

  const classOf = (i: number) => i % 3;
  const z = latents(seed, candidates, 8);
  const direct = tf.tidy(() => {
    const images = G.predict([tf.tensor2d(z, [candidates, 8]), tf.tensor2d(Array.from({ length: candidates }, (_, i) => classOf(i)), [candidates, 1])]) as tf.Tensor;
    const [logits] = D.predict(images) as tf.Tensor[]; // a conditional D: [real/fake logits, class logits]
    return tf.sigmoid(logits).reshape([-1]);
  });
  const scores = Array.from(await direct.data());
  direct.dispose();
  const ranked = scores.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s).slice(0, n).map((r) => r.i);
  assert.deepEqual(result.kept.map((k) => k.index), ranked);
  // kept in another order than drawn: candidate k sits at place i with k mod 3 ≠ i mod 3, so a class by place shows
  assert.ok(ranked.some((k, i) => classOf(k) !== classOf(i)), `kept ${ranked}: every candidate kept at a place of its own class`);
  const chosen = new Float32Array(n * 8);
  ranked.forEach((k, i) => chosen.set(z.subarray(k * 8, (k + 1) * 8), i * 8));
  const expected = tileGrid(await generateImages(asGenerator(G), chosen, n, ranked.map(classOf)), n, 8, 1, 6);
  const grey = await sharp(out).extractChannel(0).raw().toBuffer(); // a grey grid: its one channel
  assert.deepEqual(new Uint8Array(grey), expected.data);
  G.dispose();
  D.dispose();
});
