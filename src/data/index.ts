// The dataset seam: every source becomes an ImageSet of the model's size and channels, cached after the first decode.
import path from 'node:path';
import sharp from 'sharp';
import { cachePath, readCache, writeCache } from './cache.js';
import { DATASET_NAMES, type DatasetName } from './catalog.js';
import { shortList } from './classes.js';
import { BACKGROUND_TOLERANCE, CROP_MARGIN, CROP_MODES } from './crop.js';
import type { DownloadOptions, OnDownload } from './download.js';
import { DatasetError } from './errors.js';
import { mirrorImages } from './mirror.js';
import { idxSource } from './mnist.js';
import { mnist10kSource } from './mnist-10k.js';
import { pathSource } from './path-source.js';
import { pokemonSource } from './pokemon.js';
import { pokespriteSource } from './pokesprite.js';
import type { Source, SourceOptions } from './source.js';
import type { ImageSet, Labelling, PreprocessOptions } from './types.js';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from './zip.js';

export { requireClasses } from './classes.js';
export { DatasetError } from './errors.js';
export type { DownloadEvent, OnDownload } from './download.js';
export type { ImageSet, Labelling, PreprocessOptions } from './types.js';
export { CROP_MODES, type CropMode } from './crop.js';

export { DATASET_NAMES, type DatasetName } from './catalog.js';

export interface LoadOptions extends PreprocessOptions {
  dataset: DatasetName;
  /**
   * A local source instead of the package or a download: for pokesprite and pokemon a folder (recursive) or .zip of
   * images, a class per folder; for mnist and fashion-mnist a folder holding train-images-idx3-ubyte[.gz] (or that
   * file), and train-labels-idx1-ubyte[.gz] beside it for the classes. mnist-10k takes none.
   */
  data?: string;
  /** pokemon: the zip's URL (default: $DCGAN_POKEMON_URL, else d2l's); mnist, fashion-mnist: the file's or its folder's */
  url?: string;
  /** the expected SHA-1 of the download, for a mirror that serves a different file */
  sha1?: string;
  /** use only the first N images of the source's stable order (the cache is keyed by it: only N are decoded) */
  limit?: number;
  /**
   * also each image flipped left–right, after the (limited) set is read: N source images become 2N, the mirror images
   * after the originals (ImageSet.mirrored). The cache holds the source images only.
   */
  mirror?: boolean;
  /** where downloads and decoded sets are kept (default: `data` under the working directory) */
  cacheDir?: string;
  /** false: neither read nor write the decoded-set cache (downloads are still kept) */
  cache?: boolean;
  zipLimits?: Partial<ZipLimits>;
  /** download retry and timeout settings (tests shorten them) */
  network?: Pick<DownloadOptions, 'retries' | 'retryDelayMs' | 'timeoutMs'>;
  /** decode progress: images done of total (not called when the cache is used) */
  onProgress?: (done: number, total: number) => void;
  /** download progress; `downloadReporter()` in ./progress.js renders it */
  onDownload?: OnDownload;
  /** one-line notes for people: skipped files, a cache that could not be written */
  log?: (line: string) => void;
}

/** Where the decoded set for these options lives, and the key it must carry (the loader's first step, exposed). */
export async function cacheEntryFor(o: LoadOptions): Promise<{ source: Source; key: Record<string, unknown>; file: string }> {
  checkOptions(o);
  const so: SourceOptions = {
    ...o,
    cacheDir: path.resolve(o.cacheDir ?? 'data'),
    zipLimits: { ...DEFAULT_ZIP_LIMITS, ...o.zipLimits },
  };
  const source = await resolveSource(o.dataset, so);
  // v2: the set carries its labels. The crop is left out when it is none, so sets cached before --crop keep their key.
  const crop = o.crop === 'content' ? { mode: 'content', margin: CROP_MARGIN, tolerance: BACKGROUND_TOLERANCE } : undefined;
  const key = { v: 2, kind: source.kind, ...source.key, size: o.size, channels: o.channels, limit: o.limit ?? null, crop };
  return { source, key, file: cachePath(so.cacheDir, source.kind, key, o.size, o.channels) };
}

