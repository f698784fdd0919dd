// The dataset flags, kept beside the loaders so a new source brings its own flags without touching the CLI.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DATASET_NAMES, type LoadOptions } from './index.js';
import { POKEMON_URL_ENV } from './pokemon.js';
import { downloadReporter } from './progress.js';
import { DEFAULT_ZIP_LIMITS } from './zip.js';

/** "512k", "64M", "4G" or plain bytes → bytes (binary units). */
export function parseSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(value);
  if (!m) throw new InvalidArgumentError('expected a size such as 512k, 64M or 4G');
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Math.round(Number(m[1]) * scale);
  if (bytes < 1) throw new InvalidArgumentError('expected a size of at least one byte');
  return bytes;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

export function addDatasetOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--dataset <name>',
        'image source: pokesprite (offline), pokemon (d2l download), mnist, mnist-10k (offline, 10,000 labelled digits), fashion-mnist',
      )
        .choices([...DATASET_NAMES])
        .default('pokesprite'),
    )
    .option(
      '--data <path>',
      'local images instead: a folder (recursive) or .zip of PNG/JPEG/GIF/WebP, one subfolder per class; with mnist/fashion-mnist, a folder holding train-images-idx3-ubyte.gz (and train-labels-idx1-ubyte.gz)',
    )
    .option('--url <url>', `download from this mirror instead (pokemon: also $${POKEMON_URL_ENV}; mnist: the file or its folder)`)
    .option('--sha1 <hex>', "the download's expected SHA-1, for a mirror serving a different file")
    .option('--background <colour>', 'colour that transparent pixels are flattened onto', 'white')
    .addOption(new Option('--fit <mode>', 'fill: stretch to a square (d2l); contain: pad').choices(['fill', 'contain']).default('fill'))
    .option('--cache-dir <dir>', 'where downloads and decoded image sets are kept', 'data')
    .option('--no-cache', 'decode the images again instead of using (or writing) the decoded-set cache')
    .addOption(new Option('--zip-max-entries <n>', 'refuse archives with more entries').argParser(positiveInt).default(DEFAULT_ZIP_LIMITS.maxEntries))
    .addOption(new Option('--zip-max-entry-size <size>', 'refuse archives with a larger image entry (uncompressed)').argParser(parseSize).default(DEFAULT_ZIP_LIMITS.maxEntrySize, '64M'))
    .addOption(new Option('--zip-max-total-size <size>', 'refuse archives whose images are larger in total (uncompressed)').argParser(parseSize).default(DEFAULT_ZIP_LIMITS.maxTotalSize, '4G'))
    .addOption(new Option('--zip-max-ratio <n>', 'refuse archives with an image entry compressed more than n:1').argParser(positiveNumber).default(DEFAULT_ZIP_LIMITS.maxRatio));
}

/**
 * The dataset part of the parsed options, with the model's size and channels. Download progress goes to stderr
 * (a bar on a terminal, occasional lines otherwise) and notes such as skipped files to console.error; the caller may
 * replace `onDownload`, `log` or `cacheDir` in the result.
 */
export function datasetOptionsFrom(
  opts: Record<string, unknown>,
  size: number,
  channels: 1 | 3,
  limit: number | undefined,
): LoadOptions {
  const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
  const num = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);
  return {
    dataset: (opts.dataset ?? 'pokesprite') as LoadOptions['dataset'],
    data: str(opts.data),
    url: str(opts.url),
    sha1: str(opts.sha1),
    background: String(opts.background ?? 'white'),
    fit: (opts.fit ?? 'fill') as LoadOptions['fit'],
    size,
    channels,
    limit,
    cacheDir: str(opts.cacheDir) ?? 'data',
    cache: opts.cache !== false,
    zipLimits: {
      maxEntries: num(opts.zipMaxEntries, DEFAULT_ZIP_LIMITS.maxEntries),
      maxEntrySize: num(opts.zipMaxEntrySize, DEFAULT_ZIP_LIMITS.maxEntrySize),
      maxTotalSize: num(opts.zipMaxTotalSize, DEFAULT_ZIP_LIMITS.maxTotalSize),
      maxRatio: num(opts.zipMaxRatio, DEFAULT_ZIP_LIMITS.maxRatio),
    },
    onDownload: downloadReporter(),
    log: (line) => console.error(line),
  };
}

/** The channels a dataset naturally has, used when --channels is not given: grey for the MNISTs, RGB otherwise. */
export function naturalChannels(opts: Record<string, unknown>): 1 | 3 {
  return opts.dataset === 'mnist' || opts.dataset === 'mnist-10k' || opts.dataset === 'fashion-mnist' ? 1 : 3;
}
