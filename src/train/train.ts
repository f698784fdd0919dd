// The training loop: data order, noise, steps, per-epoch grids, metrics and checkpoints; stops cleanly when asked.
import * as tf from '@tensorflow/tfjs';
import { mkdir, rm } from 'node:fs/promises';
import type { BackendInfo } from '../backend/index.js';
import { backgroundColour } from '../data/background.js';
import type { ImageSet } from '../data/types.js';
import { tileGrid, writePng } from '../image/grid.js';
import { CollapseMonitor, dataDiversity } from '../metrics/collapse.js';
import { meanPairwiseDistance } from '../metrics/distance.js';
import { evaluateGenerator } from '../metrics/evaluate.js';
import type { ModelShape } from '../model/architecture.js';
import { architecture, type ArchName } from '../model/architectures.js';
import { fadeReals, ProgressiveGan } from '../model/progan.js';
import { styleCrossovers, styleModels } from '../model/stylegan.js';
import { buildDiscriminator, buildGenerator } from '../model/build.js';
import { asDiscriminator, asGenerator, generateImages, type Generator } from '../model/generator.js';
import { setRandomStep } from '../model/layers.js';
import { writeLossPlot } from '../report/plots.js';
import { assertFinite, describeState, DivergedError, hasCheckpoint, loadCheckpoint, readState, recoverCheckpoint, saveCheckpoint } from '../run/checkpoint.js';
import { appendJsonl, readFloats, readJsonl, RunFileError, truncateJsonl, writeFloats } from '../run/files.js';
import { runFiles } from '../run/layout.js';
import type { EpochRecord, EpochSums, EvalFigures, StepRecord, TrainState } from '../run/records.js';
import { listSampleGrids } from '../run/runs.js';
import { deriveSeed, Rng } from '../util/rng.js';
import { augment, parsePolicy } from './augment.js';
import { emaBeta, standingStatistics, updateAverage } from './ema.js';
import { averageOf, describePhase, describeSchedule, growAverage, growTo, GrowingEta, multiplyAdds, phaseOfStep, wholeNetworks, type Growing } from './grow.js';
import { createOptimizer } from './optimizer.js';
import { secondNoise, trainStep, type Batch, type Gan, type Loss } from './step.js';

export interface TrainOptions {
  out: string;
  resume: boolean;
  /** the run's total: with --resume, training continues up to this many epochs */
  epochs: number;
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
  seed: number;
  arch: ArchName;
  /** the optimizer, where it is not the architecture's (--optimizer) */
  optimizer?: 'adam' | 'rmsprop';
  model: ModelShape;
  /** steps between reads of the losses (each read waits for the device) */
  logEvery: number;
  /** images in the per-epoch grid and its columns: d2l shows 3×7 */
  gridImages: number;
  gridColumns: number;
  /** every this many epochs (and after the last), SWD and the memorisation check into the epoch's metrics line; 0: never */
  evalEvery?: number;
  /** images per set for those figures */
  evalN?: number;
  /** --augment: DiffAugment's policy as text ('translation,cutout'); 'none' or absent: none */
  augment?: string;
  /** --augment-fill: what translation and cutout fill with */
  augmentFill?: 'zero' | 'background';
  /** --ema: the half-life of the average of G's weights in thousands of images; 0 or absent: no average */
  ema?: number;
  /** how the average's batch-norm statistics are had: recomputed from its own weights, or averaged like the weights */
  emaStatistics?: EmaStatistics;
  /** --keep-best: the figure by which the best epoch's generator is kept in best/ */
  keepBest?: KeepBest;
  /** --early-stop: stop after this many epochs without a new best; 0 or absent: never */
  earlyStop?: number;
  /** --loss: the recipe's GAN loss ('gan', or absent) or WGAN-GP (progan) */
  loss?: Loss;
  /** --fade-kimg (progan): grow from 4×4, this many thousand images per fade and per stable phase; 0 or absent: no growing */
  fadeKimg?: number;
  /** --style-mixing (stylegan): the share of the images G draws in training from two codes; 0 or absent: none */
  styleMixing?: number;
}