export async function loadImageSet(o: LoadOptions): Promise<ImageSet> {
  const { source, key, file } = await cacheEntryFor(o);
  const copies = o.mirror ? 2 : 1;
  // `pixels` holds `count` images, and with --mirror room for as many more: their mirror images go there
  const set = (pixels: Uint8Array, count: number, classes: Labelling, note = ''): ImageSet => {
    if (o.mirror) mirrorImages(pixels, count, o.size, o.channels);
    const labels = classes.labels && o.mirror ? twice(classes.labels) : classes.labels;
    return {
      pixels,
      count: count * copies,
      size: o.size,
      channels: o.channels,
      description: source.describe(count) + note + (o.mirror ? `, and their mirror images: ${count * copies} in all` : ''),
      ...(labels !== undefined && classes.classNames !== undefined
        ? { labels, classNames: classes.classNames }
        : { whyNoLabels: classes.whyNoLabels }),
      ...(o.mirror ? { mirrored: true } : {}),
    };
  };

  if (o.cache !== false) {
    // with room for the mirror images, so the set is never held twice
    const hit = await readCache(file, key, copies);
    if (hit) return set(hit.pixels, hit.count, hit, ' (cached)');
  }

  await checkBackground(o.background);
  const r = await source.decode(o.onProgress);
  if (r.skipped.length > 0) o.log?.(skippedLine(r.skipped));
  if (r.blank.length > 0) o.log?.(blankLine(r.blank));
  if (r.count === 0) throw new DatasetError(nothingUsable(source.label, r.skipped, r.blank));
  if (o.cache !== false) {
    try {
      await writeCache(file, key, { ...r, size: o.size, channels: o.channels });
    } catch (err) {
      // the images are fine; only the next run will be slower
      o.log?.(`could not cache the decoded images in ${file}: ${(err as Error).message}`);
    }
  }
  return set(o.mirror ? withRoom(r.pixels, copies) : r.pixels, r.count, r);
}

/** The pixels in an array `copies` times as long, the rest zero (for the mirror images). */
function withRoom(pixels: Uint8Array, copies: number): Uint8Array {
  const out = new Uint8Array(pixels.length * copies);
  out.set(pixels);
  return out;
}

function twice(labels: Uint16Array): Uint16Array {
  const out = new Uint16Array(2 * labels.length);
  out.set(labels);
  out.set(labels, labels.length);
  return out;
}

/** How the user named the set, for messages: `--data PATH` or `--dataset NAME`. */
export function sourceName(o: Pick<LoadOptions, 'dataset' | 'data'>): string {
  return o.data !== undefined ? `--data ${o.data}` : `--dataset ${o.dataset}`;
}

function resolveSource(dataset: DatasetName, o: SourceOptions): Promise<Source> | Source {
  switch (dataset) {
    case 'mnist':
    case 'fashion-mnist':
      return idxSource(dataset, o);
    case 'mnist-10k':
      return mnist10kSource(o);
    case 'pokemon':
      return o.data !== undefined ? pathSource(o.data, o) : pokemonSource(o);
    case 'pokesprite':
      return o.data !== undefined ? pathSource(o.data, o) : pokespriteSource(o);
    default:
      throw new DatasetError(`unknown dataset "${dataset as string}" (choose from ${DATASET_NAMES.join(', ')})`);
  }
}

function checkOptions(o: LoadOptions): void {
  if (!Number.isInteger(o.size) || o.size < 1) throw new DatasetError(`the image size must be a positive integer, not ${o.size}`);
  if (o.channels !== 1 && o.channels !== 3) throw new DatasetError(`channels must be 1 or 3, not ${o.channels}`);
  if (o.fit !== 'fill' && o.fit !== 'contain') throw new DatasetError(`--fit must be fill or contain, not ${o.fit}`);
  if (o.crop !== undefined && !CROP_MODES.includes(o.crop)) throw new DatasetError(`--crop must be ${CROP_MODES.join(' or ')}, not ${o.crop}`);
  if (o.limit !== undefined && (!Number.isInteger(o.limit) || o.limit < 1)) {
    throw new DatasetError(`--limit must be a positive integer, not ${o.limit}`);
  }
}

/** A colour sharp cannot parse would fail every image and read as "nothing could be decoded": say what it is. */
async function checkBackground(colour: string): Promise<void> {
  try {
    await sharp({ create: { width: 1, height: 1, channels: 3, background: colour } }).raw().toBuffer();
  } catch {
    throw new DatasetError(`--background ${colour} is not a colour (try white, black, #808080 or rgb(128,128,128))`);
  }
}

export function skippedLine(skipped: string[]): string {
  const n = skipped.length;
  return `skipped ${n} unreadable file${n === 1 ? '' : 's'}: ${shortList(skipped)}`;
}

/** Why a source gave no image at all: none decoded, or (--crop content) none that decoded had a visible pixel. */
function nothingUsable(label: string, skipped: string[], blank: string[]): string {
  const total = skipped.length + blank.length;
  if (blank.length === 0) return `none of the ${total} image files in ${label} could be decoded (${shortList(skipped)})`;
  const reasons = [`${blank.length} ${blank.length === 1 ? 'has' : 'have'} no visible pixel (${shortList(blank)})`];
  if (skipped.length > 0) reasons.unshift(`${skipped.length} could not be decoded (${shortList(skipped)})`);
  return `none of the ${total} image files in ${label} could be used: ${reasons.join(', ')}`;
}

/** `--crop content` found nothing to keep in these. */
export function blankLine(blank: string[]): string {
  const n = blank.length;
  return `skipped ${n} image${n === 1 ? '' : 's'} with no visible pixel: ${shortList(blank)}`;
}
