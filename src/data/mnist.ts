// `--dataset mnist` and `--dataset fashion-mnist`: the 60,000 training images of either, from IDX files.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeAll, type DecodeResult } from './decode.js';
import { ensureDownloaded, hashFile, type ExpectedHash } from './download.js';
import { DatasetError } from './errors.js';
import { readIdxImages, type IdxImages } from './idx.js';
import { checkSha1 } from './pokemon.js';
import type { Source, SourceOptions } from './source.js';

export const IDX_SETS = {
  // yann.lecun.com no longer serves these reliably; this is the mirror torchvision uses first.
  mnist: { base: 'https://ossci-datasets.s3.amazonaws.com/mnist/', md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873', title: 'MNIST' },
  'fashion-mnist': { base: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/', md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d', title: 'Fashion-MNIST' },
} as const;
export type IdxSetName = keyof typeof IDX_SETS;

export const TRAIN_IMAGES = 'train-images-idx3-ubyte.gz';
// the names the file goes by in the distributions people have lying around, gzipped or not
const LOCAL_NAMES = [TRAIN_IMAGES, 'train-images-idx3-ubyte', 'train-images.idx3-ubyte'];

/** The training-images file inside `--data DIR` (or `--data FILE` itself). */
async function findLocal(data: string, name: IdxSetName): Promise<string> {
  let s;
  try {
    s = await stat(data);
  } catch {
    throw new DatasetError(`--data ${data}: no such file or folder`);
  }
  if (s.isFile()) return data;
  for (const n of LOCAL_NAMES) {
    const f = path.join(data, n);
    if (await stat(f).then((x) => x.isFile(), () => false)) return f;
  }
  throw new DatasetError(`--data ${data} has no ${LOCAL_NAMES.join(' or ')} (the ${IDX_SETS[name].title} training images)`);
}

/** `--url` may name the file itself or the folder (base URL) that holds it. */
export function idxUrl(name: IdxSetName, url: string | undefined): string {
  if (url === undefined) return IDX_SETS[name].base + TRAIN_IMAGES;
  if (/\.gz$/i.test(new URL(url, 'http://x/').pathname)) return url;
  return url.endsWith('/') ? url + TRAIN_IMAGES : `${url}/${TRAIN_IMAGES}`;
}

export async function idxSource(name: IdxSetName, o: SourceOptions): Promise<Source> {
  const set = IDX_SETS[name];
  let identity: Record<string, unknown>;
  let getFile: () => Promise<string>;
  let label: string;
  if (o.data !== undefined) {
    const file = await findLocal(o.data, name);
    identity = { sha1: await hashFile(file, 'sha1') };
    getFile = async () => file;
    label = file;
  } else {
    const hash: ExpectedHash = o.sha1 !== undefined ? { algorithm: 'sha1', hex: checkSha1(o.sha1) } : { algorithm: 'md5', hex: set.md5 };
    identity = { [hash.algorithm]: hash.hex };
    const url = idxUrl(name, o.url);
    label = url;
    getFile = () =>
      ensureDownloaded({
        url,
        dest: path.join(o.cacheDir, 'downloads', name, TRAIN_IMAGES),
        hash,
        onProgress: o.onDownload,
        offlineHint: `train offline with --dataset pokesprite, or --data DIR holding ${TRAIN_IMAGES}`,
        ...o.network,
      });
  }
  return {
    kind: name,
    // the background and fit do not matter: the images are square and opaque
    key: { source: name, ...identity },
    label,
    decode: async (onProgress) => resizeIdx(await readIdxImages(await getFile()), o, onProgress),
    describe: (count) => `${set.title}: ${count} training images`,
  };
}

/** The first `limit` images at the model's size, grey repeated into 3 channels when asked. */
export async function resizeIdx(
  idx: IdxImages,
  o: SourceOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<DecodeResult> {
  const n = Math.min(idx.count, o.limit ?? idx.count);
  const area = idx.rows * idx.cols;
  if (idx.rows === o.size && idx.cols === o.size) {
    // already the model's size: no resampling, just copy (and repeat the grey channel for RGB)
    const pixels = new Uint8Array(n * area * o.channels);
    if (o.channels === 1) pixels.set(idx.pixels.subarray(0, n * area));
    else {
      for (let i = 0, j = 0; i < n * area; i++, j += 3) {
        const v = idx.pixels[i];
        pixels[j] = v;
        pixels[j + 1] = v;
        pixels[j + 2] = v;
      }
    }
    onProgress?.(n, n);
    return { pixels, count: n, skipped: [], kept: Uint32Array.from({ length: n }, (_, i) => i) };
  }
  const inputs = Array.from({ length: n }, (_, i) => ({
    name: `image ${i}`,
    read: async () => ({ raw: idx.pixels.subarray(i * area, (i + 1) * area), width: idx.cols, height: idx.rows, channels: 1 as const }),
  }));
  return decodeAll(inputs, o, onProgress);
}