export type KeepBest = 'none' | 'loss-g' | 'swd';
export type EmaStatistics = 'standing' | 'average';

export interface TrainIO {
  /** lines for people from the loop itself ("resuming …") */
  log: (line: string) => void;
  /** aborted → finish the step under way, checkpoint, return { interrupted: true } */
  signal?: AbortSignal;
  /** told when a checkpoint write starts (true) and ends (false): a second Ctrl-C then waits for it */
  onCheckpoint?: (writing: boolean) => void;
  /** called after each read from the device; throws if the device reported an error (a GPU out of memory) */
  checkDevice?: (batchSize: number) => void;
  /** whoever shows or keeps what happens: the command line's progress display (display.ts), an API caller */
  listeners?: TrainListener[];
}

/** Where a run stands after a step, with its speed and the time left at this process's pace. */
export interface StepProgress {
  /** steps trained in all */
  step: number;
  /** the epoch under way (from 1) of `epochs`, and the batches of it done of `batches` */
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** over this epoch's steps in this process */
  imagesPerSecond: number;
  epochSecondsLeft: number;
  runSecondsLeft: number;
  /** the latest losses read (every --log-every steps; per example) */
  losses?: { D: number; G: number };
}

/** An epoch's end: its metrics.jsonl line (with the figures of --eval-every), its grid, and a new best if it is one. */
export interface EpochEnd {
  record: EpochRecord;
  epochs: number;
  /** the per-epoch grid's file */
  grid: string;
  /** the collapse warnings of the epoch, one each */
  warnings: string[];
  best?: NonNullable<TrainState['best']> & { folder: string };
}

/**
 * The loop's events, in the order they happen. Listeners are called synchronously and must not throw; what they
 * need to keep they copy.
 */
export interface TrainListener {
  /** an epoch begins, or goes on after a resume: `batch` of its `batches` are done */
  epochStart?(e: { epoch: number; epochs: number; batch: number; batches: number }): void;
  step?(e: StepProgress): void;
  /** something that takes a while between steps ("evaluating …") */
  note?(text: string): void;
  epochEnd?(e: EpochEnd): void;
  /** training stops (done, interrupted, stopped early, or failed): a display takes its bar down */
  end?(): void;
}

/** Training produced NaN or infinite values; the message names where, the last good checkpoint and what to try. */
export class TrainingDivergedError extends Error {}

export interface TrainResult {
  state: TrainState;
  interrupted: boolean;
  /** --early-stop ended the run: why, for people */
  stoppedEarly?: string;
}

/**
 * G and D of the architecture with the optimizers and step of its source (`optimizer` overrides the recipe's). A
 * growing run (progan with --fade-kimg) has the G and D of the phase of the step after `step` steps.
 */
export function createGan(o: Pick<TrainOptions, 'arch' | 'model' | 'seed' | 'lr' | 'beta1' | 'beta2' | 'optimizer'> & Partial<Pick<TrainOptions, 'fadeKimg' | 'batchSize' | 'loss' | 'styleMixing'>>, step = 0): Gan {
  const arch = architecture(o.arch);
  const recipe = { ...arch.recipe, optimizer: o.optimizer ?? arch.recipe.optimizer };
  const loss = o.loss === 'wgan-gp' ? { loss: o.loss } : {};
  const vars = (m: tf.LayersModel) => m.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = (m: tf.LayersModel) => createOptimizer(recipe, o, vars(m));
  if (o.fadeKimg) {
    if (o.arch !== 'progan' || !o.batchSize) throw new Error(`--fade-kimg grows --arch progan, given its batch size (not ${o.arch}, ${o.batchSize})`);
    const networks = new ProgressiveGan(o.model, o.seed);
    networks.whole(); // every layer's weights made now: growing adds none
    const schedule = { networks, fadeKimg: o.fadeKimg, batchSize: o.batchSize };
    const growing: Growing = { ...schedule, optimizer, phase: phaseOfStep(step, schedule) };
    networks.setAlpha(growing.phase);
    const { G, D } = networks.models(growing.phase);
    return { G, D, optG: optimizer(G), optD: optimizer(D), recipe, growing, ...loss };
  }
  const G = buildGenerator(arch, o.model, o.seed);
  const D = buildDiscriminator(arch, o.model, o.seed);
  if (o.styleMixing && o.arch !== 'stylegan') throw new Error(`--style-mixing mixes the styles of --arch stylegan (not ${o.arch})`);
  const styleMixing = o.styleMixing ? { styleMixing: { probability: o.styleMixing, ...styleModels(G) } } : {};
  return { G, D, optG: optimizer(G), optD: optimizer(D), recipe, ...loss, ...styleMixing };
}

