#!/usr/bin/env node
// Parses the command line and dispatches; the work lives in the modules it calls.
import { Command, CommanderError, Option } from 'commander';
import { BACKEND_NAMES } from './backend/index.js';
import { addDatasetOptions, naturalChannels } from './data/options.js';
import { latestRun, sample } from './generate/sample.js';
import { IMAGE_SIZES, type ImageSize } from './model/dcgan.js';
import { trainCommand, UsageError } from './train/command.js';
import { nonNegativeInt, oneOf, positiveInt, positiveNumber, unitInterval } from './util/parse.js';

const backendOption = () =>
  new Option('--backend <name>', 'compute backend (auto picks a GPU when there is one)').choices([...BACKEND_NAMES]).default('auto');

/** Names of the options the user typed (not defaults): a resumed run must not silently change them. */
function explicitOptions(cmd: Command): Set<string> {
  return new Set(Object.keys(cmd.opts()).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
}

function exitWith(code: number): never {
  // Some backends (Dawn for WebGPU) keep handles open that would hold the process after the work is done.
  process.exit(code);
}

export function buildProgram(): Command {
  const program = new Command('dcgan')
    .description('Train a DCGAN (Radford et al., as in "Dive into Deep Learning") and sample from it')
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (str, write) => write(str.split('\n').filter(Boolean)[0] + '\n') });

  const trainCmd = program
    .command('train')
    .description('train a DCGAN; writes sample grids and checkpoints to the run folder')
    .option('--out <dir>', 'run folder (default checkpoints/<dataset>-<size>)')
    .option('--resume', 'continue the run in --out exactly where its last checkpoint left it', false)
    .option('--epochs <n>', "the run's total number of epochs", positiveInt, 20)
    .option('--batch-size <n>', 'images per step', positiveInt, 256)
    .option('--lr <x>', 'Adam learning rate, both networks', positiveNumber, 0.005)
    .option('--beta1 <x>', "Adam's β1", unitInterval, 0.5)
    .option('--beta2 <x>', "Adam's β2", unitInterval, 0.999)
    .option('--image-size <n>', `image side in pixels: ${IMAGE_SIZES.join(', ')}`, oneOf(IMAGE_SIZES), 64)
    .option('--width <n>', 'n_G = n_D, channels of the outermost blocks', positiveInt, 64)
    .option('--latent <n>', 'size of the noise vector z', positiveInt, 100)
    .option('--channels <n>', "image channels: 3 (colour) or 1 (grey); default: the dataset's", oneOf([1, 3] as const))
    .option('--seed <n>', 'seed for weights, data order and noise', nonNegativeInt, 0)
    .option('--limit <n>', 'use only the first N images (smoke tests)', positiveInt)
    .option('--log-every <n>', 'steps between reads of the losses', positiveInt, 10)
    .addOption(backendOption());
  addDatasetOptions(trainCmd);
  trainCmd.action(async (opts: Record<string, unknown>, cmd: Command) => {
    opts.channels ??= naturalChannels(opts);
    exitWith(await trainCommand(opts, explicitOptions(cmd)));
  });

  program
    .command('sample')
    .description("write a grid of images from a run's generator")
    .option('--run <dir>', 'run folder (default: the latest under checkpoints/)')
    .option('--n <n>', 'number of images', positiveInt, 21)
    .option('--out <file>', 'PNG to write', 'grid.png')
    .option('--seed <n>', 'latent seed; the same seed gives the same image (default: random, printed)', nonNegativeInt)
    .option('--cols <n>', 'images per row', positiveInt, 7)
    .addOption(backendOption())
    .action(async (opts: Record<string, unknown>) => {
      const run = (opts.run as string | undefined) ?? (await latestRun('checkpoints'));
      if (!run) throw new UsageError('no trained run under checkpoints/ (train first, or pass --run DIR)');
      const { initBackend } = await import('./backend/index.js');
      const backend = await initBackend(opts.backend as never);
      const seed = (opts.seed as number | undefined) ?? Math.floor(Math.random() * 2 ** 31);
      const { width, height } = await sample({ run, n: Number(opts.n), out: String(opts.out), seed, cols: Number(opts.cols) });
      console.error(`${opts.out}: ${opts.n} images from ${run} (${width}×${height}, seed ${seed}, ${backend.device})`);
      exitWith(0);
    });

  program
    .command('bench')
    .description('measure training speed (images/s) on random data of the model\'s shape')
    .option('--batch-size <n>', 'images per step', positiveInt, 256)
    .option('--image-size <n>', `image side: ${IMAGE_SIZES.join(', ')}`, oneOf(IMAGE_SIZES), 64)
    .option('--width <n>', 'n_G = n_D', positiveInt, 64)
    .option('--latent <n>', 'size of z', positiveInt, 100)
    .option('--steps <n>', 'steps per timed window', positiveInt, 10)
    .option('--windows <n>', 'timed windows (the median is reported)', positiveInt, 3)
    .option('--warmup <n>', 'untimed steps first', nonNegativeInt, 3)
    .option('--top <n>', 'kernels to list from a profiled step (0: none)', nonNegativeInt, 10)
    .option('--json', 'print the result as JSON on stdout', false)
    .addOption(backendOption())
    .action(async (opts: Record<string, unknown>) => {
      const { initBackend } = await import('./backend/index.js');
      const { bench, formatBench } = await import('./bench/bench.js');
      const backend = await initBackend(opts.backend as never);
      const result = await bench(
        {
          imageSize: opts.imageSize as ImageSize, width: Number(opts.width), latent: Number(opts.latent),
          batchSize: Number(opts.batchSize), steps: Number(opts.steps), windows: Number(opts.windows),
          warmup: Number(opts.warmup), topKernels: Number(opts.top),
        },
        backend,
      );
      console.log(opts.json ? JSON.stringify(result) : formatBench(result));
      exitWith(0);
    });

  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) exitWith(err.exitCode); // commander has printed its one line
    const message = err instanceof Error ? err.message : String(err);
    console.error(`error: ${message.split('\n')[0]}`);
    if (process.env.DCGAN_DEBUG && err instanceof Error) console.error(err.stack);
    exitWith(err instanceof UsageError ? 2 : 1);
  }
}

void main(process.argv);
