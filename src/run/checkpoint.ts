// Checkpoints in the run folder: generator/, discriminator/ (tfjs layers format), optimizer/ (both Adams), state.json.
//
// A checkpoint is several files, so a plain temp+rename per file is not enough: a crash between two renames would pair
// a new generator with an old state.json. Instead everything is written into a staging folder first; a COMPLETE marker
// written last (atomically) is the commit point; then the parts are moved into place. A crash before the marker leaves
// the previous checkpoint untouched (the staging folder is discarded); a crash after it is rolled forward on the next
// load. Either way the folder holds one whole checkpoint.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadWeightsInto, saveModel } from '../model/io.js';
import { writeFileAtomic } from '../util/fs.js';
import { deleteOwned, ownedFolder } from '../util/owned.js';
import { plural } from '../util/plural.js';
import { withPath } from '../util/paths.js';
import { parseJsonFile, RunFileError } from './files.js';
import { CHECKPOINT_STAGING, STAGING_PARTS } from './layout.js';
import type { TrainState } from './records.js';

/** An optimizer as a checkpoint sees it: a step count and, per variable, a few slots (Adam: m and v). */
export interface OptimizerState {
  /** 'adam', 'rmsprop': a resume refuses a checkpoint of another kind */
  readonly kind: string;
  readonly slotNames: readonly string[];
  step: number;
  readonly variables: tf.Variable[];
  /** every variable's slots, variable after variable, in slotNames order */
  stateTensors(): tf.Tensor[];
  restore(step: number, slots: Float32Array[]): void;
}

/** What a checkpoint holds: both networks and their optimizers, and the average of G's weights where the run keeps one. */
export interface Checkpointed {
  G: tf.LayersModel;
  D: tf.LayersModel;
  optG: OptimizerState;
  optD: OptimizerState;
  /** --ema: the moving average of G's weights, saved as generator-ema/ */
  Gema?: tf.LayersModel;
  /**
   * a growing run (--fade-kimg): G and D with every layer, saved in growing/ — G and D above are the phase's, which
   * leave out the other resolutions' layers
   */
  whole?: { G: tf.LayersModel; D: tf.LayersModel; Gema?: tf.LayersModel };
}

/** --keep-best: the figure the kept generator was best by, its value, and when. */
export interface BestRecord {
  figure: string;
  value: number;
  epoch: number;
  step: number;
}

const STAGING = CHECKPOINT_STAGING;
const COMPLETE = 'COMPLETE';
// state.json last: a reader that ignores the staging protocol still never sees a state newer than the weights.
// generator-ema/ only in runs with --ema; best/ (the generator of the best epoch, --keep-best) only when it changed;
// growing/ only in growing runs.
const PARTS = ['generator', 'generator-ema', 'discriminator', 'optimizer', 'best', 'growing', 'state.json'] as const;
/** A growing run's networks with every layer (Checkpointed.whole); the average's only with --ema. */
const GROWING = ['growing/generator', 'growing/discriminator', 'growing/generator-ema'] as const;
/** The parts every checkpoint has. */
const REQUIRED_PARTS = ['generator', 'discriminator', 'optimizer', 'state.json'] as const;

/** For tests: throw at a named point of the save, as a crash there would stop it. */
export type CrashPoint = 'staged' | 'committed' | `moved:${(typeof PARTS)[number]}`;

/** A network or optimizer slot that holds NaN or ±Infinity: training diverged, and no checkpoint may keep it. */
export class DivergedError extends Error {
  constructor(readonly where: string[]) {
    const named = `${where.slice(0, 3).join(', ')}${where.length > 3 ? ` and ${where.length - 3} more` : ''}`;
    super(`training diverged: ${named} ${where.length === 1 ? 'holds' : 'hold'} NaN or infinite values`);
  }
}

/**
 * Every weight of both networks — trainable ones and batch norm's moving statistics — and every optimizer slot that
 * holds a NaN or an infinity, named ("the discriminator's batch_normalization_2/moving_variance"); [] when all are
 * finite. One read from the device for all of them.
 */
