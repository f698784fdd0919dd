// Each preset against its source: layer shapes as the source's comments give them, and parameter counts worked out
// from the source's layer list (PyTorch: conv weights, bias=False, BN γ and β; Keras: kernels, biases, BN γ and β
// trainable, moving mean and variance not), never read off our own models.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { architecture, ARCH_NAMES } from '../src/model/architectures.js';
import { buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { asDiscriminator, asGenerator } from '../src/model/generator.js';
import { tf, useTestBackend } from './helpers.js';

before(useTestBackend);

const size = (shape: (number | null)[]) => shape.reduce<number>((p, d) => p * (d ?? 1), 1);
const trainable = (m: tf.LayersModel) => m.trainableWeights.reduce((s, w) => s + size(w.shape), 0);
const nonTrainable = (m: tf.LayersModel) => m.nonTrainableWeights.reduce((s, w) => s + size(w.shape), 0);
const shapesOf = (m: tf.LayersModel, suffix: RegExp) =>
  m.layers.filter((l) => suffix.test(l.name)).map((l) => (l.outputShape as number[]).slice(1));

function build(name: string, shape: { imageSize: number; width: number; latent: number; channels: 1 | 3 }) {
  const arch = architecture(name);
  const full = { ...shape, classes: 0 };
  return { G: buildGenerator(arch, full, 1), D: buildDiscriminator(arch, full, 1) };
}

test('dcgan28 (PyTorch MNIST DCGAN): 100 → 256·4² → 128·8² → 64·16² → 1·28²; D 14 → 7 → 4 → 1', () => {
  const { G, D } = build('dcgan28', { imageSize: 28, width: 64, latent: 100, channels: 1 });
  assert.deepEqual(shapesOf(G, /_relu$|^g_tanh$/), [[4, 4, 256], [8, 8, 128], [16, 16, 64], [28, 28, 1]]);
  assert.deepEqual(shapesOf(D, /_lrelu$/), [[14, 14, 64], [7, 7, 128], [4, 4, 256]]);
  // G: ConvT 100·256·4² + 256·128·4² + 128·64·4² + 64·1·4², BN γ, β on 256 + 128 + 64
  assert.equal(trainable(G), 100 * 256 * 16 + 256 * 128 * 16 + 128 * 64 * 16 + 64 * 16 + 2 * (256 + 128 + 64));
  // D: Conv 1·64·4² + 64·128·4² + 128·256·3² + 256·1·4², BN on 64 + 128 + 256
  assert.equal(trainable(D), 64 * 16 + 64 * 128 * 16 + 128 * 256 * 9 + 256 * 16 + 2 * (64 + 128 + 256));
  G.dispose();
  D.dispose();
});

test('keras28 (Hands-on ML DCGAN): Dense → 7·7·128 → 64·14² → 1·28²; Keras summary counts', () => {
  const { G, D } = build('keras28', { imageSize: 28, width: 64, latent: 100, channels: 1 });
  assert.deepEqual(shapesOf(G, /^g0_reshape$|^g1_deconv$|^g_out$/), [[7, 7, 128], [14, 14, 64], [28, 28, 1]]);
  assert.deepEqual(shapesOf(D, /_conv$/), [[14, 14, 64], [7, 7, 128]]);
  // G: Dense 100→6272 (+bias) 633,472; BN(128) γβ 256; ConvT 5·5·64·128 + 64 = 204,864; BN(64) 128; ConvT 5·5·1·64 + 1
  assert.equal(trainable(G), 633_472 + 256 + 204_864 + 128 + 1_601); // 840,321
  assert.equal(nonTrainable(G), 2 * (128 + 64)); // moving mean and variance: Keras' 384
  // D: Conv 5·5·1·64 + 64, Conv 5·5·64·128 + 128, Dense 6272 + 1
  assert.equal(trainable(D), 1_664 + 204_928 + 6_273); // 212,865
  G.dispose();
  D.dispose();
});

test('anime96 (AnimeGAN): 100 → 512·4² → 256·8² → 128·16² → 64·32² → 3·96²; D 32 → 16 → 8 → 4 → 1', () => {
  const { G, D } = build('anime96', { imageSize: 96, width: 64, latent: 100, channels: 3 });
  assert.deepEqual(shapesOf(G, /_lrelu$|^g_tanh$/), [[4, 4, 512], [8, 8, 256], [16, 16, 128], [32, 32, 64], [96, 96, 3]]);
  assert.deepEqual(shapesOf(D, /_lrelu$/), [[32, 32, 64], [16, 16, 128], [8, 8, 256], [4, 4, 512]]);
  assert.equal(trainable(G), 100 * 512 * 16 + 512 * 256 * 16 + 256 * 128 * 16 + 128 * 64 * 16 + 64 * 3 * 25 + 2 * (512 + 256 + 128 + 64));
  // D: the first convolution has kernel 5 and no batch norm after it
  assert.equal(trainable(D), 3 * 64 * 25 + 64 * 128 * 16 + 128 * 256 * 16 + 256 * 512 * 16 + 512 * 16 + 2 * (128 + 256 + 512));
  G.dispose();
  D.dispose();
});

test('mlp (Keras-GAN gan.py) at 28×28×1: Keras summary counts 1,493,520 (G) and 533,505 (D)', () => {
  const { G, D } = build('mlp', { imageSize: 28, width: 256, latent: 100, channels: 1 });
  assert.equal(trainable(G) + nonTrainable(G), 1_493_520);
  assert.equal(nonTrainable(G), 3_584);
  assert.equal(trainable(D), 533_505);
  assert.deepEqual(G.outputs[0].shape, [null, 28, 28, 1]);
  G.dispose();
  D.dispose();
});

test('mlp takes any image size; the convolutional presets only their own', () => {
  const { G, D } = build('mlp', { imageSize: 20, width: 8, latent: 4, channels: 3 });
  assert.deepEqual(G.outputs[0].shape, [null, 20, 20, 3]);
  G.dispose();
  D.dispose();
});

for (const name of ARCH_NAMES) {
  test(`${name}: builds at its defaults, unconditional and with 3 classes, and runs G → D`, () => {
    const arch = architecture(name);
    const { imageSize, width, latent } = arch.defaults;
    for (const classes of [0, 3]) {
      const shape = { imageSize, width: Math.min(width, 8), latent, channels: 3 as const, classes };
      const G = asGenerator(buildGenerator(arch, shape, 2));
      const D = asDiscriminator(buildDiscriminator(arch, shape, 2));
      tf.tidy(() => {
        const images = G.generate(tf.randomNormal([2, latent]), classes ? tf.tensor1d([0, 2], 'int32') : undefined);
        assert.deepEqual(images.shape, [2, imageSize, imageSize, 3]);
        const { logits, classLogits } = D.judge(images);
        assert.deepEqual(logits.shape, [2]);
        assert.deepEqual(classLogits?.shape, classes ? [2, 3] : undefined);
      });
      G.model.dispose();
      D.model.dispose();
    }
  });
}
