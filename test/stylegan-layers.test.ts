// StyleGAN's layers (src/model/stylegan-layers.ts) against numbers worked by hand from networks_stylegan.py's formulas.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadModel, saveModel } from '../src/model/io.js';
import { setRandomStep } from '../src/model/layers.js';
import { AdaIN, ConstantInput, NoiseInjection, truncate, WAverage } from '../src/model/stylegan-layers.js';
import { assertSameNumbers, tf, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const close = (actual: ArrayLike<number>, expected: number[], tol = 1e-6, what = '') => {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} ≠ ${expected[i]}`);
  }
};
const values = (t: tf.Tensor | tf.Tensor[]) => Array.from((t as tf.Tensor).dataSync());

test('AdaIN: instance norm, then x·(1 + y_s) + y_b from its own layer\'s w through the equalized affine map', () => {
  // one 2×2 map [1, 2, 3, 4]: mean 2.5, variance 1.25 → (x − 2.5)/√1.25; w (size 4) for layer 1 = [2, 0, 0, 0]
  const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const ws = tf.tensor3d([100, 100, 100, 100, 2, 0, 0, 0], [1, 2, 4]); // layer 0's w must not be used
  const adain = new AdaIN({ index: 1 });
  adain.apply([x, ws]);
  assert.equal(adain.scale, 1 / 2); // gain 1 over √(w's size)
  // A's first row [1, 6]: [y_s, y_b] = [2·1, 2·6]·½ + bias [0, 0] = [1, 6] → x̂·(1 + 1) + 6
  tf.tidy(() => adain.setWeights([tf.tensor2d([1, 6, 9, 9, 9, 9, 9, 9], [4, 2]), tf.zeros([2])]));
  const normalised = [1, 2, 3, 4].map((v) => (v - 2.5) / Math.sqrt(1.25 + 1e-8));
  close(values(adain.apply([x, ws]) as tf.Tensor), normalised.map((v) => 2 * v + 6));
  // untrained (bias 0, and here A = 0): the scale is 1, not 0 — StyleGAN's style = 1 + affine
  tf.tidy(() => adain.setWeights([tf.zeros([4, 2]), tf.zeros([2])]));
  close(values(adain.apply([x, ws]) as tf.Tensor), normalised);
});

test('AdaIN\'s affine map starts as StyleGAN\'s: A ~ N(0, 1) stored (equalized), b = 0', () => {
  const adain = new AdaIN({ index: 0, seed: 3 });
  adain.apply([tf.zeros([1, 2, 2, 64]), tf.zeros([1, 1, 64])]);
  const [kernel, bias] = adain.getWeights().map((w) => Array.from(w.dataSync()));
  const mean = kernel.reduce((s, v) => s + v, 0) / kernel.length;
  const sd = Math.sqrt(kernel.reduce((s, v) => s + (v - mean) ** 2, 0) / kernel.length);
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(sd - 1) < 0.05, `mean ${mean}, sd ${sd}`); // 8,192 draws
  assert.ok(bias.every((b) => b === 0), 'bias 0');
});

test('AdaIN normalises each image and each channel on its own', () => {
  // image 0: channel 0 [0, 2], channel 1 [10, 30]; image 1: channel 0 [5, 5] (no spread: stays at the shift, 0)
  const x = tf.tensor4d([0, 10, 2, 30, 5, 1, 5, 3], [2, 1, 2, 2]);
  const ws = tf.zeros([2, 1, 3]);
  const adain = new AdaIN({ index: 0 });
  adain.apply([x, ws]);
  tf.tidy(() => adain.setWeights([tf.zeros([3, 4]), tf.zeros([4])]));
  const e = 1 / Math.sqrt(1 + 1e-8);
  close(values(adain.apply([x, ws]) as tf.Tensor), [-e, -e, e, e, 0, -e, 0, e]);
});

test('noise: one map an image, the same over the channels times a learned factor; drawn per step in training', () => {
  const noise = new NoiseInjection({ seed: 11 });
  const x = tf.zeros([3, 4, 4, 2]);
  noise.apply(x);
  assert.deepEqual(noise.getWeights()[0].dataSync(), new Float32Array([0, 0])); // StyleGAN starts it at zero
  tf.tidy(() => noise.setWeights([tf.tensor1d([0.5, -1]), noise.getWeights()[1]]));
  const draw = (step: number) => {
    setRandomStep(step);
    return values(noise.apply(x, { training: true }) as tf.Tensor);
  };
  const a = draw(7);
  const b = draw(8);
  const again = draw(7);
  assertSameNumbers(again, a); // a resumed run's step 7 draws what the straight run's did
  assert.notDeepEqual(b, a);
  const at = (v: number[], image: number, pixel: number, c: number) => v[(image * 16 + pixel) * 2 + c];
  for (let i = 0; i < 3; i++) for (let p = 0; p < 16; p++) assert.equal(at(a, i, p, 1), -2 * at(a, i, p, 0)); // one map, two factors
  assert.notEqual(at(a, 0, 0, 0), at(a, 1, 0, 0)); // each image its own map
  // a second call within one step (G runs twice in some steps) draws anew
  setRandomStep(9);
  const first = values(noise.apply(x, { training: true }) as tf.Tensor);
  assert.notDeepEqual(values(noise.apply(x, { training: true }) as tf.Tensor), first);
  // inference: the stored map, the same for every image
  const fixed = values(noise.apply(x) as tf.Tensor);
  const stored = noise.getWeights()[1].dataSync();
  for (let i = 0; i < 3; i++) for (let p = 0; p < 16; p++) assert.equal(at(fixed, i, p, 0), stored[p] * 0.5);
});

test('noise is N(0, 1): a large draw\'s mean and spread', () => {
  const noise = new NoiseInjection({ seed: 3 });
  const x = tf.zeros([4, 64, 64, 1]);
  noise.apply(x);
  tf.tidy(() => noise.setWeights([tf.ones([1]), noise.getWeights()[1]]));
  setRandomStep(1);
  const v = values(noise.apply(x, { training: true }) as tf.Tensor);
  const mean = v.reduce((s, a) => s + a, 0) / v.length;
  const sd = Math.sqrt(v.reduce((s, a) => s + (a - mean) ** 2, 0) / v.length);
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(sd - 1) < 0.03, `mean ${mean}, sd ${sd}`); // 16,384 draws
});

test('the learned constant input: ones at the start, one copy per image', () => {
  const constant = new ConstantInput({ size: 4, channels: 3 });
  const out = constant.apply(tf.zeros([2, 5, 7])) as tf.Tensor;
  assert.deepEqual(out.shape, [2, 4, 4, 3]);
  assert.ok(out.dataSync().every((v) => v === 1), 'out.dataSync().every((v) => v === 1)');
  assert.deepEqual(constant.getWeights().map((w) => w.shape), [[1, 4, 4, 3]]);
  assert.deepEqual(constant.computeOutputShape([null, 5, 7]), [null, 4, 4, 3]);
  assert.equal(constant.trainableWeights.length, 1);
});

test('w̄: the moving average w̄ ← mean(w) + β·(w̄ − mean(w)) in training, truncation toward it in inference', () => {
  const average = new WAverage({ beta: 0.75 });
  const w = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  assert.deepEqual(values(average.apply(w, { training: true }) as tf.Tensor), [1, 2, 3, 4]); // w passes through
  // mean [2, 3]; w̄ = [2, 3] + ¾·([0, 0] − [2, 3]) = [0.5, 0.75]
  assert.deepEqual(values(average.wAverage), [0.5, 0.75]);
  average.apply(tf.fill([2, 2], 5), { training: true }); // 5 + ¾·(0.5 − 5) = 1.625, 5 + ¾·(0.75 − 5) = 1.8125
  assert.deepEqual(values(average.wAverage), [1.625, 1.8125]);
  // inference: ψ = 1 (the default) leaves w as it is; ψ = 0 gives w̄; ψ = ½ halfway
  assert.deepEqual(values(average.apply(w) as tf.Tensor), [1, 2, 3, 4]);
  average.psi = 0;
  assert.deepEqual(values(average.apply(w) as tf.Tensor), [1.625, 1.8125, 1.625, 1.8125]);
  average.psi = 0.5;
  assert.deepEqual(values(average.apply(w) as tf.Tensor), [1.3125, 1.90625, 2.3125, 2.90625]);
  assert.deepEqual(values(average.wAverage), [1.625, 1.8125]); // inference leaves w̄ alone
  assert.equal(new WAverage().beta, 0.995); // StyleGAN's dlatent_avg_beta
});

test('truncation: ψ = 0 gives w̄, ψ = 1 the plain w, exactly; ψ = 0.7 w̄ + 0.7·(w − w̄)', () => {
  const w = tf.tensor2d([0.1, -3.7, 2.3, 1e-3], [2, 2]);
  const wBar = tf.tensor1d([0.3, 1.9]);
  assert.deepEqual(values(truncate(w, wBar, 1)), values(w));
  assert.deepEqual(values(truncate(w, wBar, 0)), [0.3, 1.9, 0.3, 1.9].map(Math.fround));
  close(values(truncate(w, wBar, 0.7)), [0.3 + 0.7 * (0.1 - 0.3), 1.9 + 0.7 * (-3.7 - 1.9), 0.3 + 0.7 * 2, 1.9 + 0.7 * (1e-3 - 1.9)]);
});

test('StyleGAN\'s layers save and load with their weights, the noise map and w̄: the same outputs', async () => {
  const ws = tf.input({ shape: [2, 3] });
  const w = tf.input({ shape: [3] });
  let h = new ConstantInput({ size: 4, channels: 2, name: 'const' }).apply(ws) as tf.SymbolicTensor;
  const noise = new NoiseInjection({ seed: 4, name: 'noise' });
  h = noise.apply(h) as tf.SymbolicTensor;
  const adain = new AdaIN({ index: 1, seed: 5, name: 'adain' });
  h = adain.apply([h, ws]) as tf.SymbolicTensor;
  const average = new WAverage({ name: 'w_average', psi: 0.5 });
  const model = tf.model({ inputs: [ws, w], outputs: [h, average.apply(w) as tf.SymbolicTensor] });
  tf.tidy(() => noise.setWeights([tf.tensor1d([0.3, 0.7]), noise.getWeights()[1]]));
  tf.tidy(() => adain.setWeights([tf.randomNormal([3, 4], 0, 1, 'float32', 6), tf.randomNormal([4], 0, 1, 'float32', 7)]));
  average.apply(tf.ones([1, 3]), { training: true }); // w̄ moves off zero
  const dir = await tmpDir();
  await saveModel(model, dir);
  const loaded = await loadModel(dir);
  const inputs = [tf.randomNormal([2, 2, 3], 0, 1, 'float32', 8), tf.randomNormal([2, 3], 0, 1, 'float32', 9)];
  const [a, b] = model.predict(inputs) as tf.Tensor[];
  const [la, lb] = loaded.predict(inputs) as tf.Tensor[];
  assertSameNumbers(la.dataSync(), a.dataSync());
  assertSameNumbers(lb.dataSync(), b.dataSync());
  assert.equal((loaded.getLayer('w_average') as WAverage).psi, 0.5);
  assert.equal(loaded.getLayer('noise').getConfig().seed, 4);
});
