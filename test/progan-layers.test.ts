// ProGAN's layers (src/model/progan-layers.ts) against numbers worked by hand from the formulas of the book (Hands-on
// ML ch. 17) and of Karras et al.'s networks.py, or against tfjs's own stock layers where one computes the same thing.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadModel, saveModel } from '../src/model/io.js';
import {
  Downscale2D, EqualizedConv2D, EqualizedConv2DTranspose, EqualizedDense, FadeIn, MinibatchStddev, PixelNorm, stddevGroupSize,
} from '../src/model/progan-layers.js';
import { assertSameNumbers, maxAbsDiff, tf, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const close = (actual: ArrayLike<number>, expected: number[], tol = 1e-6, what = '') => {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} ≠ ${expected[i]}`);
  }
};
/** A layer on an eager tensor, as a model would run it (in inference) */
const run = (layer: tf.layers.Layer, x: tf.Tensor | tf.Tensor[]) => tf.tidy(() => Array.from((layer.apply(x) as tf.Tensor).dataSync()));

test('pixel norm: each pixel\'s channels over √(mean of their squares + 1e-8)', () => {
  // pixel (3, 4): mean square 12.5, √12.5 = 3.5355339; pixel (1, 1): 1; pixel (0, 0) stays 0 (ε keeps it finite)
  const x = tf.tensor4d([3, 4, 1, 1, 0, 0, -2, 0], [1, 2, 2, 2]);
  close(run(new PixelNorm(), x), [3 / 3.5355339, 4 / 3.5355339, 1, 1, 0, 0, -2 / Math.SQRT2, 0]);
  // the mean runs over the channels, not the pixels: a 4-channel pixel of ones stays ones
  close(run(new PixelNorm(), tf.ones([1, 1, 1, 4])), [1, 1, 1, 1]);
});

test('minibatch stddev, the book\'s: reduce_std over instances and channels per position, averaged, one map', () => {
  // 2 images of 1×2 pixels, 2 channels. Position 0: {1, 3, 5, 7}, mean 4, variance 5, std √5; position 1:
  // {0, 0, 2, 2}, std 1; v = (√5 + 1)/2 = 1.6180340 in a third channel everywhere
  const x = tf.tensor4d([1, 3, 0, 0, 5, 7, 2, 2], [2, 1, 2, 2]);
  const v = (Math.sqrt(5) + 1) / 2;
  const layer = new MinibatchStddev();
  close(run(layer, x), [1, 3, v, 0, 0, v, 5, 7, v, 2, 2, v]);
  assert.deepEqual(layer.computeOutputShape([null, 1, 2, 2]), [null, 1, 2, 3]);
});

test('minibatch stddev, Karras et al.\'s: per group of images (image i in group i mod groups), √(variance + 1e-8)', () => {
  // 4 images of one pixel, 2 channels: [0, 0], [1, 1], [2, 4], [1, 5]
  const x = tf.tensor4d([0, 0, 1, 1, 2, 4, 1, 5], [4, 1, 1, 2]);
  // groups of 2: {image 0, image 2}: channel stds 1, 2 → 1.5; {1, 3}: √1e-8 = 1e-4 and 2 → 1.00005
  const g2 = run(new MinibatchStddev({ groupSize: 2 }), x);
  close([2, 5, 8, 11].map((i) => g2[i]), [1.5, 1.00005, 1.5, 1.00005]);
  // one group of 4: channel 0 {0, 1, 2, 1} variance 0.5; channel 1 {0, 1, 4, 5} variance 4.25 → (√0.5 + √4.25)/2
  const g4 = run(new MinibatchStddev({ groupSize: 4 }), x);
  const all = (Math.sqrt(0.5) + Math.sqrt(4.25)) / 2;
  close([2, 5, 8, 11].map((i) => g4[i]), [all, all, all, all]);
  // the features themselves pass through
  close([0, 1, 3, 4, 6, 7, 9, 10].map((i) => g4[i]), [0, 0, 1, 1, 2, 4, 1, 5]);
});

test('minibatch stddev groups: the largest size at most the wanted one that divides the batch', () => {
  assert.deepEqual([[16, 4], [6, 4], [2, 4], [5, 4], [4, 4], [12, 8]].map(([n, g]) => stddevGroupSize(n, g)), [4, 3, 2, 1, 4, 6]);
});

test('minibatch stddev on flat features (keras28 after flatten, mlp): one more feature', () => {
  // the book's over all of [[1, 3], [5, 7]]: std √5
  close(run(new MinibatchStddev(), tf.tensor2d([1, 3, 5, 7], [2, 2])), [1, 3, Math.sqrt(5), 5, 7, Math.sqrt(5)]);
});

test('equalized learning rate: weights stored N(0, 1), scaled at run time by He\'s √2/√fan_in', () => {
  const conv = new EqualizedConv2D({ filters: 64, kernelSize: 3, padding: 'same', seed: 5 });
  tf.tidy(() => {
    conv.apply(tf.zeros([1, 4, 4, 64]));
  });
  assert.equal(conv.scale, Math.SQRT2 / Math.sqrt(3 * 3 * 64)); // = 1/√288 = 0.058926
  const [kernel, bias] = conv.getWeights();
  const stored = Array.from(kernel.dataSync());
  const mean = stored.reduce((s, v) => s + v, 0) / stored.length;
  const variance = stored.reduce((s, v) => s + (v - mean) ** 2, 0) / stored.length;
  // 36,864 draws: the sample mean's standard error is 0.005, the variance's 0.007
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.04, `mean ${mean}, variance ${variance}`);
  assert.ok(Array.from(bias.dataSync()).every((b) => b === 0), 'Array.from(bias.dataSync()).every((b) => b === 0)');
  // StyleGAN's lrMul 0.01: stored N(0, 1/0.01²), scaled by √2/√fan_in·0.01
  const slow = new EqualizedDense({ units: 256, lrMul: 0.01, seed: 6 });
  tf.tidy(() => {
    slow.apply(tf.zeros([1, 128]));
  });
  assert.ok(Math.abs(slow.scale - (Math.SQRT2 / Math.sqrt(128)) * 0.01) < 1e-15, 'Math.abs(slow.scale - (Math.SQRT2 / Math.sqrt(128)) * 0.01) < 1e-15');
  const w = Array.from(slow.getWeights()[0].dataSync());
  const sd = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(sd - 100) < 3, `stored standard deviation ${sd}`);
});

test('equalized layers compute what the stock layers do with the run-time-scaled weights', () => {
  const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 1);
  const cases: [tf.layers.Layer, tf.layers.Layer, number][] = [
    // 3×3 over 3 channels, stride 2, valid: scale √2/√27
    [new EqualizedConv2D({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid', seed: 2 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid' }), Math.SQRT2 / Math.sqrt(27)],
    // a transposed 4×4, stride 2, same, gain 1: scale 1/√(16·3)
    [new EqualizedConv2DTranspose({ filters: 2, kernelSize: 4, strides: 2, padding: 'same', gain: 1, seed: 3 }),
      tf.layers.conv2dTranspose({ filters: 2, kernelSize: 4, strides: 2, padding: 'same' }), 1 / Math.sqrt(48)],
  ];
  for (const [equalized, stock, scale] of cases) {
    tf.tidy(() => {
      equalized.apply(x);
      stock.apply(x);
    });
    const [kernel] = equalized.getWeights();
    tf.tidy(() => stock.setWeights([kernel.mul(scale), tf.fill([stock.getWeights()[1].shape[0]], 0.25)]));
    tf.tidy(() => equalized.setWeights([kernel, tf.fill([stock.getWeights()[1].shape[0]], 0.25)]));
    const expected = tf.tidy(() => (stock.apply(x) as tf.Tensor).dataSync());
    const got = tf.tidy(() => (equalized.apply(x) as tf.Tensor).dataSync());
    assert.ok(maxAbsDiff(got, expected) < 1e-5, `${equalized.name}: ${maxAbsDiff(got, expected)}`);
    assert.deepEqual(equalized.computeOutputShape(x.shape), stock.computeOutputShape(x.shape));
    assert.deepEqual(tf.tidy(() => (equalized.apply(x) as tf.Tensor).shape), stock.computeOutputShape(x.shape));
  }
});

test('equalized dense by hand: x·W·√2/√fan_in + b·lrMul, with a fused activation', () => {
  const dense = new EqualizedDense({ units: 1, activation: 'relu' });
  tf.tidy(() => {
    dense.apply(tf.zeros([1, 4]));
  });
  tf.tidy(() => dense.setWeights([tf.ones([4, 1]), tf.tensor1d([0.5])]));
  // [1, 2, 3, 4]·1·√2/2 + 0.5 = 10/√2 + 0.5; [−1, −2, −3, −4] → relu → 0
  close(run(dense, tf.tensor2d([1, 2, 3, 4, -1, -2, -3, -4], [2, 4])), [10 / Math.SQRT2 + 0.5, 0]);
  // StyleGAN's bias learns lrMul slower too: 100·0.01 = 1
  const slow = new EqualizedDense({ units: 1, lrMul: 0.01, gain: 1 });
  tf.tidy(() => {
    slow.apply(tf.zeros([1, 4]));
  });
  tf.tidy(() => slow.setWeights([tf.fill([4, 1], 100), tf.tensor1d([100])]));
  close(run(slow, tf.tensor2d([1, 1, 1, 1], [1, 4])), [4 * 100 * 0.01 / 2 + 1]);
});

test('fade-in: α·new + (1 − α)·old at α = 0, ½ and 1; α is a non-trainable weight', () => {
  const fade = new FadeIn();
  const old = tf.tensor2d([2, -4], [1, 2]);
  const fresh = tf.tensor2d([6, 8], [1, 2]);
  fade.apply([old, fresh]);
  assert.deepEqual(run(fade, [old, fresh]), [2, -4]); // built at α = 0: the old path only
  fade.setAlpha(0.5);
  assert.deepEqual(run(fade, [old, fresh]), [4, 2]);
  fade.setAlpha(1);
  assert.deepEqual(run(fade, [old, fresh]), [6, 8]);
  assert.equal(fade.alpha, 1);
  assert.deepEqual([fade.trainableWeights.length, fade.nonTrainableWeights.length], [0, 1]);
  assert.throws(() => fade.setAlpha(1.5), /α must be in \[0, 1\]/);
});

test('downscale: the mean of each 2×2 block, as averagePooling2d', () => {
  const x = tf.tensor4d([...Array(16).keys()], [1, 4, 4, 1]); // rows 0–3, 4–7, 8–11, 12–15
  assert.deepEqual(run(new Downscale2D(), x), [2.5, 4.5, 10.5, 12.5]);
  assert.deepEqual(run(new Downscale2D({ factor: 4 }), x), [7.5]);
  const y = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 4);
  const pooled = run(tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }), y);
  assert.ok(maxAbsDiff(run(new Downscale2D(), y), pooled) < 1e-6, 'maxAbsDiff(run(new Downscale2D(), y), pooled) < 1e-6');
});

test('every layer saves and loads (tf.loadLayersModel) with its settings and weights: the same outputs', async () => {
  const x = tf.input({ shape: [8, 8, 3] });
  let h = new EqualizedConv2D({ filters: 4, kernelSize: 3, padding: 'same', seed: 1, name: 'conv' }).apply(x) as tf.SymbolicTensor;
  h = new PixelNorm({ name: 'norm' }).apply(h) as tf.SymbolicTensor;
  const up = new EqualizedConv2DTranspose({ filters: 4, kernelSize: 2, strides: 2, padding: 'valid', gain: 1, activation: 'tanh', seed: 2, name: 'up' }).apply(h) as tf.SymbolicTensor;
  const fade = new FadeIn({ name: 'fade' });
  h = fade.apply([new Downscale2D({ factor: 2, name: 'down' }).apply(up) as tf.SymbolicTensor, h]) as tf.SymbolicTensor;
  h = new MinibatchStddev({ groupSize: 2, name: 'stddev' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  h = new EqualizedDense({ units: 2, lrMul: 0.5, seed: 3, name: 'dense' }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: h });
  fade.setAlpha(0.25);
  const dir = await tmpDir();
  await saveModel(model, dir);
  const loaded = await loadModel(dir);
  const input = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 9);
  assertSameNumbers((loaded.predict(input) as tf.Tensor).dataSync(), (model.predict(input) as tf.Tensor).dataSync());
  assert.deepEqual(loaded.layers.map((l) => l.getClassName()).filter((c) => c !== 'InputLayer' && c !== 'Flatten'),
    ['EqualizedConv2D', 'PixelNorm', 'EqualizedConv2DTranspose', 'Downscale2D', 'FadeIn', 'MinibatchStddev', 'EqualizedDense']);
  assert.equal((loaded.getLayer('fade') as FadeIn).alpha, 0.25);
  assert.deepEqual(loaded.getLayer('dense').getConfig().lrMul, 0.5);
  assert.deepEqual(loaded.getLayer('stddev').getConfig().groupSize, 2);
});
