#!/usr/bin/env node
// Parses the command line and dispatches; the work lives in the modules it calls.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { archOptionSpec, backendOptionSpec, threadsOptionSpec, TRAIN_OPTIONS, trainOption, withDatasetDefaults } from './run/options.js';
import { UsageError } from './util/errors.js';
import { commanderOption, commanderOptions } from './util/option-spec.js';
import { closedUnitInterval, nonNegativeInt, nonNegativeNumber, positiveInt } from './util/parse.js';
import { outputFileProblem } from './util/paths.js';
import { commandLine } from './util/shell.js';

// Only light modules above: --help, --version and a mistyped flag answer without loading TensorFlow.js or sharp.
// Each command imports what it needs when it runs.

/** --run, else the latest run under checkpoints/; none is a usage error that says what to do. */
async function runFolder(opts: Record<string, unknown>): Promise<string> {
  const { latestRun } = await import('./run/runs.js');
  const run = (opts.run as string | undefined) ?? (await latestRun('checkpoints'));
  if (!run) throw new UsageError(`no trained run under checkpoints/ (train first: ${commandLine('train')}; or pass --run DIR)`);
  return run;
}

const archOption = () => commanderOption(archOptionSpec());
const backendOption = () => commanderOption(backendOptionSpec());
const threadsOption = () => commanderOption(threadsOptionSpec());

/** --raw and --best: which of a run's generators a command uses (run/runs.ts generatorDir). */
const generatorOptions = (cmd: Command) =>
  cmd
    .option('--raw', "use G itself, not the moving average of its weights that runs trained with --ema keep (and their grids show)", false)
    .option('--best', 'use the generator of the best epoch (runs trained with --keep-best), not the latest', false);
const generatorChoice = (opts: Record<string, unknown>) => ({ raw: Boolean(opts.raw), best: Boolean(opts.best) });