export async function nonFiniteParts(gan: Checkpointed): Promise<string[]> {
  const parts: { name: string; tensor: tf.Tensor }[] = [];
  if (gan.Gema) for (const w of gan.Gema.weights) parts.push({ name: `the generator average's ${w.originalName}`, tensor: w.read() });
  for (const [net, model, opt] of [['generator', gan.G, gan.optG], ['discriminator', gan.D, gan.optD]] as const) {
    for (const w of model.weights) parts.push({ name: `the ${net}'s ${w.originalName}`, tensor: w.read() });
    const names = model.trainableWeights.map((w) => w.originalName);
    const slots = opt.stateTensors();
    slots.forEach((t, k) => {
      const variable = Math.floor(k / opt.slotNames.length);
      parts.push({ name: `the ${net}'s optimizer slot ${opt.slotNames[k % opt.slotNames.length]} of ${names[variable] ?? `variable ${variable}`}`, tensor: t });
    });
  }
  if (!parts.length) return [];
  const finite = tf.tidy(() => tf.stack(parts.map((p) => tf.all(tf.isFinite(p.tensor)).toInt())));
  const flags = await finite.data();
  finite.dispose();
  return parts.filter((_, i) => !flags[i]).map((p) => p.name);
}

/** Throws DivergedError when any weight or optimizer slot is not finite. */
export async function assertFinite(gan: Checkpointed): Promise<void> {
  const bad = await nonFiniteParts(gan);
  if (bad.length) throw new DivergedError(bad);
}

/**
 * Saves a whole checkpoint, or leaves the previous one. `best`: this checkpoint's generator (and its average) is also
 * the run's best so far, kept in best/ with best.json, committed with the rest.
 */
export async function saveCheckpoint(runDir: string, gan: Checkpointed, state: TrainState, crashAt?: CrashPoint, best?: BestRecord): Promise<void> {
  // a diverged run keeps its last good checkpoint: NaN weights would make every later sample and resume worthless
  await assertFinite(gan);
  await recoverCheckpoint(runDir);
  const staging = path.join(runDir, STAGING);
  // a failed write (a full disk) names the part it failed on; the system's error names none
  const write = async (part: string, w: (to: string) => Promise<void>) => {
    try {
      await w(path.join(staging, part));
    } catch (err) {
      throw withPath(err, path.join(staging, part));
    }
  };
  await removeStaging(runDir);
  try {
    await write('', (to) => mkdir(to, { recursive: true }).then(() => {}));
    await write('generator', (to) => saveModel(gan.G, to));
    if (gan.Gema) await write('generator-ema', (to) => saveModel(gan.Gema!, to));
    await write('discriminator', (to) => saveModel(gan.D, to));
    await write('optimizer', (to) => saveOptimizers(to, gan));
    if (best) {
      await write('best/generator', (to) => saveModel(gan.G, to));
      if (gan.Gema) await write('best/generator-ema', (to) => saveModel(gan.Gema!, to));
      await write('best/best.json', (to) => writeFile(to, JSON.stringify(best, null, 2) + '\n'));
    }
    if (gan.whole) {
      await write(GROWING[0], (to) => saveModel(gan.whole!.G, to));
      await write(GROWING[1], (to) => saveModel(gan.whole!.D, to));
      if (gan.whole.Gema) await write(GROWING[2], (to) => saveModel(gan.whole!.Gema!, to));
    }
    await write('state.json', (to) => writeFile(to, JSON.stringify(state, null, 2) + '\n'));
  } catch (err) {
    // a full disk: the half-written staging folder would only take more of it
    await removeStaging(runDir).catch(() => {});
    throw err;
  }
  if (crashAt === 'staged') throw new Error('simulated crash: staged');
  await writeFileAtomic(path.join(staging, COMPLETE), `${state.step}\n`);
  if (crashAt === 'committed') throw new Error('simulated crash: committed');
  await moveStagedParts(runDir, crashAt);
}

async function moveStagedParts(runDir: string, crashAt?: CrashPoint): Promise<void> {
  const staging = path.join(runDir, STAGING);
  for (const part of PARTS) {
    const from = path.join(staging, part);
    if (!existsSync(from)) continue; // moved before a crash
    if ((await lstat(from)).isDirectory()) await replaceFiles(from, path.join(runDir, part));
    else await rename(from, path.join(runDir, part));
    if (crashAt === `moved:${part}`) throw new Error(`simulated crash: moved ${part}`);
  }
  // the optimizer's files under their names from before optimizer.json, replaced by it
  for (const legacy of [LEGACY_MANIFEST, LEGACY_SLOTS]) {
    const file = path.join(runDir, 'optimizer', legacy);
    if ((await lstat(file).catch(() => undefined))?.isFile()) await unlink(file);
  }
  await removeStaging(runDir);
}

