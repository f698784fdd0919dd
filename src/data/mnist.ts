// `--dataset mnist` and `--dataset fashion-mnist`: the 60,000 training images of either, from IDX files, with their
// labels from the label file beside the images.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeAll, type DecodeResult } from './decode.js';
import { ensureDownloaded, hashFile, type ExpectedHash } from './download.js';
import { DatasetError } from './errors.js';
import { readIdxImages, readIdxLabels, type IdxImages } from './idx.js';
import { checkSha1 } from './pokemon.js';
import type { DecodedSet, Source, SourceOptions } from './source.js';

export const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
// the names in Fashion-MNIST's README, in label order
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export interface IdxSet {
  /** the folder URL of the two files */
  base: string;
  /** of train-images-idx3-ubyte.gz */
  md5: string;
  /** of train-labels-idx1-ubyte.gz */
  labelsMd5: string;
  title: string;
  /** label → name */
  classNames: readonly string[];
}

export type IdxSetName = 'mnist' | 'fashion-mnist';

export const IDX_SETS: Record<IdxSetName, IdxSet> = {
  // yann.lecun.com no longer serves these reliably; this is the mirror torchvision uses first.
  mnist: {
    base: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
    labelsMd5: 'd53e105ee54ea40749a09fcbcd1e9432',
    title: 'MNIST',
    classNames: DIGIT_CLASSES,
  },
  'fashion-mnist': {
    base: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    labelsMd5: '25c81989df183df01b3e8a0aad5dffbe',
    title: 'Fashion-MNIST',
    classNames: FASHION_MNIST_CLASSES,
  },
};

export const TRAIN_IMAGES = 'train-images-idx3-ubyte.gz';
export const TRAIN_LABELS = 'train-labels-idx1-ubyte.gz';
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
    if (await isFile(f)) return f;
  }
  throw new DatasetError(`--data ${data} has no ${LOCAL_NAMES.join(' or ')} (the ${IDX_SETS[name].title} training images)`);
}

function isFile(f: string): Promise<boolean> {
  return stat(f).then((x) => x.isFile(), () => false);
}

async function findFirst(files: string[]): Promise<string | undefined> {
  for (const f of files) if (await isFile(f)) return f;
  return undefined;
}

/**
 * The label file's name that goes with an image file's: train-images-idx3-ubyte.gz → train-labels-idx1-ubyte.gz,
 * train-images.idx3-ubyte → train-labels.idx1-ubyte; undefined for a name without "images".
 */
export function labelsNameFor(imagesName: string): string | undefined {
  if (!/images/i.test(imagesName)) return undefined;
  return imagesName.replace(/images/i, 'labels').replace(/idx3/i, 'idx1');
}

/** The names the labels may have beside `imagesFile`, gzipped or not (nothing when its name gives none). */
function localLabelNames(imagesFile: string): string[] {
  const name = labelsNameFor(path.basename(imagesFile));
  if (name === undefined) return [];
  return [name, /\.gz$/i.test(name) ? name.slice(0, -3) : `${name}.gz`];
}

/** `--url` may name the file itself or the folder (base URL) that holds it. */
export function idxUrl(name: IdxSetName, url: string | undefined): string {
  if (url === undefined) return IDX_SETS[name].base + TRAIN_IMAGES;
  if (/\.gz$/i.test(new URL(url, 'http://x/').pathname)) return url;
  return url.endsWith('/') ? url + TRAIN_IMAGES : `${url}/${TRAIN_IMAGES}`;
}

/** Where the labels are, beside the images at `imagesUrl`; undefined when the images' file name gives none. */
export function idxLabelsUrl(imagesUrl: string): string | undefined {
  let u: URL;
  try {
    u = new URL(imagesUrl);
  } catch {
    return undefined; // the images' download says what is wrong with it
  }
  const slash = u.pathname.lastIndexOf('/') + 1;
  const name = labelsNameFor(u.pathname.slice(slash));
  if (name === undefined) return undefined;
  u.pathname = u.pathname.slice(0, slash) + name;
  return u.toString();
}

const BOTH_FILES = `put ${TRAIN_IMAGES} and ${TRAIN_LABELS} in a folder and use --data DIR`;

