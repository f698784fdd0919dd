// `dcgan train` from parsed flags to a finished (or interrupted) run: resume rules, backend, data, config.json, signals.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describeBackendFailure, initBackend, type BackendName } from '../backend/index.js';
import { loadImageSet } from '../data/index.js';
import { datasetOptionsFrom } from '../data/options.js';
import { takesImageSize, type TrainingDefaults } from '../model/architecture.js';
import { architecture, DEFAULT_ARCH, type ArchName } from '../model/architectures.js';
import { activationsPerImageOf } from '../model/build.js';
import { hasCheckpoint, readState } from '../run/checkpoint.js';
import { readJson, writeJson } from '../run/files.js';
import { runFiles } from '../run/layout.js';
import type { RunConfig } from '../run/records.js';
import { UsageError } from '../util/errors.js';
import { packageVersion } from '../util/package-version.js';
import { createProgress } from '../util/progress.js';
import { train, type TrainOptions } from './train.js';


/** The flags that may change when a run is resumed; every other one is the run's own and must stay as it was. */
const RESUME_MAY_CHANGE = new Set(['epochs', 'backend', 'logEvery', 'resume', 'out', 'evalEvery', 'evalN']);

/** The largest power-of-two batch whose activations fit a backend's budget (BackendHooks.activationBudget). */
export function batchCap(activationBudget: number, activationsPerImage: number): number {
  return 2 ** Math.max(0, Math.floor(Math.log2(activationBudget / activationsPerImage)));
}

const TRAINING_DEFAULTS: (keyof TrainingDefaults)[] = ['imageSize', 'width', 'latent', 'batchSize', 'lr', 'beta1', 'beta2'];

/**
 * The flags with the architecture's recipe filled in where the user gave none (a run from before --arch is d2l's),
 * and the image size checked against what the architecture builds.
 */
export function withArchDefaults(opts: Record<string, unknown>): Record<string, unknown> {
  let arch;
  try {
    arch = architecture(opts.arch as string | undefined);
  } catch (err) {
    throw new UsageError(`--arch: ${(err as Error).message}`);
  }
  const filled: Record<string, unknown> = { ...opts, arch: arch.name };
  for (const key of TRAINING_DEFAULTS) filled[key] ??= arch.defaults[key];
  const size = Number(filled.imageSize);
  if (!takesImageSize(arch, size)) throw new UsageError(`--image-size ${size}: --arch ${arch.name} builds ${arch.imageSizesText} pixels`);
  return filled;
}

export function defaultRunDir(opts: Record<string, unknown>): string {
  const name = opts.data ? path.basename(String(opts.data)).replace(/\.zip$/i, '') : String(opts.dataset);
  return path.join('checkpoints', `${name}-${opts.imageSize}`);
}

