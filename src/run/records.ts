// The run folder's records, one type each: config.json, state.json, metrics.jsonl, steps.jsonl, eval.jsonl.
// Fields added over time are optional, so older runs still read.

/** The options a run was trained with: the parsed `dcgan train` flags, as config.json keeps them. */
export interface RunOptions {
  arch?: string;
  dataset: string;
  data?: string;
  imageSize: number;
  width: number;
  latent: number;
  channels: 1 | 3;
  conditional?: boolean;
  epochs: number;
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
  seed: number;
  limit?: number;
  logEvery?: number;
  evalEvery?: number;
  evalN?: number;
  backend?: string;
  /** the dataset flags (background, fit, cache, zip limits, …) travel along as they were given */
  [flag: string]: unknown;
}

/** Where and on what a run (or a resume of it) ran. */
export interface RunInfo {
  backend?: string;
  device?: string;
  time?: string;
  /** a resume on changed data (--allow-changed-data): the data it continued on */
  dataset?: { description?: string; count?: number; fingerprint?: string };
}

/** The images a run trains on: their number and a fingerprint of their decoded pixels (run/dataset.ts). */
export interface DatasetIdentity {
  count: number;
  fingerprint: string;
}

/** config.json */
export interface RunConfig extends RunInfo {
  options: RunOptions;
  /** the fingerprint is missing in runs from before it was recorded */
  dataset?: { description?: string; count?: number; fingerprint?: string };
  command?: string;
  versions?: Record<string, string>;
  resumes?: RunInfo[];
}

/** state.json: where training stands, saved with every checkpoint. */
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
  /** --augment: the augmentation's RNG's state after the last step (its own stream, so the noise is that of a run without) */
  augmentRng?: number[];
  /** in the middle of an epoch: its losses so far, so that its metrics line averages the whole epoch after a resume */
  epochSums?: EpochSums;
  /** --keep-best: the best epoch so far by its figure (best/ holds its generator) */
  best?: { figure: string; value: number; epoch: number; step: number };
}

/** Sums of an epoch's per-step losses and outputs over its first n steps, and the seconds they took. */
export interface EpochSums {
  loss_D: number;
  loss_G: number;
  D_x: number;
  D_G_z: number;
  n: number;
  seconds: number;
}

/** Quality figures of a generator against its data (`dcgan eval`, `--eval-every`). */
export interface EvalFigures {
  /** images per set (the asked n, or fewer when the data has fewer) */
  n: number;
  seed: number;
  /** SWD ×10³ per level, keyed by resolution, and their mean as `avg` */
  swd_x1e3: Record<string, number>;
  /** mean distance (RMS, pixels in [0, 1]) from generated images to their nearest reference image… */
  nn_generated: number;
  /** …and from held-out real images to theirs: generated ≪ real means G copies its training images */
  nn_real: number;
  /** images in the held-out query set and in the reference set */
  nn_queries: number;
  nn_reference: number;
  /** conditional runs: the share of generated images whose class D's class head names as the class asked for */
  class_agreement?: number;
  seconds: number;
}

/** One line of eval.jsonl: the figures and the point of training they describe. */
export interface EvalRecord extends EvalFigures {
  epoch: number;
  step: number;
  time: string;
  /** which of the run's generators (run/runs.ts generatorDir); absent in records from before runs kept several */
  generator?: string;
}

/** One line of steps.jsonl; a non-finite value was written as null. */
export interface StepRecord {
  step: number;
  epoch: number;
  loss_D: number | null;
  loss_G: number | null;
  D_x: number | null;
  D_G_z: number | null;
}

/** One line of metrics.jsonl. */
export interface EpochRecord {
  epoch: number;
  step: number;
  loss_D: number | null;
  loss_G: number | null;
  D_x: number | null;
  D_G_z: number | null;
  images_per_s: number | null;
  seconds: number | null;
  backend?: string;
  time?: string;
  diversity?: number | null;
  /** a growing run (--fade-kimg): the phase at the epoch's end, as its grid was drawn ("8×8 fading in, α 0.42") */
  phase?: string;
  eval?: EvalFigures;
  warning?: string;
}