/**
 * Moves a staged part's files into the run's folder of that name, file by file, replacing those of the previous
 * checkpoint: files there that dcgan did not write stay where they are. A crash between two files leaves the rest in
 * the staging folder, which the next load moves on (the commit marker is already written).
 */
async function replaceFiles(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    // best/generator/: a folder in a part, replaced file by file in turn
    if (entry.isDirectory()) await replaceFiles(path.join(from, entry.name), path.join(to, entry.name));
    else await rename(path.join(from, entry.name), path.join(to, entry.name));
  }
  await rmdir(from);
}

/** Deletes the staging folder: only the files a save writes there; anything else in it refuses the delete, naming it. */
async function removeStaging(runDir: string): Promise<void> {
  if (!existsSync(path.join(runDir, STAGING))) return;
  await deleteOwned(runDir, [ownedFolder(STAGING, ...STAGING_PARTS)], `dcgan deletes only what it wrote: move it out of ${STAGING}/`);
}

/** Finishes or discards a save that a crash interrupted. */
export async function recoverCheckpoint(runDir: string): Promise<void> {
  const staging = path.join(runDir, STAGING);
  if (!existsSync(staging)) return;
  if (existsSync(path.join(staging, COMPLETE))) await moveStagedParts(runDir);
  else await removeStaging(runDir);
}

export async function hasCheckpoint(runDir: string): Promise<boolean> {
  return (await missingCheckpointParts(runDir)).length === 0;
}

/** Where a checkpoint stands, for people: "step 40, the end of epoch 2" or "step 47, 7 steps into epoch 3". */
export function describeState(s: Pick<TrainState, 'epoch' | 'stepInEpoch' | 'step'>): string {
  return `step ${s.step}, ${s.stepInEpoch ? `${plural(s.stepInEpoch, 'step')} into epoch ${s.epoch + 1}` : s.epoch ? `the end of epoch ${s.epoch}` : 'before any training'}`;
}

const isCount = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
const isRngState = (x: unknown) => Array.isArray(x) && x.length === 4 && x.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32);

/** state.json, checked field by field: a damaged one is named with what is wrong, never half-used. */
export async function readState(runDir: string): Promise<TrainState> {
  const file = path.join(runDir, 'state.json');
  const state = await parseJsonFile<Record<string, unknown>>(file);
  const bad = (what: string) => new RunFileError(file, what);
  if (!state || typeof state !== 'object' || Array.isArray(state)) throw bad('it holds no training state (not a JSON object)');
  for (const key of ['epoch', 'stepInEpoch', 'step'] as const) {
    if (!isCount(state[key])) throw bad(`"${key}" is ${JSON.stringify(state[key]) ?? 'missing'}, not a whole number ≥ 0`);
  }
  for (const key of ['epochRng', 'noiseRng'] as const) {
    if (!isRngState(state[key])) throw bad(`"${key}" is not a random generator's state (4 unsigned 32-bit integers)`);
  }
  if (state.augmentRng !== undefined && !isRngState(state.augmentRng)) throw bad('"augmentRng" is not a random generator\'s state (4 unsigned 32-bit integers)');
  if ((state.stepInEpoch as number) > (state.step as number)) throw bad(`"stepInEpoch" ${state.stepInEpoch} exceeds "step" ${state.step}`);
  // every epoch trains at least one step
  if ((state.epoch as number) + (state.stepInEpoch as number) > (state.step as number)) {
    throw bad(`"step" ${state.step} is fewer than the ${plural(Number(state.epoch), 'epoch')} and ${plural(Number(state.stepInEpoch), 'step')} it says were trained`);
  }
  const best = state.best as Record<string, unknown> | undefined;
  if (best !== undefined) {
    const whole = (k: string) => isCount(best?.[k]) && (best[k] as number) <= (state[k] as number);
    if (!best || typeof best !== 'object' || typeof best.figure !== 'string' || typeof best.value !== 'number' || !Number.isFinite(best.value) || !whole('epoch') || !whole('step')) {
      throw bad('"best" is not a best epoch (a figure, a finite value, an epoch and step no later than the state\'s)');
    }
  }
  const sums = state.epochSums as Record<string, unknown> | undefined;
  if (sums !== undefined) {
    const keys = ['loss_D', 'loss_G', 'D_x', 'D_G_z', 'n', 'seconds'];
    if (!sums || typeof sums !== 'object' || !keys.every((k) => typeof sums[k] === 'number' && Number.isFinite(sums[k]))) {
      throw bad('"epochSums" is not a set of finite numbers');
    }
  }
  return state as unknown as TrainState;
}