/** `set` is the name's entry of IDX_SETS (tests give other hashes to download hand-made files). */
export async function idxSource(name: IdxSetName, o: SourceOptions, set: IdxSet = IDX_SETS[name]): Promise<Source> {
  let identity: Record<string, unknown>;
  let getImages: () => Promise<string>;
  // resolves to undefined when there are no labels, for the reason in `whyNoLabels`
  let getLabels: () => Promise<string | undefined>;
  let whyNoLabels: string;
  let label: string;
  if (o.data !== undefined) {
    const file = await findLocal(o.data, name);
    const names = localLabelNames(file);
    const labelsFile = await findFirst(names.map((n) => path.join(path.dirname(file), n)));
    const labelsSha1 = labelsFile === undefined ? null : await hashFile(labelsFile, 'sha1');
    identity = { sha1: await hashFile(file, 'sha1'), labelsSha1 };
    getImages = async () => file;
    getLabels = async () => labelsFile;
    whyNoLabels =
      names.length > 0
        ? `no ${names.join(' or ')} lies beside ${file}`
        : `${path.basename(file)} is not named like train-images-idx3-ubyte, so its label file cannot be found`;
    label = file;
  } else {
    const hash: ExpectedHash = o.sha1 !== undefined ? { algorithm: 'sha1', hex: checkSha1(o.sha1) } : { algorithm: 'md5', hex: set.md5 };
    const url = idxUrl(name, o.url);
    // --sha1 is the images' hash from a mirror that serves other bytes: the built-in MD5 of the labels cannot check
    // that mirror's labels, and nothing else can
    const labelsUrl = o.sha1 === undefined ? idxLabelsUrl(url) : undefined;
    identity = { [hash.algorithm]: hash.hex, labelsMd5: labelsUrl === undefined ? null : set.labelsMd5 };
    const download = (from: string, file: string, expected: ExpectedHash) =>
      ensureDownloaded({
        url: from,
        dest: path.join(o.cacheDir, 'downloads', name, file),
        hash: expected,
        onProgress: o.onDownload,
        offlineHint: `train offline with --dataset mnist-10k or pokesprite, or --data DIR holding ${TRAIN_IMAGES}`,
        ...o.network,
      });
    getImages = () => download(url, TRAIN_IMAGES, hash);
    const labelsHash: ExpectedHash = { algorithm: 'md5', hex: set.labelsMd5 };
    getLabels = async () => (labelsUrl === undefined ? undefined : download(labelsUrl, TRAIN_LABELS, labelsHash));
    whyNoLabels =
      o.sha1 !== undefined
        ? `--sha1 checks only the images, so ${TRAIN_LABELS} was not downloaded (${BOTH_FILES})`
        : `the label file's name cannot be told from ${url} (${BOTH_FILES})`;
    label = url;
  }
  return {
    kind: name,
    // the background and fit do not matter: the images are square and opaque
    key: { source: name, ...identity },
    label,
    decode: async (onProgress) => {
      const imagesFile = await getImages();
      const labelsFile = await getLabels();
      const idx = await readIdxImages(imagesFile);
      const classes = labelsFile === undefined ? undefined : await readIdxLabels(labelsFile, set.classNames.length);
      if (classes !== undefined && classes.length !== idx.count) {
        throw new DatasetError(
          `${path.basename(labelsFile!)} holds ${classes.length} labels, but ${path.basename(imagesFile)} beside it holds ${idx.count} images`,
        );
      }
      const r = await resizeIdx(idx, o, onProgress);
      if (classes === undefined) return { pixels: r.pixels, count: r.count, skipped: r.skipped, blank: r.blank, whyNoLabels };
      return withClasses(r, classes, set.classNames);
    },
    describe: (count) => `${set.title}: ${count} training images`,
  };
}

/** The decoded images with their labels: `classes[i]` is input i's class. */
export function withClasses(r: DecodeResult, classes: ArrayLike<number>, classNames: readonly string[]): DecodedSet {
  const { kept, ...decoded } = r;
  return { ...decoded, labels: Uint16Array.from(kept, (i) => classes[i]), classNames: [...classNames] };
}

/** The first `limit` images at the model's size, grey repeated into 3 channels when asked. */
export async function resizeIdx(
  idx: IdxImages,
  o: SourceOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<DecodeResult> {
  const n = Math.min(idx.count, o.limit ?? idx.count);
  const area = idx.rows * idx.cols;
  if (idx.rows === o.size && idx.cols === o.size && o.crop !== 'content') {
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
    return { pixels, count: n, skipped: [], blank: [], kept: Uint32Array.from({ length: n }, (_, i) => i) };
  }
  const inputs = Array.from({ length: n }, (_, i) => ({
    name: `image ${i}`,
    read: async () => ({ raw: idx.pixels.subarray(i * area, (i + 1) * area), width: idx.cols, height: idx.rows, channels: 1 as const }),
  }));
  return decodeAll(inputs, o, onProgress);
}
