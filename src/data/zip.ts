// Image entries of a zip archive, read into memory one at a time (nothing is ever extracted to disk), behind size,
// name and overlap checks that refuse the whole archive before anything is inflated.
import { DatasetError } from './errors.js';
import { isIgnoredPath, isImageName } from './filter.js';
import type { ImageInput } from './decode.js';
import { readCentralDirectory, readEntry, ZipTooManyEntries, type ByteSource, type ZipEntryInfo } from './zip-reader.js';

export interface ZipLimits {
  /** entries in the archive, folders and non-images included */
  maxEntries: number;
  /** uncompressed bytes of one image entry */
  maxEntrySize: number;
  /** uncompressed bytes of all image entries together */
  maxTotalSize: number;
  /** uncompressed ÷ compressed size of one image entry (checked from 64 KiB up; tiny entries cannot bomb) */
  maxRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 250_000,
  maxEntrySize: 64 * 1024 * 1024,
  maxTotalSize: 4 * 1024 * 1024 * 1024,
  maxRatio: 100,
};

const RATIO_FLOOR = 64 * 1024;

/** The flag that raises each limit, for the error messages. */
export const ZIP_LIMIT_FLAGS: Record<keyof ZipLimits, string> = {
  maxEntries: '--zip-max-entries',
  maxEntrySize: '--zip-max-entry-size',
  maxTotalSize: '--zip-max-total-size',
  maxRatio: '--zip-max-ratio',
};

function mib(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 2 : 0)} MiB`;
}

/**
 * True for names that could land outside a destination folder if someone did extract them (zip slip), on any OS:
 * absolute (`/x`, `\x`, UNC `\\server\share`), on a drive (`C:\x`, `C:x`), with a `..` segment under either
 * separator, or holding a NUL (C APIs would end the name there, unchecked).
 */
export function isUnsafeEntryName(name: string): boolean {
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name) || name.includes('\0')) return true;
  return name.split(/[\\/]/).some((part) => part === '..');
}

/** An entry name for a one-line message: control characters (NUL, newlines) as \xNN. */
function printable(name: string): string {
  return name.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export interface ZipImages {
  /** image entries in sorted name order, each read (inflated) only when asked */
  entries: ImageInput[];
  /** total uncompressed bytes of those entries */
  bytes: number;
}

/**
 * Lists an archive's image entries, refusing the whole archive if any entry name is unsafe, any limit is passed, or
 * image entries share bytes (the overlapping-entry zip bomb). `label` names the archive in messages. The entries read
 * from `src`, which must stay open until they have been read.
 */
export async function zipImages(src: ByteSource, label: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipImages> {
  let all: ZipEntryInfo[];
  try {
    all = await readCentralDirectory(src, limits.maxEntries);
  } catch (err) {
    if (err instanceof ZipTooManyEntries) {
      throw new DatasetError(
        `${label} has ${err.count} entries, over the ${limits.maxEntries} limit (raise it with ${ZIP_LIMIT_FLAGS.maxEntries})`,
      );
    }
    throw new DatasetError(`${label} is not a readable zip archive (${oneLine(err)})`);
  }

  const images: ZipEntryInfo[] = [];
  let bytes = 0;
  for (const entry of all) {
    const name = printable(entry.name);
    if (isUnsafeEntryName(entry.name)) {
      throw new DatasetError(`${label} has an unsafe entry name "${name}" (absolute paths, drive letters, ".." and NUL are refused)`);
    }
    if (entry.isDirectory || isIgnoredPath(entry.name) || !isImageName(entry.name)) continue;
    const { size, compressedSize: packed } = entry;
    if (size > limits.maxEntrySize) {
      throw new DatasetError(
        `${label}: entry "${name}" is ${mib(size)} uncompressed, over the ${mib(limits.maxEntrySize)} limit (raise it with ${ZIP_LIMIT_FLAGS.maxEntrySize})`,
      );
    }
    if (size >= RATIO_FLOOR && size > packed * limits.maxRatio) {
      const ratio = packed > 0 ? `${Math.round(size / packed)}:1` : 'from nothing';
      throw new DatasetError(
        `${label}: entry "${name}" expands ${ratio}, over the ${limits.maxRatio}:1 compression-ratio limit (raise it with ${ZIP_LIMIT_FLAGS.maxRatio})`,
      );
    }
    bytes += size;
    if (bytes > limits.maxTotalSize) {
      throw new DatasetError(
        `${label}: its images are over ${mib(limits.maxTotalSize)} uncompressed in total (raise the limit with ${ZIP_LIMIT_FLAGS.maxTotalSize})`,
      );
    }
    images.push(entry);
  }
  checkNoOverlap(images, label);
  images.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    bytes,
    // inflation stops at the declared size and the CRC is checked, so a lying header cannot get past the limits
    // above; an encrypted or damaged entry throws and is counted as unreadable
    entries: images.map((entry) => ({ name: entry.name, read: () => readEntry(src, entry) })),
  };
}

/**
 * Refuses image entries whose records overlap: one deflate stream listed many times is a bomb that the per-entry
 * ratio cannot see. Each record spans at least its 30-byte local header and its compressed data; checking that lower
 * bound needs no local header reads, and what it could miss (sharing within a name and extra field, < 128 KiB a pair)
 * gives no amplification.
 */
function checkNoOverlap(entries: ZipEntryInfo[], label: string): void {
  const ranges = entries
    .map((e) => ({ start: e.localOffset, end: e.localOffset + 30 + e.compressedSize, name: printable(e.name) }))
    .sort((a, b) => a.start - b.start);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i].start < ranges[i - 1].end) {
      throw new DatasetError(`${label}: entries "${ranges[i - 1].name}" and "${ranges[i].name}" share their bytes (an overlapping-entry zip bomb)`);
    }
  }
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}
