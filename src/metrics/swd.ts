// The sliced Wasserstein distance of ProGAN (Karras et al. 2018, "Progressive Growing of GANs", section 5 and their
// metrics/sliced_wasserstein.py), re-derived: a Laplacian pyramid of each image set down to 16×16, 7×7 neighbourhoods
// sampled per level, normalised per channel over the set, and the 1-D Wasserstein distance of their projections onto
// random unit directions, averaged. Values are reported ×10³, as in the paper.
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types.js';
import { Rng } from '../util/rng.js';
import { RowSorter } from './sort-rows.js';

/** Square images, uint8, NHWC. */
export type Images = Pick<ImageSet, 'pixels' | 'count' | 'size' | 'channels'>;

export interface SwdOptions {
  /** seeds the neighbourhood positions and the projection directions: the same seed gives the same figures */
  seed: number;
  /** ProGAN: 7 */
  nhoodSize?: number;
  /** ProGAN: 128 */
  nhoodsPerImage?: number;
  /** ProGAN: 4 × 128 = 512 directions in all */
  dirRepeats?: number;
  dirsPerRepeat?: number;
  /** images per pyramid batch on the device */
  batchSize?: number;
}

export interface SwdResult {
  /** the pyramid's levels, finest first: 64, 32, 16 for 64×64 images */
  resolutions: number[];
  /** SWD ×10³ per level */
  levels: number[];
  /** their mean */
  average: number;
}

const MIN_RESOLUTION = 16;

/** The pyramid levels ProGAN evaluates: the image size, halved while it stays ≥ 16 (64 → 64, 32, 16; 16 → 16 alone). */
export function swdResolutions(size: number): number[] {
  const out: number[] = [];
  for (let r = size; r >= MIN_RESOLUTION; r /= 2) out.push(r);
  if (!out.length) throw new Error(`SWD needs images of at least ${MIN_RESOLUTION}×${MIN_RESOLUTION} (got ${size}×${size})`);
  return out;
}

// The 5×5 binomial filter of cv2.pyrDown / pyrUp; borders mirror without repeating the edge pixel (scipy's 'mirror',
// tf.mirrorPad's 'reflect').
const BINOMIAL = [1, 4, 6, 4, 1];

function blurKernel(channels: number, gain: number): tf.Tensor4D {
  const k = new Float32Array(25 * channels);
  for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) {
    for (let c = 0; c < channels; c++) k[(y * 5 + x) * channels + c] = (BINOMIAL[y] * BINOMIAL[x] * gain) / 256;
  }
  return tf.tensor4d(k, [5, 5, channels, 1]);
}

function blur(x: tf.Tensor4D, stride: 1 | 2, gain: number): tf.Tensor4D {
  return tf.tidy(() => {
    const padded = tf.mirrorPad(x, [[0, 0], [2, 2], [2, 2], [0, 0]], 'reflect');
    return tf.depthwiseConv2d(padded, blurKernel(x.shape[3], gain), stride, 'valid');
  });
}

/** cv2.pyrDown: blur, keep every second pixel. */
export function pyrDown(x: tf.Tensor4D): tf.Tensor4D {
  return blur(x, 2, 1);
}

/** cv2.pyrUp: put the pixels on even positions of a twice larger zero image, blur with 4× the filter. */
export function pyrUp(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const wide = tf.stack([x, tf.zerosLike(x)], 3).reshape([n, h, 2 * w, c]);
    const tall = tf.stack([wide, tf.zerosLike(wide)], 2).reshape([n, 2 * h, 2 * w, c]) as tf.Tensor4D;
    return blur(tall, 1, 4);
  });
}

/** Laplacian levels (finest first), the last one the low-pass residual; `levels` = 1 returns the images themselves. */
export function laplacianPyramid(x: tf.Tensor4D, levels: number): tf.Tensor4D[] {
  return tf.tidy(() => {
    const out: tf.Tensor4D[] = [];
    let current = x;
    for (let i = 1; i < levels; i++) {
      const down = pyrDown(current);
      out.push(current.sub(pyrUp(down)));
      current = down;
    }
    out.push(current.clone());
    return out;
  });
}

