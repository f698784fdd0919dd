import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { asGenerator, generateImages, latents } from '../src/model/generator.js';
import { search, topIndices } from '../src/generate/search.js';
import { tileGrid } from '../src/image/grid.js';
import { d2l } from '../src/model/d2l.js';
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
