import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { buildDiscriminator, buildGenerator, IMAGE_SIZES } from '../src/model/dcgan.js';
import { tf, useTestBackend } from './helpers.js';

before(useTestBackend);

test('generator at 64×64, width 64 is exactly d2l’s: 100 → 512·4² → 256·8² → 128·16² → 64·32² → 3·64²', () => {
  const G = buildGenerator({ imageSize: 64, width: 64, latent: 100, channels: 3 }, 0);
  const shapes = G.layers.filter((l) => l.name.endsWith('_relu') || l.name === 'g_tanh').map((l) => (l.outputShape as number[]).slice(1));
  assert.deepEqual(shapes, [[4, 4, 512], [8, 8, 256], [16, 16, 128], [32, 32, 64], [64, 64, 3]]);
  // no bias anywhere, as in d2l (use_bias=False); batch norm carries the shifts
  for (const l of G.layers.filter((l) => l.getClassName() === 'Conv2DTranspose')) assert.equal(l.getWeights().length, 1, l.name);
  G.dispose();
});

test('discriminator at 64×64 mirrors it: 3·64² → 64·32² → 128·16² → 256·8² → 512·4² → 1 logit', () => {
  const D = buildDiscriminator({ imageSize: 64, width: 64, latent: 100, channels: 3 }, 0);
  const shapes = D.layers.filter((l) => l.name.endsWith('_lrelu')).map((l) => (l.outputShape as number[]).slice(1));
  assert.deepEqual(shapes, [[32, 32, 64], [16, 16, 128], [8, 8, 256], [4, 4, 512]]);
  assert.deepEqual(D.outputs[0].shape, [null, 1]);
  D.dispose();
});

for (const imageSize of IMAGE_SIZES) {
  for (const channels of [1, 3] as const) {
    test(`G and D shapes at ${imageSize}×${imageSize}×${channels}, width 8`, () => {
      const shape = { imageSize, width: 8, latent: 12, channels };
      const G = buildGenerator(shape, 1);
      const D = buildDiscriminator(shape, 1);
      tf.tidy(() => {
        const images = G.predict(tf.randomNormal([2, 12])) as tf.Tensor;
        assert.deepEqual(images.shape, [2, imageSize, imageSize, channels]);
        const logits = D.predict(images) as tf.Tensor;
        assert.deepEqual(logits.shape, [2, 1]);
      });
      G.dispose();
      D.dispose();
    });
  }
}

test('weights start as N(0, 0.02) and the same seed gives the same weights', async () => {
  const shape = { imageSize: 32 as const, width: 16, latent: 100, channels: 3 as const };
  const a = buildGenerator(shape, 5);
  const b = buildGenerator(shape, 5);
  const c = buildGenerator(shape, 6);
  const kernel = async (m: tf.LayersModel) => (await m.getLayer('g1_deconv').getWeights()[0].data()) as Float32Array;
  const [ka, kb, kc] = await Promise.all([kernel(a), kernel(b), kernel(c)]);
  assert.deepEqual(ka, kb);
  assert.notDeepEqual(ka, kc);
  const mean = ka.reduce((s, x) => s + x, 0) / ka.length;
  const std = Math.sqrt(ka.reduce((s, x) => s + (x - mean) ** 2, 0) / ka.length);
  assert.ok(Math.abs(mean) < 0.002, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.02) < 0.002, `std ${std}`);
  for (const m of [a, b, c]) m.dispose();
});