export function reconstructLaplacian(pyramid: tf.Tensor4D[]): tf.Tensor4D {
  return tf.tidy(() => {
    let x = pyramid[pyramid.length - 1];
    for (let i = pyramid.length - 2; i >= 0; i--) x = pyrUp(x).add(pyramid[i]);
    return x;
  });
}

/** FNV-1a over the seed and an image's bytes. */
function imageHash(bytes: Uint8Array, seed: number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/**
 * Where one image's neighbourhoods are taken, per level: `perImage` [y, x] centres drawn uniformly from the positions
 * where a whole window fits. They are drawn from a stream seeded by the image's own bytes (and `seed`), not by its place
 * in the set: the figure then depends on which images a set holds, never on their order, and an image met in both sets
 * is sampled at the same places (a set against itself gives exactly 0).
 */
export function imageCentres(image: Uint8Array, seed: number, resolutions: number[], perImage: number, nhoodSize: number): Int32Array[] {
  const rng = new Rng(imageHash(image, seed));
  const half = Math.floor(nhoodSize / 2);
  return resolutions.map((size) => {
    const span = size - 2 * half;
    if (span < 1) throw new Error(`a ${nhoodSize}×${nhoodSize} neighbourhood does not fit in ${size}×${size}`);
    const out = new Int32Array(perImage * 2);
    for (let i = 0; i < out.length; i++) out[i] = half + Math.floor(rng.uniform() * span);
    return out;
  });
}

/**
 * Copies the neighbourhoods of image `b` of a batch at one level (NHWC floats) into rows [row, row + centres / 2) of
 * `out`, one row of nhood·nhood·channels values per neighbourhood.
 */
export function gatherNhoods(
  level: Float32Array, b: number, size: number, channels: number, centres: Int32Array, nhoodSize: number, out: Float32Array, row: number,
): void {
  const half = Math.floor(nhoodSize / 2);
  const dim = nhoodSize * nhoodSize * channels;
  const rowFloats = nhoodSize * channels;
  for (let k = 0; k < centres.length / 2; k++) {
    const cy = centres[2 * k], cx = centres[2 * k + 1];
    for (let dy = 0; dy < nhoodSize; dy++) {
      const src = ((b * size + cy - half + dy) * size + cx - half) * channels;
      out.set(level.subarray(src, src + rowFloats), (row + k) * dim + dy * rowFloats);
    }
  }
}

/** In place: each channel's values, over every descriptor and position, to mean 0 and standard deviation 1. */
export function normaliseDescriptors(desc: Float32Array, channels: number): void {
  const sum = new Float64Array(channels), sumSq = new Float64Array(channels);
  for (let i = 0; i < desc.length; i++) {
    const c = i % channels;
    sum[c] += desc[i];
    sumSq[c] += desc[i] * desc[i];
  }
  const perChannel = desc.length / channels;
  const mean = Array.from(sum, (s) => s / perChannel);
  const std = Array.from(sumSq, (s, c) => Math.sqrt(Math.max(0, s / perChannel - mean[c] ** 2)));
  // a constant channel (a blank level) has nothing to scale: leave it centred at 0
  const scale = std.map((s) => (s > 0 ? 1 / s : 0));
  for (let i = 0; i < desc.length; i++) {
    const c = i % channels;
    desc[i] = (desc[i] - mean[c]) * scale[c];
  }
}

/** Unit directions in descriptor space, [dim, dirs] column-major for a matMul. */
export function randomDirections(rng: Rng, dim: number, dirs: number): Float32Array {
  const d = rng.normals(dim * dirs);
  for (let j = 0; j < dirs; j++) {
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += d[i * dirs + j] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) d[i * dirs + j] /= norm;
  }
  return d;
}

/** Each direction's projections of all descriptors, sorted: [dirs][rows]. */
async function sortedProjections(desc: tf.Tensor2D, dirs: tf.Tensor2D, sorter: RowSorter): Promise<Float32Array> {
  const projected = tf.tidy(() => tf.matMul(desc, dirs).transpose());
  const values = (await projected.data()) as Float32Array;
  projected.dispose();
  await sorter.sortRows(values, desc.shape[0]);
  return values;
}

/**
 * SWD between two equally many descriptors (rows of `dim`): for each random direction the mean |difference| of the
 * sorted projections (the 1-D Wasserstein-1 distance of the two empirical distributions), averaged over directions and
 * repeats. Not scaled.
 */
