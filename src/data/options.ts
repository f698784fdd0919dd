// The dataset flags, kept beside the loaders so a new source brings its own flags without touching the CLI.
import { InvalidArgumentError, type Command } from 'commander';
import { commanderOptions, type OptionSpec } from '../util/option-spec.js';
import { positiveInt, positiveNumber } from '../util/parse.js';
import { DATASET_NAMES, datasetChannels, POKEMON_URL_ENV } from './catalog.js';
import { CROP_MODES, type CropMode } from './crop.js';
import type { LoadOptions } from './index.js';
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

/**
 * The dataset flags of `dcgan train` (and, through config.json, of every command that reloads a run's data). `legacy`:
 * what a run recorded before the flag existed had (see RunOptionSpec).
 */
export const DATASET_OPTIONS: (OptionSpec & { legacy?: unknown })[] = [
  {
    flag: '--dataset <name>',
    help: 'image source: pokesprite (offline), pokemon (d2l download), mnist, mnist-10k (offline, 10,000 labelled digits), fashion-mnist',
    choices: DATASET_NAMES, default: 'pokesprite',
  },
  {
    flag: '--data <path>',
    help: 'local images instead: a folder (recursive) or .zip of PNG/JPEG/GIF/WebP, one subfolder per class; with mnist/fashion-mnist, a folder holding train-images-idx3-ubyte.gz (and train-labels-idx1-ubyte.gz)',
  },
  { flag: '--url <url>', help: `download from this mirror instead (pokemon: also $${POKEMON_URL_ENV}; mnist: the file or its folder)` },
  { flag: '--sha1 <hex>', help: "the download's expected SHA-1, for a mirror serving a different file" },
  { flag: '--background <colour>', help: 'colour that transparent pixels are flattened onto', default: 'white' },
  { flag: '--fit <mode>', help: 'fill: stretch to a square (d2l); contain: pad', choices: ['fill', 'contain'], default: 'fill' },
  // no default here: the dataset's (datasetDefaults), filled in where --channels is
  {
    flag: '--crop <mode>', choices: CROP_MODES, legacy: 'none',
    help: "content: cut each image to what it shows (its visible pixels, or what differs from its border colour), centred on a square with a margin; none: the whole frame (default: the dataset's, content for pokesprite and pokemon, none for the MNISTs)",
  },
  {
    flag: '--mirror', negation: 'no flipped copies', legacy: false,
    help: "also each image flipped left–right, doubling the set (default: the dataset's, on for pokesprite and pokemon, off for the MNISTs)",
  },
  { flag: '--cache-dir <dir>', help: 'where downloads and decoded image sets are kept', default: 'data' },
  { flag: '--no-cache', help: 'decode the images again instead of using (or writing) the decoded-set cache' },
  { flag: '--zip-max-entries <n>', help: 'refuse archives with more entries', parse: positiveInt, default: DEFAULT_ZIP_LIMITS.maxEntries },
  {
    flag: '--zip-max-entry-size <size>', help: 'refuse archives with a larger image entry (uncompressed)',
    parse: parseSize, default: DEFAULT_ZIP_LIMITS.maxEntrySize, defaultText: '64M',
  },
  {
    flag: '--zip-max-total-size <size>', help: 'refuse archives whose images are larger in total (uncompressed)',
    parse: parseSize, default: DEFAULT_ZIP_LIMITS.maxTotalSize, defaultText: '4G',
  },
  { flag: '--zip-max-ratio <n>', help: 'refuse archives with an image entry compressed more than n:1', parse: positiveNumber, default: DEFAULT_ZIP_LIMITS.maxRatio },
];

export function addDatasetOptions(cmd: Command): Command {
  for (const spec of DATASET_OPTIONS) for (const option of commanderOptions(spec)) cmd.addOption(option);
  return cmd;
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
    // the CLI fills both from datasetDefaults; a run recorded before these flags existed had neither
    crop: (opts.crop ?? 'none') as CropMode,
    mirror: opts.mirror === true,
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
  return datasetChannels(opts.dataset as string | undefined);
}
