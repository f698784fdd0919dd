// Progressive growing in training (--arch progan --fade-kimg, src/train/grow.ts): the phase of each step against the
// official schedule worked by hand, seen in which layers learn, the fades' α and the reals D is shown; Adam reset at
// every phase (reset_opt_for_new_lod resets when floor(lod) or ceil(lod) changes: the start of a fade and of the stable
// phase after it); a resume mid-fade equal to the run that never stopped; no tensors gained per step.
//
// The schedule here: 8×8 images, batch 4, --fade-kimg 0.012 (12 images, 3 steps, per phase). Step k (k steps before
// it, 4k images seen) trains 4×4 for k = 0…2; fades 8×8 in for k = 3…5 with α = (4k − 12)/12 = 0, 1/3, 2/3; trains
// 8×8 stable from k = 6 on (lastPhase(8) = 2).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import type { ImageSet } from '../src/data/types.js';
import { checkCheckpointFiles } from '../src/run/checkpoint.js';
import { loadModel } from '../src/model/io.js';
import type { FadeIn } from '../src/model/progan-layers.js';
import { PROGAN_FADE_KIMG } from '../src/run/options.js';
import type { Adam } from '../src/train/adam.js';
import { withArchDefaults } from '../src/train/command.js';
import { openRun, train, type TrainListener, type TrainOptions } from '../src/train/train.js';
import { CLI } from './cli-run.js';
import { syntheticImageSet, tf, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const backend = { name: 'wasm' as const, device: 'test', skipped: [], hooks: {} };
const quiet = { log: () => {} };
const SIZE = 8;
const options = (out: string, epochs: number, resume: boolean, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  out, resume, epochs, batchSize: 4, lr: 0.001, beta1: 0, beta2: 0.99, seed: 5, fadeKimg: 0.012,
  arch: 'progan', model: { imageSize: SIZE, width: 4, latent: 8, channels: 3, classes: 0 }, logEvery: 1, gridImages: 4, gridColumns: 2, ...extra,
});

/** The phase of step k by hand (see the top): [resolution, fading, α]. */
function handPhase(k: number): [number, boolean, number] {
  if (k < 3) return [4, false, 1];
  if (k < 6) return [8, true, (4 * k - 12) / 12];
  return [8, false, 1];
}

/** 40 copies of one image: every batch's reals are known whatever the data order. */
function oneImageSet(): { data: ImageSet; image: Float64Array } {
  const one = syntheticImageSet(1, SIZE, 3, 4);
  const pixels = new Uint8Array(40 * one.pixels.length);
  for (let k = 0; k < 40; k++) pixels.set(one.pixels, k * one.pixels.length);
  return { data: { ...one, pixels, count: 40 }, image: Float64Array.from(one.pixels, (v) => v / 127.5 - 1) };
}

/** The official process_reals for an 8×8 image faded at α: α·x + (1 − α)·(each 2×2 block's mean), in float64. */
function fadedByHand(x: Float64Array, alpha: number): Float64Array {
  const out = new Float64Array(x.length);
  const at = (y: number, i: number, c: number) => x[(y * SIZE + i) * 3 + c];
  for (let y = 0; y < SIZE; y++) {
    for (let i = 0; i < SIZE; i++) {
      for (let c = 0; c < 3; c++) {
        const [y0, i0] = [y - (y % 2), i - (i % 2)];
        const mean = (at(y0, i0, c) + at(y0, i0 + 1, c) + at(y0 + 1, i0, c) + at(y0 + 1, i0 + 1, c)) / 4;
        out[(y * SIZE + i) * 3 + c] = alpha * at(y, i, c) + (1 - alpha) * mean;
      }
    }
  }
  return out;
}

const LAYERS = ['g4_to_rgb', 'g8_to_rgb', 'g8_conv0', 'd4_from_rgb', 'd8_from_rgb'] as const;

