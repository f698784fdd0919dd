// Checkpoints in the run folder: generator/, discriminator/ (tfjs layers format), optimizer/ (both Adams), state.json.
//
// A checkpoint is several files, so a plain temp+rename per file is not enough: a crash between two renames would pair
// a new generator with an old state.json. Instead everything is written into a staging folder first; a COMPLETE marker
// written last (atomically) is the commit point; then the parts are moved into place. A crash before the marker leaves
// the previous checkpoint untouched (the staging folder is discarded); a crash after it is rolled forward on the next
// load. Either way the folder holds one whole checkpoint.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadWeightsInto, saveModel } from '../model/io.js';
import { writeFileAtomic } from '../util/fs.js';
import type { Adam } from './adam.js';
import type { Gan } from './step.js';

export interface TrainState {
  /** epochs completed */
  epoch: number;
  /** batches already trained in the epoch under way (0 at an epoch boundary) */
  stepInEpoch: number;
  /** batches trained in all */
  step: number;
  /** the shuffle RNG's state at the start of the epoch under way: replaying it gives that epoch's order again */
  epochRng: number[];
  /** the latent-noise RNG's state after the last step */
  noiseRng: number[];
}

const STAGING = '.checkpoint-staging';
const COMPLETE = 'COMPLETE';
// state.json last: a reader that ignores the staging protocol still never sees a state newer than the weights.
const PARTS = ['generator', 'discriminator', 'optimizer', 'state.json'] as const;

/** For tests: throw at a named point of the save, as a crash there would stop it. */
export type CrashPoint = 'staged' | 'committed' | `moved:${(typeof PARTS)[number]}`;

export async function saveCheckpoint(runDir: string, gan: Gan, state: TrainState, crashAt?: CrashPoint): Promise<void> {
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
export async function loadCheckpoint(runDir: string, gan: Gan): Promise<TrainState> {
  if (!(await hasCheckpoint(runDir))) throw new Error(`no checkpoint in ${runDir}`);
  await loadWeightsInto(gan.G, path.join(runDir, 'generator'));
  await loadWeightsInto(gan.D, path.join(runDir, 'discriminator'));
  await loadOptimizers(path.join(runDir, 'optimizer'), gan);
  return readState(runDir);
}

interface OptimizerManifest {
  [net: string]: { step: number; variables: { name: string; shape: number[] }[] };
}

// Both optimizers in one binary file (each variable's m then v, G's first) described by adam.json.
async function saveOptimizers(dir: string, gan: Gan): Promise<void> {
  await mkdir(dir, { recursive: true });
  const manifest: OptimizerManifest = {};
  const chunks: Uint8Array[] = [];
  for (const [net, opt, model] of [['G', gan.optG, gan.G], ['D', gan.optD, gan.D]] as const) {
    // the layers' own names: tfjs suffixes variable names (_1, _2) when a process builds a model twice
    const names = model.trainableWeights.map((w) => w.originalName);
    manifest[net] = { step: opt.step, variables: opt.variables.map((v, i) => ({ name: names[i], shape: v.shape })) };
    for (const t of opt.stateTensors()) {
      const data = (await t.data()) as Float32Array; // data(), not dataSync(): GPU tensors in Node need the async read
      chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  }
  await writeFile(path.join(dir, 'moments.bin'), Buffer.concat(chunks));
  await writeFile(path.join(dir, 'adam.json'), JSON.stringify(manifest, null, 2) + '\n');
}

async function loadOptimizers(dir: string, gan: Gan): Promise<void> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'adam.json'), 'utf8')) as OptimizerManifest;
  const bytes = await readFile(path.join(dir, 'moments.bin'));
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let offset = 0;
  for (const [net, opt] of [['G', gan.optG], ['D', gan.optD]] as [string, Adam][]) {
    const saved = manifest[net];
    const moments: Float32Array[] = [];
    opt.variables.forEach((v, i) => {
      const shape = saved.variables[i]?.shape;
      if (!shape || !tf.util.arraysEqual(shape, v.shape)) {
        throw new Error(`optimizer state for ${net} does not match the model (variable ${i}: ${JSON.stringify(shape)} vs ${JSON.stringify(v.shape)})`);
      }
      const n = tf.util.sizeFromShape(v.shape);
      moments.push(floats.slice(offset, offset + n), floats.slice(offset + n, offset + 2 * n));
      offset += 2 * n;
    });
    opt.restore(saved.step, moments);
  }
  if (offset !== floats.length) throw new Error(`optimizer/moments.bin has ${floats.length - offset} values too many`);
}

/** Lists a run folder's sample grids, oldest first. */
export async function listSampleGrids(runDir: string): Promise<string[]> {
  const dir = path.join(runDir, 'samples');
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((f) => /^epoch-\d+\.png$/.test(f)).sort().map((f) => path.join(dir, f));
}
