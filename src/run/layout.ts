// Where each file of a run folder lives. The folder describes itself: config.json (every option, versions),
// metrics.jsonl (one line per epoch), steps.jsonl (losses per step), eval.jsonl (one line per `dcgan eval`),
// samples/epoch-NNN.png, fixed-noise.bin, plot.png, report.html, and the checkpoint (generator/, discriminator/,
// optimizer/, state.json).
import path from 'node:path';

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

/**
 * Every name a run writes into its folder, the lock aside: a folder holding any of them holds a run (a fresh `train`
 * refuses it), and `train --overwrite` deletes exactly these.
 */
export const RUN_FILE_NAMES = [
  'config.json', 'metrics.jsonl', 'steps.jsonl', 'eval.jsonl', 'fixed-noise.bin', 'classes.json', 'samples', 'plot.png',
  'report.html', 'generator', 'generator-ema', 'best', 'discriminator', 'optimizer', 'state.json', '.checkpoint-staging',
] as const;

export type RunFiles = ReturnType<typeof runFiles>;

/** Sample grids are named epoch-NNN.png; NNN grows past three digits after epoch 999. */
export const SAMPLE_GRID_NAME = /^epoch-(\d+)\.png$/;