test('each step trains the phase of the schedule worked by hand: the layers that learn, α, the reals D sees, fresh Adam at every phase', async () => {
  const { data, image } = oneImageSet();
  const o = options(await tmpDir(), 2, false);
  const opened = await openRun(o);
  const gan = opened.gan;
  const networks = gan.growing!.networks;
  const whole = networks.whole();
  const layer = (name: string) => (name.startsWith('g') ? whole.G : whole.D).getLayer(name);
  const snapshot = () => Object.fromEntries(LAYERS.map((n) => [n, layer(n).getWeights()[0].dataSync().slice()]));
  const reals: Float32Array[] = [];
  // pytorch-examples (progan's step) shows D the reals first, then G(z) in D's update and in G's: 3 calls a step
  let calls = 0;
  gan.augment = (x) => {
    if (calls++ % 3 === 0) reals.push(x.dataSync().slice() as Float32Array);
    return x;
  };
  const weights = [snapshot()];
  const seen: { alpha: number; optG: Adam; optD: Adam; stepG: number; stepD: number; zeroG: boolean; fadeModel: boolean; ownVariables: boolean }[] = [];
  const listener: TrainListener = {
    step: () => {
      weights.push(snapshot());
      const optG = gan.optG as Adam, optD = gan.optD as Adam;
      seen.push({
        alpha: (layer('g8_fade') as FadeIn).alpha,
        optG, optD, stepG: optG.step, stepD: optD.step,
        zeroG: [...optG.m, ...optG.v].every((t) => t.dataSync().every((v) => v === 0)),
        fadeModel: gan.G.layers.some((l) => l.name === 'g8_fade'),
        ownVariables: optG.variables.length === gan.G.trainableWeights.length && optG.variables.every((v, i) => v === gan.G.trainableWeights[i].read()),
      });
    },
  };
  await train(o, data, backend, { ...quiet, listeners: [listener] }, opened);
  assert.equal(seen.length, 20);
  for (let k = 0; k < 20; k++) {
    const [resolution, fading, alpha] = handPhase(k);
    const moved = (name: string) => weights[k + 1][name].some((v, i) => v !== weights[k][name][i]);
    // at α 0 the new block's share, and so its gradient, is exactly 0: Adam moves nothing on zeros
    const newBlockLearns = resolution === 8 && alpha > 0;
    const oldPathUsed = resolution === 4 || fading;
    const what = `step ${k} (${resolution}×${resolution}${fading ? `, fading, α ${alpha}` : ''})`;
    assert.deepEqual(LAYERS.map(moved), [oldPathUsed, newBlockLearns, newBlockLearns, oldPathUsed, newBlockLearns], `${what}: ${LAYERS.join(', ')} moved`);
    const expected = fading ? fadedByHand(image, alpha) : image;
    const worst = Math.max(...Array.from({ length: 4 }, (_, n) => Math.max(...expected.map((v, i) => Math.abs(reals[k][n * expected.length + i] - v)))));
    assert.ok(worst < 1e-6, `${what}: the reals D saw differ from the official process_reals by ${worst}`);
    // after step k the models are those of step k + 1, α included
    const next = handPhase(k + 1);
    assert.equal(seen[k].fadeModel, next[1], `after ${what}: G is the fade's`);
    if (next[1]) assert.equal(seen[k].alpha, Math.fround(next[2]), `after ${what}: α`);
    assert.ok(seen[k].ownVariables, `after ${what}: the optimizer is on the phase's weights`);
    // a fresh optimizer at steps 3 and 6, the starts of the fade and of 8×8 stable: its count from there
    const stepsInPhase = k + 1 - (k + 1 >= 6 ? 6 : k + 1 >= 3 ? 3 : 0);
    assert.deepEqual([seen[k].stepG, seen[k].stepD], [stepsInPhase, stepsInPhase], `after ${what}: optimizer steps`);
    assert.equal(seen[k].zeroG, stepsInPhase === 0, `after ${what}: G's moments all zero`);
    if (k > 0) assert.equal(seen[k].optG === seen[k - 1].optG, stepsInPhase !== 0, `after ${what}: the same optimizer as before`);
  }
});

