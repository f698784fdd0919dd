import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
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
