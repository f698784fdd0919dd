// The memorisation check of `dcgan eval` on a data set whose distances are known exactly: 40 images, each black but for
// one white pixel of its own. Any two differ in exactly two of the 256 pixels, so every image is √(2/256) from every
// other (RMS over pixels in [0, 1]) and 0 from itself: a held-out image's nearest reference image is at √(2/256)
// exactly when the reference set leaves it out, and at 0 if it leaked in.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { ImageSet } from '../src/data/types.js';
import { classAgreement, evaluateGenerator, formatEval } from '../src/metrics/evaluate.js';
import type { Discriminator, Generator } from '../src/model/generator.js';
import { tf, useTestBackend } from './helpers.js';

before(useTestBackend);

const SIZE = 16, COUNT = 40;
const PIXELS = SIZE * SIZE;

function oneHotImages(): ImageSet {
  const pixels = new Uint8Array(COUNT * PIXELS);
  for (let k = 0; k < COUNT; k++) pixels[k * PIXELS + k] = 255;
  return { pixels, count: COUNT, size: SIZE, channels: 1, description: 'one white pixel each' };
}

/** A generator of black images only (−1 everywhere): √(1/256) from every image of the set. */
const black: Generator = {
  latent: 2, imageSize: SIZE, channels: 1, classes: 0, model: undefined as unknown as tf.LayersModel,
  generate: (z) => tf.fill([z.shape[0], SIZE, SIZE, 1], -1) as tf.Tensor4D,
};

test('held-out images stay out of the reference set: each is √(2/256) from its nearest reference image', async () => {
  const data = oneHotImages();
  for (const seed of [0, 1, 2]) {
    const f = await evaluateGenerator(black, data, { n: 8, seed }); // n: SWD's images, the most queries
    // a fifth held out, the rest the reference, every image in exactly one of them
    assert.deepEqual([f.nn_queries, f.nn_reference], [8, 32], `seed ${seed}`);
    // one leaked image would make its distance 0 and the mean 7/8 of this
    assert.ok(Math.abs(f.nn_real - Math.sqrt(2 / PIXELS)) < 1e-6, `seed ${seed}: nn_real ${f.nn_real}, expected ${Math.sqrt(2 / PIXELS)}`);
    assert.ok(Math.abs(f.nn_generated - Math.sqrt(1 / PIXELS)) < 1e-6, `seed ${seed}: nn_generated ${f.nn_generated}`);
    assert.equal(f.n, 8);
    assert.match(formatEval(f).join('\n'), /ratio 0\.71; .*8 queries, 32 reference images/);
  }
});

test('a mirrored set is split by source image: no held-out image has its mirror image in the reference set', async () => {
  // 40 left–right symmetric sources, each black but for two white pixels of its own, (x, y) and (15 − x, y), x < 8:
  // an image is its own mirror image, any two sources differ in 4 pixels. Pairs kept together: every held-out image
  // is √(4/256) from its nearest reference image; a mirror image in the reference would be at 0.
  const pixels = new Uint8Array(2 * COUNT * PIXELS);
  for (let k = 0; k < COUNT; k++) {
    const x = k % 8, y = Math.floor(k / 8);
    for (const copy of [k, COUNT + k]) {
      pixels[copy * PIXELS + y * SIZE + x] = 255;
      pixels[copy * PIXELS + y * SIZE + (SIZE - 1 - x)] = 255;
    }
  }
  const data: ImageSet = { pixels, count: 2 * COUNT, size: SIZE, channels: 1, description: 'mirrored pairs', mirrored: true };
  for (const seed of [0, 1, 2]) {
    const f = await evaluateGenerator(black, data, { n: 16, seed });
    // a fifth of the 40 sources held out (8), both copies of the other 32 the reference
    assert.deepEqual([f.nn_queries, f.nn_reference], [8, 64], `seed ${seed}`);
    assert.ok(Math.abs(f.nn_real - Math.sqrt(4 / PIXELS)) < 1e-6, `seed ${seed}: nn_real ${f.nn_real}, expected ${Math.sqrt(4 / PIXELS)}`);
  }
});

test('the queries are as many as asked where a fifth of the data is more, and never fewer than 1', async () => {
  const data = oneHotImages();
  assert.equal((await evaluateGenerator(black, data, { n: 5, seed: 0 })).nn_queries, 5);
  const two = { ...data, count: 2, pixels: data.pixels.subarray(0, 2 * PIXELS) };
  const f = await evaluateGenerator(black, two, { n: 2, seed: 0 });
  assert.deepEqual([f.nn_queries, f.nn_reference], [1, 1]);
  assert.ok(Math.abs(f.nn_real - Math.sqrt(2 / PIXELS)) < 1e-6);
  await assert.rejects(evaluateGenerator(black, { ...data, count: 1, pixels: data.pixels.subarray(0, PIXELS) }, { n: 1, seed: 0 }), /at least 2 real images/);
});

test('class agreement: the share of images whose arg-max class is the one asked, over batches of 256', async () => {
  // a stand-in D whose class head names class (first pixel mod 3); 300 images, the first pixel of image i is i mod 251,
  // the class asked i mod 3: they agree where (i mod 251) ≡ i (mod 3)
  const D: Discriminator = {
    classes: 3, model: undefined as unknown as tf.LayersModel,
    judge: (images) => tf.tidy(() => {
      const first = images.slice([0, 0, 0, 0], [-1, 1, 1, 1]).reshape([-1]).add(1).mul(127.5).round().toInt();
      return { logits: tf.zeros([images.shape[0]]) as tf.Tensor1D, classLogits: tf.oneHot(tf.mod(first, 3).toInt(), 3).toFloat() as tf.Tensor2D };
    }),
  };
  const count = 300, bytes = 4;
  const pixels = new Uint8Array(count * bytes);
  for (let i = 0; i < count; i++) pixels[i * bytes] = i % 251;
  const labels = Array.from({ length: count }, (_, i) => i % 3);
  let agree = 0;
  for (let i = 0; i < count; i++) if ((i % 251) % 3 === i % 3) agree++;
  const before = tf.memory().numTensors;
  assert.equal(await classAgreement(D, pixels, count, 2, 1, labels), agree / count);
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  assert.ok(agree > 0 && agree < count);
  const headless: Discriminator = { ...D, judge: (images) => ({ logits: tf.zeros([images.shape[0]]) as tf.Tensor1D }) };
  await assert.rejects(classAgreement(headless, pixels, 2, 2, 1, labels), /no class head/);
});
