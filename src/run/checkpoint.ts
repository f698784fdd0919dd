// Checkpoints in the run folder: generator/, discriminator/ (tfjs layers format), optimizer/ (both Adams), state.json.
//
// A checkpoint is several files, so a plain temp+rename per file is not enough: a crash between two renames would pair
// a new generator with an old state.json. Instead everything is written into a staging folder first; a COMPLETE marker
// written last (atomically) is the commit point; then the parts are moved into place. A crash before the marker leaves
// the previous checkpoint untouched (the staging folder is discarded); a crash after it is rolled forward on the next
// load. Either way the folder holds one whole checkpoint.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadWeightsInto, saveModel } from '../model/io.js';
import { writeFileAtomic } from '../util/fs.js';
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

/** What a checkpoint holds: both networks and their optimizers. */
export interface Checkpointed {
  G: tf.LayersModel;
  D: tf.LayersModel;
  optG: OptimizerState;
  optD: OptimizerState;
}

const STAGING = '.checkpoint-staging';
const COMPLETE = 'COMPLETE';
// state.json last: a reader that ignores the staging protocol still never sees a state newer than the weights.
const PARTS = ['generator', 'discriminator', 'optimizer', 'state.json'] as const;

/** For tests: throw at a named point of the save, as a crash there would stop it. */
export type CrashPoint = 'staged' | 'committed' | `moved:${(typeof PARTS)[number]}`;

export async function saveCheckpoint(runDir: string, gan: Checkpointed, state: TrainState, crashAt?: CrashPoint): Promise<void> {
  await recoverCheckpoint(runDir);
  const staging = path.join(runDir, STAGING);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await saveModel(gan.G, path.join(staging, 'generator'));
  await saveModel(gan.D, path.join(staging, 'discriminator'));
  await saveOptimizers(path.join(staging, 'optimizer'), gan);
  await writeFile(path.join(staging, 'state.json'), JSON.stringify(state, null, 2) + '\n');
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
    await rm(path.join(runDir, part), { recursive: true, force: true });
    await rename(from, path.join(runDir, part));
    if (crashAt === `moved:${part}`) throw new Error(`simulated crash: moved ${part}`);
  }
  await rm(staging, { recursive: true, force: true });
}

/** Finishes or discards a save that a crash interrupted. */
export async function recoverCheckpoint(runDir: string): Promise<void> {
  const staging = path.join(runDir, STAGING);
  if (!existsSync(staging)) return;
  if (existsSync(path.join(staging, COMPLETE))) await moveStagedParts(runDir);
  else await rm(staging, { recursive: true, force: true });
}

export async function hasCheckpoint(runDir: string): Promise<boolean> {
  await recoverCheckpoint(runDir);
  return PARTS.every((p) => existsSync(path.join(runDir, p)));
}

export async function readState(runDir: string): Promise<TrainState> {
  return JSON.parse(await readFile(path.join(runDir, 'state.json'), 'utf8')) as TrainState;
}

/** Restores weights and optimizer states into `gan` (built with the run's shapes) and returns the training state. */
export async function loadCheckpoint(runDir: string, gan: Checkpointed): Promise<TrainState> {
  if (!(await hasCheckpoint(runDir))) throw new Error(`no checkpoint in ${runDir}`);
  await loadWeightsInto(gan.G, path.join(runDir, 'generator'));
  await loadWeightsInto(gan.D, path.join(runDir, 'discriminator'));
  await loadOptimizers(path.join(runDir, 'optimizer'), gan);
  return readState(runDir);
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

async function loadOptimizers(dir: string, gan: Checkpointed): Promise<void> {
  const legacy = !existsSync(path.join(dir, MANIFEST)) && existsSync(path.join(dir, LEGACY_MANIFEST));
  const manifest = JSON.parse(await readFile(path.join(dir, legacy ? LEGACY_MANIFEST : MANIFEST), 'utf8')) as OptimizerManifest;
  const bytes = await readFile(path.join(dir, legacy ? LEGACY_SLOTS : SLOTS));
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let offset = 0;
  for (const [net, opt] of nets(gan)) {
    const saved = manifest[net];
    const kind = saved.kind ?? 'adam';
    if (kind !== opt.kind) throw new Error(`the checkpoint's ${net} optimizer is ${kind}, the run's is ${opt.kind}`);
    const slots: Float32Array[] = [];
    opt.variables.forEach((v, i) => {
      const shape = saved.variables[i]?.shape;
      if (!shape || !tf.util.arraysEqual(shape, v.shape)) {
        throw new Error(`optimizer state for ${net} does not match the model (variable ${i}: ${JSON.stringify(shape)} vs ${JSON.stringify(v.shape)})`);
      }
      const n = tf.util.sizeFromShape(v.shape);
      for (let k = 0; k < opt.slotNames.length; k++, offset += n) slots.push(floats.slice(offset, offset + n));
    });
    opt.restore(saved.step, slots);
  }
  if (offset !== floats.length) throw new Error(`optimizer/${legacy ? LEGACY_SLOTS : SLOTS} has ${floats.length - offset} values too many`);
}
