// What every dataset provides to the loader: an identity for the cache, and a way to decode when the cache misses.
import type { DecodeResult } from './decode.js';
import type { DownloadOptions, OnDownload } from './download.js';
import type { ZipLimits } from './zip.js';
import type { Labelling, PreprocessOptions } from './types.js';

/** What sources need from LoadOptions (kept here so sources do not import the loader). */
export interface SourceOptions extends PreprocessOptions {
  /** use only the first N images of the source's stable order */
  limit?: number;
  /** downloads go to `<cacheDir>/downloads/` */
  cacheDir: string;
  /** a local folder, .zip or IDX file standing in for the download */
  data?: string;
  url?: string;
  sha1?: string;
  zipLimits: ZipLimits;
  /** retries, retryDelayMs and timeoutMs for downloads */
  network?: Pick<DownloadOptions, 'retries' | 'retryDelayMs' | 'timeoutMs'>;
  onDownload?: OnDownload;
}

/** What a source decodes to: the pixels, the files it skipped, and the images' classes or why there are none. */
export type DecodedSet = Omit<DecodeResult, 'kept'> & Labelling;

export interface Source {
  /** a short name, the cache file's prefix */
  kind: string;
  /** everything besides size, channels and limit that decides the pixels and labels: the bytes' identity, and preprocessing */
  key: Record<string, unknown>;
  /** where the images come from, for messages */
  label: string;
  /** reads and decodes the (limited) set; called only when the cache has no copy */
  decode(onProgress?: (done: number, total: number) => void): Promise<DecodedSet>;
  /** for people, e.g. "pokemon (d2l): 40597 sprites" */
  describe(count: number): string;
}

/** The preprocessing options that change decoded pixels of image files (IDX sources leave them out). */
export function imageOptionsKey(o: PreprocessOptions): Record<string, unknown> {
  return { background: o.background, fit: o.fit };
}

export function applyLimit<T>(items: T[], limit: number | undefined): T[] {
  return limit === undefined ? items : items.slice(0, limit);
}
