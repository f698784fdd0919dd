// `dcgan train` from parsed flags to a finished (or interrupted) run: resume rules, backend, data, config.json, signals.
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeBackendFailure, initBackend, type BackendName } from '../backend/index.js';
import { loadImageSet, requireClasses, sourceName } from '../data/index.js';
import { datasetOptionsFrom } from '../data/options.js';
import { takesImageSize, type ModelShape, type TrainingDefaults } from '../model/architecture.js';
import { architecture, DEFAULT_ARCH, type ArchName } from '../model/architectures.js';
import { checkCheckpointFiles, describeState, missingCheckpointParts, readState } from '../run/checkpoint.js';
import { datasetChange, datasetIdentity } from '../run/dataset.js';
import { writeJson } from '../run/files.js';
import { CHECKPOINT_PARTS, RUN_PARTS, runFiles } from '../run/layout.js';
import { lockRun, RunLockedError, type RunLock } from '../run/lock.js';
import { defaultLoss, flagOf, keysWith, PROGAN_FADE_KIMG, STYLEGAN_STYLE_MIXING, trainOption } from '../run/options.js';
import type { RunConfig, TrainState } from '../run/records.js';
import { deleteRunFiles, notARun, readClassNames, readConfig, runFilesIn } from '../run/runs.js';
import { UsageError } from '../util/errors.js';
import { scanOwned } from '../util/owned.js';
import { packageVersion } from '../util/package-version.js';
import { folderProblem, fsReason } from '../util/paths.js';
import { createProgress, printLine } from '../util/progress.js';
import { plural } from '../util/plural.js';
import { commandLine } from '../util/shell.js';
import { quietClosedTerminal } from '../util/signals.js';
import { progressDisplay } from './display.js';
import { tricksFromOptions, trickOptions } from '../model/tricks.js';
import { footprint, memoryProblem } from './memory.js';
import { disposeGan, GRID_CLASS_ROWS, openRun, readFixedNoise, train, TrainingDivergedError, type TrainListener, type TrainOptions } from './train.js';


/** The flags that may change when a run is resumed (run/options.ts); every other one is the run's own. */
const RESUME_MAY_CHANGE = new Set([...keysWith('may-change'), ...keysWith('invocation')]);

/** Flags about this invocation only, not the run: config.json does not keep them. */
const NOT_KEPT = Object.fromEntries([...keysWith('invocation')].map((k) => [k, undefined]));

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
  // ProGAN's tricks: the architecture's unless given, recorded as they were built (a resume then needs no default)
  if (arch.tricks) {
    for (const [key, value] of Object.entries(trickOptions(arch.tricks))) filled[key] ??= value;
  } else {
    const asked = (['minibatchStddev', 'equalizedLr', 'pixelNorm'] as const).filter((k) => filled[k] !== undefined && filled[k] !== false && filled[k] !== 'off');
    if (asked.length) throw new UsageError(`${flagOf(asked[0])}: --arch ${arch.name} takes none of ProGAN's tricks (they apply to the convolutional architectures)`);
  }
  // WGAN-GP: progan's D alone is known to take the penalty's second gradient (test/gradient-penalty.test.ts)
  filled.loss ??= defaultLoss(arch.name);
  if (filled.loss === 'wgan-gp' && arch.name !== 'progan') throw new UsageError(`--loss wgan-gp: --arch ${arch.name} trains with its source's GAN loss (wgan-gp is --arch progan's)`);
  // progressive growing: progan's alone (0, growing nothing, is no growing whatever the architecture)
  if (arch.name === 'progan') filled.fadeKimg ??= PROGAN_FADE_KIMG;
  else if (filled.fadeKimg !== undefined && filled.fadeKimg !== 0) throw new UsageError(`--fade-kimg: --arch ${arch.name} does not grow (progressive growing is --arch progan's)`);
  else delete filled.fadeKimg;
  // style mixing: stylegan's alone (it needs w per layer)
  if (arch.name === 'stylegan') filled.styleMixing ??= STYLEGAN_STYLE_MIXING;
  else if (filled.styleMixing !== undefined && filled.styleMixing !== 0) throw new UsageError(`--style-mixing: --arch ${arch.name} has no styles to mix (style mixing is --arch stylegan's)`);
  else delete filled.styleMixing;
  return filled;
}

