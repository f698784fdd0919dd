// dcgan as a library: what the command line does, as typed functions. `import { train, sample, evaluate, loadGenerator,
// exportWeb } from 'dcgan'`. Options are the flags' (the same names in camelCase, the same defaults and rules, checked
// by the same table: run/options.ts); a mistake is thrown as a UsageError whose message is the command line's one line.
// Nothing here prints, exits or listens to signals: stop a run with an AbortSignal, as Ctrl-C stops the command.
import { initBackend, type BackendInfo, type BackendName } from './backend/index.js';
import type { ArchName } from './model/catalog.js';
import { applyTruncation } from './generate/style.js';
import { generateImages, latents } from './model/generator.js';
import { optionDefaults, trainOption, withDatasetDefaults } from './run/options.js';
import type { EvalRecord } from './run/records.js';
import { loadGenerator as loadRunGenerator, readClassNames, type GeneratorChoice } from './run/runs.js';
import type { DatasetName } from './data/catalog.js';
import { runTraining, type TrainingOutcome } from './train/command.js';
import type { EpochEnd, StepProgress, TrainListener } from './train/train.js';
import { UsageError } from './util/errors.js';
import { flagName, storedValueProblem } from './util/option-spec.js';

export { UsageError } from './util/errors.js';
export { RunFileError } from './run/files.js';
export { TrainingDivergedError, type EpochEnd, type StepProgress, type TrainListener } from './train/train.js';
export type { TrainingOutcome } from './train/command.js';
export type { EvalRecord } from './run/records.js';

/** The backend and threads of a call (`--backend`, `--threads`); default: auto, every core. */
export interface Compute {
  backend?: BackendName;
  threads?: number;
}

/** `dcgan train`'s options: the flags' names in camelCase; each left out takes the flag's default. */
export interface TrainSettings extends Compute {
  dataset?: DatasetName;
  data?: string;
  arch?: ArchName;
  conditional?: boolean;
  out?: string;
  resume?: boolean;
  overwrite?: boolean;
  allowChangedData?: boolean;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  beta1?: number;
  beta2?: number;
  optimizer?: 'adam' | 'rmsprop';
  imageSize?: number;
  width?: number;
  latent?: number;
  channels?: 1 | 3;
  seed?: number;
  limit?: number;
  logEvery?: number;
  evalEvery?: number;
  evalN?: number;
  crop?: 'content' | 'none';
  mirror?: boolean;
  background?: string;
  fit?: 'fill' | 'contain';
  cacheDir?: string;
  cache?: boolean;
  augment?: string;
  augmentFill?: 'zero' | 'background';
  ema?: number;
  emaStatistics?: 'standing' | 'average';
  keepBest?: 'none' | 'loss-g' | 'swd';
  earlyStop?: number;
  minibatchStddev?: string;
  equalizedLr?: boolean;
  pixelNorm?: boolean;
  fadeKimg?: number;
  styleMixing?: number;
  loss?: 'gan' | 'wgan-gp';
  [flag: string]: unknown;
}

/** What a training run tells its caller as it goes, and how the caller stops it. */
export interface TrainHooks {
  /** after every step: where the run stands, its speed, the time left, the latest losses */
  onStep?: (e: StepProgress) => void;
  /** after every epoch: its metrics line (the figures of --eval-every included), its grid, a new best */
  onEpoch?: (e: EpochEnd) => void;
  /** lines a person would read (the backend, the data, warnings) */
  log?: (line: string) => void;
  /** aborted: the step under way finishes, a checkpoint is saved, and train() resolves with `interrupted` */
  signal?: AbortSignal;
  /** more listeners of the loop's events (train/train.ts TrainListener) */
  listeners?: TrainListener[];
}

/** Each option checked by its flag's rule; a wrong one is the line the command line would print. */
function checkSettings(settings: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    const spec = trainOption(key);
    if (!spec) throw new UsageError(`unknown option "${key}" (the options are dcgan train's flags in camelCase: batchSize for --batch-size)`);
    const problem = storedValueProblem(spec, value);
    if (problem) throw new UsageError(`${flagName(spec)} ${JSON.stringify(value)}: ${problem}`);
  }
}

/**
 * Trains (or resumes) a run as `dcgan train` does; resolves when it is done, stopped early, or stopped by `signal`.
 * Rejects with a UsageError for bad options (before any work), a RunFileError for a damaged run file, a
 * TrainingDivergedError when the losses stop being numbers.
 */
export async function train(settings: TrainSettings = {}, hooks: TrainHooks = {}): Promise<TrainingOutcome> {
  checkSettings(settings);
  const given = withDatasetDefaults({ ...optionDefaults(), ...dropUndefined(settings) });
  const explicit = new Set(Object.keys(dropUndefined(settings)));
  const listeners: TrainListener[] = [...(hooks.listeners ?? [])];
  if (hooks.onStep || hooks.onEpoch) listeners.push({ step: hooks.onStep, epochEnd: hooks.onEpoch });
  return runTraining(given, explicit, { log: hooks.log ?? (() => {}), signal: hooks.signal, listeners });
}