/** Restores weights and optimizer states into `gan` (built with the run's shapes) and returns the training state. */
export async function loadCheckpoint(runDir: string, gan: Checkpointed): Promise<TrainState> {
  const missing = await missingCheckpointParts(runDir);
  if (missing.length) throw new Error(`no whole checkpoint in ${runDir} (${missing.join(', ')} missing)`);
  const state = await readState(runDir);
  await loadNetwork(gan.G, path.join(runDir, 'generator'));
  if (gan.Gema) {
    if (!existsSync(path.join(runDir, 'generator-ema'))) throw new RunFileError(path.join(runDir, 'generator-ema'), 'it is missing, and the run keeps an average of G (--ema)');
    await loadNetwork(gan.Gema, path.join(runDir, 'generator-ema'));
  }
  await loadNetwork(gan.D, path.join(runDir, 'discriminator'));
  if (gan.whole) {
    // after G and D: these hold their weights too, and the rest
    for (const [part, model] of [[GROWING[0], gan.whole.G], [GROWING[1], gan.whole.D], [GROWING[2], gan.whole.Gema]] as const) {
      if (!model) continue;
      const dir = path.join(runDir, part);
      if (!existsSync(dir)) throw new RunFileError(dir, `it is missing, and the run grows (--fade-kimg)${part === GROWING[2] ? ' and keeps an average of G (--ema)' : ''}`);
      await loadNetwork(model, dir);
    }
  }
  await loadOptimizers(path.join(runDir, 'optimizer'), gan);
  const bad = await nonFiniteParts(gan);
  if (bad.length) {
    throw new Error(`the checkpoint in ${runDir} holds NaN or infinite values (${bad.slice(0, 2).join(', ')}): it was saved after training diverged, so there is nothing to resume from`);
  }
  return state;
}

/**
 * Checks every file of a checkpoint without loading it into a model (no tfjs backend needed): each parses, each
 * binary file holds the bytes its manifest describes, and every number is finite. What needs the run's model — shapes
 * against config.json — loadCheckpoint checks. Throws RunFileError naming the file.
 */
export async function checkCheckpointFiles(runDir: string): Promise<void> {
  const state = await readState(runDir);
  const growing = existsSync(path.join(runDir, 'growing'));
  for (const net of ['generator', 'generator-ema', 'discriminator', ...(growing ? GROWING : [])]) {
    const dir = path.join(runDir, net);
    if (net.endsWith('generator-ema') && !existsSync(dir)) continue; // only runs with --ema have one
    const specs = await checkModelFiles(dir);
    if (specs.every((s) => s.dtype === 'float32')) {
      const weights = path.join(dir, 'weights.bin');
      const bad = firstNonFinite(await readFile(weights));
      if (bad >= 0) {
        let offset = 0;
        const spec = specs.find((s) => (offset += tf.util.sizeFromShape(s.shape)) > bad);
        throw new RunFileError(weights, `${spec?.name ?? 'a weight'} holds NaN or infinite values: the run diverged before this checkpoint`);
      }
    }
  }
  const { manifest, manifestFile, slotsFile, floats } = await readOptimizerFiles(path.join(runDir, 'optimizer'));
  if (firstNonFinite(floats) >= 0) throw new RunFileError(slotsFile, 'it holds NaN or infinite values: the run diverged before this checkpoint');
  // G's optimizer takes one step per training step in every step form (D's one or two): the two files must agree. A
  // growing run starts a new optimizer at each phase: there it has taken a step per step of the phase.
  if (growing ? manifest.G.step > state.step : manifest.G.step !== state.step) {
    throw new RunFileError(path.join(runDir, 'state.json'), `"step" is ${state.step}, but ${path.relative(runDir, manifestFile)} has the generator's optimizer at step ${manifest.G.step} (damaged, or from another checkpoint)`);
  }
}

/** The index of the first float32 that is NaN or infinite in `data`, or -1. */
function firstNonFinite(data: Uint8Array | Float32Array): number {
  const floats = data instanceof Float32Array ? data : new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  for (let i = 0; i < floats.length; i++) if (!Number.isFinite(floats[i])) return i;
  return -1;
}

