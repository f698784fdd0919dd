// StyleGAN's generator (src/model/stylegan.ts): the mapping network's shapes and parameters counted by hand, the
// synthesis network's layers, style mixing and truncation from their definitions, and save → load.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { ModelShape } from '../src/model/architecture.js';
import { buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { loadModel, saveModel } from '../src/model/io.js';
import { setRandomStep } from '../src/model/layers.js';
import { mixStyles, setTruncation, styleCrossovers, styleGroups, styleLayers, styleModels, styleSource, stylegan, wAverage } from '../src/model/stylegan.js';
import { truncate } from '../src/model/stylegan-layers.js';
import { Rng } from '../src/util/rng.js';
import { assertSameNumbers, maxAbsDiff, tf, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const SHAPE: ModelShape = { imageSize: 8, width: 2, latent: 4, channels: 3, classes: 0 };
const size = (shape: (number | null)[]) => shape.reduce<number>((p, d) => p * (d ?? 1), 1);
const count = (weights: tf.LayerVariable[]) => weights.reduce((s, w) => s + size(w.shape), 0);
const values = (t: tf.Tensor | tf.Tensor[]) => Array.from((t as tf.Tensor).dataSync());

/** G with its noise factors at 1 (StyleGAN starts them at 0, where noise changes nothing) */
function generator(shape = SHAPE, seed = 1): tf.LayersModel {
  const G = buildGenerator(stylegan, shape, seed);
  for (const layer of G.layers.filter((l) => l.getClassName() === 'NoiseInjection')) {
    tf.tidy(() => layer.setWeights([tf.onesLike(layer.getWeights()[0]), layer.getWeights()[1]]));
  }
  return G;
}

test('the mapping network: z → 8 dense layers of latent units → w; parameters 8·(d² + d), w̄ beside them', () => {
  const G = generator();
  const { mapping, synthesis, layers } = styleModels(G);
  assert.equal(layers, styleLayers(8));
  assert.equal(layers, 4); // 2 per resolution, 4×4 and 8×8
  assert.deepEqual(mapping.outputs[0].shape, [null, 4]);
  assert.deepEqual(synthesis.inputs[0].shape, [null, 4, 4]);
  assert.deepEqual(mapping.layers.map((l) => l.getClassName()).filter((c) => c !== 'InputLayer'),
    ['PixelNorm', ...Array(8).fill(['EqualizedDense', 'LeakyReLU']).flat(), 'WAverage']);
  assert.equal(count(mapping.trainableWeights), 8 * (4 * 4 + 4));
  assert.equal(count(mapping.nonTrainableWeights), 4); // w̄
  // the whole G, by hand: constant 4·4·4; per layer noise factors (C) and AdaIN's affine map (d·2C + 2C); convolutions
  // 3·3·4·4 + 4 (4×4), 3·3·4·2 + 2 and 3·3·2·2 + 2 (8×8); toRGB 2·3 + 3. Not trainable: w̄ and the stored noise maps.
  const adain = (c: number) => 4 * 2 * c + 2 * c;
  assert.equal(count(G.trainableWeights), 160 + 64 + (4 + adain(4)) + (148 + 4 + adain(4)) + (74 + 2 + adain(2)) + (38 + 2 + adain(2)) + 9);
  assert.equal(count(G.nonTrainableWeights), 4 + 16 + 16 + 64 + 64);
  G.dispose();
});

test('the mapping learns 100× slower: N(0, 100²) stored, scaled by √2/√d·0.01 at run time', () => {
  const G = buildGenerator(stylegan, { ...SHAPE, latent: 64 }, 2);
  const layer = G.getLayer('map3_dense');
  assert.ok(Math.abs((layer as unknown as { scale: number }).scale - (Math.SQRT2 / 8) * 0.01) < 1e-15, 'Math.abs((layer as unknown as { scale: number }).scale - (Math.SQRT2 / 8) * 0.01) < 1e-15');
  const w = values(layer.getWeights()[0]);
  const sd = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(sd - 100) < 4, `${sd}`); // 4,096 draws
  assert.equal(layer.getConfig().lrMul, 0.01);
  G.dispose();
});

test('the synthesis network: constant, then per layer (upsample,) conv, noise, LeakyReLU, AdaIN with its own w', () => {
  const big = generator({ ...SHAPE, imageSize: 32 });
  assert.deepEqual(big.layers.filter((l) => l.getClassName() === 'AdaIN').map((l) => l.getConfig().index), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(big.outputs[0].shape, [null, 32, 32, 3]);
  big.dispose();
  const G = generator();
  const { synthesis } = styleModels(G);
  assert.deepEqual(synthesis.layers.map((l) => l.getClassName()).filter((c) => c !== 'InputLayer'), [
    'ConstantInput', 'NoiseInjection', 'LeakyReLU', 'AdaIN', //                           layer 0: 4×4, the constant
    'EqualizedConv2D', 'NoiseInjection', 'LeakyReLU', 'AdaIN', //                        layer 1
    'UpSampling2D', 'EqualizedConv2D', 'NoiseInjection', 'LeakyReLU', 'AdaIN', //         layer 2: 8×8
    'EqualizedConv2D', 'NoiseInjection', 'LeakyReLU', 'AdaIN', //                        layer 3
    'EqualizedConv2D', //                                                                toRGB
  ]);
  assert.deepEqual(synthesis.layers.filter((l) => l.getClassName() === 'AdaIN').map((l) => l.getConfig().index), [0, 1, 2, 3]);
  assert.equal(G.getLayer('syn_to_rgb').getConfig().gain, 1);
  G.dispose();
});

test('mapping and synthesis models share G\'s weights: synthesis(w for every layer) is G(z)', () => {
  const G = generator();
  const { mapping, synthesis, layers } = styleModels(G);
  const z = tf.randomNormal([3, 4], 0, 1, 'float32', 3);
  const w = mapping.predict(z) as tf.Tensor2D;
  const ws = mixStyles(w, w, [layers, layers, layers], layers);
  assertSameNumbers(values(synthesis.predict(ws) as tf.Tensor), values(G.predict(z) as tf.Tensor));
  assert.ok(synthesis.getLayer('syn1_conv') === G.getLayer('syn1_conv'), 'synthesis.getLayer(\'syn1_conv\') === G.getLayer(\'syn1_conv\')');
  G.dispose();
});

test('style mixing: w₁ below each image\'s crossover, w₂ from it on', () => {
  const w1 = tf.tensor2d([1, 1, 2, 2, 3, 3], [3, 2]);
  const w2 = tf.tensor2d([-1, -1, -2, -2, -3, -3], [3, 2]);
  const ws = mixStyles(w1, w2, [0, 2, 4], 4);
  assert.deepEqual(ws.arraySync(), [
    [[-1, -1], [-1, -1], [-1, -1], [-1, -1]], // crossover 0: w₂ everywhere
    [[2, 2], [2, 2], [-2, -2], [-2, -2]], //     crossover 2: layers 0, 1 from w₁
    [[3, 3], [3, 3], [3, 3], [3, 3]], //         crossover 4 (the layer count): no mixing
  ]);
  assert.deepEqual([0, 1, 2, 3].map((l) => styleSource(l, 2)), [1, 1, 2, 2]);
});

test('style mixing in G: crossover 0 draws w₂\'s image, the layer count w₁\'s, and one between neither', () => {
  const G = generator();
  const { mapping, synthesis, layers } = styleModels(G);
  const w1 = mapping.predict(tf.randomNormal([1, 4], 0, 1, 'float32', 4)) as tf.Tensor2D;
  const w2 = mapping.predict(tf.randomNormal([1, 4], 0, 1, 'float32', 5)) as tf.Tensor2D;
  const image = (crossover: number) => values(synthesis.predict(mixStyles(w1, w2, [crossover], layers)) as tf.Tensor);
  const only = (w: tf.Tensor2D) => values(synthesis.predict(mixStyles(w, w, [layers], layers)) as tf.Tensor);
  assertSameNumbers(image(0), only(w2));
  assertSameNumbers(image(layers), only(w1));
  assert.ok(maxAbsDiff(image(2), only(w1)) > 1e-4 && maxAbsDiff(image(2), only(w2)) > 1e-4, 'maxAbsDiff(image(2), only(w1)) > 1e-4 && maxAbsDiff(image(2), only(w2)) > 1e-4');
  G.dispose();
});

test('crossovers: a share p of the batch mixes, at a layer uniform in 1 … layers − 1; the rest never', () => {
  const rng = new Rng(3);
  const all = styleCrossovers(rng, 6000, 6, 1);
  const counts = [0, 0, 0, 0, 0, 0, 0];
  for (const c of all) counts[c]++;
  assert.equal(counts[0] + counts[6], 0);
  for (let c = 1; c <= 5; c++) assert.ok(Math.abs(counts[c] / 6000 - 0.2) < 0.02, `layer ${c}: ${counts[c]}`); // σ 0.005
  assert.ok(styleCrossovers(rng, 100, 6, 0).every((c) => c === 6), 'styleCrossovers(rng, 100, 6, 0).every((c) => c === 6)');
  const mixed = styleCrossovers(rng, 20_000, 10, 0.9).filter((c) => c < 10).length / 20_000;
  assert.ok(Math.abs(mixed - 0.9) < 0.01, `${mixed}`); // σ 0.002
  assert.deepEqual(styleCrossovers(new Rng(8), 5, 10, 0.9), styleCrossovers(new Rng(8), 5, 10, 0.9)); // from the run's Rng
  assert.throws(() => styleCrossovers(rng, 1, 4, 1.5), /probability must be in \[0, 1\]/);
});

test('truncation: ψ = 0 draws w̄\'s image for every z, ψ = 1 the plain one; ψ in between, w̄ + ψ·(w − w̄)', () => {
  const G = generator();
  const { mapping, synthesis, layers } = styleModels(G);
  const z = tf.randomNormal([2, 4], 0, 1, 'float32', 6);
  const plain = values(G.predict(z) as tf.Tensor);
  const w = mapping.predict(z) as tf.Tensor2D;
  tf.tidy(() => G.getLayer('w_average').setWeights([tf.tensor1d([0.5, -0.25, 1, 0.1])]));
  const wBar = wAverage(G);
  assert.deepEqual(values(wBar), [0.5, -0.25, 1, 0.1].map(Math.fround));
  const imageOf = (ws: tf.Tensor2D) => values(synthesis.predict(mixStyles(ws, ws, [layers, layers], layers)) as tf.Tensor);
  setTruncation(G, 0);
  const bar = tf.stack([wBar, wBar]) as tf.Tensor2D;
  assertSameNumbers(values(G.predict(z) as tf.Tensor), imageOf(bar));
  setTruncation(G, 0.7);
  assert.ok(maxAbsDiff(values(G.predict(z) as tf.Tensor), imageOf(truncate(w, wBar, 0.7) as tf.Tensor2D)) < 1e-5, 'maxAbsDiff(values(G.predict(z) as tf.Tensor), imageOf(truncate(w, wBar, 0.7) as tf.Tensor2D)) < 1e-5');
  setTruncation(G, 1);
  assertSameNumbers(values(G.predict(z) as tf.Tensor), plain);
  assert.throws(() => setTruncation(G, 1.2), /--truncation must be in \[0, 1\], not 1.2/);
  G.dispose();
});

test('w̄ follows the codes G draws in training (β 0.995), not in inference', () => {
  const G = generator();
  const { mapping } = styleModels(G);
  const z = tf.randomNormal([8, 4], 0, 1, 'float32', 7);
  G.predict(z);
  assert.ok(values(wAverage(G)).every((v) => v === 0), 'values(wAverage(G)).every((v) => v === 0)');
  const w = values(tf.mean(mapping.predict(z) as tf.Tensor, 0));
  G.apply(z, { training: true });
  assert.ok(maxAbsDiff(values(wAverage(G)), w.map((v) => v * (1 - 0.995))) < 1e-6, 'maxAbsDiff(values(wAverage(G)), w.map((v) => v * (1 - 0.995))) < 1e-6');
  G.dispose();
});

test('noise in training follows the step: a step draws the same images whenever it runs, another step others', () => {
  const G = generator();
  const z = tf.randomNormal([2, 4], 0, 1, 'float32', 8);
  const draw = (step: number) => {
    setRandomStep(step);
    return values(G.apply(z, { training: true }) as tf.Tensor);
  };
  const a = draw(3);
  const b = draw(4);
  assertSameNumbers(draw(3), a); // a run resumed at step 3 draws what the straight run did
  assert.ok(maxAbsDiff(b, a) > 1e-4, 'maxAbsDiff(b, a) > 1e-4');
  // G run twice within a step (some step forms do) draws anew the second time, in both runs alike
  setRandomStep(5);
  const first = values(G.apply(z, { training: true }) as tf.Tensor);
  assert.ok(maxAbsDiff(values(G.apply(z, { training: true }) as tf.Tensor), first) > 1e-4, 'maxAbsDiff(values(G.apply(z, { training: true }) as tf.Tensor), first) > 1e-4');
  G.dispose();
});

test('save → load: the same pixels, w̄ and all; the loaded G cuts into mapping and synthesis too', async () => {
  const G = generator({ ...SHAPE, classes: 3 }, 4);
  tf.tidy(() => G.getLayer('w_average').setWeights([tf.tensor1d([0.1, 0.2, 0.3, 0.4])]));
  setTruncation(G, 0.5);
  const dir = await tmpDir();
  await saveModel(G, dir);
  const loaded = await loadModel(dir);
  const z = tf.randomNormal([3, 4], 0, 1, 'float32', 9);
  const c = tf.tensor2d([0, 2, 1], [3, 1]);
  assertSameNumbers(values(loaded.predict([z, c]) as tf.Tensor), values(G.predict([z, c]) as tf.Tensor));
  assert.deepEqual(values(wAverage(loaded)), values(wAverage(G)));
  const { mapping, synthesis, layers } = styleModels(loaded);
  const w = mapping.predict([z, c]) as tf.Tensor2D;
  assertSameNumbers(values(synthesis.predict(mixStyles(w, w, [layers, layers, layers], layers)) as tf.Tensor), values(G.predict([z, c]) as tf.Tensor));
  G.dispose();
});

test('D is ProGAN\'s at the final size; G takes none of the tricks but D\'s, in one line', () => {
  const D = buildDiscriminator(stylegan, SHAPE, 1);
  assert.equal(D.getLayer('d4_stddev').getConfig().groupSize, 4); // Karras et al.'s
  assert.ok(!D.layers.some((l) => l.getClassName() === 'FadeIn'), '!D.layers.some((l) => l.getClassName() === \'FadeIn\')');
  D.dispose();
  assert.throws(() => buildGenerator(stylegan, { ...SHAPE, tricks: { pixelNorm: true } }, 1), /stylegan has no pixel norm/);
  assert.throws(() => buildGenerator(stylegan, { ...SHAPE, tricks: { equalizedLr: false } }, 1), /stylegan needs the equalized learning rate/);
});

test('the style-mixing figure\'s groups: coarse 4²–8², middle 16²–32², fine 64² and up', () => {
  assert.deepEqual(styleGroups(64), { coarse: [0, 4], middle: [4, 8], fine: [8, 10] });
  assert.deepEqual(styleGroups(128), { coarse: [0, 4], middle: [4, 8], fine: [8, 12] });
  assert.deepEqual(styleGroups(32), { coarse: [0, 4], middle: [4, 8], fine: [8, 8] });
  assert.deepEqual(styleGroups(8), { coarse: [0, 4], middle: [4, 4], fine: [4, 4] });
});