const dropUndefined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

async function start(o: Compute): Promise<BackendInfo> {
  if (o.backend !== undefined) checkSettings({ backend: o.backend });
  if (o.threads !== undefined) checkSettings({ threads: o.threads });
  return initBackend(o.backend ?? 'auto', { threads: o.threads });
}

/** Images drawn by a run's generator: uint8, NHWC, `count` of them. */
export interface Images {
  pixels: Uint8Array;
  count: number;
  size: number;
  channels: 1 | 3;
}

/** A trained generator, loaded from a run folder's files (no `file://` loader, no browser). */
export interface LoadedGenerator {
  readonly latent: number;
  readonly imageSize: number;
  readonly channels: 1 | 3;
  /** the class names of a conditional run (classes.json), else empty */
  readonly classes: string[];
  /**
   * `n` images for `seed`, the images `dcgan sample --seed SEED --n N` draws; on a conditional run `classOf` gives each
   * image's class (an index into `classes`; default: image i has class i mod classes, as `sample` draws them).
   */
  draw(seed: number, n: number, classOf?: (i: number) => number): Promise<Images>;
  /** frees its weights */
  dispose(): void;
}

/** A run's generator (the average of G's weights where the run keeps one; `raw`: G; `best`: the best epoch's). */
export async function loadGenerator(run: string, o: GeneratorChoice & Compute & Truncation = {}): Promise<LoadedGenerator> {
  checkTruncation(o.truncation);
  await start(o);
  const G = await loadRunGenerator(run, o);
  try {
    applyTruncation(G, run, o.truncation);
  } catch (err) {
    G.model.dispose();
    throw err;
  }
  const classes = G.classes ? ((await readClassNames(run)) ?? Array.from({ length: G.classes }, (_, i) => String(i))) : [];
  return {
    latent: G.latent, imageSize: G.imageSize, channels: G.channels, classes,
    async draw(seed, n, classOf) {
      if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`seed ${seed}: must be a whole number ≥ 0`);
      if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`n ${n}: must be a positive integer`);
      const labels = G.classes ? Array.from({ length: n }, (_, i) => (classOf ? classOf(i) : i % G.classes)) : undefined;
      if (labels?.some((c) => !Number.isInteger(c) || c < 0 || c >= G.classes)) throw new UsageError(`a class must be an index from 0 to ${G.classes - 1}`);
      return { pixels: await generateImages(G, latents(seed, n, G.latent), n, labels), count: n, size: G.imageSize, channels: G.channels };
    },
    dispose: () => G.model.dispose(),
  };
}

/** StyleGAN runs: the truncation trick, every w drawn as w̄ + ψ(w − w̄), as `--truncation ψ` (absent or 1: none). */
export interface Truncation {
  truncation?: number;
}

function checkTruncation(psi: number | undefined): void {
  if (psi !== undefined && !(typeof psi === 'number' && psi >= 0 && psi <= 1)) throw new UsageError(`--truncation ${psi}: must be a number from 0 to 1`);
}

/** `dcgan sample`: a grid of `n` images written to `out` (.png, .jpg, .webp); resolves with its size. */
export async function sample(o: { run: string; out: string; n?: number; seed?: number; cols?: number; class?: string } & GeneratorChoice & Compute & Truncation): Promise<{ width: number; height: number; seed: number }> {
  checkTruncation(o.truncation);
  await start(o);
  const { sample: write } = await import('./generate/sample.js');
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const r = await write({ run: o.run, out: o.out, n: o.n ?? 21, seed, cols: o.cols ?? 7, class: o.class, generator: { raw: o.raw, best: o.best }, truncation: o.truncation });
  return { width: r.width, height: r.height, seed };
}

/** `dcgan eval`: SWD and the memorisation check of a run's generator against its own data; appended to eval.jsonl. */
export async function evaluate(o: { run: string; n?: number; seed?: number } & GeneratorChoice & Compute): Promise<EvalRecord> {
  await start(o);
  const { evalCommand } = await import('./metrics/command.js');
  return evalCommand({ run: o.run, n: o.n ?? 2048, seed: o.seed ?? 0, generator: { raw: o.raw, best: o.best } }, () => {});
}

/** `dcgan export --web DIR`: the run's generator as a static web page (tfjs, offline); `raw`/`best` as for sample. */
export async function exportWeb(o: { run: string; dir: string } & GeneratorChoice): Promise<{ files: number; bytes: number; generator: string }> {
  const { exportWeb: write } = await import('./export/web.js');
  const r = await write({ run: o.run, dir: o.dir, generator: { raw: o.raw, best: o.best } });
  return { files: r.files, bytes: r.bytes, generator: r.generator };
}
