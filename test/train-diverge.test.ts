// A run that diverges keeps its last good checkpoint and says what diverged; nothing NaN is ever saved.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { nonFiniteParts, readState, saveCheckpoint } from '../src/run/checkpoint.js';
import { createGan, disposeGan, train, TrainingDivergedError, type TrainOptions } from '../src/train/train.js';
import { syntheticImageSet, tf, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const backend = { name: 'wasm' as const, device: 'test', skipped: [], hooks: {} };
const data = syntheticImageSet(32, 16);
const quiet = { log: () => {} };
const options = (out: string, epochs: number, resume: boolean, lr: number): TrainOptions => ({
  out, resume, epochs, batchSize: 8, lr, beta1: 0.5, beta2: 0.999, seed: 3,
  arch: 'd2l', model: { imageSize: 16, width: 8, latent: 16, channels: 3, classes: 0 }, logEvery: 2, gridImages: 6, gridColumns: 3,
});
const checkpointFiles = ['generator/weights.bin', 'discriminator/weights.bin', 'optimizer/slots.bin', 'optimizer/optimizer.json', 'state.json'];
const bytes = async (dir: string) => Promise.all(checkpointFiles.map((f) => readFile(path.join(dir, f))));

test('--lr 1e9: the run stops naming the network and weight that diverged and a lower --lr; the last good checkpoint stays', async () => {
  const out = await tmpDir();
  await train(options(out, 1, false, 0.002), data, backend, quiet);
  const good = await bytes(out);
  await assert.rejects(train(options(out, 3, true, 1e9), data, backend, quiet), (err: Error) => {
    assert.ok(err instanceof TrainingDivergedError, String(err));
    // which network and which weight: batch norm's moving variance is where NaN shows first at this rate
    assert.match(err.message, /training diverged by step \d+: .*the (generator|discriminator)'s \S+/);
    assert.match(err.message, /The last good checkpoint \(step 4, the end of epoch 1\) in .* is kept; try a lower --lr \(this run's is 1e\+9\)/);
    return true;
  });
  assert.deepEqual(await bytes(out), good, 'the checkpoint changed');
  assert.equal((await readState(out)).step, 4);
  assert.equal(existsSync(path.join(out, 'samples/epoch-002.png')), false, 'a grid of the diverged epoch was written');
});

test('a diverged run that never reached a checkpoint says so, and saves none', async () => {
  const out = await tmpDir();
  await assert.rejects(train(options(out, 2, false, 1e9), data, backend, quiet), /diverged by step \d+: .*No checkpoint was saved; try a lower --lr/);
  assert.equal(existsSync(path.join(out, 'state.json')), false);
});

test('nonFiniteParts names every weight (moving statistics included) and optimizer slot that is not finite', async () => {
  const gan = createGan({ arch: 'd2l', model: { imageSize: 16, width: 4, latent: 8, channels: 3, classes: 0 }, seed: 1, lr: 0.001, beta1: 0.5, beta2: 0.999 });
  try {
    assert.deepEqual(await nonFiniteParts(gan), []);
    const movingVariance = gan.D.weights.find((w) => w.originalName.endsWith('moving_variance'))!;
    movingVariance.write(tf.fill(movingVariance.shape as number[], NaN));
    const kernel = gan.G.trainableWeights[0];
    gan.optG.restore(0, gan.optG.variables.flatMap((v, i) => {
      const n = tf.util.sizeFromShape(v.shape);
      return [new Float32Array(n), Float32Array.from({ length: n }, () => (i === 0 ? Infinity : 0))];
    }));
    const bad = await nonFiniteParts(gan);
    assert.deepEqual(bad, [`the generator's optimizer slot v of ${kernel.originalName}`, `the discriminator's ${movingVariance.originalName}`]);
    const dir = await tmpDir();
    await assert.rejects(saveCheckpoint(dir, gan, { epoch: 0, stepInEpoch: 1, step: 1, epochRng: [1, 2, 3, 4], noiseRng: [1, 2, 3, 4] }), /diverged/);
    assert.equal(existsSync(path.join(dir, 'state.json')), false);
  } finally {
    disposeGan(gan);
  }
});
