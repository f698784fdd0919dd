import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { checkCheckpointFiles, hasCheckpoint, loadCheckpoint, readState, saveCheckpoint, type CrashPoint } from '../src/run/checkpoint.js';
import type { TrainState } from '../src/run/records.js';
import { loadModel } from '../src/model/io.js';
import type { ArchName } from '../src/model/architectures.js';
import type { Gan } from '../src/train/step.js';
import { createGan, disposeGan } from '../src/train/train.js';
import { architecture } from '../src/model/architectures.js';
import { buildGenerator } from '../src/model/build.js';
import { Rng } from '../src/util/rng.js';
import { tf, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

const shape = { imageSize: 16, width: 4, latent: 8, channels: 3 as const, classes: 0 };
const options = { arch: 'd2l' as const, model: shape, lr: 0.001, beta1: 0.5, beta2: 0.999 };
const state = (step: number): TrainState => ({ epoch: step, stepInEpoch: 0, step, epochRng: [1, 2, 3, step], noiseRng: [4, 5, 6, step] });

/**
 * Every number a checkpoint holds, named: both networks' weights (batch-norm moving statistics included), both
 * optimizers' slots (Adam's m and v, RMSprop's v) and step counts.
 */
async function everything(gan: Gan & { Gema?: tf.LayersModel; whole?: { G: tf.LayersModel; D: tf.LayersModel } }): Promise<Map<string, Float32Array | number>> {
  const out = new Map<string, Float32Array | number>();
  if (gan.Gema) for (const w of gan.Gema.weights) out.set(`G_ema ${w.originalName}`, (await w.read().data()) as Float32Array);
  // a growing run's every layer, those the phase's G and D leave out included
  if (gan.whole) for (const w of [...gan.whole.G.weights, ...gan.whole.D.weights]) out.set(`whole ${w.originalName}`, (await w.read().data()) as Float32Array);
  for (const [net, model, opt] of [['G', gan.G, gan.optG], ['D', gan.D, gan.optD]] as const) {
    for (const w of model.weights) out.set(`${net} ${w.originalName}`, (await w.read().data()) as Float32Array);
    for (const [i, t] of opt.stateTensors().entries()) out.set(`${net} ${opt.kind} slot ${i}`, (await t.data()) as Float32Array);
    out.set(`${net} ${opt.kind} step`, opt.step);
  }
  return out;
}

/**
 * Sets every number a checkpoint holds to values that say which save wrote them: drawn from Rng(step), the
 * optimizers' step counts 10·step + 1 (G) and + 2 (D). Nothing is left at a value every save shares (batch-norm
 * statistics start at 0 and 1, slots at 0), so a part loaded from another save, or not at all, shows.
 */
function stamp(gan: Gan & { Gema?: tf.LayersModel; whole?: { G: tf.LayersModel; D: tf.LayersModel } }, step: number): void {
  const rng = new Rng(step);
  const values = (t: tf.Tensor) => tf.tensor(rng.normals(t.size), t.shape);
  tf.tidy(() => {
    for (const model of [gan.G, gan.D, ...(gan.Gema ? [gan.Gema] : []), ...(gan.whole ? [gan.whole.G, gan.whole.D] : [])]) for (const w of model.weights) w.write(values(w.read()));
    for (const opt of [gan.optG, gan.optD]) for (const t of opt.stateTensors()) (t as tf.Variable).assign(values(t));
  });
  gan.optG.step = 10 * step + 1;
  gan.optD.step = 10 * step + 2;
}

/**
 * With the generator average (--ema) and a new best (--keep-best): every part a save can write; progan grows (a phase's
 * G and D, and growing/: the 16×16 run fading 8×8 in after 1 image, at 1 image a phase).
 */
const averaged = (arch: ArchName, seed: number) => {
  const gan = createGan({ ...options, arch, seed, ...(arch === 'progan' ? { fadeKimg: 0.001, batchSize: 1 } : {}) }, 1);
  return { ...gan, Gema: buildGenerator(architecture(arch), shape, seed), whole: gan.growing?.networks.whole() };
};
const release = (gan: ReturnType<typeof averaged>) => {
  disposeGan(gan);
  gan.Gema.dispose();
};
const bestOf = (step: number) => ({ figure: 'loss-g', value: 1 / step, epoch: step, step });

/** A checkpoint whose every part says which save wrote it. */
async function save(dir: string, step: number, crashAt?: CrashPoint, arch: ArchName = 'd2l') {
  const gan = averaged(arch, step);
  stamp(gan, step);
  try {
    await saveCheckpoint(dir, gan, state(step), crashAt, bestOf(step));
  } finally {
    release(gan);
  }
}

/**
 * Loads the checkpoint and checks that every part comes from one save, every number intact — best/ too (its
 * generator G's, its record the save's) — and returns which save.
 */
async function loadConsistent(dir: string, arch: ArchName = 'd2l'): Promise<number> {
  const s = await readState(dir);
  const gan = averaged(arch, 999);
  const reference = averaged(arch, 999);
  stamp(reference, s.step);
  const best = await loadModel(path.join(dir, 'best/generator'));
  try {
    await loadCheckpoint(dir, gan);
    const [got, expected] = [await everything(gan), await everything(reference)];
    assert.deepEqual([...got.keys()], [...expected.keys()]);
    for (const [name, value] of expected) assert.deepEqual(got.get(name), value, `${name}: not as save ${s.step} wrote it`);
    assert.deepEqual(JSON.parse(await readFile(path.join(dir, 'best/best.json'), 'utf8')), bestOf(s.step));
    for (const [i, w] of best.weights.entries()) assert.deepEqual(await w.read().data(), await reference.G.weights[i].read().data(), `best/ ${w.originalName}`);
    assert.deepEqual(await readFile(path.join(dir, 'best/generator-ema/weights.bin')), await readFile(path.join(dir, 'generator-ema/weights.bin')));
    return s.step;
  } finally {
    release(gan);
    release(reference);
    best.dispose();
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

// Every crash point the save has, and which save a crash there leaves: the old one before the commit point, the new
// one (rolled forward on the next load) after it. A Record over CrashPoint, so a new crash point fails to compile
// until it is tested here.
const CRASH_POINTS: Record<CrashPoint, number> = {
  'staged': 1,
  'committed': 2,
  'moved:generator': 2,
  'moved:generator-ema': 2,
  'moved:discriminator': 2,
  'moved:optimizer': 2,
  'moved:best': 2,
  'moved:growing': 2, // (a growing progan's save)
  'moved:state.json': 2, // the last move: only the staging folder is left to remove
};

for (const [crashAt, expected] of Object.entries(CRASH_POINTS) as [CrashPoint, number][]) {
  test(`a crash at "${crashAt}" during a save leaves one whole checkpoint (save ${expected})`, async () => {
    const dir = await tmpDir();
    const arch = crashAt === 'moved:growing' ? 'progan' : 'd2l';
    await save(dir, 1, undefined, arch);
    await assert.rejects(save(dir, 2, crashAt, arch), /simulated crash/);
    assert.equal(await hasCheckpoint(dir), true);
    assert.equal(await loadConsistent(dir, arch), expected);
    assert.equal(existsSync(path.join(dir, '.checkpoint-staging')), false);
    // and the next save works as usual
    await save(dir, 3, undefined, arch);
    assert.equal(await loadConsistent(dir, arch), 3);
  });
}

test('every architecture’s checkpoint round-trips every number: Keras batch norm, RMSprop and Keras Adam too', async () => {
  for (const arch of ['keras28', 'mlp'] as const) {
    const dir = await tmpDir();
    const model = arch === 'keras28' ? { ...shape, imageSize: 28 } : { ...shape, imageSize: 8 };
    const o = { ...options, model };
    const gan = createGan({ ...o, arch, seed: 5 });
    stamp(gan, 5);
    await saveCheckpoint(dir, gan, state(5));
    const loaded = createGan({ ...o, arch, seed: 6 });
    await loadCheckpoint(dir, loaded);
    const [got, expected] = [await everything(loaded), await everything(gan)];
    assert.ok([...expected.keys()].some((k) => /rmsprop|adam/.test(k)), arch);
    assert.deepEqual([...got.keys()], [...expected.keys()], arch);
    for (const [name, value] of expected) assert.deepEqual(got.get(name), value, `${arch} ${name}`);
    disposeGan(gan);
    disposeGan(loaded);
  }
});

test('a checkpoint of another optimizer, or of other shapes, is refused', async () => {
  const dir = await tmpDir();
  await save(dir, 1);
  const rmsprop = createGan({ ...options, seed: 1, optimizer: 'rmsprop' });
  await assert.rejects(loadCheckpoint(dir, rmsprop), /optimizer\/optimizer\.json: the G optimizer is adam, the run's is rmsprop$/);
  disposeGan(rmsprop);
  const wider = createGan({ ...options, model: { ...shape, width: 8 }, seed: 1 });
  await assert.rejects(loadCheckpoint(dir, wider), /generator\/model\.json: weight g0_deconv\/kernel has shape \[4,4,8,8\], this run's model \[4,4,16,8\]/);
  disposeGan(wider);
});

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

test('a save replaces only the checkpoint\'s own files: a file of the user\'s in generator/ stays, across a crash too', async () => {
  const dir = await tmpDir();
  await save(dir, 1);
  await writeFile(path.join(dir, 'generator', 'README.md'), 'notes on this generator');
  await save(dir, 2);
  await assert.rejects(save(dir, 3, 'moved:discriminator'), /simulated crash/);
  assert.equal(await hasCheckpoint(dir), true); // rolled forward
  assert.equal(await loadConsistent(dir), 3);
  assert.equal(await readFile(path.join(dir, 'generator', 'README.md'), 'utf8'), 'notes on this generator');
  assert.deepEqual((await readdir(path.join(dir, 'generator'))).sort(), ['README.md', 'model.json', 'weights.bin']);
});

test('a save over a checkpoint from before optimizer.json leaves only the new files (adam.json and moments.bin go)', async () => {
  const dir = await tmpDir();
  await save(dir, 4);
  const opt = path.join(dir, 'optimizer');
  await rename(path.join(opt, 'optimizer.json'), path.join(opt, 'adam.json'));
  await rename(path.join(opt, 'slots.bin'), path.join(opt, 'moments.bin'));
  await save(dir, 5);
  assert.deepEqual((await readdir(opt)).sort(), ['optimizer.json', 'slots.bin']);
  assert.equal(await loadConsistent(dir), 5);
});

test('a file of the user\'s in the staging folder stops the next save and load, named; it is not deleted', async () => {
  const dir = await tmpDir();
  await save(dir, 1);
  await assert.rejects(save(dir, 2, 'staged'), /simulated crash/); // an uncommitted staging folder is left
  const mine = path.join(dir, '.checkpoint-staging', 'generator', 'mine.txt');
  await writeFile(mine, 'mine');
  await assert.rejects(save(dir, 3), new RegExp(`^Error: ${mine.replace(/[/.]/g, '\\$&')}: dcgan did not write it; dcgan deletes only what it wrote`));
  await assert.rejects(hasCheckpoint(dir), /mine\.txt: dcgan did not write it/);
  assert.equal(await readFile(mine, 'utf8'), 'mine');
  await rm(mine);
  assert.equal(await hasCheckpoint(dir), true);
  assert.equal(existsSync(path.join(dir, '.checkpoint-staging')), false);
  assert.equal(await loadConsistent(dir), 1);
});

/** A checkpoint as training writes one: the generator's optimizer has taken exactly state.step steps. */
async function saveAsTrained(dir: string, step: number): Promise<void> {
  const gan = createGan({ ...options, seed: step });
  stamp(gan, step);
  gan.optG.step = step;
  gan.optD.step = 2 * step; // keras-gan's form steps D twice a step
  try {
    await saveCheckpoint(dir, gan, state(step));
  } finally {
    disposeGan(gan);
  }
}

test('the check before a resume reads every optimizer slot: a NaN or infinity anywhere in slots.bin is named', async () => {
  const dir = await tmpDir();
  await saveAsTrained(dir, 3);
  await checkCheckpointFiles(dir);
  const file = path.join(dir, 'optimizer', 'slots.bin');
  const good = await readFile(file);
  for (const [at, value] of [[0, NaN], [good.length - 4, Infinity], [4 * 1000, -Infinity]] as const) {
    const bad = Buffer.from(good);
    bad.writeFloatLE(value, at);
    await writeFile(file, bad);
    await assert.rejects(checkCheckpointFiles(dir), new RegExp(`^Error: ${file.replace(/[/.]/g, '\\$&')}: it holds NaN or infinite values`), `${value} at byte ${at}`);
  }
});

test('state.json: counts that cannot be (more epochs than steps, a step the optimizer never took) are refused, named', async () => {
  const dir = await tmpDir();
  await saveAsTrained(dir, 3);
  const file = path.join(dir, 'state.json');
  const good = JSON.parse(await readFile(file, 'utf8'));
  for (const [change, message] of [
    [{ step: 1e15 }, /"step" is 1000000000000000, but optimizer\/optimizer\.json has the generator's optimizer at step 3/],
    [{ step: 2 ** 53 }, /"step" is 9007199254740992, not a whole number ≥ 0/],
    [{ step: 4 }, /"step" is 4, but optimizer\/optimizer\.json has the generator's optimizer at step 3/],
    [{ epoch: 4 }, /"step" 3 is fewer than the 4 epochs and 0 steps it says were trained/],
    [{ epoch: 2, stepInEpoch: 2 }, /"step" 3 is fewer than the 2 epochs and 2 steps it says were trained/],
  ] as const) {
    await writeFile(file, JSON.stringify({ ...good, ...change }));
    await assert.rejects(checkCheckpointFiles(dir), message, JSON.stringify(change));
  }
  await writeFile(file, JSON.stringify({ ...good, epoch: 1, stepInEpoch: 2 })); // 1 step in epoch 1, 2 in epoch 2: possible
  await checkCheckpointFiles(dir);
});
