// IDX files (MNIST's format), usually gzipped: images (big-endian header, then count·rows·cols uint8 pixels) and their
// labels (header, then count uint8 classes).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { DatasetError } from './errors.js';

export const IDX_IMAGES_MAGIC = 2051; // 0x00000803: unsigned bytes, 3 dimensions
export const IDX_LABELS_MAGIC = 2049; // 0x00000801: unsigned bytes, 1 dimension
// A gzip bomb is refused here: the 60,000-image training file is 47 MB inflated.
const MAX_INFLATED = 1024 * 1024 * 1024;

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count·rows·cols bytes, a view into the file's buffer */
  pixels: Uint8Array;
}

/** Parses an (already inflated) IDX image file; `label` names it in messages. */
export function parseIdxImages(data: Uint8Array, label: string): IdxImages {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 4) throw new DatasetError(`${label} is too short to be an IDX file (${data.length} bytes)`);
  const magic = view.getUint32(0);
  if (magic !== IDX_IMAGES_MAGIC) {
    const what = magic === IDX_LABELS_MAGIC ? 'an IDX label file' : 'not an IDX image file';
    throw new DatasetError(`${label} is ${what} (magic number ${magic}, expected ${IDX_IMAGES_MAGIC})`);
  }
  if (data.length < 16) throw new DatasetError(`${label} is truncated: its IDX header is incomplete`);
  const count = view.getUint32(4);
  const rows = view.getUint32(8);
  const cols = view.getUint32(12);
  if (count === 0 || rows === 0 || cols === 0) throw new DatasetError(`${label} holds no images (${count}×${rows}×${cols})`);
  const expected = 16 + count * rows * cols;
  if (data.length !== expected) {
    const how = data.length < expected ? 'truncated' : 'longer than its header says';
    throw new DatasetError(
      `${label} is ${how}: the header says ${count} images of ${rows}×${cols} (${expected} bytes), the file has ${data.length} bytes`,
    );
  }
  return { count, rows, cols, pixels: data.subarray(16) };
}

/**
 * Parses an (already inflated) IDX label file: one class per image, each below `classes`. `label` names it in
 * messages.
 */
export function parseIdxLabels(data: Uint8Array, label: string, classes: number): Uint8Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 4) throw new DatasetError(`${label} is too short to be an IDX file (${data.length} bytes)`);
  const magic = view.getUint32(0);
  if (magic !== IDX_LABELS_MAGIC) {
    const what = magic === IDX_IMAGES_MAGIC ? 'an IDX image file' : 'not an IDX label file';
    throw new DatasetError(`${label} is ${what} (magic number ${magic}, expected ${IDX_LABELS_MAGIC})`);
  }
  if (data.length < 8) throw new DatasetError(`${label} is truncated: its IDX header is incomplete`);
  const count = view.getUint32(4);
  if (data.length !== 8 + count) {
    const how = data.length < 8 + count ? 'truncated' : 'longer than its header says';
    throw new DatasetError(`${label} is ${how}: the header says ${count} labels (${8 + count} bytes), the file has ${data.length} bytes`);
  }
  const labels = data.subarray(8);
  const bad = labels.findIndex((c) => c >= classes);
  if (bad >= 0) {
    throw new DatasetError(`${label} gives image ${bad} the class ${labels[bad]}, but there are only ${classes} classes (0–${classes - 1})`);
  }
  return labels;
}

/** Reads an IDX image file, gzipped (by its magic bytes, whatever its name) or not. */
export async function readIdxImages(file: string): Promise<IdxImages> {
  return parseIdxImages(await readIdxFile(file), path.basename(file));
}

/** Reads an IDX label file of `classes` classes, gzipped or not. */
export async function readIdxLabels(file: string, classes: number): Promise<Uint8Array> {
  return parseIdxLabels(await readIdxFile(file), path.basename(file), classes);
}

async function readIdxFile(file: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    throw new DatasetError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
    try {
      data = await promisify(zlib.gunzip)(data, { maxOutputLength: MAX_INFLATED });
    } catch (err) {
      throw new DatasetError(`${path.basename(file)} is not a readable gzip file (${(err as Error).message})`);
    }
  }
  return data;
}