export function defaultRunDir(opts: Record<string, unknown>): string {
  const name = opts.data ? path.basename(String(opts.data)).replace(/\.zip$/i, '') : String(opts.dataset);
  return path.join('checkpoints', `${name}-${opts.imageSize}`);
}

/** On --resume the saved options are the run's; an explicit flag that contradicts them is an error, not a silent change. */
export function mergeResumeOptions(saved: Record<string, unknown>, given: Record<string, unknown>, explicit: Set<string>): Record<string, unknown> {
  const merged = { ...saved };
  // a run from before an option existed goes on as it was trained, not with today's default
  for (const key of Object.keys(given)) {
    const legacy = trainOption(key)?.legacy;
    if (!(key in saved) && legacy !== undefined) merged[key] = saved[key] = legacy;
  }
  for (const key of Object.keys(given)) {
    // a flag left out keeps the run's value (not the default): `--resume` alone continues the run as it was
    if (RESUME_MAY_CHANGE.has(key)) merged[key] = explicit.has(key) || !(key in saved) ? given[key] : saved[key];
    else if (explicit.has(key) && JSON.stringify(given[key]) !== JSON.stringify(saved[key])) {
      throw new UsageError(`${flagOf(key)} ${given[key]} conflicts with the run being resumed (it has ${saved[key]}); leave it out or start a new run with --out`);
    }
  }
  return merged;
}

/** Flags that only make sense together: one line naming them, before any work. */
function checkCombinations(opts: Record<string, unknown>): void {
  const keepBest = opts.keepBest ?? 'none';
  const evalEvery = Number(opts.evalEvery ?? 0), earlyStop = Number(opts.earlyStop ?? 0);
  if (keepBest === 'swd' && !evalEvery) throw new UsageError('--keep-best swd needs --eval-every K: SWD is computed every K epochs');
  if (opts.loss === 'wgan-gp' && opts.augment !== undefined && opts.augment !== 'none') throw new UsageError(`--augment ${opts.augment} does not go with --loss wgan-gp yet (its penalty's second gradient through the augmentation is untested): pass --augment none, or --loss gan`);
  if (earlyStop && keepBest === 'none') throw new UsageError(`--early-stop ${earlyStop} needs --keep-best loss-g or swd: it counts epochs since the best`);
  if (earlyStop && keepBest === 'swd' && earlyStop < evalEvery) {
    throw new UsageError(`--early-stop ${earlyStop} is shorter than --eval-every ${evalEvery}: SWD is only computed every ${evalEvery} epochs`);
  }
}

/** The per-epoch grid: d2l shows 3×7. */
const GRID = { images: 21, columns: 7 };

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
  /** 130 after SIGINT, 143 after SIGTERM, 129 after SIGHUP (128 + the signal's number, as shells report them) */
  exitCode: () => number;
}

/**
 * What Ctrl-C (or SIGTERM, or SIGHUP: the terminal was closed) does. First: finish the step under way, save a checkpoint, stop. Again: quit at once — the
 * last whole checkpoint stays, since checkpoints are committed atomically — except while a checkpoint is being written:
 * then it says so and waits, and only a third quits.
 */