export async function slicedWasserstein(
  a: Float32Array, b: Float32Array, dim: number, rng: Rng, repeats = 4, dirsPerRepeat = 128, sorter = new RowSorter(1),
): Promise<number> {
  if (a.length !== b.length || a.length % dim) throw new Error('slicedWasserstein: both sets need the same number of descriptors');
  const rows = a.length / dim;
  const A = tf.tensor2d(a, [rows, dim]);
  const B = tf.tensor2d(b, [rows, dim]);
  try {
    let total = 0;
    for (let r = 0; r < repeats; r++) {
      const dirs = tf.tensor2d(randomDirections(rng, dim, dirsPerRepeat), [dim, dirsPerRepeat]);
      const [pa, pb] = [await sortedProjections(A, dirs, sorter), await sortedProjections(B, dirs, sorter)];
      dirs.dispose();
      let sum = 0;
      for (let i = 0; i < pa.length; i++) sum += Math.abs(pa[i] - pb[i]);
      total += sum / pa.length;
    }
    return total / repeats;
  } finally {
    tf.dispose([A, B]);
  }
}

/** Every level's descriptors of one image set, normalised. */
async function describe(set: Images, resolutions: number[], o: Required<SwdOptions>): Promise<Float32Array[]> {
  const dim = o.nhoodSize * o.nhoodSize * set.channels;
  const out = resolutions.map(() => new Float32Array(set.count * o.nhoodsPerImage * dim));
  const imageBytes = set.size * set.size * set.channels;
  for (let first = 0; first < set.count; first += o.batchSize) {
    const batch = Math.min(o.batchSize, set.count - first);
    const bytes = set.pixels.subarray(first * imageBytes, (first + batch) * imageBytes);
    // ProGAN works on the 0–255 values; the normalisation makes the scale irrelevant anyway
    const x = tf.tensor4d(Float32Array.from(bytes), [batch, set.size, set.size, set.channels]);
    const pyramid = laplacianPyramid(x, resolutions.length);
    x.dispose();
    const levels = await Promise.all(pyramid.map((p) => p.data() as Promise<Float32Array>));
    tf.dispose(pyramid);
    for (let b = 0; b < batch; b++) {
      const centres = imageCentres(bytes.subarray(b * imageBytes, (b + 1) * imageBytes), o.seed, resolutions, o.nhoodsPerImage, o.nhoodSize);
      for (let l = 0; l < resolutions.length; l++) {
        gatherNhoods(levels[l], b, resolutions[l], set.channels, centres[l], o.nhoodSize, out[l], (first + b) * o.nhoodsPerImage);
      }
    }
  }
  for (const d of out) normaliseDescriptors(d, set.channels);
  return out;
}

/** SWD ×10³ per pyramid level between two image sets of the same count, size and channels. */
export async function swd(a: Images, b: Images, options: SwdOptions): Promise<SwdResult> {
  const o: Required<SwdOptions> = { nhoodSize: 7, nhoodsPerImage: 128, dirRepeats: 4, dirsPerRepeat: 128, batchSize: 128, ...options };
  if (a.count !== b.count || a.size !== b.size || a.channels !== b.channels) {
    throw new Error(`SWD compares sets of the same shape (got ${a.count}×${a.size}²×${a.channels} and ${b.count}×${b.size}²×${b.channels})`);
  }
  if (a.count < 1) throw new Error('SWD needs at least one image per set');
  const resolutions = swdResolutions(a.size);
  const descA = await describe(a, resolutions, o);
  const descB = await describe(b, resolutions, o);
  const directions = new Rng(o.seed);
  const dim = o.nhoodSize * o.nhoodSize * a.channels;
  const levels: number[] = [];
  const sorter = new RowSorter();
  try {
    for (let l = 0; l < resolutions.length; l++) {
      levels.push(1e3 * (await slicedWasserstein(descA[l], descB[l], dim, directions, o.dirRepeats, o.dirsPerRepeat, sorter)));
    }
  } finally {
    await sorter.close();
  }
  return { resolutions, levels, average: levels.reduce((s, v) => s + v, 0) / levels.length };
}