/**
 * The step's inputs for images `indices`: the batch, noise (twice where the source draws again for G) and, on a
 * conditional run, the images' classes and classes drawn uniformly for G. Noise and classes come from `noise`.
 */
export function drawBatch(gan: Gan, data: ImageSet, indices: ArrayLike<number>, noise: Rng, o: Pick<TrainOptions, 'model'>): Batch {
  const n = indices.length;
  const { latent, classes } = o.model;
  const draw = () => ({
    Z: tf.tensor2d(noise.normals(n * latent), [n, latent]),
    fakeLabels: classes ? tf.tensor1d(noise.integers(n, classes), 'int32') : undefined,
  });
  const first = draw();
  const second = secondNoise(gan.recipe.step, gan.loss) ? draw() : undefined;
  // WGAN-GP: where the penalty is taken between each real image and its fake, after the noise
  const mix = gan.loss === 'wgan-gp' ? tf.tensor4d(Float32Array.from({ length: n }, () => noise.uniform()), [n, 1, 1, 1]) : undefined;
  // style mixing: for each draw of noise, a second code per image and where its styles take over
  const mixing = gan.styleMixing;
  const styles = () => mixing && { Z: tf.tensor2d(noise.normals(n * latent), [n, latent]), crossovers: styleCrossovers(noise, n, mixing.layers, mixing.probability) };
  const firstStyles = styles();
  const secondStyles = second && styles();
  return {
    X: batchTensor(data, indices),
    Z: first.Z,
    fakeLabels: first.fakeLabels,
    Z2: second?.Z,
    fakeLabels2: second?.fakeLabels,
    labels: classes ? tf.tensor1d(Array.from(indices, (k) => data.labels![k]), 'int32') : undefined,
    mix,
    styles: firstStyles,
    styles2: secondStyles,
  };
}

/** Releases the networks and optimizers, and the average of G's weights (--ema) where the run keeps one. */
export function disposeGan(gan: Gan, Gema?: tf.LayersModel): void {
  if (gan.growing) {
    // every phase's models, G and D among them, and the average's (Gema is one of its models)
    gan.growing.networks.dispose();
    gan.growing.average?.dispose();
  } else {
    gan.G.dispose();
    gan.D.dispose();
    Gema?.dispose();
  }
  gan.optG.dispose();
  gan.optD.dispose();
}

/** Seeds of the three random streams, apart so that changing one use never shifts another. */
const streamSeed = (seed: number, stream: 'order' | 'noise' | 'fixed' | 'standing' | 'augment') => deriveSeed(seed, stream);

/** A batch as the network sees it: uint8 pixels gathered on the host, scaled to [-1, 1] on the device. */
export function batchTensor(data: ImageSet, indices: ArrayLike<number>): tf.Tensor4D {
  const imageBytes = data.size * data.size * data.channels;
  const bytes = new Uint8Array(indices.length * imageBytes);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    bytes.set(data.pixels.subarray(k * imageBytes, (k + 1) * imageBytes), i * imageBytes);
  }
  return tf.tidy(() =>
    tf.tensor4d(bytes, [indices.length, data.size, data.size, data.channels], 'int32').toFloat().div(127.5).sub(1),
  );
}

/** A conditional run's grid shows one row per class, this many at most (the first ones). */
export const GRID_CLASS_ROWS = 10;

/**
 * The per-epoch grid's latents and classes from the run's fixed noise: 21 latents in rows of 7; on a conditional run
 * one row per class (the first 10), the same 7 latents in every row, so a column shows one z across the classes.
 */