test('a run stopped mid-fade, and again at 8×8, resumes to the bytes of the run that never stopped; the checkpoint keeps every layer', async () => {
  const data = syntheticImageSet(40, SIZE);
  // with --ema: the average grows with G, and is checkpointed whole too
  const o = (out: string, resume: boolean) => options(out, 2, resume, { ema: 0.001 });
  const straight = await tmpDir();
  // the ETA the bar shows (grow.ts GrowingEta, worked by hand in growing-eta.test.ts): time left until the last step
  const etas: { step: number; run: number; epoch: number }[] = [];
  await train(o(straight, false), data, backend, { ...quiet, listeners: [{ step: (e) => etas.push({ step: e.step, run: e.runSecondsLeft, epoch: e.epochSecondsLeft }) }] });
  assert.equal(etas.length, 20);
  for (const e of etas.slice(0, -1)) assert.ok(e.run > 0 && e.run >= e.epoch && Number.isFinite(e.run), `step ${e.step}: ${e.run} s left, ${e.epoch} s in the epoch`);
  assert.deepEqual([etas.at(-1)!.run, etas.at(-1)!.epoch], [0, 0]);
  const stopped = await tmpDir();
  const controller = new AbortController();
  await train(o(stopped, false), data, backend, { ...quiet, signal: controller.signal, listeners: [{ step: (e) => e.step === 4 && controller.abort() }] });
  // 4 steps: 16 images, the fade's 4th of 12, α 1/3; the saved G is the fade's
  const G = await loadModel(path.join(stopped, 'generator'));
  assert.equal((G.getLayer('g8_fade') as FadeIn).alpha, Math.fround(1 / 3));
  G.dispose();
  // the check before a resume: the fade's optimizers have taken 1 step of the run's 4
  assert.equal(JSON.parse(await readFile(path.join(stopped, 'optimizer/optimizer.json'), 'utf8')).G.step, 1);
  await checkCheckpointFiles(stopped);
  const names = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')).weightsManifest[0].weights.map((w: { name: string }) => w.name) as string[];
  // growing/ holds the layers the phase's models leave out: 8×8 stable has no 4×4 toRGB or fromRGB
  assert.ok(!(await names(path.join(straight, 'generator'))).some((n) => n.startsWith('g4_to_rgb')));
  assert.ok((await names(path.join(straight, 'growing/generator'))).some((n) => n.startsWith('g4_to_rgb')));
  assert.ok((await names(path.join(straight, 'growing/discriminator'))).some((n) => n.startsWith('d4_from_rgb')));
  // stopped again at 8×8 stable, where 4×4's toRGB and fromRGB, trained, are in growing/ only
  const again = new AbortController();
  await train(o(stopped, true), data, backend, { ...quiet, signal: again.signal, listeners: [{ step: (e) => e.step === 8 && again.abort() }] });
  await train(o(stopped, true), data, backend, quiet);
  const files = ['generator/weights.bin', 'discriminator/weights.bin', 'generator-ema/weights.bin', 'growing/generator/weights.bin', 'growing/discriminator/weights.bin',
    'growing/generator-ema/weights.bin', 'optimizer/slots.bin', 'optimizer/optimizer.json', 'state.json'];
  for (const f of files) assert.ok((await readFile(path.join(straight, f))).equals(await readFile(path.join(stopped, f))), `${f} differs`);
});

test("--ema on a growing run: after every step each weight of the average, every layer's, is G's + β·(before − G's), β by hand", async () => {
  const o = options(await tmpDir(), 1, false, { ema: 0.001 });
  const opened = await openRun(o);
  const growing = opened.gan.growing!;
  // (the trainable ones: the fades' α, set per step, are the same in both)
  const weights = (m: tf.LayersModel) => m.trainableWeights.map((w) => w.read().dataSync().slice());
  const wholeG = growing.networks.whole().G, wholeAverage = growing.average!.whole().G;
  assert.deepEqual(wholeAverage.trainableWeights.map((w) => w.originalName), wholeG.trainableWeights.map((w) => w.originalName));
  let before = weights(wholeAverage);
  let checked = 0;
  const listener: TrainListener = {
    step: (e) => {
      // StyleGAN2-ADA's β for the step after 4k images: 0.5^(4 / max(min(1 image, 0.05·4k), 1e-8))
      const k = e.step - 1;
      const beta = 0.5 ** (4 / Math.max(Math.min(0.001 * 1000, 0.05 * 4 * k), 1e-8));
      const [g, average] = [weights(wholeG), weights(wholeAverage)];
      g.forEach((gw, i) => gw.forEach((x, j) => {
        const expected = x + beta * (before[i][j] - x);
        assert.ok(Math.abs(average[i][j] - expected) <= 2e-7 * Math.max(1, Math.abs(expected)), `step ${k}, ${wholeG.trainableWeights[i].originalName}[${j}]: ${average[i][j]}, by hand ${expected}`);
        checked++;
      }));
      before = average;
    },
  };
  await train(o, syntheticImageSet(40, SIZE), backend, { ...quiet, listeners: [listener] }, opened);
  assert.ok(checked > 0);
  // the average the grids are drawn from, and the checkpoint keeps, is the phase's (8×8 stable), as G is
  const layers = async (net: string) => JSON.parse(await readFile(path.join(o.out, net, 'model.json'), 'utf8')).modelTopology.config.layers.map((l: { name: string }) => l.name);
  assert.deepEqual(await layers('generator-ema'), await layers('generator'));
});

