// Which images each training step sees: 37 images at batch 8 are 4 steps an epoch (the last 5 images wait for another
// epoch's order), and each step's batch is the next 8 of the epoch's shuffle. The shuffle is recomputed here, with
// Fisher–Yates written out in the test, from the seed the run derives for its data order.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import type { ImageSet } from '../src/data/types.js';
import { readState } from '../src/run/checkpoint.js';
import { progressDisplay } from '../src/train/display.js';
import { train, type TrainOptions } from '../src/train/train.js';
import { deriveSeed, Rng } from '../src/util/rng.js';
import { tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const COUNT = 37, BATCH = 8, SIZE = 16, SEED = 5;
const IMAGE_BYTES = SIZE * SIZE;

/**
 * Pixels that note which images are read: each read of one whole image (a subarray of exactly one image's bytes,
 * as a batch is gathered) appends the image's index to `reads`.
 */
class RecordingPixels extends Uint8Array {
  reads: number[] = [];
  static get [Symbol.species]() {
    return Uint8Array;
  }
  override subarray(begin = 0, end = this.length): Uint8Array<ArrayBuffer> {
    if (end - begin === IMAGE_BYTES && begin % IMAGE_BYTES === 0) this.reads.push(begin / IMAGE_BYTES);
    return super.subarray(begin, end);
  }
}

/** Durstenfeld's Fisher–Yates, drawing from `rng`: i from n − 1 down to 1 swaps with j uniform in [0, i]. */
function shuffle(rng: Rng, n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i >= 1; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

test('37 images at batch 8: 4 steps an epoch, each on the next 8 images of the epoch’s shuffle', async () => {
  const pixels = new RecordingPixels(COUNT * IMAGE_BYTES);
  for (let k = 0; k < COUNT; k++) pixels.fill(k * 6, k * IMAGE_BYTES, (k + 1) * IMAGE_BYTES); // 37 different grey images
  const data: ImageSet = { pixels, count: COUNT, size: SIZE, channels: 1, description: '37 greys' };
  const out = await tmpDir();
  const o: TrainOptions = {
    out, resume: false, epochs: 2, batchSize: BATCH, lr: 0.002, beta1: 0.5, beta2: 0.999, seed: SEED, arch: 'd2l',
    model: { imageSize: SIZE, width: 4, latent: 4, channels: 1, classes: 0 }, logEvery: 2, gridImages: 3, gridColumns: 3,
  };
  // the reads between one step's end and the next's are that step's (plus, before the first, anything the set-up reads)
  const perStep: number[][] = [];
  let seen = 0;
  const backend = { name: 'wasm' as const, device: 'test', skipped: [], hooks: {} };
  const lines: string[] = [];
  await train(o, data, backend, {
    log: (line) => lines.push(line),
    listeners: [progressDisplay((line) => lines.push(line), { bars: false }), {
      step: () => {
        perStep.push(pixels.reads.slice(seen));
        seen = pixels.reads.length;
      },
    }],
  });

  // each epoch ends with one line that repeats its metrics.jsonl record and names its grid
  const records = (await readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const f3 = (x: number) => x.toFixed(3);
  assert.deepEqual(lines.filter((l) => /^epoch \d/.test(l)), records.map((r) =>
    `epoch ${r.epoch}/2: loss_D ${f3(r.loss_D)}, loss_G ${f3(r.loss_G)}, D(x) ${f3(r.D_x)}, D(G(z)) ${f3(r.D_G_z)}, ` +
    `${r.images_per_s.toFixed(1)} img/s, ${r.seconds.toFixed(1)} s → ${path.join(out, 'samples', `epoch-00${r.epoch}.png`)}`));

  const orderRng = new Rng(deriveSeed(SEED, 'order'));
  const epochs = [shuffle(orderRng, COUNT), shuffle(orderRng, COUNT)]; // the second epoch continues the stream
  const expected = epochs.flatMap((order) => [0, 1, 2, 3].map((b) => order.slice(b * BATCH, (b + 1) * BATCH)));
  assert.equal(perStep.length, 8, `${perStep.length} steps in 2 epochs`);
  perStep.forEach((reads, s) => {
    // a step reads its batch last; after the first, nothing else
    if (s > 0) assert.equal(reads.length, BATCH, `step ${s + 1} read ${reads.length} images`);
    assert.deepEqual(reads.slice(-BATCH), expected[s], `step ${s + 1}`);
  });
  // each epoch trains 32 different images; the 5 left over are the last 5 of its order
  for (const [e, order] of epochs.entries()) {
    const trained = perStep.slice(4 * e, 4 * e + 4).flatMap((r) => r.slice(-BATCH));
    assert.equal(new Set(trained).size, 32);
    assert.deepEqual([...Array(COUNT).keys()].filter((k) => !trained.includes(k)).sort((a, b) => a - b), order.slice(32).sort((a, b) => a - b));
  }
  // each epoch's speed is its 32 trained images over its time
  const metrics = (await readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(metrics.length, 2);
  for (const m of metrics) assert.ok(Math.abs(m.images_per_s * m.seconds - 32) < 1e-6, `${m.images_per_s} img/s over ${m.seconds} s`);
  const state = await readState(out);
  assert.deepEqual([state.epoch, state.step, state.stepInEpoch], [2, 8, 0]);
  const steps = (await readFile(path.join(out, 'steps.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(steps.map((r) => [r.epoch, r.step]), [[1, 1], [1, 2], [1, 3], [1, 4], [2, 5], [2, 6], [2, 7], [2, 8]]);
});