export function gridInputs(fixedNoise: Float32Array, o: Pick<TrainOptions, 'gridImages' | 'gridColumns' | 'model'>): { z: Float32Array; count: number; labels?: number[] } {
  const { latent, classes } = o.model;
  if (!classes) return { z: fixedNoise, count: o.gridImages };
  const rows = Math.min(classes, GRID_CLASS_ROWS);
  const cols = o.gridColumns;
  const z = new Float32Array(rows * cols * latent);
  for (let r = 0; r < rows; r++) z.set(fixedNoise.subarray(0, cols * latent), r * cols * latent);
  return { z, count: rows * cols, labels: Array.from({ length: rows * cols }, (_, i) => Math.floor(i / cols)) };
}

/** Writes the fixed-noise grid and returns its images (uint8 NHWC) and how many. */
export async function writeSampleGrid(G: Generator, fixedNoise: Float32Array, o: TrainOptions, file: string): Promise<{ pixels: Uint8Array; count: number }> {
  const { z, count, labels } = gridInputs(fixedNoise, o);
  const pixels = await generateImages(G, z, count, labels);
  await writePng(file, tileGrid(pixels, count, o.model.imageSize, o.model.channels, o.gridColumns));
  return { pixels, count };
}

/** The seed of the figures computed during training: that of `dcgan eval`'s default, so the two compare. */
const EVAL_SEED = 0;

/**
 * Lets the event loop run once. On wasm and cpu a step is synchronous JavaScript and a loss read resolves without
 * waiting, so without this a Ctrl-C (whose handler runs from the event loop) would only be seen at the end of the
 * epoch. On a GPU the step only queues work, and this waits for none of it.
 */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What a run starts from: its networks and optimizers, where training stands, the grids' fixed noise. */
export interface OpenedRun {
  gan: Gan;
  /** --ema: the average of G's weights (built as G is, so it starts equal to G) */
  Gema?: tf.LayersModel;
  state: TrainState;
  fixedNoise: Float32Array;
}

/**
 * Opens the run `o` describes and writes nothing: on --resume every checkpoint file and fixed-noise.bin is loaded and
 * checked (a damaged one is named), otherwise new networks are built. A resume that fails thus leaves the folder as it
 * was. The caller owns the result (train() disposes of it).
 */
export async function openRun(o: TrainOptions): Promise<OpenedRun> {
  // a growing run resumes in the phase of its checkpoint's step: that phase's models take the saved weights
  const gan = createGan(o, o.resume && o.fadeKimg ? await checkpointStep(o.out) : 0);
  const Gema = !o.ema ? undefined : gan.growing ? growAverage(gan.growing) : buildGenerator(architecture(o.arch), o.model, o.seed);
  try {
    if (o.resume) {
      const state = await loadCheckpoint(o.out, { ...gan, Gema, whole: gan.growing && wholeNetworks(gan.growing) });
      return { gan, Gema, state, fixedNoise: await readFixedNoise(o.out, o.gridImages, o.model.latent) };
    }
    if (await hasCheckpoint(o.out)) throw new Error(`${o.out} already holds a run; pass --resume to continue it`);
    return {
      gan,
      Gema,
      fixedNoise: new Rng(streamSeed(o.seed, 'fixed')).normals(o.gridImages * o.model.latent),
      state: {
        epoch: 0,
        stepInEpoch: 0,
        step: 0,
        epochRng: new Rng(streamSeed(o.seed, 'order')).state,
        noiseRng: new Rng(streamSeed(o.seed, 'noise')).state,
      },
    };
  } catch (err) {
    disposeGan(gan, Gema);
    throw err;
  }
}

/** The step of the checkpoint in `runDir`, or 0 where it has none that reads: loadCheckpoint then says what is wrong. */
async function checkpointStep(runDir: string): Promise<number> {
  await recoverCheckpoint(runDir);
  return (await readState(runDir).catch(() => undefined))?.step ?? 0;
}

