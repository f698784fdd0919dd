import assert from 'node:assert/strict';
import { lstat, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { readState } from '../src/run/checkpoint.js';
import { train, type TrainOptions } from '../src/train/train.js';
import { syntheticImageSet, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const backend = { name: 'wasm' as const, device: 'test', skipped: [], hooks: {} };
const data = syntheticImageSet(40, 16);
const quiet = { log: () => {} };

function options(out: string, epochs: number, resume: boolean): TrainOptions {
  return {
    out, resume, epochs, batchSize: 8, lr: 0.002, beta1: 0.5, beta2: 0.999, seed: 9,
    arch: 'd2l', model: { imageSize: 16, width: 8, latent: 16, channels: 3, classes: 0 }, logEvery: 3, gridImages: 6, gridColumns: 3,
  };
}

/** Every byte a checkpoint holds: both networks (with batch-norm statistics), both Adam states, the training state. */
async function checkpointBytes(dir: string): Promise<Record<string, Buffer>> {
  const files = ['generator/weights.bin', 'discriminator/weights.bin', 'optimizer/slots.bin', 'optimizer/optimizer.json', 'state.json'];
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f, await readFile(path.join(dir, f))] as const)));
}

test('2 epochs straight = 1 epoch, resume, 1 more epoch: identical bytes', async () => {
  const straight = await tmpDir();
  await train(options(straight, 2, false), data, backend, quiet);
  const resumed = await tmpDir();
  await train(options(resumed, 1, false), data, backend, quiet);
  assert.equal((await readState(resumed)).epoch, 1);
  await train(options(resumed, 2, true), data, backend, quiet);
  const a = await checkpointBytes(straight);
  const b = await checkpointBytes(resumed);
  for (const f of Object.keys(a)) assert.ok(a[f].equals(b[f]), `${f} differs`);
  assert.equal((await readState(resumed)).step, 10);
  // the log continues without gaps or repeats
  const steps = (await readFile(path.join(resumed, 'steps.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(await readFile(path.join(straight, 'samples/epoch-002.png')), await readFile(path.join(resumed, 'samples/epoch-002.png')));
});

test('stopping mid-epoch (Ctrl-C) and resuming gives the same bytes and records as never stopping', async () => {
  const straight = await tmpDir();
  await train(options(straight, 3, false), data, backend, quiet);
  const stopped = await tmpDir();
  const controller = new AbortController();
  // abort during step 7: the middle of epoch 2 (5 batches an epoch)
  const io = { ...quiet, signal: controller.signal, listeners: [{ step: (e: { step: number }) => e.step === 7 && controller.abort() }] };
  const result = await train(options(stopped, 3, false), data, backend, io);
  assert.equal(result.interrupted, true);
  const state = await readState(stopped);
  assert.deepEqual({ ...state, epochRng: [], noiseRng: [], epochSums: undefined }, { epoch: 1, stepInEpoch: 2, step: 7, epochRng: [], noiseRng: [], epochSums: undefined });
  assert.equal(state.epochSums?.n, 2);
  await train(options(stopped, 3, true), data, backend, quiet);
  const a = await checkpointBytes(straight);
  const b = await checkpointBytes(stopped);
  for (const f of Object.keys(a)) assert.ok(a[f].equals(b[f]), `${f} differs`);
  // epoch 2's line averages all 5 of its steps, the 2 before the stop too, and epoch 3's only its own: the same figures
  // as the straight run's
  const figures = async (dir: string) => (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n')
    .map((l) => JSON.parse(l)).map((r) => [r.epoch, r.step, r.loss_D, r.loss_G, r.D_x, r.D_G_z]);
  assert.deepEqual(await figures(stopped), await figures(straight));
  assert.equal((await figures(straight)).length, 3);
});

test('a state.json from before the epoch sums were saved still resumes, its epoch averaged from steps.jsonl', async () => {
  const straight = await tmpDir();
  await train(options(straight, 2, false), data, backend, quiet);
  const stopped = await tmpDir();
  const controller = new AbortController();
  const io = { ...quiet, signal: controller.signal, listeners: [{ step: (e: { step: number }) => e.step === 7 && controller.abort() }] };
  await train(options(stopped, 2, false), data, backend, io);
  const file = path.join(stopped, 'state.json');
  const { epochSums, ...old } = JSON.parse(await readFile(file, 'utf8'));
  assert.ok(epochSums);
  await writeFile(file, JSON.stringify(old, null, 2) + '\n');
  await train(options(stopped, 2, true), data, backend, quiet);
  const lines = async (dir: string) => (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const [a, b] = [(await lines(straight))[1], (await lines(stopped))[1]];
  for (const k of ['loss_D', 'loss_G', 'D_x', 'D_G_z']) assert.ok(Math.abs(a[k] - b[k]) < 1e-6, `${k}: ${a[k]} vs ${b[k]}`);
});

test('a resume cuts the records back to its checkpoint: the eval record of that very step stays, later ones and grids go, links stay', async () => {
  const dir = await tmpDir();
  await train(options(dir, 1, false), data, backend, quiet); // 5 steps: a checkpoint at step 5, the end of epoch 1
  // what a run killed in epoch 2 leaves after that checkpoint, and what was there before it
  const evals = path.join(dir, 'eval.jsonl');
  await writeFile(evals, [4, 5, 6, 7].map((step) => JSON.stringify({ epoch: step <= 5 ? 1 : 2, step, swd_x1e3: { avg: step } }) + '\n').join(''));
  await writeFile(path.join(dir, 'samples', 'epoch-002.png'), 'a grid of the epoch that was lost');
  await writeFile(path.join(dir, 'mine.png'), 'mine');
  await symlink(path.join(dir, 'mine.png'), path.join(dir, 'samples', 'epoch-003.png'));
  await train(options(dir, 1, true), data, backend, quiet);
  // the record at step 5 describes the checkpoint's generator, which the resumed run goes on from: it is not repeated
  assert.deepEqual((await readFile(evals, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).step), [4, 5]);
  assert.deepEqual((await readdir(path.join(dir, 'samples'))).sort(), ['epoch-001.png', 'epoch-003.png']);
  assert.ok((await lstat(path.join(dir, 'samples', 'epoch-003.png'))).isSymbolicLink(), 'a link dcgan did not make was deleted');
});

test('img/s of an epoch resumed midway counts all its images over all its seconds, those before the stop too', async () => {
  const dir = await tmpDir();
  const controller = new AbortController();
  const io = { ...quiet, signal: controller.signal, listeners: [{ step: (e: { step: number }) => e.step === 7 && controller.abort() }] };
  await train(options(dir, 2, false), data, backend, io); // stopped 2 steps into epoch 2
  // the first 2 steps of epoch 2 took (say) 1000 s: a slow machine before the resume
  const file = path.join(dir, 'state.json');
  const state = JSON.parse(await readFile(file, 'utf8'));
  await writeFile(file, JSON.stringify({ ...state, epochSums: { ...state.epochSums, seconds: 1000 } }));
  await train(options(dir, 2, true), data, backend, quiet);
  const epoch2 = (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l))[1];
  assert.equal(epoch2.epoch, 2);
  assert.ok(epoch2.seconds > 1000 && epoch2.seconds < 1100, `seconds ${epoch2.seconds}`);
  // images per second = the epoch's images (5 batches of 8) / the epoch's seconds
  assert.ok(Math.abs(epoch2.images_per_s * epoch2.seconds - 5 * 8) < 1e-9, `${epoch2.images_per_s} img/s × ${epoch2.seconds} s`);
});
