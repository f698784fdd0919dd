// The generator average (--ema) against StyleGAN2-ADA's formula worked by hand, the standing batch-norm statistics
// against the plain mean of batch moments, and in training: checkpointed, resumed bit for bit, and what samples use.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { torchBatchNormalization } from '../src/model/batch-norm.js';
import { buildGenerator } from '../src/model/build.js';
import { stylegan, wAverage } from '../src/model/stylegan.js';
import { WAverage } from '../src/model/stylegan-layers.js';
import { readState } from '../src/run/checkpoint.js';
import { generatorDir, loadGenerator } from '../src/run/runs.js';
import { emaBeta, standingStatistics, updateAverage } from '../src/train/ema.js';
import { train, type TrainOptions } from '../src/train/train.js';
import { Rng } from '../src/util/rng.js';
import { maxAbsDiff, syntheticImageSet, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

test('β = 0.5^(batch / max(min(kimg·1000, seen·0.05), 1e-8)), worked by hand', () => {
  // StyleGAN2-ADA training_loop.py: ema_nimg = min(ema_kimg·1000, cur_nimg·ema_rampup); β = 0.5 ** (batch / ema_nimg)
  assert.equal(emaBeta(10, 64, 0), 0); // the first step: G_ema becomes G
  assert.equal(emaBeta(10, 64, 64), 2 ** -20); // half-life 64·0.05 = 3.2 images: 64/3.2 = 20 halvings
  assert.ok(Math.abs(emaBeta(10, 64, 6400) - 0.8705505632961241) < 1e-15); // 0.5^(64/320) = 0.5^0.2
  assert.ok(Math.abs(emaBeta(10, 64, 200_000) - 0.9955736831881946) < 1e-15); // ramp past: 0.5^(64/10000)
  assert.equal(emaBeta(1, 8, 40), 0.0625); // 40·0.05 = 2 images, 8/2 = 4 halvings
  assert.ok(Math.abs(emaBeta(1, 8, 1_000_000) - 0.5 ** 0.008) < 1e-15); // capped at 1 kimg
});

/** A one-weight "generator": y = w·z, so every weight is a number we can follow by hand. */
function scalarModel(w: number): tf.LayersModel {
  const z = tf.input({ shape: [1] });
  const y = tf.layers.dense({ units: 1, useBias: false, kernelInitializer: tf.initializers.constant({ value: w }) }).apply(z) as tf.SymbolicTensor;
  return tf.model({ inputs: z, outputs: y });
}
const weight = (m: tf.LayersModel) => m.trainableWeights[0].read().dataSync()[0];

test('G_ema follows β·G_ema + (1 − β)·G over a sequence of steps, by hand', () => {
  const G = scalarModel(1), Gema = scalarModel(1);
  // G's weight after steps 1, 2, 3, and the β of each step at kimg 1, batch 8 (images seen before it 0, 8, 16)
  const gs = [2, 4, 8];
  const betas = [emaBeta(1, 8, 0), emaBeta(1, 8, 8), emaBeta(1, 8, 16)];
  assert.deepEqual(betas, [0, 2 ** -20, 2 ** -10]);
  // hand: a1 = G1 = 2; a2 = 2^-20·2 + (1 − 2^-20)·4 = 4 − 2^-19; a3 = 2^-10·a2 + (1 − 2^-10)·8
  const expected = [2, 4 - 2 ** -19, 2 ** -10 * (4 - 2 ** -19) + (1 - 2 ** -10) * 8];
  gs.forEach((g, i) => {
    G.trainableWeights[0].write(tf.scalar(g).reshape([1, 1]));
    updateAverage(G, Gema, betas[i], false);
    assert.ok(Math.abs(weight(Gema) - expected[i]) < 1e-6, `step ${i + 1}: ${weight(Gema)} ≠ ${expected[i]}`);
  });
  assert.equal(weight(G), 8); // G itself is only read
  G.dispose();
  Gema.dispose();
});

/** dense(2) → WAverage → batch norm, every weight set to `v` (w̄ and the moving variance too): one weight of each kind. */
function kindsModel(v: number): tf.LayersModel {
  const z = tf.input({ shape: [2] });
  const dense = tf.layers.dense({ units: 2, useBias: false, name: 'dense' });
  const h = new WAverage({ name: 'w_average' }).apply(dense.apply(z)) as tf.SymbolicTensor;
  const y = tf.layers.batchNormalization({ name: 'bn' }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: z, outputs: y });
  model.setWeights(model.weights.map((w) => tf.fill(w.shape as number[], v)));
  return model;
}
const valueOf = (m: tf.LayersModel, name: string) => m.weights.find((w) => w.originalName === name)!.read().dataSync()[0];