/** The run's fixed noise (the latents of the per-epoch grids), checked: the right size, finite. */
export async function readFixedNoise(runDir: string, gridImages: number, latent: number): Promise<Float32Array> {
  const file = runFiles(runDir).fixedNoise;
  const noise = await readFloats(file, { count: gridImages * latent, what: `${gridImages} latents of ${latent} floats` });
  if (!noise.every(Number.isFinite)) throw new RunFileError(file, 'it holds NaN or infinite values (damaged)');
  return noise;
}

/**
 * Cuts the run's records back to the checkpoint: lines a run wrote after its last checkpoint (it was killed, or it
 * diverged) would otherwise repeat once the resumed run trains those steps again. A new run starts from nothing.
 */
async function cutRecordsBackTo(runDir: string, state: TrainState): Promise<void> {
  const files = runFiles(runDir);
  await truncateJsonl(files.steps, (r) => r.step <= state.step);
  await truncateJsonl(files.metrics, (r) => r.epoch <= state.epoch);
  await truncateJsonl(files.evals, (r) => r.step <= state.step);
  // the grids of epochs after the checkpoint (listSampleGrids lists only dcgan's own: regular files named epoch-NNN.png)
  for (const grid of await listSampleGrids(runDir)) if (grid.epoch > state.epoch) await rm(grid.file, { force: true });
}

const noSums = (): EpochSums => ({ loss_D: 0, loss_G: 0, D_x: 0, D_G_z: 0, n: 0, seconds: 0 });

/**
 * The loss sums of the epoch a run stopped in the middle of, so that its metrics line averages the whole epoch. Runs
 * saved before state.json carried them: summed again from steps.jsonl, without the time spent (unknown).
 */
async function resumedSums(runDir: string, state: TrainState): Promise<{ sums: EpochSums; timed: boolean }> {
  if (state.stepInEpoch === 0) return { sums: noSums(), timed: true };
  if (state.epochSums) return { sums: { ...state.epochSums }, timed: true };
  const sums = noSums();
  const first = state.step - state.stepInEpoch;
  for (const r of await readJsonl<StepRecord>(runFiles(runDir).steps)) {
    if (r.step <= first || r.step > state.step) continue;
    sums.loss_D += r.loss_D ?? NaN; sums.loss_G += r.loss_G ?? NaN; sums.D_x += r.D_x ?? NaN; sums.D_G_z += r.D_G_z ?? NaN; sums.n++;
  }
  return { sums, timed: false };
}

