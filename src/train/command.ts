// `dcgan train` from parsed flags to a finished (or interrupted) run: resume rules, backend, data, config.json, signals.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describeBackendFailure, initBackend, type BackendName } from '../backend/index.js';
import { loadImageSet } from '../data/index.js';
import { datasetOptionsFrom } from '../data/options.js';
import type { ImageSize } from '../model/dcgan.js';
import { UsageError } from '../util/errors.js';
import { packageVersion } from '../util/package-version.js';
import { createProgress } from '../util/progress.js';
import { hasCheckpoint, readState } from './checkpoint.js';
import { readJson, runFiles, writeJson } from './run-folder.js';
import { train, type TrainOptions } from './train.js';


/** The flags that may change when a run is resumed; every other one is the run's own and must stay as it was. */
const RESUME_MAY_CHANGE = new Set(['epochs', 'backend', 'threads', 'logEvery', 'resume', 'out', 'evalEvery', 'evalN']);

interface SavedConfig {
  options: Record<string, unknown>;
  resumes?: unknown[];
}

/**
 * The largest power-of-two batch whose activations fit the 4 GB WebAssembly heap, for the CPU backends' default. They
 * grow with batch × image side² × width; measured on wasm: 64×64, width 64 trains at batch 128 and aborts at 256.
 */
export function cpuBatchCap(imageSize: number, width: number): number {
  const fits = (128 * 64 * 64 * 64) / (imageSize * imageSize * width);
  return 2 ** Math.max(0, Math.floor(Math.log2(fits)));
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

export async function trainCommand(given: Record<string, unknown>, explicit: Set<string>, log = (s: string) => console.error(s)): Promise<number> {
  const out = String(given.out ?? defaultRunDir(given));
  let opts = given;
  let saved: SavedConfig | undefined;
  if (given.resume) {
    if (!(await hasCheckpoint(out))) throw new UsageError(`no checkpoint to resume in ${out} (start a run without --resume)`);
    saved = await readJson<SavedConfig>(runFiles(out).config);
    opts = mergeResumeOptions(saved.options, given, explicit);
    const state = await readState(out);
    if (state.epoch >= Number(opts.epochs)) {
      throw new UsageError(`${out} has already trained ${state.epoch} epochs; pass a larger --epochs to train more`);
    }
  } else if (await hasCheckpoint(out)) {
    throw new UsageError(`${out} already holds a run; pass --resume to continue it, or --out DIR for a new one`);
  }

  const backend = await initBackend(opts.backend as BackendName, { threads: opts.threads === undefined ? undefined : Number(opts.threads) });
  log(`backend: ${backend.device}`);
  for (const s of backend.skipped) log(`  (skipped ${s.name}: ${s.reason})`);
  const cap = cpuBatchCap(Number(opts.imageSize), Number(opts.width));
  if (!opts.resume && !explicit.has('batchSize') && backend.name !== 'webgpu' && backend.name !== 'tensorflow' && Number(opts.batchSize) > cap) {
    log(`batch size ${cap} instead of the default ${opts.batchSize}: on ${backend.name} a batch that large does not fit a WebAssembly heap (4 GB); --batch-size chooses`);
    opts = { ...opts, batchSize: cap };
  }

  const channels = opts.channels as 1 | 3;
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
    model: { imageSize: Number(opts.imageSize) as ImageSize, width: Number(opts.width), latent: Number(opts.latent), channels },
    logEvery: Number(opts.logEvery),
    gridImages: 21,
    gridColumns: 7,
    evalEvery: Number(opts.evalEvery ?? 0),
    evalN: Number(opts.evalN ?? 512),
  };

  await mkdir(out, { recursive: true });
  const runInfo = { backend: backend.name, device: backend.device, threads: backend.threads, time: new Date().toISOString() };
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

  // First Ctrl-C: finish the step, checkpoint, stop. Second: leave at once (the staged checkpoint write stays safe).
  const stop = new AbortController();
  let signalName: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalName) process.exit(130);
    signalName = sig;
    log(`\n${sig}: stopping after this step and saving a checkpoint (again to quit now)`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const gpu = backend.name === 'webgpu' ? await import('../backend/webgpu.js') : undefined;
  const stopOnDeviceLost = gpu?.onDeviceLost((info) => {
    log(`\nthe GPU device was lost (${info.reason}: ${info.message}); stopping`);
    stop.abort();
  });
  const checkDevice = gpu && (() => {
    const error = gpu.takeGpuError();
    if (error) throw new Error(gpu.describeGpuError(error, trainOptions.batchSize) ?? `WebGPU error: ${error.message}`);
  });
  try {
    const result = await train(trainOptions, data, backend, { log, signal: stop.signal, checkDevice });
    if (result.interrupted) {
      const s = result.state;
      log(`stopped at epoch ${s.epoch + (s.stepInEpoch ? 1 : 0)}, step ${s.step}; checkpoint in ${out}`);
      log(`resume with: dcgan train --out ${out} --resume --epochs ${trainOptions.epochs}`);
      return signalName === 'SIGTERM' ? 143 : 130;
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
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
