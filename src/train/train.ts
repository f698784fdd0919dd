// The training loop: data order, noise, steps, per-epoch grids, metrics and checkpoints; stops cleanly when asked.
import * as tf from '@tensorflow/tfjs';
import { mkdir } from 'node:fs/promises';
import type { BackendInfo } from '../backend/index.js';
import type { ImageSet } from '../data/types.js';
import { tileGrid, writePng } from '../image/grid.js';
import { CollapseMonitor, dataDiversity } from '../metrics/collapse.js';
import { meanPairwiseDistance } from '../metrics/distance.js';
import { evaluateGenerator, formatEval } from '../metrics/evaluate.js';
import type { ModelShape } from '../model/architecture.js';
import { architecture, type ArchName } from '../model/architectures.js';
import { buildDiscriminator, buildGenerator } from '../model/build.js';
import { asDiscriminator, asGenerator, generateImages, type Generator } from '../model/generator.js';
import { setRandomStep } from '../model/layers.js';
import { writeLossPlot } from '../report/plots.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../run/checkpoint.js';
import { appendJsonl, readFloats, truncateJsonl, writeFloats } from '../run/files.js';
import { runFiles } from '../run/layout.js';
import type { EpochRecord, EvalFigures, TrainState } from '../run/records.js';
import { createProgress } from '../util/progress.js';
import { deriveSeed, Rng } from '../util/rng.js';
import { createOptimizer } from './optimizer.js';
import { secondNoise, trainStep, type Batch, type Gan } from './step.js';

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
}

export interface TrainIO {
  log: (line: string) => void;
  /** aborted → finish the step under way, checkpoint, return { interrupted: true } */
  signal?: AbortSignal;
  /** called after each step with the total step count */
  onStep?: (step: number) => void;
  /** false: no progress bars or lines */
  progress?: boolean;
  /** called after each read from the device; throws if the device reported an error (a GPU out of memory) */
  checkDevice?: (batchSize: number) => void;
}

export interface TrainResult {
  state: TrainState;
  interrupted: boolean;
}

/** G and D of the architecture with the optimizers and step of its source (`optimizer` overrides the recipe's). */
export function createGan(o: Pick<TrainOptions, 'arch' | 'model' | 'seed' | 'lr' | 'beta1' | 'beta2' | 'optimizer'>): Gan {
  const arch = architecture(o.arch);
  const recipe = { ...arch.recipe, optimizer: o.optimizer ?? arch.recipe.optimizer };
  const G = buildGenerator(arch, o.model, o.seed);
  const D = buildDiscriminator(arch, o.model, o.seed);
  const vars = (m: tf.LayersModel) => m.trainableWeights.map((w) => w.read() as tf.Variable);
  return { G, D, optG: createOptimizer(recipe, o, vars(G)), optD: createOptimizer(recipe, o, vars(D)), recipe };
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
  const second = secondNoise(gan.recipe.step) ? draw() : undefined;
  return {
    X: batchTensor(data, indices),
    Z: first.Z,
    fakeLabels: first.fakeLabels,
    Z2: second?.Z,
    fakeLabels2: second?.fakeLabels,
    labels: classes ? tf.tensor1d(Array.from(indices, (k) => data.labels![k]), 'int32') : undefined,
  };
}

export function disposeGan(gan: Gan): void {
  gan.G.dispose();
  gan.D.dispose();
  gan.optG.dispose();
  gan.optD.dispose();
}

/** Seeds of the three random streams, apart so that changing one use never shifts another. */
const streamSeed = (seed: number, stream: 'order' | 'noise' | 'fixed') => deriveSeed(seed, stream);

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

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));

