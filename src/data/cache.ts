// Decoded image sets on disk, one uint8 file per (source, preprocessing) key, so a second run never decodes.
//
// Layout: "DCGANSET" | u32le version | u32le header length | header JSON (key, count, size, channels, and classNames
// or whyNoLabels) | zero padding to a multiple of 8 | count·size·size·channels pixel bytes | with classNames, count
// u16le labels. The reader accepts a file only if the magic, version, key, labels and exact length all agree; anything
// else (truncated, foreign, older) is treated as absent and rebuilt.
import { createHash } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { MAX_CLASSES } from './classes.js';
import type { Labelling } from './types.js';

const MAGIC = Buffer.from('DCGANSET', 'latin1');
// 2: class labels after the pixels
export const CACHE_VERSION = 2;

export interface CachedSet extends Labelling {
  pixels: Uint8Array;
  count: number;
  size: number;
  channels: 1 | 3;
}

/** JSON with object keys sorted, so equal keys always serialise (and hash) the same. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

/** `<dir>/<prefix>-<size>x<size>x<channels>-<digest>.u8set`: readable at a glance, unique per key. */
export function cachePath(dir: string, prefix: string, key: unknown, size: number, channels: number): string {
  const digest = createHash('sha256').update(stableStringify(key)).digest('hex').slice(0, 16);
  return path.join(dir, `${prefix}-${size}x${size}x${channels}-${digest}.u8set`);
}

/**
 * The cached set for `key`, or null when the file is missing, damaged, or holds something else. With `copies` > 1 the
 * pixels array has room for that many times the set (the set first, then zeros), for copies made after the read.
 */
export async function readCache(file: string, key: unknown, copies = 1): Promise<CachedSet | null> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return null;
  }
  try {
    const fileSize = (await fh.stat()).size;
    const head = Buffer.alloc(16);
    if ((await fh.read(head, 0, 16, 0)).bytesRead !== 16 || !head.subarray(0, 8).equals(MAGIC)) return null;
    if (head.readUInt32LE(8) !== CACHE_VERSION) return null;
    const jsonLength = head.readUInt32LE(12);
    if (16 + jsonLength > fileSize) return null;
    const json = Buffer.alloc(jsonLength);
    if ((await fh.read(json, 0, jsonLength, 16)).bytesRead !== jsonLength) return null;
    let header: Record<'key' | 'count' | 'size' | 'channels' | 'classNames' | 'whyNoLabels', unknown>;
    try {
      header = JSON.parse(json.toString('utf8'));
    } catch {
      return null;
    }
    const { count, size, channels, classNames, whyNoLabels } = header;
    if (stableStringify(header.key) !== stableStringify(key)) return null;
    if (!isCount(count) || !isCount(size) || (channels !== 1 && channels !== 3)) return null;
    if (classNames !== undefined && !isClassNames(classNames)) return null;
    if (whyNoLabels !== undefined && (typeof whyNoLabels !== 'string' || classNames !== undefined)) return null;
    const offset = dataOffset(jsonLength);
    const length = count * size * size * channels;
    const labelBytes = classNames === undefined ? 0 : 2 * count;
    if (offset + length + labelBytes !== fileSize) return null;
    // one allocation of exactly the set's size (times copies), filled by direct reads: no second copy of a 500 MB set
    const pixels = new Uint8Array(length * copies);
    if (!(await readFully(fh, pixels.subarray(0, length), offset))) return null;
    if (classNames === undefined) return { pixels, count, size, channels, whyNoLabels: whyNoLabels as string | undefined };
    const raw = Buffer.alloc(labelBytes);
    if (!(await readFully(fh, raw, offset + length))) return null;
    const labels = new Uint16Array(count);
    for (let i = 0; i < count; i++) {
      labels[i] = raw.readUInt16LE(2 * i);
      if (labels[i] >= classNames.length) return null;
    }
    return { pixels, count, size, channels, labels, classNames };
  } finally {
    await fh.close();
  }
}

/** Writes the set beside its final name and renames it into place, so readers never see half a file. */
export async function writeCache(file: string, key: unknown, set: CachedSet): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const labelled = set.labels !== undefined && set.classNames !== undefined;
  if (labelled && set.labels!.length !== set.count) throw new Error(`${set.labels!.length} labels for ${set.count} images`);
  const header = labelled
    ? { key, count: set.count, size: set.size, channels: set.channels, classNames: set.classNames }
    : { key, count: set.count, size: set.size, channels: set.channels, whyNoLabels: set.whyNoLabels };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(dataOffset(json.length));
  MAGIC.copy(head, 0);
  head.writeUInt32LE(CACHE_VERSION, 8);
  head.writeUInt32LE(json.length, 12);
  json.copy(head, 16);
  const chunks: Uint8Array[] = [head, set.pixels.subarray(0, set.count * set.size * set.size * set.channels)];
  if (labelled) {
    // little-endian whatever the machine, so a cache copied between machines reads the same
    const labels = Buffer.alloc(2 * set.count);
    for (let i = 0; i < set.count; i++) labels.writeUInt16LE(set.labels![i], 2 * i);
    chunks.push(labels);
  }
  await writeFileAtomic(file, chunks);
}

/** Fills `into` from the file at `position`; false if the file ends first. */
async function readFully(fh: FileHandle, into: Uint8Array, position: number): Promise<boolean> {
  let got = 0;
  while (got < into.length) {
    const n = Math.min(into.length - got, 256 * 1024 * 1024);
    const { bytesRead } = await fh.read(into, got, n, position + got);
    if (bytesRead === 0) return false;
    got += bytesRead;
  }
  return true;
}

function isClassNames(v: unknown): v is string[] {
  return Array.isArray(v) && v.length > 0 && v.length <= MAX_CLASSES && v.every((n) => typeof n === 'string');
}

function dataOffset(jsonLength: number): number {
  return Math.ceil((16 + jsonLength) / 8) * 8;
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}