/** The parts of a checkpoint (generator/, discriminator/, optimizer/, state.json) that the folder lacks. */
export async function missingCheckpointParts(runDir: string): Promise<string[]> {
  await recoverCheckpoint(runDir);
  return REQUIRED_PARTS.filter((p) => !existsSync(path.join(runDir, p))).map((p) => (p.includes('.') ? p : `${p}/`));
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/**
 * Checks a saved network's files (model.json and weights.bin, tfjs layers format) before tfjs reads them, so that a
 * damaged file is named with what is wrong with it rather than with tfjs's message about tensors. Returns the weights
 * model.json describes, in order.
 */
export async function checkModelFiles(dir: string): Promise<{ name: string; shape: number[]; dtype: string }[]> {
  const modelFile = path.join(dir, 'model.json');
  if (!existsSync(modelFile)) throw new RunFileError(modelFile, 'it is missing');
  const json = await parseJsonFile<Record<string, unknown>>(modelFile);
  const bad = (what: string) => new RunFileError(modelFile, what);
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw bad('it is not a tfjs model (not a JSON object)');
  if (!json.modelTopology || typeof json.modelTopology !== 'object') throw bad('it has no "modelTopology": not a tfjs layers model');
  const manifest = json.weightsManifest as { paths?: unknown; weights?: unknown }[] | undefined;
  if (!Array.isArray(manifest) || !manifest.every((g) => g && Array.isArray(g.paths) && Array.isArray(g.weights))) {
    throw bad('its "weightsManifest" is missing or damaged');
  }
  const specs = manifest.flatMap((g) => g.weights as { name?: unknown; shape?: unknown; dtype?: unknown }[]);
  let expected = 0;
  for (const spec of specs) {
    const shape = spec?.shape;
    if (typeof spec?.name !== 'string' || !Array.isArray(shape) || !shape.every(isCount) || !DTYPE_BYTES[String(spec.dtype ?? 'float32')]) {
      throw bad(`its weightsManifest holds a damaged entry (${JSON.stringify(spec)?.slice(0, 80)})`);
    }
    expected += tf.util.sizeFromShape(shape as number[]) * DTYPE_BYTES[String(spec.dtype ?? 'float32')];
  }
  let actual = 0;
  for (const p of manifest.flatMap((g) => g.paths as unknown[])) {
    const file = path.join(dir, String(p));
    if (!existsSync(file)) throw new RunFileError(file, 'it is missing (model.json lists it)');
    actual += (await stat(file)).size;
  }
  if (actual !== expected) {
    const weights = path.join(dir, String((manifest[0]?.paths as unknown[] | undefined)?.[0] ?? 'weights.bin'));
    throw new RunFileError(weights, `it has ${actual} bytes where model.json describes ${expected} (${actual < expected ? 'cut short' : 'too long'}: damaged, or from another model)`);
  }
  return specs.map((s) => ({ name: String(s.name), shape: s.shape as number[], dtype: String(s.dtype ?? 'float32') }));
}

/** Loads a saved network into `model` (keeping its variables, which the optimizer holds), its files checked first. */
async function loadNetwork(model: tf.LayersModel, dir: string): Promise<void> {
  const specs = await checkModelFiles(dir);
  // tfjs names variables after their layers, suffixed (_1, _2) when a process builds a model twice: compare the ends
  const ours = model.weights.map((w) => ({ name: w.originalName, shape: w.shape }));
  if (specs.length !== ours.length) {
    throw new RunFileError(path.join(dir, 'model.json'), `it describes ${specs.length} weights, this run's ${model.name} has ${ours.length}: the checkpoint is from another model than config.json describes`);
  }
  specs.forEach((spec, i) => {
    if (!tf.util.arraysEqual(spec.shape, ours[i].shape as number[])) {
      throw new RunFileError(path.join(dir, 'model.json'), `weight ${spec.name} has shape [${spec.shape}], this run's model [${ours[i].shape}]: the checkpoint is from another model than config.json describes`);
    }
  });
  try {
    await loadWeightsInto(model, dir);
  } catch (err) {
    throw new RunFileError(path.join(dir, 'weights.bin'), `tfjs could not load it: ${(err as Error).message.split('\n')[0]}`);
  }
}

interface OptimizerManifest {
  [net: string]: { kind: string; step: number; slots: string[]; variables: { name: string; shape: number[] }[] };
}

const MANIFEST = 'optimizer.json';
const SLOTS = 'slots.bin';
// before optimizers other than Adam: the same layout under other names
const LEGACY_MANIFEST = 'adam.json';
const LEGACY_SLOTS = 'moments.bin';

const nets = (gan: Checkpointed) => [['G', gan.optG, gan.G], ['D', gan.optD, gan.D]] as const;

// Both optimizers in one binary file (each variable's slots in turn, G's first) described by optimizer.json.
async function saveOptimizers(dir: string, gan: Checkpointed): Promise<void> {
  await mkdir(dir, { recursive: true });
  const manifest: OptimizerManifest = {};
  const chunks: Uint8Array[] = [];
  for (const [net, opt, model] of nets(gan)) {
    // the layers' own names: tfjs suffixes variable names (_1, _2) when a process builds a model twice
    const names = model.trainableWeights.map((w) => w.originalName);
    manifest[net] = {
      kind: opt.kind, step: opt.step, slots: [...opt.slotNames],
      variables: opt.variables.map((v, i) => ({ name: names[i], shape: v.shape })),
    };
    for (const t of opt.stateTensors()) {
      const data = (await t.data()) as Float32Array; // data(), not dataSync(): GPU tensors in Node need the async read
      chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  }
  await writeFile(path.join(dir, SLOTS), Buffer.concat(chunks));
  await writeFile(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
}

/** The optimizer files, checked against each other: optimizer.json parses and slots.bin holds what it describes. */
async function readOptimizerFiles(dir: string): Promise<{ manifest: OptimizerManifest; manifestFile: string; slotsFile: string; floats: Float32Array }> {
  const legacy = !existsSync(path.join(dir, MANIFEST)) && existsSync(path.join(dir, LEGACY_MANIFEST));
  const manifestFile = path.join(dir, legacy ? LEGACY_MANIFEST : MANIFEST);
  const slotsFile = path.join(dir, legacy ? LEGACY_SLOTS : SLOTS);
  for (const f of [manifestFile, slotsFile]) if (!existsSync(f)) throw new RunFileError(f, 'it is missing');
  const manifest = await parseJsonFile<OptimizerManifest>(manifestFile);
  const bad = (what: string) => new RunFileError(manifestFile, what);
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) throw bad('it is not an optimizer manifest (not a JSON object)');
  let expected = 0;
  for (const net of ['G', 'D']) {
    const saved = manifest[net];
    if (!saved || typeof saved !== 'object' || !Array.isArray(saved.variables) || !isCount(saved.step)) {
      throw bad(`the entry for ${net} is missing or damaged`);
    }
    const slots = Array.isArray(saved.slots) ? saved.slots.length : 2; // Adam's m and v before slots were listed
    for (const [i, v] of saved.variables.entries()) {
      if (!v || !Array.isArray(v.shape) || !v.shape.every(isCount)) throw bad(`${net} variable ${i} has no valid shape`);
      expected += tf.util.sizeFromShape(v.shape) * slots * 4;
    }
  }
  const bytes = await readFile(slotsFile);
  if (bytes.byteLength !== expected) {
    throw new RunFileError(slotsFile, `it has ${bytes.byteLength} bytes where ${path.basename(manifestFile)} describes ${expected} (${bytes.byteLength < expected ? 'cut short' : 'too long'})`);
  }
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { manifest, manifestFile, slotsFile, floats };
}

async function loadOptimizers(dir: string, gan: Checkpointed): Promise<void> {
  const { manifest, manifestFile, floats } = await readOptimizerFiles(dir);
  const bad = (what: string) => new RunFileError(manifestFile, what);
  for (const [net, opt] of nets(gan)) {
    const saved = manifest[net];
    const kind = saved.kind ?? 'adam';
    if (kind !== opt.kind) throw bad(`the ${net} optimizer is ${kind}, the run's is ${opt.kind}`);
    if ((saved.slots?.length ?? 2) !== opt.slotNames.length) throw bad(`${net} has ${saved.slots?.length} slots per variable, the run's optimizer ${opt.slotNames.length}`);
    if (saved.variables.length !== opt.variables.length) {
      throw bad(`${net} has ${saved.variables.length} variables, this run's model ${opt.variables.length}: the checkpoint is from another model`);
    }
    opt.variables.forEach((v, i) => {
      if (!tf.util.arraysEqual(saved.variables[i].shape, v.shape)) {
        throw bad(`${net} variable ${i} has shape [${saved.variables[i].shape}], this run's model [${v.shape}]: the checkpoint is from another model`);
      }
    });
  }
  let offset = 0;
  for (const [net, opt] of nets(gan)) {
    const slots: Float32Array[] = [];
    for (const v of opt.variables) {
      const n = tf.util.sizeFromShape(v.shape);
      for (let k = 0; k < opt.slotNames.length; k++, offset += n) slots.push(floats.slice(offset, offset + n));
    }
    opt.restore(manifest[net].step, slots);
  }
}