test("non-trainable weights that are not batch norm's (StyleGAN's w̄) are copied from G, as StyleGAN2-ADA copies buffers", () => {
  for (const statistics of [false, true]) {
    const G = kindsModel(8), Gema = kindsModel(2);
    updateAverage(G, Gema, 0.25, statistics);
    // averaged: 8 + 0.25·(2 − 8) = 6.5; copied: 8; batch norm's statistics averaged only with `statistics`
    assert.equal(valueOf(Gema, 'dense/kernel'), 6.5);
    assert.equal(valueOf(Gema, 'bn/gamma'), 6.5);
    assert.equal(valueOf(Gema, 'w_average/w_avg'), 8, `statistics ${statistics}: w̄ averaged, not copied`);
    assert.equal(valueOf(Gema, 'bn/moving_mean'), statistics ? 6.5 : 2);
    assert.equal(valueOf(Gema, 'bn/moving_variance'), statistics ? 6.5 : 2);
    assert.equal(valueOf(G, 'w_average/w_avg'), 8); // G itself is only read
    G.dispose();
    Gema.dispose();
  }
});

test("a StyleGAN G's average takes its w̄ as G tracked it in training (not the zeros it was built with)", () => {
  const shape = { imageSize: 8, width: 8, latent: 8, channels: 3 as const, classes: 0 };
  const G = buildGenerator(stylegan, shape, 1), Gema = buildGenerator(stylegan, shape, 1);
  tf.tidy(() => void G.apply(tf.randomNormal([4, 8], 0, 1, 'float32', 5), { training: true })); // w̄ moves off zero
  const tracked = wAverage(G), before = wAverage(Gema);
  assert.ok(before.abs().max().dataSync()[0] === 0 && tracked.abs().max().dataSync()[0] > 0);
  updateAverage(G, Gema, 0.99, false);
  assert.deepEqual(wAverage(Gema).dataSync(), tracked.dataSync());
  tf.dispose([tracked, before]);
  G.dispose();
  Gema.dispose();
});

test('standing statistics: each batch-norm layer gets the mean of the batches\' moments (PyTorch\'s unbiased variance)', () => {
  // G: z [n, 2] → dense 2→3 (fixed weights) → batch norm (PyTorch form): the statistics of dense(z) over 4 batches
  const W = [[1, 2, 0], [0, -1, 3]];
  const z = tf.input({ shape: [2] });
  const h = tf.layers.dense({ units: 3, useBias: false, kernelInitializer: tf.initializers.zeros() }).apply(z) as tf.SymbolicTensor;
  const bn = torchBatchNormalization({ momentum: 0.9, epsilon: 1e-5, name: 'bn' });
  const G = tf.model({ inputs: z, outputs: bn.apply(h) as tf.SymbolicTensor });
  G.layers[1].setWeights([tf.tensor2d(W)]);
  const sizes = { batches: 4, batchSize: 5 };
  standingStatistics(G, { seed: 3, latent: 2, classes: 0 }, sizes);
  // the same noise, drawn here as the function documents (batch after batch from Rng(seed)), moments by hand
  const rng = new Rng(3);
  const means = [0, 0, 0], vars = [0, 0, 0];
  for (let k = 0; k < sizes.batches; k++) {
    const zs = rng.normals(sizes.batchSize * 2);
    for (let c = 0; c < 3; c++) {
      const col = Array.from({ length: sizes.batchSize }, (_, i) => zs[2 * i] * W[0][c] + zs[2 * i + 1] * W[1][c]);
      const m = col.reduce((a, b) => a + b, 0) / col.length;
      const v = col.reduce((a, b) => a + (b - m) ** 2, 0) / (col.length - 1);
      means[c] += m / sizes.batches;
      vars[c] += v / sizes.batches;
    }
  }
  const [, , movingMean, movingVar] = G.layers[2].getWeights().map((t) => Array.from(t.dataSync()));
  assert.ok(maxAbsDiff(movingMean, means) < 1e-5, `${movingMean} vs ${means}`);
  assert.ok(maxAbsDiff(movingVar, vars) < 1e-4, `${movingVar} vs ${vars}`);
  assert.equal((bn as unknown as { momentum: number }).momentum, 0.9); // put back
  G.dispose();
});

