import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { torchBatchNormalization } from '../src/model/batch-norm.js';
import { buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { d2l } from '../src/model/d2l.js';
import { loadModel, saveModel } from '../src/model/io.js';
import { kerasBatchNorm, torchBatchNorm } from '../src/model/layers.js';
import { tf, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const ARGS = { momentum: 0.9, epsilon: 1e-5, name: 'bn' }; // Keras' 0.9 is PyTorch's momentum 0.1
// batch 2, 1×1, two channels: channel 0 sees 1 and 3 (mean 2, biased variance 1, unbiased 2); channel 1 sees 0 and 4
// (mean 2, biased variance 4, unbiased 8)
const X = [1, 0, 3, 4];

function model(): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.inputLayer({ inputShape: [1, 1, 2] }));
  m.add(torchBatchNormalization(ARGS));
  return m;
}

const weights = async (m: tf.LayersModel) => Promise.all(m.getLayer('bn').getWeights().map(async (w) => Array.from(await w.data())));

test('training: the batch is normalised with its biased variance, the moving variance gets the unbiased one (PyTorch)', async () => {
  const m = model();
  const y = tf.tidy(() => m.apply(tf.tensor4d(X, [2, 1, 1, 2]), { training: true }) as tf.Tensor);
  // (x − 2)/√(σ² + ε), γ = 1, β = 0
  const expected = [-1 / Math.sqrt(1 + 1e-5), -2 / Math.sqrt(4 + 1e-5), 1 / Math.sqrt(1 + 1e-5), 2 / Math.sqrt(4 + 1e-5)];
  const out = Array.from(await y.data());
  out.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `output ${i}: ${v}, expected ${expected[i]}`));
  const [gamma, beta, movingMean, movingVariance] = await weights(m);
  assert.deepEqual([gamma, beta], [[1, 1], [0, 0]]);
  // 0.9·0 + 0.1·2; 0.9·1 + 0.1·2 and 0.9·1 + 0.1·8 (tfjs-layers' own layer: 0.9·1 + 0.1·1 and 0.9·1 + 0.1·4)
  [[0.2, 0.2], [1.1, 1.7]].forEach((exp, k) => {
    const got = [movingMean, movingVariance][k];
    exp.forEach((e, c) => assert.ok(Math.abs(got[c] - e) < 1e-6, `${['moving mean', 'moving variance'][k]}[${c}]: ${got[c]}, expected ${e}`));
  });
  y.dispose();
  m.dispose();
});

test('inference uses the moving statistics and changes nothing', async () => {
  const m = model();
  m.getLayer('bn').setWeights([tf.tensor1d([2, 0.5]), tf.tensor1d([0.1, -0.1]), tf.tensor1d([0.2, 1]), tf.tensor1d([1.1, 4])]);
  const y = tf.tidy(() => m.predict(tf.tensor4d(X, [2, 1, 1, 2])) as tf.Tensor);
  const expected = [
    2 * (1 - 0.2) / Math.sqrt(1.1 + 1e-5) + 0.1, 0.5 * (0 - 1) / Math.sqrt(4 + 1e-5) - 0.1,
    2 * (3 - 0.2) / Math.sqrt(1.1 + 1e-5) + 0.1, 0.5 * (4 - 1) / Math.sqrt(4 + 1e-5) - 0.1,
  ];
  const out = Array.from(await y.data());
  out.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `output ${i}: ${v}, expected ${expected[i]}`));
  assert.deepEqual((await weights(m)).slice(2), [[Math.fround(0.2), 1], [Math.fround(1.1), 4]]);
  y.dispose();
  m.dispose();
});

test('a single value per channel is refused in training, as PyTorch refuses it', () => {
  const m = model();
  assert.throws(() => tf.tidy(() => m.apply(tf.zeros([1, 1, 1, 2]), { training: true }) as tf.Tensor), /more than 1 value per channel/);
  m.dispose();
});

test('it saves as a plain BatchNormalization, which stock tf.loadLayersModel loads and runs identically', async () => {
  const m = model();
  tf.tidy(() => m.apply(tf.tensor4d(X, [2, 1, 1, 2]), { training: true }) as tf.Tensor); // moving statistics away from 0 and 1
  const stock = tf.layers.batchNormalization(ARGS);
  const ours = m.getLayer('bn');
  assert.equal(ours.getClassName(), 'BatchNormalization');
  assert.deepEqual(ours.getConfig(), stock.getConfig());
  const dir = path.join(await tmpDir(), 'model');
  await saveModel(m, dir);
  const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
  assert.deepEqual(json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name), ['InputLayer', 'BatchNormalization']);
  const loaded = await loadModel(dir); // tf.loadLayersModel
  const loadedLayer = loaded.getLayer('bn');
  assert.equal(loadedLayer.constructor, stock.constructor, 'loading built something other than tfjs-layers\' own layer');
  const input = tf.tensor4d([0.5, -2, 7, 3], [2, 1, 1, 2]);
  const [a, b] = [m.predict(input) as tf.Tensor, loaded.predict(input) as tf.Tensor];
  assert.deepEqual(await b.data(), await a.data());
  tf.dispose([input, a, b]);
  m.dispose();
  loaded.dispose();
});

