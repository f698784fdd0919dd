// Decoded image sets on disk, one uint8 file per (source, preprocessing) key, so a second run never decodes.
//
// Layout: "DCGANSET" | u32le version | u32le header length | header JSON (key, count, size, channels) | zero padding
// to a multiple of 8 | count·size·size·channels pixel bytes. The reader accepts a file only if the magic, version,
// key and exact length all agree; anything else (truncated, foreign, older) is treated as absent and rebuilt.
import { createHash } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/fs.js';

const MAGIC = Buffer.from('DCGANSET', 'latin1');
export const CACHE_VERSION = 1;

export interface CachedSet {
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

/** The cached set for `key`, or null when the file is missing, damaged, or holds something else. */
export async function readCache(file: string, key: unknown): Promise<CachedSet | null> {
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
    let header: { key?: unknown; count?: unknown; size?: unknown; channels?: unknown };
    try {
      header = JSON.parse(json.toString('utf8'));
    } catch {
      return null;
    }
    const { count, size, channels } = header;
    if (stableStringify(header.key) !== stableStringify(key)) return null;
    if (!isCount(count) || !isCount(size) || (channels !== 1 && channels !== 3)) return null;
    const offset = dataOffset(jsonLength);
    const length = count * size * size * channels;
    if (offset + length !== fileSize) return null;
    // one allocation of exactly the set's size, filled by direct reads: no second copy of a 500 MB set
    const pixels = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = Math.min(length - got, 256 * 1024 * 1024);
      const { bytesRead } = await fh.read(pixels, got, n, offset + got);
      if (bytesRead === 0) return null;
      got += bytesRead;
    }
    return { pixels, count, size, channels };
  } finally {
    await fh.close();
  }
}

/** Writes the set beside its final name and renames it into place, so readers never see half a file. */
export async function writeCache(file: string, key: unknown, set: CachedSet): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const json = Buffer.from(JSON.stringify({ key, count: set.count, size: set.size, channels: set.channels }), 'utf8');
  const head = Buffer.alloc(dataOffset(json.length));
  MAGIC.copy(head, 0);
  head.writeUInt32LE(CACHE_VERSION, 8);
  head.writeUInt32LE(json.length, 12);
  json.copy(head, 16);
  await writeFileAtomic(file, [head, set.pixels.subarray(0, set.count * set.size * set.size * set.channels)]);
}

function dataOffset(jsonLength: number): number {
  return Math.ceil((16 + jsonLength) / 8) * 8;
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}
