// Where each file of a run folder lives. The folder describes itself: config.json (every option, versions),
// metrics.jsonl (one line per epoch), steps.jsonl (losses per step), eval.jsonl (one line per `dcgan eval`),
// samples/epoch-NNN.png, fixed-noise.bin, plot.png, report.html, and the checkpoint (generator/, discriminator/,
// optimizer/, state.json).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ownedFile, ownedFolder, type Owned } from '../util/owned.js';

export const runFiles = (runDir: string) => ({
  config: path.join(runDir, 'config.json'),
  metrics: path.join(runDir, 'metrics.jsonl'),
  steps: path.join(runDir, 'steps.jsonl'),
  evals: path.join(runDir, 'eval.jsonl'),
  fixedNoise: path.join(runDir, 'fixed-noise.bin'),
  /** a conditional run's class names */
  classes: path.join(runDir, 'classes.json'),
  samples: path.join(runDir, 'samples'),
  sampleGrid: (epoch: number) => path.join(runDir, 'samples', `epoch-${String(epoch).padStart(3, '0')}.png`),
  /** losses and D outputs per step, redrawn after every epoch */
  plot: path.join(runDir, 'plot.png'),
  report: path.join(runDir, 'report.html'),
  generator: path.join(runDir, 'generator'),
  /** --ema: the moving average of G's weights, what samples come from */
  generatorAverage: path.join(runDir, 'generator-ema'),
  /** --keep-best: generator/ (and generator-ema/) of the best epoch, with best.json */
  best: path.join(runDir, 'best'),
  discriminator: path.join(runDir, 'discriminator'),
  optimizer: path.join(runDir, 'optimizer'),
  state: path.join(runDir, 'state.json'),
});

// What a run owns, part by part: `train --overwrite` (and a run started again) deletes exactly these and refuses a
// folder where an owned folder holds anything else. A new part of a run is one line here.
const NETWORK = [ownedFile('model.json'), ownedFile('weights.bin')];
/** A checkpoint's parts (checkpoint.ts writes them, state.json last). */
export const CHECKPOINT_PARTS: readonly Owned[] = [
  ownedFolder('generator', ...NETWORK),
  // --ema: the moving average of G's weights
  ownedFolder('generator-ema', ...NETWORK),
  ownedFolder('discriminator', ...NETWORK),
  // optimizer.json + slots.bin; adam.json + moments.bin before optimizers other than Adam
  ownedFolder('optimizer', ownedFile('optimizer.json'), ownedFile('slots.bin'), ownedFile('adam.json'), ownedFile('moments.bin')),
  // --keep-best: the best epoch's generator (and its average), with best.json
  ownedFolder('best', ownedFolder('generator', ...NETWORK), ownedFolder('generator-ema', ...NETWORK), ownedFile('best.json')),
  // --fade-kimg: a growing run's G and D with every layer
  ownedFolder('growing', ownedFolder('generator', ...NETWORK), ownedFolder('discriminator', ...NETWORK), ownedFolder('generator-ema', ...NETWORK)),
  ownedFile('state.json'),
];
/** Where a checkpoint is written before it is committed (checkpoint.ts). */
export const CHECKPOINT_STAGING = '.checkpoint-staging';
export const STAGING_PARTS: readonly Owned[] = [...CHECKPOINT_PARTS, ownedFile('COMPLETE')];

/** Sample grids are named epoch-NNN.png; NNN grows past three digits after epoch 999. */
export const SAMPLE_GRID_NAME = /^epoch-(\d+)\.png$/;

/** Everything a run writes into its folder, the lock aside. */
export const RUN_PARTS: readonly Owned[] = [
  ownedFile('config.json'),
  ownedFile('metrics.jsonl'),
  ownedFile('steps.jsonl'),
  ownedFile('eval.jsonl'),
  ownedFile('fixed-noise.bin'),
  ownedFile('classes.json'),
  ownedFolder('samples', ownedFile(SAMPLE_GRID_NAME)),
  ownedFile('plot.png'),
  ownedFile('report.html'),
  ...CHECKPOINT_PARTS,
  ownedFolder(CHECKPOINT_STAGING, ...STAGING_PARTS),
];

/** The top-level names of RUN_PARTS: a folder holding any of them holds a run, or files a run would replace. */
export const RUN_FILE_NAMES: readonly string[] = RUN_PARTS.map((p) => ('file' in p ? String(p.file) : p.folder));

export type RunFiles = ReturnType<typeof runFiles>;

/** Which of a run's generators a command uses (`--raw`, `--best`). */
export interface GeneratorChoice {
  /** G itself, not the average of its weights */
  raw?: boolean;
  /** the best epoch's (--keep-best), not the latest */
  best?: boolean;
}

/**
 * The folder of the generator a command uses: the average of G's weights where the run keeps one (--ema), since that is
 * what the run's grids show; G itself with `raw` or in a run without an average; from best/ with `best`. Also says
 * which it is, for people ("the average of G's weights, best epoch").
 */
export function generatorDir(run: string, choice: GeneratorChoice = {}): { dir: string; what: string } {
  const files = runFiles(run);
  const root = choice.best ? files.best : run;
  if (choice.best && !existsSync(path.join(root, 'generator', 'model.json'))) {
    throw new Error(`no best generator in ${run} (${root} is missing: train with --keep-best loss-g or swd)`);
  }
  const average = path.join(root, 'generator-ema');
  const useAverage = !choice.raw && existsSync(path.join(average, 'model.json'));
  const what = (useAverage ? "the average of G's weights" : 'G') + (choice.best ? ', best epoch' : '');
  return { dir: useAverage ? average : path.join(root, 'generator'), what };
}