export async function train(o: TrainOptions, data: ImageSet, backend: BackendInfo, io: TrainIO, opened?: OpenedRun): Promise<TrainResult> {
  const files = runFiles(o.out);
  const batchesPerEpoch = Math.floor(data.count / o.batchSize); // the last partial batch is dropped: batch norm on a handful of images is noise
  if (batchesPerEpoch < 1) {
    if (opened) disposeGan(opened.gan, opened.Gema);
    throw new Error(`the dataset has ${data.count} images, fewer than --batch-size ${o.batchSize}`);
  }
  const run = opened ?? (await openRun(o));
  const { gan, fixedNoise, state } = run;
  let Gema = run.Gema; // a growing run's average changes models with the phase
  const emit = <K extends keyof TrainListener>(event: K, ...args: Parameters<NonNullable<TrainListener[K]>>) => {
    for (const listener of io.listeners ?? []) (listener[event] as ((...a: typeof args) => void) | undefined)?.(...args);
  };
  const emaStatistics = o.emaStatistics ?? 'standing';
  // what the grids, the figures and the user's samples come from: the average of G where the run keeps one
  const shownGenerator = (): Generator => {
    if (!Gema) return asGenerator(gan.G);
    if (emaStatistics === 'standing') standingStatistics(Gema, { seed: streamSeed(o.seed, 'standing'), latent: o.model.latent, classes: o.model.classes });
    return asGenerator(Gema);
  };
  const keepBest = o.keepBest && o.keepBest !== 'none' ? o.keepBest : undefined;
  // a best by another figure (--keep-best changed on --resume) is no best by this one
  if (state.best && state.best.figure !== keepBest) delete state.best;
  const stopReason = () => {
    if (!o.earlyStop || !keepBest) return undefined;
    const since = state.best?.epoch ?? 0;
    if (state.epoch - since < o.earlyStop) return undefined;
    const figure = keepBest === 'swd' ? 'SWD' : 'epoch-mean loss_G';
    return `no better ${figure} for ${o.earlyStop} epoch${o.earlyStop === 1 ? '' : 's'} (--early-stop ${o.earlyStop}): ` +
      (state.best ? `the best was ${state.best.value.toFixed(3)} at epoch ${state.best.epoch}, kept in ${files.best}` : 'none was recorded');
  };
  const pending: { step: number; stats: tf.Tensor1D }[] = [];
  let interrupted = false;
  // where the folder's checkpoint stands: what a divergence leaves behind
  let saved = o.resume ? describeState(state) : undefined;
  const divergence = (what: string) => new TrainingDivergedError(
    `training diverged by step ${state.step}: ${what}. ` +
      (saved ? `The last good checkpoint (${saved}) in ${o.out} is kept` : `No checkpoint was saved`) +
      `; try a lower --lr (this run's is ${o.lr >= 1e4 ? o.lr.toExponential() : o.lr})` +
      // nothing to resume: the same command with another --lr starts the run again (train replaces a run without a checkpoint)
      (saved ? '' : ' in the same command: it starts the run again'),
  );
  const checkpoint = async (best?: boolean) => {
    io.onCheckpoint?.(true);
    try {
      await saveCheckpoint(o.out, { ...gan, Gema, whole: gan.growing && wholeNetworks(gan.growing) }, state, undefined, best ? state.best : undefined);
      saved = describeState(state);
    } catch (err) {
      if (err instanceof DivergedError) throw divergence(err.message.replace(/^training diverged: /, ''));
      throw err;
    } finally {
      io.onCheckpoint?.(false);
    }
  };
  try {
    await mkdir(files.samples, { recursive: true });
    await cutRecordsBackTo(o.out, state);
    if (o.resume) io.log(`resuming ${o.out} at epoch ${state.epoch + 1}, step ${state.step}`);
    else await writeFloats(files.fixedNoise, fixedNoise);
    if (gan.growing) io.log(`${describeSchedule(gan.growing)}; now ${describePhase(gan.growing.phase)}`);
    const resumed = await resumedSums(o.out, state);

    const noiseRng = new Rng(state.noiseRng);
    // DiffAugment draws from a stream of its own: the noise, and so a run's latents, are those of a run without it
    const policy = parsePolicy(o.augment ?? 'none');
    const augmentRng = new Rng(state.augmentRng ?? streamSeed(o.seed, 'augment'));
    if (policy.length) {
      const fill = o.augmentFill === 'background' ? { background: Array.from(backgroundColour(data), (v) => v / 127.5 - 1) } : 'zero' as const;
      gan.augment = (images) => augment(images, policy, augmentRng, { translation: fill, cutout: fill });
    }
    const collapse = new CollapseMonitor(dataDiversity(data), undefined, o.loss === 'wgan-gp');
    // the step rate of this process, for the ETAs (a resumed run's earlier steps say nothing of this machine)
    const session = { steps: 0, seconds: 0 };
    // a growing run's steps cost more at each resolution: its ETA prices the phases ahead (grow.ts GrowingEta)
    const growingEta = gan.growing && new GrowingEta(gan.growing, (phase) => {
      const { G, D } = gan.growing!.networks.models(phase);
      return multiplyAdds(G) + multiplyAdds(D);
    });
    let firstRead = true;
    let losses: StepProgress['losses'];
    const firstEpoch = state.epoch;
    let stoppedEarly = stopReason();
    for (let epoch = firstEpoch; epoch < o.epochs && !interrupted && !stoppedEarly; epoch++) {
      const orderRng = new Rng(state.epochRng);
      const order = orderRng.permutation(data.count);
      const firstBatch = Math.min(state.stepInEpoch, batchesPerEpoch);
      emit('epochStart', { epoch: epoch + 1, epochs: o.epochs, batch: firstBatch, batches: batchesPerEpoch });
      // the epoch's loss sums, carried over from before a stop in its middle
      const carried = epoch === firstEpoch ? resumed : { sums: noSums(), timed: true };
      const sums = { ...carried.sums };
      const warnings: string[] = []; // printed after the progress bar, recorded in the epoch's metrics line
      const started = performance.now();

      // Reads the losses of the steps since the last read (one device sync for all of them) and records them.
      const drain = async () => {
        const batch = pending.splice(0);
        if (!batch.length) return;
        const stacked = tf.stack(batch.map((p) => p.stats));
        const values = (await stacked.data()) as Float32Array;
        tf.dispose([stacked, ...batch.map((p) => p.stats)]);
        io.checkDevice?.(o.batchSize); // a failed GPU allocation only shows as an error event, and its reads return zeros
        const records = batch.map(({ step }, i) => {
          const [lossD, lossG, dx, dgz] = values.subarray(4 * i, 4 * i + 4);
          return { step, epoch: epoch + 1, loss_D: lossD, loss_G: lossG, D_x: dx, D_G_z: dgz };
        });
        await appendJsonl(files.steps, records); // one write per read, not one per step
        for (const { step, loss_D: lossD, loss_G: lossG, D_x: dx, D_G_z: dgz } of records) {
          if (!Number.isFinite(lossD) || !Number.isFinite(lossG)) {
            throw divergence(`at step ${step} loss_D is ${lossD} and loss_G ${lossG}`);
          }
          sums.loss_D += lossD; sums.loss_G += lossG; sums.D_x += dx; sums.D_G_z += dgz; sums.n++;
          losses = { D: lossD, G: lossG };
          const warning = collapse.step(step, dgz);
          if (warning) warnings.push(warning);
        }
      };

      for (let b = firstBatch; b < batchesPerEpoch; b++) {
        const stepStarted = performance.now();
        const stepPhase = gan.growing?.phase;
        const stats = tf.tidy(() => {
          setRandomStep(state.step + 1); // dropout masks follow the step, so a resumed run draws the same
          const batch = drawBatch(gan, data, order.subarray(b * o.batchSize, (b + 1) * o.batchSize), noiseRng, o);
          // a growing run's D sees the reals as it sees G's images: at the phase's resolution, faded in as they are
          if (gan.growing) batch.X = fadeReals(batch.X, gan.growing.phase);
          return trainStep(gan, batch);
        });
        if (Gema) {
          const beta = emaBeta(o.ema!, o.batchSize, state.step * o.batchSize);
          // a growing run averages every weight of G (wholeNetworks), not only its phase's
          const [from, to] = gan.growing ? [gan.growing.networks.whole().G, wholeNetworks(gan.growing).Gema!] : [gan.G, Gema];
          updateAverage(from, to, beta, emaStatistics === 'average');
        }
        state.step++;
        // on to the next step's phase now, so that a checkpoint holds the models and α a resume rebuilds from its step
        if (growTo(gan, state.step)) Gema = averageOf(gan.growing!) ?? Gema;
        state.stepInEpoch = b + 1;
        pending.push({ step: state.step, stats });
        // the first read comes after the first step, so the bar shows losses at once; then one every --log-every
        if (firstRead || pending.length >= o.logEvery || b + 1 === batchesPerEpoch) {
          firstRead = false;
          await drain();
        }
        const stepSeconds = (performance.now() - stepStarted) / 1000;
        session.steps++;
        session.seconds += stepSeconds;
        growingEta?.record(stepPhase!, stepSeconds);
        const perStep = session.seconds / session.steps;
        const epochLeft = batchesPerEpoch - (b + 1);
        const runLeft = epochLeft + (o.epochs - epoch - 1) * batchesPerEpoch;
        const secondsFor = (steps: number) => (growingEta ? growingEta.secondsLeft(state.step, state.step + steps) : steps * perStep);
        emit('step', {
          step: state.step, epoch: epoch + 1, epochs: o.epochs, batch: b + 1, batches: batchesPerEpoch,
          imagesPerSecond: (b + 1 - firstBatch) * o.batchSize / ((performance.now() - started) / 1000),
          epochSecondsLeft: secondsFor(epochLeft),
          runSecondsLeft: secondsFor(runLeft),
          losses,
        });
        await yieldToEventLoop();
        if (io.signal?.aborted) {
          interrupted = true;
          break;
        }
      }
      await drain();
      state.noiseRng = noiseRng.state;
      if (policy.length) state.augmentRng = augmentRng.state;
      const seconds = (performance.now() - started) / 1000 + (carried.timed ? carried.sums.seconds : 0);
      if (interrupted && state.stepInEpoch < batchesPerEpoch) {
        state.epochSums = { ...sums, seconds };
        break;
      }

      // epoch complete: nothing is written from weights that are no longer finite
      try {
        await assertFinite(gan);
      } catch (err) {
        if (err instanceof DivergedError) throw divergence(err.message.replace(/^training diverged: /, ''));
        throw err;
      }
      const trainedImages = (carried.timed ? batchesPerEpoch : batchesPerEpoch - firstBatch) * o.batchSize;
      state.epoch = epoch + 1;
      state.stepInEpoch = 0;
      state.epochRng = orderRng.state;
      delete state.epochSums;
      const mean = (x: number) => (sums.n ? x / sums.n : NaN);
      const generator = shownGenerator();
      const gridFile = files.sampleGrid(epoch + 1);
      const grid = await writeSampleGrid(generator, fixedNoise, o, gridFile);
      const diversity = grid.count > 1 ? meanPairwiseDistance(grid.pixels, grid.count) : NaN;
      const diversityWarning = collapse.diversity(epoch + 1, diversity);
      if (diversityWarning) warnings.push(diversityWarning);
      // skipped once Ctrl-C was pressed: on a CPU the figures take a while, and the user asked to stop
      const evalDue = !!o.evalEvery && ((epoch + 1) % o.evalEvery === 0 || epoch + 1 === o.epochs) && !io.signal?.aborted;
      if (evalDue) emit('note', `evaluating (SWD and nearest neighbours, ${o.evalN ?? 512} images)…`);
      const figures: EvalFigures | undefined = evalDue ? await evaluateGenerator(generator, data, { n: o.evalN ?? 512, seed: EVAL_SEED }, o.model.classes ? asDiscriminator(gan.D) : undefined) : undefined;
      const record = {
        epoch: epoch + 1, step: state.step,
        loss_D: mean(sums.loss_D), loss_G: mean(sums.loss_G), D_x: mean(sums.D_x), D_G_z: mean(sums.D_G_z),
        images_per_s: trainedImages / seconds, seconds, backend: backend.name, time: new Date().toISOString(),
        diversity,
        // the phase the grid was drawn in (that of the next step)
        ...(gan.growing ? { phase: describePhase(gan.growing.phase) } : {}),
        ...(figures ? { eval: figures } : {}),
        ...(warnings.length ? { warning: warnings.join('; ') } : {}),
      } satisfies EpochRecord;
      await appendJsonl(files.metrics, record);
      const figure = keepBest === 'loss-g' ? record.loss_G : keepBest === 'swd' ? figures?.swd_x1e3.avg : undefined;
      const isBest = figure !== undefined && Number.isFinite(figure) && (!state.best || figure < state.best.value);
      if (isBest) state.best = { figure: keepBest!, value: figure, epoch: state.epoch, step: state.step };
      await checkpoint(isBest);
      await writeLossPlot(o.out);
      emit('epochEnd', { record, epochs: o.epochs, grid: gridFile, warnings, best: isBest ? { ...state.best!, folder: files.best } : undefined });
      stoppedEarly = stopReason();
    }
    if (interrupted && state.stepInEpoch > 0) {
      if (Gema) shownGenerator(); // the average's statistics as of this step, for samples drawn from the checkpoint
      await checkpoint();
    }
    return { state, interrupted, ...(stoppedEarly ? { stoppedEarly } : {}) };
  } finally {
    emit('end'); // also on an error: a bar on screen goes before its message is printed
    tf.dispose(pending.map((p) => p.stats));
    disposeGan(gan, Gema);
  }
}