test('standing statistics of a conditional G: each batch draws its classes after its noise, and G sees them', () => {
  // G: [z [n, 1], class [n, 1]] → z·1 + embedding(class) (3 classes: 10, 20, 30) → batch norm: the moments by hand
  const z = tf.input({ shape: [1] });
  const c = tf.input({ shape: [1] });
  const e = tf.layers.flatten().apply(tf.layers.embedding({ inputDim: 3, outputDim: 1, embeddingsInitializer: tf.initializers.zeros() }).apply(c)) as tf.SymbolicTensor;
  const h = tf.layers.add().apply([z, e]) as tf.SymbolicTensor;
  const bn = torchBatchNormalization({ momentum: 0.9, epsilon: 1e-5, name: 'bn' });
  const G = tf.model({ inputs: [z, c], outputs: bn.apply(h) as tf.SymbolicTensor });
  const embedding = G.layers.find((l) => l.getClassName() === 'Embedding')!;
  embedding.setWeights([tf.tensor2d([[10], [20], [30]])]);
  const sizes = { batches: 3, batchSize: 6 };
  standingStatistics(G, { seed: 5, latent: 1, classes: 3 }, sizes);
  const rng = new Rng(5);
  let mean = 0, variance = 0;
  for (let k = 0; k < sizes.batches; k++) {
    const zs = rng.normals(sizes.batchSize);
    const classes = rng.integers(sizes.batchSize, 3);
    const col = Array.from(zs, (v, i) => v + 10 * (classes[i] + 1));
    const m = col.reduce((a, b) => a + b, 0) / col.length;
    mean += m / sizes.batches;
    variance += col.reduce((a, b) => a + (b - m) ** 2, 0) / (col.length - 1) / sizes.batches;
  }
  const bnLayer = G.layers.find((l) => l.name === 'bn')!;
  const [, , movingMean, movingVar] = bnLayer.getWeights().map((t) => t.dataSync()[0]);
  assert.ok(Math.abs(movingMean - mean) < 1e-4, `${movingMean} vs ${mean}`);
  assert.ok(Math.abs(movingVar - variance) < 1e-3, `${movingVar} vs ${variance}`);
  G.dispose();
});

const backend = { name: 'wasm' as const, device: 'test', skipped: [], hooks: {} };
const data = syntheticImageSet(40, 16);
const quiet = { log: () => {} };
const options = (out: string, epochs: number, resume: boolean, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  out, resume, epochs, batchSize: 8, lr: 0.002, beta1: 0.5, beta2: 0.999, seed: 9, ema: 0.05,
  arch: 'd2l', model: { imageSize: 16, width: 8, latent: 16, channels: 3, classes: 0 }, logEvery: 3, gridImages: 6, gridColumns: 3, ...extra,
});
const bytes = async (dir: string, files: string[]) => Promise.all(files.map((f) => readFile(path.join(dir, f))));