/** This package's version, from its package.json two folders up (dist/cli.js or src/cli.ts → the package root). */
function ownVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Names of the options the user typed (not defaults): a resumed run must not silently change them. */
function explicitOptions(cmd: Command): Set<string> {
  return new Set(Object.keys(cmd.opts()).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
}

/** Releases the GPU, then exits: Dawn (WebGPU) can keep Node alive after the work is done. */
async function exitWith(code: number): Promise<never> {
  const { shutdownBackend } = await import('./backend/index.js');
  const grace = new Promise((resolve) => setTimeout(resolve, 2000).unref());
  await Promise.race([shutdownBackend().catch(() => {}), grace]);
  process.exit(code);
}

export function buildProgram(): Command {
  const program = new Command('dcgan')
    .description('Train a DCGAN (Radford et al., as in "Dive into Deep Learning") and sample from it')
    .version(ownVersion(), '--version', 'print the version')
    .showSuggestionAfterError(true)
    // one line: commander's "(Did you mean --epochs?)" joins the error instead of following it
    .configureOutput({ outputError: (str, write) => write(str.split('\n').map((l) => l.trim()).filter(Boolean).join(' ') + '\n') });

  const trainCmd = program
    .command('train')
    .description('train a DCGAN; writes sample grids and checkpoints to the run folder');
  for (const spec of TRAIN_OPTIONS) for (const option of commanderOptions(spec)) trainCmd.addOption(option);
  trainCmd.action(async (opts: Record<string, unknown>, cmd: Command) => {
    const { trainCommand } = await import('./train/command.js');
    await exitWith(await trainCommand(withDatasetDefaults(opts), explicitOptions(cmd)));
  });

  const sampleCmd = program
    .command('sample')
    .description("write a grid of images from a run's generator")
    .option('--run <dir>', 'run folder (default: the latest under checkpoints/)')
    .option('--n <n>', 'number of images (with --mix: rows of each band, default 3)', positiveInt, 21)
    .option('--out <file>', 'image to write: .png, .jpg or .webp (with --interpolate: .png, .gif or .webp)', 'grid.png')
    .option('--seed <n>', 'latent seed; the same seed gives the same image (default: random, printed)', nonNegativeInt)
    .option('--cols <n>', 'images per row', positiveInt, 7)
    .option('--interpolate <k>', 'K images per walk between random latents (slerp in z; on stylegan runs straight in w), --n walks; --out .png (rows = walks), .gif or .webp', positiveInt)
    .option('--search <N>', 'draw N candidates and keep the --n that the run\'s discriminator scores highest', positiveInt)
    .option('--class <name>', 'conditional runs: the class to draw (a name or index), or all (a row of --n images per class); default: the classes in turn')
    .option('--truncation <psi>', "stylegan runs: the truncation trick, every w drawn as w̄ + ψ(w − w̄) (1: none; 0: the average w's image)", closedUnitInterval)
    .option('--mix [styles]', "stylegan runs: StyleGAN's style-mixing figure, sources A as rows, B as columns (--cols), a band of rows each for B's coarse, middle and fine styles (or those listed, e.g. coarse,fine)")
    .addOption(backendOption())
    .addOption(threadsOption());
  generatorOptions(sampleCmd)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const { checkSample, imageFormat, sample } = await import('./generate/sample.js');
      const { checkInterpolation, interpolate, outputKind } = await import('./generate/interpolate.js');
      const { search, checkSearch } = await import('./generate/search.js');
      const { checkMix, describeMix, mixFigure, parseStyleGroups, STYLE_GROUPS } = await import('./generate/mix.js');
      const mix = opts.mix !== undefined;
      // a mixing figure's --n is rows of each band: 21 of them (sample's default) would make a poster
      const n = mix && cmd.getOptionValueSource('n') !== 'cli' ? 3 : Number(opts.n), out = String(opts.out), cols = Number(opts.cols);
      if (opts.interpolate !== undefined && opts.search !== undefined) throw new UsageError('--interpolate and --search do not combine; pass one');
      if (mix && (opts.interpolate !== undefined || opts.search !== undefined)) {
        throw new UsageError(`--mix does not combine with ${opts.interpolate !== undefined ? '--interpolate' : '--search'}; pass one`);
      }
      const groups = typeof opts.mix === 'string' ? parseStyleGroups(opts.mix) : undefined;
      if (opts.interpolate !== undefined) outputKind(out);
      else imageFormat(out);
      // how much is asked, before any work: an absurd --n is one line, not an allocation failure
      if (opts.interpolate !== undefined) checkInterpolation(Number(opts.interpolate), n);
      else if (opts.search !== undefined) checkSearch(Number(opts.search), n);
      else if (mix) checkMix(n, cols, groups?.length ?? STYLE_GROUPS.length);
      else checkSample(n);
      const problem = outputFileProblem(out);
      if (problem) throw new UsageError(`--out ${out}: ${problem}`);
      const run = await runFolder(opts);
      const { initBackend } = await import('./backend/index.js');
      const backend = await initBackend(opts.backend as never, { threads: Number(opts.threads) });
      const seed = (opts.seed as number | undefined) ?? Math.floor(Math.random() * 2 ** 31);
      const generator = generatorChoice(opts);
      const { generatorDir } = await import('./run/runs.js');
      const from = `${run} (${generatorDir(run, generator).what})`;
      const truncation = opts.truncation as number | undefined;
      const common = { run, n, out, seed, cols, class: opts.class as string | undefined, generator, truncation };
      const psi = truncation === undefined ? '' : `, ψ ${truncation}`;
      if (opts.interpolate !== undefined) {
        const r = await interpolate({ ...common, steps: Number(opts.interpolate) });
        const what = r.frames > 1 ? `${r.frames} frames` : 'a grid';
        const how = r.space === 'w' ? 'straight in w' : 'slerp in z';
        console.error(`${out}: ${n} walk${n === 1 ? '' : 's'} of ${opts.interpolate} steps (${how}) from ${from}, ${what} (${r.width}×${r.height}, seed ${seed}${psi}, ${backend.device})`);
      } else if (opts.search !== undefined) {
        const r = await search({ ...common, candidates: Number(opts.search) });
        const scores = r.kept.map((k) => k.score);
        console.error(`${out}: the ${n} of ${opts.search} candidates D scores highest (D ${Math.min(...scores).toFixed(3)}–${Math.max(...scores).toFixed(3)}; ` +
          `all candidates ${r.meanScore.toFixed(3)} on average) from ${from} (${r.width}×${r.height}, seed ${seed}${psi}, ${backend.device})`);
      } else if (mix) {
        const r = await mixFigure({ ...common, groups });
        console.error(`${out}: style mixing, ${describeMix(n, cols, r.groups)}, from ${from} (${r.width}×${r.height}, seed ${seed}${psi}, ${backend.device})`);
      } else {
        const { width, height, rows } = await sample(common);
        const images = `${n} image${n === 1 ? '' : 's'}`;
        const what = rows ? `${rows} rows of ${images}, a class each` : `${images}${opts.class !== undefined ? ` of class ${opts.class}` : ''}`;
        console.error(`${out}: ${what} from ${from} (${width}×${height}, seed ${seed}${psi}, ${backend.device})`);
      }
      await exitWith(0);
    });

  const evalCmd = program
    .command('eval')
    .description("quality figures of a run's generator against its data: ProGAN's sliced Wasserstein distance and a memorisation check")
    .option('--run <dir>', 'run folder (default: the latest under checkpoints/)')
    .option('--n <n>', 'generated and real images per set', positiveInt, 2048)
    .option('--seed <n>', 'seed for image choice, latents, neighbourhoods and projections', nonNegativeInt, 0)
    .option('--json', 'print the figures as JSON on stdout', false)
    .addOption(backendOption())
    .addOption(threadsOption());
  generatorOptions(evalCmd)
    .action(async (opts: Record<string, unknown>) => {
      const run = await runFolder(opts);
      const { initBackend } = await import('./backend/index.js');
      const { evalCommand } = await import('./metrics/command.js');
      const { formatEval } = await import('./metrics/evaluate.js');
      const backend = await initBackend(opts.backend as never, { threads: Number(opts.threads) });
      const record = await evalCommand({ run, n: Number(opts.n), seed: Number(opts.seed), generator: generatorChoice(opts) }, (line) => console.error(line));
      if (opts.json) console.log(JSON.stringify(record));
      else for (const line of formatEval(record)) console.log(line);
      console.error(`epoch ${record.epoch}, step ${record.step} (${record.generator}): appended to ${run}/eval.jsonl (${record.seconds.toFixed(1)} s, ${backend.device})`);
      await exitWith(0);
    });

  program
    .command('report')
    .description('write report.html into a run folder: config, curves, sample timeline, quality figures (one self-contained file)')
    .option('--run <dir>', 'run folder (default: the latest under checkpoints/)')
    .action(async (opts: Record<string, unknown>) => {
      const run = await runFolder(opts);
      const { writeReport } = await import('./report/report.js');
      console.error(`wrote ${await writeReport(run)}`);
      await exitWith(0);
    });

  const exportCmd = program
    .command('export')
    .description("write a run's generator as a static web page that runs it in the browser (TensorFlow.js, offline)")
    .requiredOption('--web <dir>', 'folder to write the page into: new, empty, or a previous export (replaced while its files are as it wrote them)')
    .option('--run <dir>', 'run folder (default: the latest under checkpoints/)');
  generatorOptions(exportCmd)
    .action(async (opts: Record<string, unknown>) => {
      const run = await runFolder(opts);
      const { exportWeb } = await import('./export/web.js');
      const r = await exportWeb({ run, dir: String(opts.web), generator: generatorChoice(opts) });
      console.error(`${opts.web}: a page for ${run} (${r.generator})${r.classes ? ` (${r.classes.length} classes)` : ''}, ` +
        `${r.files} files, ${(r.bytes / 2 ** 20).toFixed(1)} MB; serve the folder over http, e.g. ${commandLine('serve', '--dir', String(opts.web))}`);
      await exitWith(0);
    });

  const serveCmd = program
    .command('serve')
    .description("serve a run's web page on 127.0.0.1 until Ctrl-C: a folder dcgan export --web wrote (--dir), or a run's, exported first")
    .option('--dir <dir>', 'a folder dcgan export --web wrote, served as it is')
    .option('--run <dir>', 'run folder to export and serve (default: the latest under checkpoints/)')
    .option('--port <n>', 'port (0: any free one)', nonNegativeInt, 8080);
  generatorOptions(serveCmd)
    .action(async (opts: Record<string, unknown>) => {
      if (opts.dir !== undefined && opts.run !== undefined) throw new UsageError('--dir and --run do not combine: --dir serves an export as it is, --run exports a run first');
      if (opts.dir !== undefined && (opts.raw || opts.best)) throw new UsageError(`--dir and --${opts.raw ? 'raw' : 'best'} do not combine: --dir serves an export as it was written (export it again with --${opts.raw ? 'raw' : 'best'})`);
      const dir = opts.dir as string | undefined;
      const run = dir === undefined ? await runFolder(opts) : undefined;
      const { serve } = await import('./export/serve.js');
      await serve({ run, dir, port: Number(opts.port), generator: generatorChoice(opts) }, (url, folder) => {
        console.log(url);
        console.error(`serving ${run ? `the generator of ${run} from ${folder}` : folder} at ${url} (Ctrl-C stops)`);
      });
      console.error('stopped');
      await exitWith(0);
    });

  program
    .command('bench')
    .description('measure training speed (images/s) on random data of the model\'s shape')
    .addOption(archOption())
    .option('--batch-size <n>', 'images per step', positiveInt, 256)
    .option('--image-size <n>', "image side (default: the architecture's)", positiveInt)
    .option('--width <n>', "base width (default: the architecture's)", positiveInt)
    .option('--latent <n>', "size of z (default: the architecture's)", positiveInt)
    .option('--steps <n>', 'steps per timed window', positiveInt, 10)
    .option('--windows <n>', 'timed windows (the median is reported)', positiveInt, 3)
    .option('--warmup <n>', 'untimed steps first, at least', nonNegativeInt, 3)
    .option('--warmup-seconds <s>', 'untimed steps first until this many seconds have passed', nonNegativeNumber, 10)
    .option('--top <n>', 'kernels to list from a profiled step (0: none)', nonNegativeInt, 10)
    .addOption(commanderOption({ ...trainOption('augment')!, default: 'none' }))
    .addOption(commanderOption({ ...trainOption('ema')!, default: 0 }))
    .option('--json', 'print the result as JSON on stdout', false)
    .addOption(backendOption())
    .addOption(threadsOption())
    .action(async (opts: Record<string, unknown>) => {
      const { withArchDefaults } = await import('./train/command.js');
      const batchSize = Number(opts.batchSize);
      const model = withArchDefaults({ ...opts, batchSize });
      const { initBackend } = await import('./backend/index.js');
      const { bench, formatBench } = await import('./bench/bench.js');
      const backend = await initBackend(opts.backend as never, { threads: Number(opts.threads) });
      const result = await bench(
        {
          arch: model.arch as never, imageSize: Number(model.imageSize), width: Number(model.width), latent: Number(model.latent),
          batchSize, steps: Number(opts.steps), windows: Number(opts.windows),
          warmup: Number(opts.warmup), warmupSeconds: Number(opts.warmupSeconds), topKernels: Number(opts.top),
          augment: String(opts.augment), ema: Number(opts.ema),
        },
        backend,
      ).catch(async (err) => {
        if (err instanceof UsageError) throw err;
        const { describeBackendFailure } = await import('./backend/index.js');
        throw new Error((await describeBackendFailure(err, backend.name, batchSize)) ?? String(err?.message ?? err));
      });
      console.log(opts.json ? JSON.stringify(result) : formatBench(result));
      await exitWith(0);
    });

  program
    .command('info')
    .description('versions, which backends work here and why not, the GPU adapter, the libraries Dawn needs')
    .option('--json', 'print the report as JSON on stdout', false)
    .addOption(threadsOption())
    .action(async (opts: Record<string, unknown>) => {
      const { collectInfo, formatInfo } = await import('./backend/info.js');
      const report = await collectInfo({ threads: Number(opts.threads) });
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatInfo(report));
      await exitWith(0);
    });

  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // commander has printed its one line (or the help, or the version); no backend was started
    if (err instanceof CommanderError) process.exit(err.exitCode);
    const message = err instanceof Error ? err.message : String(err);
    console.error(`error: ${message.split('\n')[0]}`);
    if (process.env.DCGAN_DEBUG && err instanceof Error) console.error(err.stack);
    await exitWith(err instanceof UsageError ? 2 : 1);
  }
}

void main(process.argv);