export async function train(o: TrainOptions, data: ImageSet, backend: BackendInfo, io: TrainIO): Promise<TrainResult> {
  const files = runFiles(o.out);
  const batchesPerEpoch = Math.floor(data.count / o.batchSize); // the last partial batch is dropped: batch norm on a handful of images is noise
  if (batchesPerEpoch < 1) {
    throw new Error(`the dataset has ${data.count} images, fewer than --batch-size ${o.batchSize}`);
  }
  const gan = createGan(o);
  let state: TrainState;
  let fixedNoise: Float32Array;
  if (o.resume) {
    state = await loadCheckpoint(o.out, gan);
    fixedNoise = await readFloats(files.fixedNoise);
    // a crash after the checkpoint may have logged steps the resumed run will train again
    await truncateJsonl(files.steps, (r) => r.step <= state.step);
    await truncateJsonl(files.metrics, (r) => r.epoch <= state.epoch);
    io.log(`resuming ${o.out} at epoch ${state.epoch + 1}, step ${state.step}`);
  } else {
    if (await hasCheckpoint(o.out)) throw new Error(`${o.out} already holds a run; pass --resume to continue it`);
    await mkdir(o.out, { recursive: true });
    fixedNoise = new Rng(streamSeed(o.seed, 'fixed')).normals(o.gridImages * o.model.latent);
    await writeFloats(files.fixedNoise, fixedNoise);
    state = {
      epoch: 0,
      stepInEpoch: 0,
      step: 0,
      epochRng: new Rng(streamSeed(o.seed, 'order')).state,
      noiseRng: new Rng(streamSeed(o.seed, 'noise')).state,
    };
  }
  await mkdir(files.samples, { recursive: true });

  const noiseRng = new Rng(state.noiseRng);
  const collapse = new CollapseMonitor(dataDiversity(data));
  const pending: { step: number; stats: tf.Tensor1D }[] = [];
  let interrupted = false;
  try {
    for (let epoch = state.epoch; epoch < o.epochs && !interrupted; epoch++) {
      const orderRng = new Rng(state.epochRng);
      const order = orderRng.permutation(data.count);
      const progress = io.progress === false ? { update() {}, stop() {} } : createProgress({
        total: batchesPerEpoch,
        label: `epoch ${epoch + 1}/${o.epochs}`,
        fields: ['speed', 'losses'],
      });
      const sums = { loss_D: 0, loss_G: 0, D_x: 0, D_G_z: 0, n: 0 };
      const warnings: string[] = []; // printed after the progress bar, recorded in the epoch's metrics line
      const started = performance.now();
      const firstBatch = state.stepInEpoch;
      const shown = { speed: '', losses: '' };

      // Reads the losses of the steps since the last read (one device sync for all of them) and logs them.
      const drain = async () => {
        const batch = pending.splice(0);
        if (!batch.length) return;
        const values = (await tf.stack(batch.map((p) => p.stats)).data()) as Float32Array;
        tf.dispose([...batch.map((p) => p.stats)]);
        io.checkDevice?.(o.batchSize); // a failed GPU allocation only shows as an error event, and its reads return zeros
        const records = batch.map(({ step }, i) => {
          const [lossD, lossG, dx, dgz] = values.subarray(4 * i, 4 * i + 4);
          return { step, epoch: epoch + 1, loss_D: lossD, loss_G: lossG, D_x: dx, D_G_z: dgz };
        });
        await appendJsonl(files.steps, records); // one write per read, not one per step
        for (const { step, loss_D: lossD, loss_G: lossG, D_x: dx, D_G_z: dgz } of records) {
          sums.loss_D += lossD; sums.loss_G += lossG; sums.D_x += dx; sums.D_G_z += dgz; sums.n++;
          if (!Number.isFinite(lossD) || !Number.isFinite(lossG)) {
            throw new Error(`training diverged at step ${step} (loss_D ${lossD}, loss_G ${lossG}); try a lower --lr`);
          }
          shown.losses = `D ${fmt(lossD)} G ${fmt(lossG)}`;
          const warning = collapse.step(step, dgz);
          if (warning) warnings.push(warning);
        }
      };

      for (let b = firstBatch; b < batchesPerEpoch; b++) {
        const stats = tf.tidy(() => {
          setRandomStep(state.step + 1); // dropout masks follow the step, so a resumed run draws the same
          return trainStep(gan, drawBatch(gan, data, order.subarray(b * o.batchSize, (b + 1) * o.batchSize), noiseRng, o));
        });
        state.step++;
        state.stepInEpoch = b + 1;
        pending.push({ step: state.step, stats });
        if (pending.length >= o.logEvery || b + 1 === batchesPerEpoch) await drain();
        const seconds = (performance.now() - started) / 1000;
        shown.speed = `${((b + 1 - firstBatch) * o.batchSize / seconds).toFixed(1)} img/s`;
        progress.update(b + 1, shown);
        io.onStep?.(state.step);
        if (io.signal?.aborted) {
          interrupted = true;
          break;
        }
      }
      await drain();
      progress.stop();
      state.noiseRng = noiseRng.state;
      if (interrupted && state.stepInEpoch < batchesPerEpoch) break;

      // epoch complete
      const seconds = (performance.now() - started) / 1000;
      const trainedImages = (batchesPerEpoch - firstBatch) * o.batchSize;
      state.epoch = epoch + 1;
      state.stepInEpoch = 0;
      state.epochRng = orderRng.state;
      const mean = (x: number) => (sums.n ? x / sums.n : NaN);
      const generator = asGenerator(gan.G);
      const grid = await writeSampleGrid(generator, fixedNoise, o, files.sampleGrid(epoch + 1));
      const diversity = grid.count > 1 ? meanPairwiseDistance(grid.pixels, grid.count) : NaN;
      const diversityWarning = collapse.diversity(epoch + 1, diversity);
      if (diversityWarning) warnings.push(diversityWarning);
      // skipped once Ctrl-C was pressed: on a CPU the figures take a while, and the user asked to stop
      const evalDue = !!o.evalEvery && ((epoch + 1) % o.evalEvery === 0 || epoch + 1 === o.epochs) && !io.signal?.aborted;
      const figures: EvalFigures | undefined = evalDue ? await evaluateGenerator(generator, data, { n: o.evalN ?? 512, seed: EVAL_SEED }, o.model.classes ? asDiscriminator(gan.D) : undefined) : undefined;
      const record = {
        epoch: epoch + 1, step: state.step,
        loss_D: mean(sums.loss_D), loss_G: mean(sums.loss_G), D_x: mean(sums.D_x), D_G_z: mean(sums.D_G_z),
        images_per_s: trainedImages / seconds, seconds, backend: backend.name, time: new Date().toISOString(),
        diversity,
        ...(figures ? { eval: figures } : {}),
        ...(warnings.length ? { warning: warnings.join('; ') } : {}),
      } satisfies EpochRecord;
      await appendJsonl(files.metrics, record);
      await saveCheckpoint(o.out, gan, state);
      await writeLossPlot(o.out);
      io.log(
        `epoch ${epoch + 1}/${o.epochs}: loss_D ${fmt(record.loss_D)}, loss_G ${fmt(record.loss_G)}, ` +
          `D(x) ${fmt(record.D_x)}, D(G(z)) ${fmt(record.D_G_z)}, ${record.images_per_s.toFixed(1)} img/s, ` +
          `${seconds.toFixed(1)} s → ${files.sampleGrid(epoch + 1)}`,
      );
      if (figures) for (const line of formatEval(figures)) io.log(`  ${line}`);
      for (const w of warnings) io.log(`warning: ${w}`);
    }
    if (interrupted && state.stepInEpoch > 0) await saveCheckpoint(o.out, gan, state);
    return { state, interrupted };
  } finally {
    tf.dispose(pending.map((p) => p.stats));
    disposeGan(gan);
  }
}