test('--ema: generator-ema/ is checkpointed, a run stopped mid-epoch resumes to the same bytes, and G trains as without it', async () => {
  const straight = await tmpDir();
  await train(options(straight, 2, false), data, backend, quiet);
  const stopped = await tmpDir();
  const controller = new AbortController();
  await train(options(stopped, 2, false), data, backend, { ...quiet, signal: controller.signal, listeners: [{ step: (e) => e.step === 7 && controller.abort() }] });
  assert.equal((await readState(stopped)).step, 7);
  await train(options(stopped, 2, true), data, backend, quiet);
  const files = ['generator-ema/weights.bin', 'generator/weights.bin', 'discriminator/weights.bin', 'optimizer/slots.bin', 'state.json', 'samples/epoch-002.png'];
  const [a, b] = [await bytes(straight, files), await bytes(stopped, files)];
  files.forEach((f, i) => assert.ok(a[i].equals(b[i]), `${f} differs`));
  // the average only reads G: G, D and the optimizers are those of a run without --ema
  const plain = await tmpDir();
  await train(options(plain, 2, false, { ema: 0 }), data, backend, quiet);
  assert.equal(existsSync(path.join(plain, 'generator-ema')), false);
  const same = ['generator/weights.bin', 'discriminator/weights.bin', 'optimizer/slots.bin'];
  const [c, d] = [await bytes(straight, same), await bytes(plain, same)];
  same.forEach((f, i) => assert.ok(c[i].equals(d[i]), `${f} differs with --ema`));
  // and the average differs from G (10 steps at a half-life of 50 images ramped: it lags)
  const [avg, raw] = await bytes(straight, ['generator-ema/weights.bin', 'generator/weights.bin']);
  assert.ok(!avg.equals(raw));
});

test('sample, eval and export use the average by default; --raw uses G', async () => {
  const dir = await tmpDir();
  await train(options(dir, 1, false), data, backend, quiet);
  assert.equal(generatorDir(dir).dir, path.join(dir, 'generator-ema'));
  assert.equal(generatorDir(dir, { raw: true }).dir, path.join(dir, 'generator'));
  const z = tf.randomNormal([2, 16], 0, 1, 'float32', 1) as tf.Tensor2D;
  const avg = await loadGenerator(dir);
  const raw = await loadGenerator(dir, { raw: true });
  const [a, b] = [avg.generate(z).dataSync(), raw.generate(z).dataSync()];
  assert.ok(maxAbsDiff(a, b) > 1e-4, 'the average draws what G draws');
  // the per-epoch grid is the average's: the run's grid equals the average sampled on the fixed noise
  const { writeSampleGrid } = await import('../src/train/train.js');
  const noise = new Float32Array((await readFile(path.join(dir, 'fixed-noise.bin'))).buffer.slice(0));
  const o = options(dir, 1, false);
  const again = path.join(await tmpDir(), 'grid.png');
  await writeSampleGrid(avg, noise, o, again);
  assert.deepEqual(await readFile(again), await readFile(path.join(dir, 'samples/epoch-001.png')));
  avg.model.dispose();
  raw.model.dispose();
  z.dispose();
});

test('--keep-best loss-g keeps the epoch of the lowest epoch-mean loss_G; --early-stop stops after that many without one, and a resume continues the count', async () => {
  const dir = await tmpDir();
  const o = options(dir, 8, false, { keepBest: 'loss-g', earlyStop: 2, ema: 0 });
  const result = await train(o, data, backend, quiet);
  const metrics = (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  // the rule, applied here to the run's own records: the first epoch whose loss_G is below every earlier one's…
  let best = metrics[0];
  for (const m of metrics) if (m.loss_G < best.loss_G) best = m;
  const bestRecord = JSON.parse(await readFile(path.join(dir, 'best/best.json'), 'utf8'));
  assert.deepEqual([bestRecord.figure, bestRecord.epoch, bestRecord.step], ['loss-g', best.epoch, best.step]);
  assert.ok(Math.abs(bestRecord.value - best.loss_G) < 1e-12);
  // …and the run stopped 2 epochs after it (this run's loss_G rises after its first epoch: D wins on 40 discs)
  const last = metrics.at(-1).epoch;
  assert.ok(last < 8, 'the run did not stop early');
  assert.equal(last - best.epoch, 2);
  assert.match(result.stoppedEarly ?? '', /no better epoch-mean loss_G for 2 epochs/);
  // a resume continues the count: it stops at once, training nothing
  const again = await train({ ...o, resume: true, epochs: 20 }, data, backend, quiet);
  assert.ok(again.stoppedEarly);
  assert.equal((await readState(dir)).step, metrics.at(-1).step);
  // best/generator is the generator of that epoch: the same bytes as a run of that many epochs
  const short = await tmpDir();
  await train(options(short, best.epoch, false, { ema: 0 }), data, backend, quiet);
  assert.deepEqual(await readFile(path.join(dir, 'best/generator/weights.bin')), await readFile(path.join(short, 'generator/weights.bin')));
});
