// ProGAN (src/model/progan.ts): the schedule against the official TrainingSchedule worked by hand, the networks'
// layers and parameters as networks.py lists them (counted by hand), and the phases' models: sharing weights, fading
// exactly between the old and the new path, saving and reloading mid-fade.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { takesImageSize, type ModelShape } from '../src/model/architecture.js';
import { buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { loadModel, loadWeightsInto, saveModel } from '../src/model/io.js';
import { channelsAt, fadeReals, phaseAt, progan, ProgressiveGan, resolutions, scheduleImages, type Phase } from '../src/model/progan.js';
import type { FadeIn } from '../src/model/progan-layers.js';
import { assertSameNumbers, maxAbsDiff, tf, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const SHAPE: ModelShape = { imageSize: 8, width: 2, latent: 4, channels: 3, classes: 0 };
const values = (t: tf.Tensor | tf.Tensor[]) => (t as tf.Tensor).dataSync();
const trainable = (m: tf.LayersModel) => m.trainableWeights.reduce((s, w) => s + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0);

test('the schedule: 4×4 stable, then per doubling a fade over --fade-kimg thousand images and as many stable', () => {
  const at = (images: number) => {
    const p = phaseAt(images, 16, 1);
    return [p.index, p.resolution, p.fading, p.alpha];
  };
  assert.deepEqual(at(0), [0, 4, false, 1]);
  assert.deepEqual(at(999), [0, 4, false, 1]);
  assert.deepEqual(at(1000), [1, 8, true, 0]); // the fade starts at α = 0: the old path only
  assert.deepEqual(at(1500), [1, 8, true, 0.5]);
  assert.deepEqual(at(1999), [1, 8, true, 0.999]);
  assert.deepEqual(at(2000), [2, 8, false, 1]);
  assert.deepEqual(at(3250), [3, 16, true, 0.25]);
  assert.deepEqual(at(4000), [4, 16, false, 1]); // the final resolution, stable, for ever after
  assert.deepEqual(at(1e9), [4, 16, false, 1]);
  // the paper's 600 kimg at 64×64: 4 stable 600k, 8 fading 600k … 64 stable from 4.8 M images
  assert.deepEqual(phaseAt(900_000, 64, 600), { index: 1, resolution: 8, fading: true, alpha: 0.5 });
  assert.deepEqual(phaseAt(4_800_000, 64, 600), { index: 8, resolution: 64, fading: false, alpha: 1 });
  assert.equal(scheduleImages(64, 600), 9 * 600_000);
  assert.equal(scheduleImages(16, 1), 5000);
  // --fade-kimg 0: no growing
  assert.deepEqual(phaseAt(0, 32, 0), { index: 6, resolution: 32, fading: false, alpha: 1 });
  assert.deepEqual(phaseAt(5000, 4, 1), { index: 0, resolution: 4, fading: false, alpha: 1 }); // nothing to grow
  assert.throws(() => phaseAt(0, 24, 1), /power-of-two image size, not 24/);
  assert.throws(() => phaseAt(0, 16, -1), /--fade-kimg must be a number ≥ 0, not -1/);
  assert.throws(() => phaseAt(-1, 16, 1), /images seen must be ≥ 0/);
});

test('fadeReals: in a fade α·x_r + (1 − α)·upsample(x_{r/2}), at the final size; stable phases leave the images', () => {
  // 8×8 images made of 2×2 blocks [[0, 2], [4, 6]] (mean 3): at 8×8 fading, x_{r/2} upsampled is 3 everywhere
  const block = [0, 2, 4, 6];
  const pixels = Array.from({ length: 64 }, (_, i) => block[((Math.floor(i / 8) % 2) * 2) + (i % 2)]);
  const x = tf.tensor4d(pixels, [1, 8, 8, 1]);
  const phase = (alpha: number): Phase => ({ index: 5, resolution: 8, fading: true, alpha });
  assertSameNumbers(values(fadeReals(x, phase(1))), pixels);
  assertSameNumbers(values(fadeReals(x, phase(0))), pixels.map(() => 3));
  assertSameNumbers(values(fadeReals(x, phase(0.5))), pixels.map((v) => (v + 3) / 2));
  // at 4×4 fading in a 8×8 run: x_4 is 3 everywhere already (each 2×2 block's mean), so is its blur
  assertSameNumbers(values(fadeReals(x, { index: 3, resolution: 4, fading: true, alpha: 0.5 })), pixels.map(() => 3));
  assertSameNumbers(values(fadeReals(x, { index: 4, resolution: 8, fading: false, alpha: 1 })), pixels);
});

test('progan grows to powers of two from 8 to 256', () => {
  const takes = [4, 8, 12, 16, 24, 32, 64, 64.5, 128, 256, 512].filter((n) => takesImageSize(progan, n));
  assert.deepEqual(takes, [8, 16, 32, 64, 128, 256]);
  // and the growing networks refuse any other size, naming it
  assert.throws(() => new ProgressiveGan({ ...SHAPE, imageSize: 12 }, 1), /progressive growing needs a power-of-two image size, not 12/);
});

test('widths: the base width at the final size, doubling per halving, at most 8 times', () => {
  assert.deepEqual(resolutions(64).map((r) => channelsAt(r, 64, 16)), [128, 128, 64, 32, 16]);
  assert.deepEqual(resolutions(256).map((r) => channelsAt(r, 256, 4)), [32, 32, 32, 32, 16, 8, 4]);
});

test('G and D as networks.py lists them, parameters counted by hand (8×8, width 2, latent 4)', () => {
  const G = buildGenerator(progan, SHAPE, 1);
  const D = buildDiscriminator(progan, SHAPE, 1);
  const layers = (m: tf.LayersModel) => m.layers.map((l) => l.getClassName()).filter((c) => c !== 'InputLayer');
  assert.deepEqual(layers(G), [
    'PixelNorm', 'EqualizedDense', 'Reshape', 'LeakyReLU', 'PixelNorm', 'EqualizedConv2D', 'LeakyReLU', 'PixelNorm', // 4×4
    'UpSampling2D', 'EqualizedConv2D', 'LeakyReLU', 'PixelNorm', 'EqualizedConv2D', 'LeakyReLU', 'PixelNorm', //      8×8
    'EqualizedConv2D', //                                                                                              toRGB
  ]);
  assert.deepEqual(layers(D), [
    'EqualizedConv2D', 'LeakyReLU', //                                                    fromRGB
    'EqualizedConv2D', 'LeakyReLU', 'EqualizedConv2D', 'LeakyReLU', 'Downscale2D', //     8×8
    'MinibatchStddev', 'EqualizedConv2D', 'LeakyReLU', 'Flatten', 'EqualizedDense', 'LeakyReLU', // 4×4
    'EqualizedDense', //                                                                  the logit
  ]);
  // channels: 4 at 4×4, 2 at 8×8. G: dense 4 → 4·4·4 (+ bias), conv 3·3·4·4, conv 3·3·4·2, conv 3·3·2·2, toRGB 2·3
  assert.equal(trainable(G), (4 * 64 + 64) + (9 * 16 + 4) + (9 * 8 + 2) + (9 * 4 + 2) + (2 * 3 + 3));
  // D: fromRGB 3·2, conv 3·3·2·2, conv 3·3·2·4, 4×4 conv 3·3·(4 + 1)·4 (the stddev map), dense 64·4, logit 4·1
  assert.equal(trainable(D), (3 * 2 + 2) + (9 * 4 + 2) + (9 * 8 + 4) + (9 * 20 + 4) + (64 * 4 + 4) + (4 + 1));
  // the gains: G's first dense √2/4 over √latent; toRGB and the logit 1; the rest √2
  const scale = (m: tf.LayersModel, name: string) => (m.getLayer(name) as unknown as { scale: number }).scale;
  assert.equal(scale(G, 'g4_dense'), Math.SQRT2 / 4 / 2);
  assert.equal(scale(G, 'g8_to_rgb'), 1 / Math.sqrt(2));
  assert.equal(scale(G, 'g8_conv0'), Math.SQRT2 / Math.sqrt(9 * 4));
  assert.equal(scale(D, 'd_out'), 1 / 2);
  assert.equal(D.getLayer('d4_stddev').getConfig().groupSize, 4);
  tf.tidy(() => {
    const images = G.predict(tf.randomNormal([4, 4])) as tf.Tensor;
    assert.deepEqual(images.shape, [4, 8, 8, 3]);
    assert.deepEqual((D.predict(images) as tf.Tensor).shape, [4, 1]);
  });
  G.dispose();
  D.dispose();
});

test('with equalized learning rate off, progan draws He\'s N(0, gain²/fan_in) and has no pixel norm when that is off', () => {
  const shape = { ...SHAPE, imageSize: 16, width: 16, latent: 32, tricks: { equalizedLr: false, pixelNorm: false } };
  const G = buildGenerator(progan, shape, 1);
  const D = buildDiscriminator(progan, shape, 1);
  assert.ok(![...G.layers, ...D.layers].some((l) => l.getClassName().startsWith('Equalized')), 'no equalized layers');
  assert.equal(G.layers.filter((l) => l.getClassName() === 'PixelNorm').length, 1); // the latent's normalisation stays
  const kernel = Array.from(values(G.getLayer('g16_conv1').getWeights()[0])); // 3·3·16 in: He's std √(2/144)
  const sd = Math.sqrt(kernel.reduce((s, v) => s + v * v, 0) / kernel.length);
  assert.ok(Math.abs(sd - Math.sqrt(2 / 144)) < 0.01, `${sd}`); // 2,304 draws
  // each initialiser's σ, by hand: channels 64 at 4×4, 32 at 8×8, 16 at 16×16; D's 4×4 block takes the stddev map too
  const sigma = (m: tf.LayersModel, layer: string) => (m.getLayer(layer).getConfig().kernelInitializer as { config: { stddev: number } }).config.stddev;
  const expected: [tf.LayersModel, string, number][] = [
    [G, 'g4_dense', Math.SQRT2 / 4 / Math.sqrt(32)], [G, 'g4_conv1', Math.SQRT2 / Math.sqrt(9 * 64)], [G, 'g8_conv0', Math.SQRT2 / Math.sqrt(9 * 64)],
    [G, 'g8_conv1', Math.SQRT2 / Math.sqrt(9 * 32)], [G, 'g16_to_rgb', 1 / Math.sqrt(16)],
    [D, 'd16_from_rgb', Math.SQRT2 / Math.sqrt(3)], [D, 'd16_conv1', Math.SQRT2 / Math.sqrt(9 * 16)], [D, 'd8_conv0', Math.SQRT2 / Math.sqrt(9 * 32)],
    [D, 'd4_conv0', Math.SQRT2 / Math.sqrt(9 * 65)], [D, 'd4_dense', Math.SQRT2 / Math.sqrt(16 * 64)], [D, 'd_out', 1 / Math.sqrt(64)],
  ];
  for (const [m, layer, sd] of expected) assert.ok(Math.abs(sigma(m, layer) - sd) < 1e-12, `${layer}: σ ${sigma(m, layer)}, expected ${sd}`);
  G.dispose();
  D.dispose();
});

test('the phases share their layers and weights: growing copies nothing', () => {
  const gan = new ProgressiveGan(SHAPE, 1);
  const four = gan.models({ resolution: 4, fading: false });
  const fading = gan.models({ resolution: 8, fading: true });
  const eight = gan.models({ resolution: 8, fading: false });
  // (=== in assert.ok: a failing assert.equal would print whole tfjs models)
  assert.ok(gan.models({ resolution: 8, fading: true }) === fading, 'built once');
  for (const name of ['g4_dense', 'g4_conv1', 'g4_to_rgb']) assert.ok(fading.G.getLayer(name) === four.G.getLayer(name), name);
  for (const name of ['g8_conv0', 'g8_to_rgb']) assert.ok(eight.G.getLayer(name) === fading.G.getLayer(name), name);
  for (const name of ['d4_conv0', 'd4_dense', 'd_out', 'd4_from_rgb']) assert.ok(fading.D.getLayer(name) === four.D.getLayer(name), name);
  // every phase draws and judges at the final size
  for (const { G, D } of [four, fading, eight]) {
    assert.deepEqual(G.outputs[0].shape, [null, 8, 8, 3]);
    assert.deepEqual(D.inputs[0].shape, [null, 8, 8, 3]);
  }
  // a weight changed through one phase's model is the other's
  const layer = eight.G.getLayer('g4_conv1');
  const z = tf.randomNormal([2, 4], 0, 1, 'float32', 2);
  const before = values(four.G.predict(z) as tf.Tensor).slice();
  tf.tidy(() => layer.setWeights(layer.getWeights().map((w) => w.add(1)))); // (× 2 would be undone by pixel norm)
  assert.ok(maxAbsDiff(values(four.G.predict(z) as tf.Tensor), before) > 1e-3, 'maxAbsDiff(values(four.G.predict(z) as tf.Tensor), before) > 1e-3');
  gan.dispose();
});

test('the fade: α = 0 is the old network, α = 1 the new, ½ the mean of the two; α is the fade layers\' weight', () => {
  const gan = new ProgressiveGan(SHAPE, 3);
  const old = gan.models({ resolution: 4, fading: false });
  const fresh = gan.models({ resolution: 8, fading: false });
  const fade = (alpha: number) => {
    const phase: Phase = { index: 1, resolution: 8, fading: true, alpha };
    gan.setAlpha(phase);
    return gan.models(phase);
  };
  const z = tf.randomNormal([4, 4], 0, 1, 'float32', 4);
  const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 5);
  const g = (m: tf.LayersModel) => Array.from(values(m.predict(z) as tf.Tensor));
  const d = (m: tf.LayersModel) => Array.from(values(m.predict(x) as tf.Tensor));
  // G exactly: 0·new + 1·old (the 4×4 image, upsampled twice either way)
  assertSameNumbers(g(fade(0).G), g(old.G), 'α 0');
  assertSameNumbers(g(fade(1).G), g(fresh.G), 'α 1');
  const half = g(fade(0.5).G);
  const [a, b] = [g(old.G), g(fresh.G)];
  assert.ok(maxAbsDiff(half, a.map((v, i) => (v + b[i]) / 2)) < 1e-6, 'maxAbsDiff(half, a.map((v, i) => (v + b[i]) / 2)) < 1e-6');
  // D: its 4×4 input averaged down in one step or in two, the same up to rounding
  assert.ok(maxAbsDiff(d(fade(0).D), d(old.D)) < 1e-5, 'maxAbsDiff(d(fade(0).D), d(old.D)) < 1e-5');
  assertSameNumbers(d(fade(1).D), d(fresh.D), 'D at α 1');
  assert.equal((fade(0.25).G.getLayer('g8_fade') as FadeIn).alpha, 0.25);
  assert.equal((fade(0.25).D.getLayer('d8_fade') as FadeIn).alpha, 0.25);
  gan.setAlpha({ index: 2, resolution: 8, fading: false, alpha: 1 }); // a stable phase has no fade to set
  gan.dispose();
});

test('the finished network is the architecture row\'s, weight for weight, from the same seed (conditional too)', () => {
  for (const classes of [0, 3]) {
    const shape = { ...SHAPE, classes };
    const gan = new ProgressiveGan(shape, 7);
    const { G, D } = gan.models({ resolution: 8, fading: false });
    const rowG = buildGenerator(progan, shape, 7);
    const rowD = buildDiscriminator(progan, shape, 7);
    for (const [ours, row] of [[G, rowG], [D, rowD]]) {
      assert.deepEqual(ours.weights.map((w) => w.originalName), row.weights.map((w) => w.originalName));
      ours.weights.forEach((w, i) => assertSameNumbers(w.read().dataSync(), row.weights[i].read().dataSync(), w.originalName));
    }
    assert.deepEqual(D.outputs.map((o) => o.shape), classes ? [[null, 1], [null, 3]] : [[null, 1]]);
    assert.deepEqual(G.inputs.map((i) => i.shape), rowG.inputs.map((i) => i.shape));
    rowG.dispose();
    rowD.dispose();
    gan.dispose();
  }
});

test('a phase saved mid-fade reloads as it was (α included), and into a fresh run\'s models from the same seed', async () => {
  const gan = new ProgressiveGan(SHAPE, 9);
  const phase = phaseAt(1300, 8, 1); // 8×8 fading, α 0.3
  gan.setAlpha(phase);
  const { G, D } = gan.models(phase);
  const dir = await tmpDir();
  await saveModel(G, `${dir}/generator`);
  await saveModel(D, `${dir}/discriminator`);
  const z = tf.randomNormal([4, 4], 0, 1, 'float32', 6);
  const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 7);
  // tf.loadLayersModel, as sample and the web page do
  const loaded = await loadModel(`${dir}/generator`);
  assertSameNumbers(values(loaded.predict(z) as tf.Tensor), values(G.predict(z) as tf.Tensor));
  assert.equal((loaded.getLayer('g8_fade') as FadeIn).alpha, Math.fround(0.3));
  // a resume: the same seed's models, the checkpoint's weights (α too) copied in
  const resumed = new ProgressiveGan(SHAPE, 9).models(phase);
  await loadWeightsInto(resumed.G, `${dir}/generator`);
  await loadWeightsInto(resumed.D, `${dir}/discriminator`);
  assertSameNumbers(values(resumed.G.predict(z) as tf.Tensor), values(G.predict(z) as tf.Tensor), 'G');
  assertSameNumbers(values(resumed.D.predict(x) as tf.Tensor), values(D.predict(x) as tf.Tensor), 'D');
  gan.dispose();
});