test('tf.memory().numTensors is flat across steps; a new phase adds only its optimizer\'s m and v for the new weights', async () => {
  const o = options(await tmpDir(), 2, false);
  const opened = await openRun(o);
  const counts: number[] = [];
  const variables: number[] = [];
  const listener: TrainListener = {
    step: () => {
      counts.push(tf.memory().numTensors);
      variables.push(opened.gan.optG.variables.length + opened.gan.optD.variables.length);
    },
  };
  await train(o, syntheticImageSet(40, SIZE), backend, { ...quiet, listeners: [listener] }, opened);
  // after step s the models are step s + 1's: new phases after steps 3 and 6
  for (let s = 1; s < 20; s++) {
    const expected = counts[s - 1] + 2 * (variables[s] - variables[s - 1]); // Adam: m and v per variable
    assert.equal(counts[s], expected, `after step ${s + 1}: ${counts.join(', ')}`);
  }
  assert.ok(variables[2] > variables[1] && variables[5] < variables[4], `variables ${variables.join(', ')}`);
});

test('--fade-kimg: progan grows by default; any other architecture refuses it in one line, before any work', async () => {
  assert.equal(withArchDefaults({ arch: 'progan' }).fadeKimg, PROGAN_FADE_KIMG);
  assert.equal(withArchDefaults({ arch: 'progan', fadeKimg: 0 }).fadeKimg, 0);
  assert.equal('fadeKimg' in withArchDefaults({ arch: 'dcgan28', fadeKimg: 0 }), false); // 0 grows nothing: not recorded
  assert.throws(() => withArchDefaults({ arch: 'd2l', fadeKimg: 2 }), /: --fade-kimg: --arch d2l does not grow \(progressive growing is --arch progan's\)$/);
  const out = path.join(await tmpDir(), 'run');
  const r = spawnSync(process.execPath, [...CLI, 'train', '--arch', 'dcgan28', '--fade-kimg', '2', '--limit', '32', '--out', out], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.trim(), "error: --fade-kimg: --arch dcgan28 does not grow (progressive growing is --arch progan's)");
  assert.ok(!existsSync(out), 'the refused run left a folder');
});

test('the command line: a growing run says its schedule and phase, and resumes growing; a progan run from before --fade-kimg resumes without', async () => {
  const cacheDir = await tmpDir();
  const cli = (...args: string[]) => spawnSync(process.execPath, [...CLI, 'train', ...args], { encoding: 'utf8', timeout: 120_000 });
  const tiny = ['--arch', 'progan', '--image-size', '8', '--width', '4', '--limit', '8', '--batch-size', '4', '--backend', 'cpu', '--cache-dir', cacheDir];
  // 16 images (8 and their mirror images): 4 steps an epoch; --fade-kimg 0.006, 6 images (1.5 steps) a phase: 4×4 at
  // steps 0–1 (0 and 4 images seen), the fade at step 2 (8 images: α 2/6), 8×8 stable from step 3 (12 images)
  const grows = path.join(await tmpDir(), 'run');
  const first = cli(...tiny, '--fade-kimg', '0.006', '--epochs', '1', '--out', grows);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /\ngrowing 4×4 → 8×8: 3 phases of 0\.006 kimg \(1\.5 steps\) each; 8×8 stable from step 3; now 4×4 stable\n/);
  assert.match(first.stderr, /\nepoch 1\/1 \(8×8 stable\): loss_D/);
  const resumed = cli('--out', grows, '--resume', '--epochs', '2', '--backend', 'cpu', '--cache-dir', cacheDir);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /\ngrowing 4×4 → 8×8: .*; now 8×8 stable\n/);
  // a run whose config.json has no fadeKimg: one from before the flag, which trained the final network only
  const old = path.join(await tmpDir(), 'run');
  assert.equal(cli(...tiny, '--fade-kimg', '0', '--epochs', '1', '--out', old).status, 0);
  const configFile = path.join(old, 'config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8'));
  delete config.options.fadeKimg;
  await writeFile(configFile, JSON.stringify(config));
  const again = cli('--out', old, '--resume', '--epochs', '2', '--backend', 'cpu', '--cache-dir', cacheDir);
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /growing/);
  assert.equal(JSON.parse(await readFile(configFile, 'utf8')).options.fadeKimg, 0);
});
