// StyleGAN's style-mixing regularisation in training (--style-mixing, src/train/step.ts generate): an image with
// crossover c is drawn with w₁ = mapping(z₁) on layers 0 … c − 1 and w₂ = mapping(z₂) on layers c …, built here by hand
// (per layer, in plain arrays) and through G itself for the unmixed cases; w̄ follows w₁ alone (the official G_style
// updates dlatent_avg from the first latents); the draws come from the run's noise stream after the noise, so that a
// run without mixing draws what it always drew, and a resume mid-epoch gives the bytes of the run that never stopped.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import type { ModelShape } from '../src/model/architecture.js';
import { styleLayers, styleModels, wAverage } from '../src/model/stylegan.js';
import { STYLEGAN_STYLE_MIXING } from '../src/run/options.js';
import { withArchDefaults } from '../src/train/command.js';
import { generate, INFERENCE, TRAINING, type Gan } from '../src/train/step.js';
import { createGan, drawBatch, train, type TrainOptions } from '../src/train/train.js';
import { Rng } from '../src/util/rng.js';
import { CLI } from './cli-run.js';
import { assertSameNumbers, maxAbsDiff, syntheticImageSet, tf, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const MODEL: ModelShape = { imageSize: 8, width: 2, latent: 4, channels: 3, classes: 0 };
const LAYERS = 4; // 8 px: 4×4 (constant, conv), 8×8 (conv, conv)
const values = (t: tf.Tensor | tf.Tensor[]) => Array.from((t as tf.Tensor).dataSync());

/** A stylegan Gan mixing with probability p, its noise factors at 1 (they start at 0, where noise changes nothing). */
function styleGan(p: number, model = MODEL): Gan {
  const gan = createGan({ arch: 'stylegan', model, seed: 1, lr: 0.001, beta1: 0, beta2: 0.99, styleMixing: p });
  for (const layer of gan.G.layers.filter((l) => l.getClassName() === 'NoiseInjection')) {
    tf.tidy(() => layer.setWeights([tf.onesLike(layer.getWeights()[0]), layer.getWeights()[1]]));
  }
  return gan;
}

const image = (all: number[], k: number) => all.slice(k * 8 * 8 * 3, (k + 1) * 8 * 8 * 3);

test('an image with crossover c: w₁\'s styles on layers below c, w₂\'s from c on; c = layers is G(z₁), c = 0 is G(z₂)', () => {
  assert.equal(styleLayers(8), LAYERS);
  const gan = styleGan(1);
  const z1 = tf.randomNormal([3, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
  const z2 = tf.randomNormal([3, 4], 0, 1, 'float32', 4) as tf.Tensor2D;
  const drawn = values(generate(gan, { Z: z1, styles: { Z: z2, crossovers: Int32Array.from([LAYERS, 0, 2]) } }, INFERENCE));
  // the unmixed images: G itself on z₁ and on z₂
  assertSameNumbers(image(drawn, 0), image(values(gan.G.predict(z1) as tf.Tensor), 0));
  assertSameNumbers(image(drawn, 1), image(values(gan.G.predict(z2) as tf.Tensor), 1));
  // image 2, crossover 2: layers 0 and 1 take w₁, layers 2 and 3 take w₂, laid out by hand
  const { mapping, synthesis } = styleModels(gan.G);
  const w1 = values(mapping.predict(z1) as tf.Tensor).slice(8, 12);
  const w2 = values(mapping.predict(z2) as tf.Tensor).slice(8, 12);
  const ws = tf.tensor3d([...w1, ...w1, ...w2, ...w2], [1, LAYERS, 4]);
  const mixed = values(synthesis.predict(ws) as tf.Tensor);
  assert.ok(maxAbsDiff(image(drawn, 2), mixed) < 1e-5, `${maxAbsDiff(image(drawn, 2), mixed)}`);
  // and it is neither code's own image
  assert.ok(maxAbsDiff(mixed, image(values(gan.G.predict(z1) as tf.Tensor), 2)) > 1e-3);
  assert.ok(maxAbsDiff(mixed, image(values(gan.G.predict(z2) as tf.Tensor), 2)) > 1e-3);
  // no styles drawn for the batch: G as it is
  assertSameNumbers(values(generate(gan, { Z: z1 }, INFERENCE)), values(gan.G.predict(z1) as tf.Tensor));
  gan.G.dispose();
  gan.D.dispose();
});

test('in training, w̄ follows the first codes only (β 0.995 from 0: w̄ = 0.005·mean w₁), and G learns through both', () => {
  const gan = styleGan(1);
  const z1 = tf.randomNormal([4, 4], 0, 1, 'float32', 5) as tf.Tensor2D;
  const z2 = tf.randomNormal([4, 4], 3, 1, 'float32', 6) as tf.Tensor2D; // far from z₁'s codes: a wrong w̄ shows
  const { mapping } = styleModels(gan.G);
  const meanW = (z: tf.Tensor2D) => values(tf.mean(mapping.predict(z) as tf.Tensor, 0));
  const w1 = meanW(z1), w2 = meanW(z2);
  assert.ok(maxAbsDiff(w1, w2) > 1e-2, 'the two codes\' means differ');
  const noise = { Z: z1, styles: { Z: z2, crossovers: Int32Array.from([1, 2, 3, 2]) } };
  // gradients reach the weights that only w₂'s path uses: the mapping's first layer through z₂ as through z₁
  const first = gan.G.getLayer('map0_dense').trainableWeights[0].read() as tf.Variable;
  const gradient = (n: typeof noise) => values(tf.variableGrads(() => tf.mean(generate(gan, n, INFERENCE)) as tf.Scalar, [first]).grads[first.name]);
  const both = gradient(noise);
  const withSame = gradient({ Z: z1, styles: { Z: z1, crossovers: noise.styles.crossovers } });
  assert.ok(maxAbsDiff(both, withSame) > 1e-7, 'z₂ moves the mapping\'s gradient');
  generate(gan, noise, TRAINING);
  assert.ok(maxAbsDiff(values(wAverage(gan.G)), w1.map((v) => v * (1 - 0.995))) < 1e-6, `w̄ ${values(wAverage(gan.G))} against 0.005·w̄₁ ${w1.map((v) => v * 0.005)}`);
  gan.G.dispose();
  gan.D.dispose();
});

test('drawBatch: the second codes and crossovers come from the noise stream after the noise; no mixing draws nothing', () => {
  const data = syntheticImageSet(8, 8);
  const n = 6;
  const indices = Int32Array.from({ length: n }, (_, i) => i);
  const mixing = styleGan(1), plain = styleGan(0);
  const a = drawBatch(mixing, data, indices, new Rng(11), { model: MODEL });
  const b = drawBatch(plain, data, indices, new Rng(11), { model: MODEL });
  assertSameNumbers(values(a.Z), values(b.Z)); // the noise itself is what a run without mixing draws
  assert.equal(b.styles, undefined);
  // by hand from the same stream: z (n × latent normals), then z₂, then a crossover each (p = 1: uniform in 1 … 3)
  const rng = new Rng(11);
  rng.normals(n * 4);
  assertSameNumbers(values(a.styles!.Z), Array.from(rng.normals(n * 4), Math.fround));
  const crossovers = Array.from({ length: n }, () => (rng.uniform() < 1 ? 1 + Math.floor(rng.uniform() * (LAYERS - 1)) : LAYERS));
  assert.deepEqual(Array.from(a.styles!.crossovers), crossovers);
  assert.ok(crossovers.every((c) => c >= 1 && c < LAYERS));
  for (const gan of [mixing, plain]) {
    gan.G.dispose();
    gan.D.dispose();
  }
});

const backend = { name: 'wasm' as const, device: 'test', skipped: [], hooks: {} };
const quiet = { log: () => {} };
const options = (out: string, epochs: number, resume: boolean, styleMixing: number): TrainOptions => ({
  out, resume, epochs, batchSize: 4, lr: 0.001, beta1: 0, beta2: 0.99, seed: 5, styleMixing,
  arch: 'stylegan', model: MODEL, logEvery: 1, gridImages: 4, gridColumns: 2,
});
const FILES = ['generator/weights.bin', 'discriminator/weights.bin', 'optimizer/slots.bin', 'state.json'];
const bytes = async (dir: string) => Promise.all(FILES.map((f) => readFile(path.join(dir, f))));

test('a run stopped mid-epoch resumes to the bytes of the run that never stopped; mixing changes what G learns', async () => {
  const data = syntheticImageSet(16, 8); // 4 steps an epoch
  const straight = await tmpDir();
  await train(options(straight, 2, false, 0.5), data, backend, quiet);
  const stopped = await tmpDir();
  const controller = new AbortController();
  const io = { ...quiet, signal: controller.signal, listeners: [{ step: (e: { step: number }) => e.step === 6 && controller.abort() }] };
  assert.equal((await train(options(stopped, 2, false, 0.5), data, backend, io)).interrupted, true);
  await train(options(stopped, 2, true, 0.5), data, backend, quiet);
  const [a, b] = [await bytes(straight), await bytes(stopped)];
  FILES.forEach((f, i) => assert.ok(a[i].equals(b[i]), `${f} differs`));
  const none = await tmpDir();
  await train(options(none, 2, false, 0), data, backend, quiet);
  assert.ok(!(await bytes(none))[0].equals(a[0]), 'G learnt the same with and without mixing');
});

test('--style-mixing: stylegan mixes 90 % by default; other architectures refuse it in one line, before any work', async () => {
  assert.equal(STYLEGAN_STYLE_MIXING, 0.9); // the paper's mixing regularisation share (Karras et al. 2019, sec. 3.1)
  assert.equal(withArchDefaults({ arch: 'stylegan' }).styleMixing, 0.9);
  assert.equal(withArchDefaults({ arch: 'stylegan', styleMixing: 0 }).styleMixing, 0);
  assert.equal('styleMixing' in withArchDefaults({ arch: 'progan', styleMixing: 0 }), false);
  assert.throws(() => withArchDefaults({ arch: 'progan', styleMixing: 0.5 }), /: --style-mixing: --arch progan has no styles to mix \(style mixing is --arch stylegan's\)$/);
  const out = path.join(await tmpDir(), 'run');
  const refused = spawnSync(process.execPath, [...CLI, 'train', '--arch', 'd2l', '--style-mixing', '0.9', '--limit', '32', '--out', out], { encoding: 'utf8' });
  assert.notEqual(refused.status, 0);
  assert.equal(refused.stderr.trim(), "error: --style-mixing: --arch d2l has no styles to mix (style mixing is --arch stylegan's)");
  const outOfRange = spawnSync(process.execPath, [...CLI, 'train', '--arch', 'stylegan', '--style-mixing', '1.5', '--out', out], { encoding: 'utf8' });
  assert.notEqual(outOfRange.status, 0);
  assert.match(outOfRange.stderr.trim(), /^error: option '--style-mixing <p>' argument '1\.5' is invalid\./);
  assert.ok(!existsSync(out), 'a refused run left a folder');
});