test('d2l’s batch norms start with γ and β drawn from N(0, 0.02), reproducibly from the seed', async () => {
  const shape = { imageSize: 64, width: 64, latent: 100, channels: 3 as const, classes: 0 };
  const params = async (m: tf.LayersModel) => {
    const bns = m.layers.filter((l) => l.name.endsWith('_bn'));
    return Promise.all(bns.map(async (l) => (await Promise.all(l.getWeights().slice(0, 2).map((w) => w.data()))).flatMap((d) => Array.from(d))));
  };
  const [g, g2, g3, d] = [buildGenerator(d2l, shape, 5), buildGenerator(d2l, shape, 5), buildGenerator(d2l, shape, 6), buildDiscriminator(d2l, shape, 5)];
  const [pg, pg2, pg3, pd] = await Promise.all([g, g2, g3, d].map(params));
  assert.deepEqual(pg, pg2);
  assert.notDeepEqual(pg, pg3);
  const all = [...pg.flat(), ...pd.flat()]; // 2·(512 + 256 + 128 + 64) values in each network
  const mean = all.reduce((s, x) => s + x, 0) / all.length;
  const std = Math.sqrt(all.reduce((s, x) => s + (x - mean) ** 2, 0) / all.length);
  assert.ok(Math.abs(mean) < 0.002, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.02) < 0.002, `std ${std}`);
  // γ and β of one layer are drawn apart: no shared seed
  const [gamma, beta] = g.getLayer('g1_bn').getWeights();
  assert.notDeepEqual(await gamma.data(), await beta.data());
  for (const m of [g, g2, g3, d]) m.dispose();
});

test('the presets’ batch norms: PyTorch’s moves its statistics 0.1 of the way, ε 1e-5; Keras’ 0.01 (0.2 at momentum 0.8), ε 1e-3', async () => {
  // one training pass on X: channel means 2 and 2, unbiased variances 2 and 8, biased 1 and 4
  const cases = [
    { layer: torchBatchNorm('bn', tf.initializers.ones(), tf.initializers.zeros()), mean: 0.1 * 2, variance: [0.9 + 0.1 * 2, 0.9 + 0.1 * 8], epsilon: 1e-5 },
    // Keras (and tfjs-layers) average the biased variance: 0.99·1 + 0.01·1, 0.99·1 + 0.01·4
    { layer: kerasBatchNorm('bn'), mean: 0.01 * 2, variance: [1, 0.99 + 0.01 * 4], epsilon: 1e-3 },
    { layer: kerasBatchNorm('bn', 0.8), mean: 0.2 * 2, variance: [1, 0.8 + 0.2 * 4], epsilon: 1e-3 },
  ];
  for (const { layer, mean, variance, epsilon } of cases) {
    const m = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [1, 1, 2] }), layer] });
    const y = tf.tidy(() => m.apply(tf.tensor4d(X, [2, 1, 1, 2]), { training: true }) as tf.Tensor);
    // the batch itself is normalised with its biased variance and the layer's ε
    const out = Array.from(await y.data());
    [-1 / Math.sqrt(1 + epsilon), -2 / Math.sqrt(4 + epsilon)].forEach((e, c) => assert.ok(Math.abs(out[c] - e) < 1e-6, `output ${c}: ${out[c]}, expected ${e}`));
    const [, , movingMean, movingVariance] = await weights(m);
    [mean, mean].forEach((e, c) => assert.ok(Math.abs(movingMean[c] - e) < 1e-6, `moving mean[${c}]: ${movingMean[c]}, expected ${e}`));
    variance.forEach((e, c) => assert.ok(Math.abs(movingVariance[c] - e) < 1e-6, `moving variance[${c}]: ${movingVariance[c]}, expected ${e}`));
    y.dispose();
    m.dispose();
  }
});

test('only what it implements: the channels on the last axis, with γ and β', () => {
  const run = (args: Parameters<typeof torchBatchNormalization>[0], shape: number[]) => {
    const m = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: shape.slice(1) }), torchBatchNormalization(args)] });
    try {
      tf.tidy(() => m.apply(tf.ones(shape), { training: true }) as tf.Tensor);
    } finally {
      m.dispose();
    }
  };
  assert.throws(() => run({ ...ARGS, axis: 1 }, [2, 3, 1, 2]), /bn: only the last axis \(channels\) is supported/);
  run({ ...ARGS, axis: 3 }, [2, 1, 1, 2]); // the last axis by number
  run({ ...ARGS, axis: -1 }, [2, 1, 1, 2]);
  assert.throws(() => run({ ...ARGS, center: false }, [2, 1, 1, 2]), /bn: needs center and scale/);
  assert.throws(() => run({ ...ARGS, scale: false }, [2, 1, 1, 2]), /bn: needs center and scale/);
});