/** On --resume the saved options are the run's; an explicit flag that contradicts them is an error, not a silent change. */
export function mergeResumeOptions(saved: Record<string, unknown>, given: Record<string, unknown>, explicit: Set<string>): Record<string, unknown> {
  const merged = { ...saved };
  for (const key of Object.keys(given)) {
    // a flag left out keeps the run's value (not the default): `--resume` alone continues the run as it was
    if (RESUME_MAY_CHANGE.has(key)) merged[key] = explicit.has(key) || !(key in saved) ? given[key] : saved[key];
    else if (explicit.has(key) && JSON.stringify(given[key]) !== JSON.stringify(saved[key])) {
      throw new UsageError(`--${kebab(key)} ${given[key]} conflicts with the run being resumed (it has ${saved[key]}); leave it out or start a new run with --out`);
    }
  }
  return merged;
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** This package's version; its package.json sits two folders above this module (dist/train/ or src/train/). */
function ownVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export interface Stopper {
  onSignal: (sig: NodeJS.Signals) => void;
  /** stops the run as a first Ctrl-C does (a lost GPU) */
  abort: () => void;
  signal: AbortSignal;
  /** the trainer says when a checkpoint is being written */
  checkpointing: (writing: boolean) => void;
  /** 130 after SIGINT, 143 after SIGTERM (128 + the signal's number, as shells report them) */
  exitCode: () => number;
}

/**
 * What Ctrl-C (or SIGTERM) does. First: finish the step under way, save a checkpoint, stop. Again: quit at once — the
 * last whole checkpoint stays, since checkpoints are committed atomically — except while a checkpoint is being written:
 * then it says so and waits, and only a third quits.
 */
export function createStopper(o: { log: (line: string) => void; exit: (code: number) => void; runDir: string }): Stopper {
  const controller = new AbortController();
  let first: NodeJS.Signals | undefined;
  let writing = false;
  let toldWriting = false;
  const code = (sig: NodeJS.Signals | undefined) => (sig === 'SIGTERM' ? 143 : 130);
  return {
    signal: controller.signal,
    abort: () => controller.abort(),
    checkpointing: (w) => {
      writing = w;
    },
    exitCode: () => code(first),
    onSignal: (sig) => {
      if (!first) {
        first = sig;
        o.log(`${sig}: stopping after this step and saving a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again to quit at once)`);
        controller.abort();
      } else if (writing && !toldWriting) {
        toldWriting = true;
        o.log(`${sig}: the checkpoint is being written and is nearly done; waiting for it (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again to quit anyway: the previous checkpoint stays whole)`);
      } else {
        o.log(`${sig}: quitting now; ${o.runDir} keeps its last whole checkpoint`);
        o.exit(code(sig));
      }
    },
  };
}

export async function trainCommand(given: Record<string, unknown>, explicit: Set<string>, log = (s: string) => console.error(s)): Promise<number> {
  let opts = withArchDefaults(given);
  const out = String(given.out ?? defaultRunDir(opts));
  let saved: RunConfig | undefined;
  if (given.resume) {
    if (!(await hasCheckpoint(out))) throw new UsageError(`no checkpoint to resume in ${out} (start a run without --resume)`);
    saved = await readJson<RunConfig>(runFiles(out).config);
    opts = withArchDefaults(mergeResumeOptions({ arch: DEFAULT_ARCH, ...saved.options }, opts, explicit));
    const state = await readState(out);
    if (state.epoch >= Number(opts.epochs)) {
      throw new UsageError(`${out} has already trained ${state.epoch} epochs; pass a larger --epochs to train more`);
    }
  } else if (await hasCheckpoint(out)) {
    throw new UsageError(`${out} already holds a run; pass --resume to continue it, or --out DIR for a new one`);
  }

  const backend = await initBackend(opts.backend as BackendName);
  log(`backend: ${backend.device}`);
  for (const s of backend.skipped) log(`  (skipped ${s.name}: ${s.reason})`);
  const channels = opts.channels as 1 | 3;
  const arch = opts.arch as ArchName;
  const model = { imageSize: Number(opts.imageSize), width: Number(opts.width), latent: Number(opts.latent), channels, classes: 0 };
  const budget = backend.hooks.activationBudget;
  if (budget && !opts.resume && !explicit.has('batchSize')) {
    const cap = batchCap(budget, activationsPerImageOf(architecture(arch), model));
    if (Number(opts.batchSize) > cap) {
      log(`batch size ${cap} instead of the default ${opts.batchSize}: on ${backend.name} a batch that large does not fit a WebAssembly heap (4 GB); --batch-size chooses`);
      opts = { ...opts, batchSize: cap };
    }
  }

  const limit = opts.limit as number | undefined;
  const decoding = { bar: undefined as ReturnType<typeof createProgress> | undefined };
  const data = await loadImageSet({
    ...datasetOptionsFrom(opts, Number(opts.imageSize), channels, limit),
    onProgress: (done, total) => {
      decoding.bar ??= createProgress({ total, label: 'decoding images' });
      decoding.bar.update(done);
    },
  });
  decoding.bar?.stop();
  log(`data: ${data.description} (${data.size}×${data.size}×${data.channels})`);

  const trainOptions: TrainOptions = {
    out,
    resume: Boolean(opts.resume),
    epochs: Number(opts.epochs),
    batchSize: Number(opts.batchSize),
    lr: Number(opts.lr),
    beta1: Number(opts.beta1),
    beta2: Number(opts.beta2),
    seed: Number(opts.seed),
    arch,
    model,
    logEvery: Number(opts.logEvery),
    gridImages: 21,
    gridColumns: 7,
    evalEvery: Number(opts.evalEvery ?? 0),
    evalN: Number(opts.evalN ?? 512),
  };

  await mkdir(out, { recursive: true });
  const runInfo = { backend: backend.name, device: backend.device, time: new Date().toISOString() };
  if (saved) {
    await writeJson(runFiles(out).config, { ...saved, options: { ...opts, resume: undefined }, resumes: [...(saved.resumes ?? []), runInfo] });
  } else {
    await writeJson(runFiles(out).config, {
      options: { ...opts, resume: undefined, out: undefined },
      dataset: { description: data.description, count: data.count },
      ...runInfo,
      command: process.argv.slice(2).join(' '),
      versions: {
        dcgan: ownVersion(), node: process.version, tfjs: tf.version.tfjs,
        'tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
        'tfjs-backend-webgpu': packageVersion('@tensorflow/tfjs-backend-webgpu'),
        webgpu: packageVersion('webgpu'), sharp: packageVersion('sharp'),
      },
    });
  }

  const stopper = createStopper({ log, exit: (code) => process.exit(code), runDir: out });
  process.on('SIGINT', stopper.onSignal);
  process.on('SIGTERM', stopper.onSignal);
  const stopOnDeviceLost = backend.hooks.watchDeviceLoss?.((reason) => {
    log(`\nthe GPU device was lost (${reason}); stopping`);
    stopper.abort();
  });
  try {
    const result = await train(trainOptions, data, backend, {
      log, signal: stopper.signal, checkDevice: backend.hooks.checkDevice, onCheckpoint: stopper.checkpointing,
    });
    if (result.interrupted) {
      const s = result.state;
      log(`stopped at epoch ${s.epoch + (s.stepInEpoch ? 1 : 0)}, step ${s.step}; checkpoint in ${out}`);
      log(`resume with: dcgan train --out ${out} --resume --epochs ${trainOptions.epochs}`);
      return stopper.exitCode();
    }
    log(`done: ${result.state.epoch} epochs in ${out}; sample with: dcgan sample --run ${out} --n 21 --out grid.png`);
    return 0;
  } catch (err) {
    // out of memory or a lost device: one line that says what to do, and where the last good checkpoint is
    const failure = await describeBackendFailure(err, backend.name, trainOptions.batchSize);
    if (!failure) throw err;
    throw new Error(`${failure}. The last checkpoint in ${out} is intact: dcgan train --out ${out} --resume`);
  } finally {
    stopOnDeviceLost?.();
    process.off('SIGINT', stopper.onSignal);
    process.off('SIGTERM', stopper.onSignal);
  }
}
