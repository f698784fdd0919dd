import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { hasCheckpoint, loadCheckpoint, readState, saveCheckpoint, type CrashPoint } from '../src/run/checkpoint.js';
import type { TrainState } from '../src/run/records.js';
import { loadModel } from '../src/model/io.js';
import { createGan, disposeGan } from '../src/train/train.js';
import { tf, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const options = { arch: 'd2l' as const, model: { imageSize: 16, width: 4, latent: 8, channels: 3 as const, classes: 0 }, lr: 0.001, beta1: 0.5, beta2: 0.999 };
const state = (step: number): TrainState => ({ epoch: step, stepInEpoch: 0, step, epochRng: [1, 2, 3, step], noiseRng: [4, 5, 6, step] });

/** A checkpoint whose every part says which save wrote it: weights from seed `step`, Adam step `step`. */
async function save(dir: string, step: number, crashAt?: CrashPoint) {
  const gan = createGan({ ...options, seed: step });
  gan.optG.step = step;
  gan.optD.step = step;
  try {
    await saveCheckpoint(dir, gan, state(step), crashAt);
  } finally {
    disposeGan(gan);
  }
}

/** Loads the checkpoint and checks that its parts all come from one save; returns which. */
async function loadConsistent(dir: string): Promise<number> {
  const s = await readState(dir);
  const gan = createGan({ ...options, seed: 999 });
  const reference = createGan({ ...options, seed: s.step });
  try {
    await loadCheckpoint(dir, gan);
    assert.equal(gan.optG.step, s.step, 'G optimizer from another save');
    assert.equal(gan.optD.step, s.step, 'D optimizer from another save');
    for (const [a, b] of [[gan.G, reference.G], [gan.D, reference.D]] as const) {
      const wa = await a.getWeights()[0].data();
      const wb = await b.getWeights()[0].data();
      assert.deepEqual(wa, wb, 'weights from another save');
    }
    return s.step;
  } finally {
    disposeGan(gan);
    disposeGan(reference);
  }
}

test('a saved checkpoint loads back, and its generator loads with tf.loadLayersModel', async () => {
  const dir = await tmpDir();
  assert.equal(await hasCheckpoint(dir), false);
  await save(dir, 1);
  assert.equal(await hasCheckpoint(dir), true);
  assert.equal(await loadConsistent(dir), 1);
  const G = await loadModel(path.join(dir, 'generator'));
  const out = tf.tidy(() => (G.predict(tf.zeros([1, 8])) as tf.Tensor).shape);
  assert.deepEqual(out, [1, 16, 16, 3]);
  const modelJson = JSON.parse(await readFile(path.join(dir, 'generator/model.json'), 'utf8'));
  assert.equal(modelJson.format, 'layers-model');
  assert.deepEqual(modelJson.weightsManifest[0].paths, ['weights.bin']);
  G.dispose();
});

const crashPoints: [CrashPoint, number][] = [
  ['staged', 1], // before the commit point: the old checkpoint stays
  ['committed', 2], // after it: rolled forward on the next load
  ['moved:generator', 2],
  ['moved:discriminator', 2],
  ['moved:optimizer', 2],
];

for (const [crashAt, expected] of crashPoints) {
  test(`a crash at "${crashAt}" during a save leaves one whole checkpoint (save ${expected})`, async () => {
    const dir = await tmpDir();
    await save(dir, 1);
    await assert.rejects(save(dir, 2, crashAt), /simulated crash/);
    assert.equal(await hasCheckpoint(dir), true);
    assert.equal(await loadConsistent(dir), expected);
    assert.equal(existsSync(path.join(dir, '.checkpoint-staging')), false);
    // and the next save works as usual
    await save(dir, 3);
    assert.equal(await loadConsistent(dir), 3);
  });
}

test('a checkpoint from before optimizer.json (adam.json + moments.bin) still loads', async () => {
  const dir = await tmpDir();
  await save(dir, 4);
  const opt = path.join(dir, 'optimizer');
  const manifest = JSON.parse(await readFile(path.join(opt, 'optimizer.json'), 'utf8'));
  for (const net of ['G', 'D']) {
    delete manifest[net].kind;
    delete manifest[net].slots;
  }
  await writeFile(path.join(opt, 'adam.json'), JSON.stringify(manifest));
  await rename(path.join(opt, 'slots.bin'), path.join(opt, 'moments.bin'));
  await rm(path.join(opt, 'optimizer.json'));
  assert.equal(await loadConsistent(dir), 4);
});