export function createStopper(o: { log: (line: string) => void; exit: (code: number) => void; runDir: string }): Stopper {
  const controller = new AbortController();
  let first: NodeJS.Signals | undefined;
  let writing = false;
  let toldWriting = false;
  const code = (sig: NodeJS.Signals | undefined) => 128 + (os.constants.signals[sig ?? 'SIGINT'] ?? 2);
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

/**
 * What a new run (not --resume) does with the files in --out: nothing there yet; replace a run there (--overwrite, or a
 * run that saved no checkpoint, which nothing can resume); or it is refused.
 */
type RunFolderPlan = { replace: false } | { replace: true; why: string };

/**
 * The refusals that need the run folder, before any work: a --resume with nothing (whole) to resume; a new run into a
 * folder that holds one, or that holds files a run would write but is not a run (its config.json says what it is); a
 * replace that would have to delete a file dcgan did not write. Reads only.
 */
async function checkRunFolder(out: string, given: Record<string, unknown>): Promise<RunFolderPlan> {
  const present = await runFilesIn(out);
  const notRun = present.length ? await notARun(out) : undefined;
  if (given.resume) {
    if (!present.length) throw new UsageError(`nothing to resume in ${out}: it holds no run. Nothing was changed; to train anew, start a new run with --out NEW_DIR`);
    const notARunError = () => new UsageError(`nothing to resume in ${out}: it is not a dcgan run (${notRun}; it holds ${present.join(', ')}). Nothing was changed`);
    if (notRun && !existsSync(runFiles(out).config)) throw notARunError();
    const missing = await missingCheckpointParts(out);
    // a whole checkpoint beside a damaged config.json: readConfig names what is wrong with it
    if (!missing.length) return { replace: false };
    if (notRun) throw notARunError();
    if (savedNoCheckpoint(out)) {
      throw new UsageError(`nothing to resume in ${out}: its run saved no checkpoint (it holds ${present.join(', ')}). Nothing was changed; ` +
        `start it again without --resume (its files are replaced): ${commandLine('train', '--out', out)} and the options you want`);
    }
    throw new UsageError(`nothing to resume in ${out}: its checkpoint is incomplete (${missing.join(', ')} missing; it holds ${present.join(', ')}). ` +
      'Nothing was changed; to train anew, start a new run with --out NEW_DIR');
  }
  if (!present.length) return { replace: false };
  if (notRun) {
    throw new UsageError(`--out ${out} holds ${present[0].replace(/\/$/, '')}, but ${notRun}: it is not a dcgan run, and dcgan replaces only its own files. ` +
      'Pass another --out (a new or empty folder)');
  }
  const missing = await missingCheckpointParts(out);
  if (missing.length && !given.overwrite && !savedNoCheckpoint(out)) {
    throw new UsageError(`${out} already holds a run (${present.join(', ')}); its checkpoint is incomplete (${missing.join(', ')} missing). ` +
      'Pass --out NEW_DIR for a new run (--overwrite deletes its files and starts over)');
  }
  if (!missing.length && !given.overwrite) {
    throw new UsageError(`${out} already holds a run (${present.join(', ')}); pass --resume to continue it, or --out NEW_DIR for a new run (--overwrite deletes these files and starts over)`);
  }
  // whatever replaces the run's files must be able to delete them all: a file of the user's among them stops it now
  const scan = await scanOwned(out, RUN_PARTS);
  if (scan.foreign) {
    throw new UsageError(`${path.join(out, scan.foreign.path)}: ${scan.foreign.why}; dcgan deletes only the files of its runs, so nothing was deleted: move it away first`);
  }
  return { replace: true, why: given.overwrite ? '--overwrite' : 'the run there saved no checkpoint, so it starts again' };
}

/** A run that saved no checkpoint at all (diverged, or was killed, before its first): nothing of it can be resumed. */
const savedNoCheckpoint = (out: string) => CHECKPOINT_PARTS.every((p) => !existsSync(path.join(out, 'file' in p ? String(p.file) : p.folder)));

/** How a training run talks to whoever started it: the command line (trainCommand) or an API caller (api.ts). */
export interface TrainingIO {
  /** lines for people: the backend, the data, what was deleted, warnings */
  log: (line: string) => void;
  /** aborted: stop as a first Ctrl-C does — the step under way finishes and a checkpoint is saved */
  signal?: AbortSignal;
  /** the loop's events: the command line's progress display is one listener */
  listeners?: TrainListener[];
  /** told when a checkpoint write starts (true) and ends (false) */
  onCheckpoint?: (writing: boolean) => void;
  /** everything is checked and loaded, and the steps begin: the command line takes over Ctrl-C from here */
  onStart?: (run: { out: string }) => void;
}

/** How a training run ended, when it did not fail. */
export interface TrainingOutcome {
  out: string;
  state: TrainState;
  /** stopped by the signal (Ctrl-C, or a lost GPU): the checkpoint is where it stopped */
  interrupted: boolean;
  /** --early-stop ended it: why */
  stoppedEarly?: string;
  /** the backend and its device, as `dcgan info` says them */
  device: string;
  /** the command that continues it */
  resumeCommand: string;
}

/** The run folder a train command writes: --out, else checkpoints/<dataset>-<size>. */
export const trainingFolder = (given: Record<string, unknown>): string => String(given.out ?? defaultRunDir(withArchDefaults(given)));

/**
 * A training run from its options (the flags' keys, every default filled in; `explicit`: those the caller gave): the
 * checks, the lock, the data, config.json, then the loop. Prints nothing itself (io.log does); never exits the process.
 */
export async function runTraining(given: Record<string, unknown>, explicit: Set<string>, io: TrainingIO): Promise<TrainingOutcome> {
  const opts = withArchDefaults(given);
  const out = trainingFolder(given);
  if (given.resume && given.overwrite) throw new UsageError('--resume and --overwrite do not combine: --resume continues the run in --out, --overwrite deletes it');
  const problem = folderProblem(out);
  if (problem) throw new UsageError(`--out ${out}: ${problem}`);
  if (given.resume && !existsSync(out)) throw new UsageError(`nothing to resume in ${out}: the folder does not exist`);

  let lock: RunLock;
  try {
    lock = await lockRun(out);
  } catch (err) {
    if (err instanceof RunLockedError) throw err;
    throw new Error(`cannot use ${out} as the run folder: ${fsReason(err)}${(err as NodeJS.ErrnoException).path ? ` (${(err as NodeJS.ErrnoException).path})` : ''}`);
  }
  const run = { epochs: Number(opts.epochs) }; // the run's total, once known (a resume takes the saved one)
  try {
    return await trainLocked(opts, given, explicit, out, io, run);
  } catch (err) {
    throw await withFileSystemAdvice(err, out, run.epochs);
  } finally {
    await lock.release();
  }
}

/**
 * `dcgan train`: runTraining with the progress display, Ctrl-C (SIGINT, SIGTERM, SIGHUP) as the stop signal once the
 * steps begin, and the closing lines — how to resume, or how to sample. Returns the exit code.
 */
export async function trainCommand(given: Record<string, unknown>, explicit: Set<string>, log = (s: string) => printLine(s)): Promise<number> {
  const stopper = createStopper({ log, exit: (code) => process.exit(code), runDir: trainingFolder(given) });
  // a closed terminal (SIGHUP) is a stop like any other: the epoch under way is saved, not lost
  const onHangup = () => {
    quietClosedTerminal();
    stopper.onSignal('SIGHUP');
  };
  const listen = () => {
    process.on('SIGINT', stopper.onSignal);
    process.on('SIGTERM', stopper.onSignal);
    process.on('SIGHUP', onHangup);
  };
  try {
    const outcome = await runTraining(given, explicit, {
      log, signal: stopper.signal, onCheckpoint: stopper.checkpointing, listeners: [progressDisplay(log)], onStart: listen,
    });
    const { out, state } = outcome;
    if (outcome.interrupted) {
      log(`stopped at ${describeState(state)}; checkpoint in ${out}`);
      log(`resume with: ${outcome.resumeCommand}`);
      return stopper.exitCode();
    }
    if (outcome.stoppedEarly) log(`stopped early at ${describeState(state)}: ${outcome.stoppedEarly}`);
    log(`done: ${plural(state.epoch, 'epoch')} in ${out}; sample with: ${commandLine('sample', '--run', out, '--n', 21, '--out', 'grid.png')}`);
    return 0;
  } finally {
    process.off('SIGINT', stopper.onSignal);
    process.off('SIGTERM', stopper.onSignal);
    process.off('SIGHUP', onHangup);
  }
}

/** Errors of the disk rather than of dcgan: said with the path, and what the run folder still holds. */
const DISK_ERRORS = ['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM'];

async function withFileSystemAdvice(err: unknown, out: string, epochs: number): Promise<unknown> {
  const e = err as NodeJS.ErrnoException;
  if (!DISK_ERRORS.includes(e?.code ?? '')) return err;
  const state = await readState(out).catch(() => undefined);
  const kept = state
    ? `The previous checkpoint (${describeState(state)}) in ${out} is intact; ${e.code === 'ENOSPC' || e.code === 'EDQUOT' ? 'free some space' : 'fix that'}, then resume with: ` +
      commandLine('train', '--out', out, '--resume', '--epochs', epochs)
    : 'No checkpoint had been saved yet';
  return new Error(`${fsReason(err)} while writing ${e.path ?? `in ${out}`}. ${kept}`);
}

async function trainLocked(
  opts: Record<string, unknown>, given: Record<string, unknown>, explicit: Set<string>, out: string, io: TrainingIO, run: { epochs: number },
): Promise<TrainingOutcome> {
  const { log } = io;
  const plan = await checkRunFolder(out, given);
  let saved: RunConfig | undefined;
  if (given.resume) {
    saved = await readConfig(out);
    // a run from before --arch is d2l's, one from before --fade-kimg did not grow, one from before --style-mixing mixed no styles
    opts = withArchDefaults(mergeResumeOptions({ arch: DEFAULT_ARCH, fadeKimg: 0, styleMixing: 0, ...saved.options }, opts, explicit));
    run.epochs = Number(opts.epochs);
    const state = await readState(out);
    if (state.epoch >= Number(opts.epochs)) {
      throw new UsageError(`${out} has already trained ${plural(state.epoch, 'epoch')}; pass a larger --epochs to train more`);
    }
    // every file checked before anything starts: a damaged one is one line, and the folder stays as it was
    await checkCheckpointFiles(out);
    await readFixedNoise(out, GRID.images, Number(opts.latent));
  }

  checkCombinations(opts);
  const backend = await initBackend(opts.backend as BackendName, { threads: opts.threads === undefined ? undefined : Number(opts.threads) });
  const channels = opts.channels as 1 | 3;
  const arch = opts.arch as ArchName;
  const model: ModelShape = {
    imageSize: Number(opts.imageSize), width: Number(opts.width), latent: Number(opts.latent), channels, classes: 0, tricks: tricksFromOptions(opts),
  };
  const size = footprint(architecture(arch), model);
  const budget = backend.hooks.activationBudget;
  let capped: string | undefined;
  if (budget && !opts.resume && !explicit.has('batchSize')) {
    const cap = batchCap(budget, size.perImage);
    if (Number(opts.batchSize) > cap) {
      capped = `batch size ${cap} instead of the default ${opts.batchSize}: on ${backend.name} a batch that large does not fit a WebAssembly heap (4 GB); --batch-size chooses`;
      opts = { ...opts, batchSize: cap };
    }
  }
  const tooBig = memoryProblem(backend.hooks, backend.name, size, Number(opts.batchSize), `${model.imageSize}×${model.imageSize}, width ${model.width}`);
  if (tooBig) throw new UsageError(tooBig);
  log(`backend: ${backend.device}`);
  for (const s of backend.skipped) log(`  (skipped ${s.name}: ${s.reason})`);
  if (capped) log(capped);

  const limit = opts.limit as number | undefined;
  const decoding = { bar: undefined as ReturnType<typeof createProgress> | undefined };
  const datasetOptions = datasetOptionsFrom(opts, Number(opts.imageSize), channels, limit);
  const data = await loadImageSet({
    ...datasetOptions,
    onProgress: (done, total) => {
      decoding.bar ??= createProgress({ total, label: 'decoding images' });
      decoding.bar.update(done);
    },
  });
  decoding.bar?.stop();
  log(`data: ${data.description} (${data.size}×${data.size}×${data.channels})`);
  let classNames: string[] | undefined;
  if (opts.conditional) {
    ({ classNames } = requireClasses(data, sourceName(datasetOptions)));
    const savedNames = saved ? await readClassNames(out) : undefined;
    if (saved && JSON.stringify(savedNames) !== JSON.stringify(classNames)) {
      throw new UsageError(`the data's classes (${classNames.length}) are not those ${out} was trained on (${savedNames?.length ?? 'none'}, classes.json)`);
    }
    model.classes = classNames.length;
    const shown = classNames.length > GRID_CLASS_ROWS ? `; the per-epoch grids show the first ${GRID_CLASS_ROWS}, a row each` : '; a row each in the per-epoch grids';
    log(`classes: ${classNames.length} (${classNames.slice(0, 5).join(', ')}${classNames.length > 5 ? ', …' : ''})${shown}`);
  }
  if (data.count < Number(opts.batchSize)) {
    throw new UsageError(`--batch-size ${opts.batchSize} is more than the ${plural(data.count, 'image')} of the data: pass a --batch-size of at most ${data.count}${limit ? ' or a larger --limit' : ''}`);
  }
  const identity = datasetIdentity(data);
  const changed = saved ? datasetChange(saved.dataset, identity) : undefined;
  if (changed && !given.allowChangedData) {
    throw new UsageError(`the data is not what ${out} trained on: ${changed}. Nothing was changed; restore the data, or pass --allow-changed-data to resume on these images anyway`);
  }
  if (changed) log(`warning: resuming on other data than the run trained on (${changed})`);

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
    optimizer: opts.optimizer as TrainOptions['optimizer'],
    model,
    logEvery: Number(opts.logEvery),
    gridImages: GRID.images,
    gridColumns: GRID.columns,
    evalEvery: Number(opts.evalEvery ?? 0),
    evalN: Number(opts.evalN ?? 512),
    augment: String(opts.augment ?? 'none'),
    augmentFill: (opts.augmentFill ?? 'zero') as TrainOptions['augmentFill'],
    ema: Number(opts.ema ?? 0),
    emaStatistics: (opts.emaStatistics ?? 'standing') as TrainOptions['emaStatistics'],
    keepBest: (opts.keepBest ?? 'none') as TrainOptions['keepBest'],
    earlyStop: Number(opts.earlyStop ?? 0),
    fadeKimg: Number(opts.fadeKimg ?? 0),
    styleMixing: Number(opts.styleMixing ?? 0),
    loss: (opts.loss ?? 'gan') as TrainOptions['loss'],
  };

  // everything is loaded and checked before the first write: a run that fails to start leaves the folder as it was
  if (plan.replace) {
    const present = await runFilesIn(out);
    log(`${plan.why}: deleting ${present.join(', ')} in ${out}`);
    await deleteRunFiles(out);
  }
  const opened = await openRun(trainOptions);
  const runInfo = { backend: backend.name, device: backend.device, threads: backend.threads, time: new Date().toISOString() };
  const dataset = { description: data.description, ...identity };
  try {
    if (saved) {
      await writeJson(runFiles(out).config, {
        ...saved, options: { ...opts, ...NOT_KEPT }, dataset: changed ? dataset : { ...dataset, ...saved.dataset, fingerprint: identity.fingerprint },
        resumes: [...(saved.resumes ?? []), { ...runInfo, ...(changed ? { dataset } : {}) }],
      });
    } else {
      await writeJson(runFiles(out).config, {
        options: { ...opts, ...NOT_KEPT, out: undefined },
        dataset,
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
    // after config.json, which makes the folder a run: a crash between the two leaves a run, not a stray file
    if (classNames && !saved) await writeJson(runFiles(out).classes, { names: classNames });
  } catch (err) {
    disposeGan(opened.gan, opened.Gema);
    throw err;
  }

  const resumeCommand = () => commandLine('train', '--out', out, '--resume', '--epochs', trainOptions.epochs);
  // the caller's signal, or a lost GPU: either stops the run as Ctrl-C does
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (io.signal?.aborted) stop.abort();
  io.signal?.addEventListener('abort', onAbort);
  const stopOnDeviceLost = backend.hooks.watchDeviceLoss?.((reason) => {
    log(`the GPU device was lost (${reason}); stopping`);
    stop.abort();
  });
  io.onStart?.({ out });
  try {
    const result = await train(trainOptions, data, backend, {
      log, signal: stop.signal, checkDevice: backend.hooks.checkDevice, onCheckpoint: io.onCheckpoint, listeners: io.listeners,
    }, opened);
    return { out, ...result, device: backend.device, resumeCommand: resumeCommand() };
  } catch (err) {
    if (err instanceof TrainingDivergedError || DISK_ERRORS.includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    // out of memory or a lost device: one line that says what to do, and where the last good checkpoint is
    const failure = await describeBackendFailure(err, backend.name, trainOptions.batchSize);
    if (!failure) throw err;
    const state = await readState(out).catch(() => undefined);
    throw new Error(`${failure}. ` + (state ? `The last checkpoint (${describeState(state)}) in ${out} is intact: ${resumeCommand()}` : 'No checkpoint had been saved yet'));
  } finally {
    stopOnDeviceLost?.();
    io.signal?.removeEventListener('abort', onAbort);
  }
}
