// DiffAugment (Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020): the same
// random augmentation of every image D sees, real and generated, in D's update and in G's, and differentiable, so that
// D cannot memorise a small set and G still learns through it. Definitions, ranges and order are the official code's
// (mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py), here on NHWC images in [-1, 1], u ~ U[0, 1) per image:
//   color        brightness  x + (u − 0.5)
//                saturation  m + (x − m)·2u         m: the pixel's mean over its channels
//                contrast    m + (x − m)·(u + 0.5)  m: the image's mean over H, W and C
//   translation  out[i][j] = x[i + a][j + b], a and b whole numbers uniform in [−s, s], s = ⌊side/8 + ½⌋ (the
//                official int(side·0.125 + 0.5): 4 at 32 px); what would come from outside the image is the fill
//   cutout       a square of side k = ⌊side/2 + ½⌋ set to the fill, its rows from r − ⌊k/2⌋ (cut at the border),
//                r uniform in [0, H + 1 − k mod 2), likewise its columns
// The official fill is zero for both: translation pads with zeros and cutout multiplies by a 0/1 mask. In [-1, 1] zero
// is mid-grey; a background colour (white, +1, for sprites) is offered beside it, for each operation on its own.
//
// Every random number is drawn on the host from the caller's Rng in one fixed order (drawAugmentation), not by tfjs: a
// resumed run continues the same stream, and every backend applies the same parameters.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';

export { AUGMENT_OPS, parsePolicy, policyText, type AugmentOp, type AugmentPolicy } from './augment-policy.js';
import type { AugmentPolicy } from './augment-policy.js';

/** What translation and cutout put where there is no image: 'zero' (the official; mid-grey) or a colour in [-1, 1]. */
export type Fill = 'zero' | { background: readonly number[] };
export interface AugmentFill {
  translation: Fill;
  cutout: Fill;
}
export const OFFICIAL_FILL: AugmentFill = { translation: 'zero', cutout: 'zero' };

// ---------------------------------------------------------------------------------------------------------------
// The random parameters

/** One operation's parameters for a batch, one entry per image. */
export type AugmentStep =
  | {
    op: 'color';
    /** added: u − 0.5 */
    brightness: Float64Array;
    /** the factor on the distance from the pixel's channel mean: 2u */
    saturation: Float64Array;
    /** the factor on the distance from the image's mean: u + 0.5 */
    contrast: Float64Array;
  }
  /** out[i][j] = x[i + rows[n]][j + cols[n]]: a positive offset moves the picture up (left) */
  | { op: 'translation'; rows: Int32Array; cols: Int32Array }
  /** the square's row and column offsets r, c (the official offset_x, offset_y) */
  | { op: 'cutout'; rows: Int32Array; cols: Int32Array };

/** The most translation moves an image of this side (the official int(side·0.125 + 0.5)). */
export const translationLimit = (side: number) => Math.floor(side / 8 + 0.5);
/** The side of cutout's square (the official int(side·0.5 + 0.5)). */
export const cutoutSize = (side: number) => Math.floor(side / 2 + 0.5);

/** What augment draws from its Rng: the two calls of src/util/rng.ts it uses (a test may pass a stub). */
export type AugmentRng = Pick<Rng, 'uniform' | 'integers'>;

/**
 * The parameters of one call for `n` images of height × width, drawn in this fixed order, as the official code draws
 * its tensors: for each operation in policy order — color: n brightness uniforms, then n saturation, then n contrast;
 * translation: n row offsets, then n column offsets (rng.integers(n, 2s + 1) − s); cutout: n row offsets, then n
 * column offsets (rng.integers(n, side + 1 − k mod 2)). An empty policy draws nothing.
 */
export function drawAugmentation(policy: AugmentPolicy, n: number, height: number, width: number, rng: AugmentRng): AugmentStep[] {
  const uniforms = (f: (u: number) => number) => Float64Array.from({ length: n }, () => f(rng.uniform()));
  const shifts = (side: number) => rng.integers(n, 2 * translationLimit(side) + 1).map((t) => t - translationLimit(side));
  const offsets = (side: number) => rng.integers(n, side + 1 - (cutoutSize(side) % 2));
  return policy.map((op): AugmentStep => {
    switch (op) {
      case 'color': {
        const brightness = uniforms((u) => u - 0.5);
        const saturation = uniforms((u) => u * 2);
        return { op, brightness, saturation, contrast: uniforms((u) => u + 0.5) };
      }
      case 'translation': {
        const rows = shifts(height);
        return { op, rows, cols: shifts(width) };
      }
      case 'cutout': {
        const rows = offsets(height);
        return { op, rows, cols: offsets(width) };
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Applying them

/**
 * DiffAugment of a batch of NHWC images in [-1, 1]: draws the parameters from `rng` (drawAugmentation's order) and
 * applies them. An empty policy returns `images` itself and draws nothing, so `--augment none` changes no number.
 */
export function augment(images: tf.Tensor4D, policy: AugmentPolicy, rng: AugmentRng, fill: AugmentFill = OFFICIAL_FILL): tf.Tensor4D {
  if (policy.length === 0) return images;
  const [n, height, width] = images.shape;
  return applyAugmentation(images, drawAugmentation(policy, n, height, width, rng), fill);
}

/**
 * Where the augmentation runs. 'host': in JavaScript on the images' values — where tensors live in this process (cpu,
 * wasm) reading them is a copy, and a pass over them costs less than tfjs's kernels there (wasm's Gather is a scalar
 * loop, and `color` as tfjs ops is eleven kernels): d2l at 32 px, width 32, batch 64, on wasm with 2 threads, all three
 * operations added 8.5 ms of CPU time to a step of 328 on the host, 51 ms to 321 as tfjs ops (scripts/bench-augment.ts,
 * on the shared 2-core VM). 'tensors': as tfjs ops, for GPU backends, where reading the images back would stall the
 * device.
 */
export type AugmentCompute = 'host' | 'tensors';
export const defaultCompute = (): AugmentCompute => (tf.getBackend() === 'cpu' || tf.getBackend() === 'wasm' ? 'host' : 'tensors');

/** Applies drawn parameters in their order, differentiably w.r.t. the images. */
export function applyAugmentation(images: tf.Tensor4D, steps: readonly AugmentStep[], fill: AugmentFill = OFFICIAL_FILL,
  compute: AugmentCompute = defaultCompute()): tf.Tensor4D {
  const channels = images.shape[3];
  const fills = { translation: fillColour(fill.translation, channels), cutout: fillColour(fill.cutout, channels) };
  return compute === 'host' ? onHost(images, steps, fills) : withTensors(images, steps, fills);
}

interface Fills {
  translation: number[];
  cutout: number[];
}

function fillColour(fill: Fill, channels: number): number[] {
  if (fill === 'zero') return new Array<number>(channels).fill(0);
  const c = fill.background;
  if (c.length !== 1 && c.length !== channels) throw new Error(`a fill colour has 1 or ${channels} values, got ${c.length}`);
  if (c.some((v) => !(v >= -1 && v <= 1))) throw new Error(`a fill colour is in [-1, 1], got [${c.join(', ')}]`);
  return c.length === 1 ? new Array<number>(channels).fill(c[0]) : [...c];
}

type ColorStep = Extract<AugmentStep, { op: 'color' }>;
type Offsets = { rows: Int32Array; cols: Int32Array };

// ---------------------------------------------------------------------------------------------------------------
// On the host: one op for tfjs, whose gradient is the transpose of each step, in reverse order. Every step is linear
// in the images but for a constant (brightness, the fills), and its transpose is a step of the same kind: colour
// without brightness, translation by the opposite offsets, cutout's square — each with fills of zero.

type Shape = readonly [number, number, number, number];

function onHost(images: tf.Tensor4D, steps: readonly AugmentStep[], fills: Fills): tf.Tensor4D {
  const shape = images.shape;
  const zero = new Array<number>(shape[3]).fill(0);
  const run = (values: Float32Array, order: readonly AugmentStep[], fill: Fills, forward: boolean) => {
    let owned = false; // the first array is tfjs's (on cpu, its own storage): read, never written
    for (const step of order) {
      values = stepOnHost(values, shape, step, fill, forward, owned);
      owned = true;
    }
    return tf.tensor4d(values, shape);
  };
  const op = tf.customGrad((input) => ({
    value: run((input as tf.Tensor).dataSync() as Float32Array, steps, fills, true),
    gradFunc: (dy: tf.Tensor) => run(dy.dataSync() as Float32Array, [...steps].reverse(), { translation: zero, cutout: zero }, false),
  }));
  return op(images) as tf.Tensor4D;
}

/** One step, forward or its transpose; on a new array, or in place where `owned` and the step allows. */
function stepOnHost(a: Float32Array, shape: Shape, step: AugmentStep, fills: Fills, forward: boolean, owned: boolean): Float32Array {
  switch (step.op) {
    case 'color':
      return colorOnHost(a, shape, step, forward);
    case 'translation':
      return translateOnHost(a, shape, forward ? step : opposite(step), fills.translation);
    case 'cutout':
      return cutOutOnHost(owned ? a : a.slice(), shape, step, fills.cutout);
  }
}

const opposite = ({ rows, cols }: Offsets): Offsets => ({ rows: rows.map((r) => -r), cols: cols.map((c) => -c) });

/**
 * brightness (when `brighten`), saturation and contrast in one pass: with m the pixel's channel mean and M the image's
 * mean before brightness b, the official x + b, then m' + (x' − m')·s, then M' + (x'' − M')·k (saturation keeps the
 * image's mean) come to k·s·x + k·(1 − s)·m + (1 − k)·M + b. Without b it is its own transpose: x, the pixel's mean
 * and the image's mean are symmetric maps. Three channels have a loop of their own: 2.5 times faster in V8.
 */
function colorOnHost(a: Float32Array, [n, height, width, channels]: Shape, step: ColorStep, brighten: boolean): Float32Array {
  const out = new Float32Array(a.length);
  const size = height * width * channels;
  for (let b = 0; b < n; b++) {
    const start = b * size, end = start + size;
    let sum = 0;
    for (let i = start; i < end; i++) sum += a[i];
    const [s, k] = [step.saturation[b], step.contrast[b]];
    const onX = k * s, onPixelSum = (k * (1 - s)) / channels;
    const constant = ((1 - k) * sum) / size + (brighten ? step.brightness[b] : 0);
    if (channels === 3) {
      for (let p = start; p < end; p += 3) {
        const red = a[p], green = a[p + 1], blue = a[p + 2];
        const shared = onPixelSum * (red + green + blue) + constant;
        out[p] = onX * red + shared;
        out[p + 1] = onX * green + shared;
        out[p + 2] = onX * blue + shared;
      }
      continue;
    }
    for (let p = start; p < end; p += channels) {
      let pixelSum = 0;
      for (let c = 0; c < channels; c++) pixelSum += a[p + c];
      const shared = onPixelSum * pixelSum + constant;
      for (let c = 0; c < channels; c++) out[p + c] = onX * a[p + c] + shared;
    }
  }
  return out;
}

/** `pixels` pixels of the fill colour, to copy from (a new array is already zero: null for a zero fill). */
function fillRun(fill: number[], pixels: number): Float32Array | null {
  if (fill.every((v) => v === 0)) return null;
  const run = new Float32Array(pixels * fill.length);
  for (let p = 0; p < run.length; p += fill.length) run.set(fill, p);
  return run;
}

/** out[i][j] = a[i + rows[n]][j + cols[n]] where that lies inside, else the fill: a row at a time. */
function translateOnHost(a: Float32Array, [n, height, width, channels]: Shape, { rows, cols }: Offsets, fill: number[]): Float32Array {
  const out = new Float32Array(a.length);
  const rowLength = width * channels;
  const fillRow = fillRun(fill, width);
  const fillBetween = (from: number, to: number) => {
    if (fillRow) out.set(fillRow.subarray(0, to - from), from);
  };
  for (let b = 0; b < n; b++) {
    const shift = cols[b] * channels;
    const [from, to] = [Math.max(0, -shift), Math.min(rowLength, rowLength - shift)]; // the part of a row with a source
    for (let i = 0; i < height; i++) {
      const row = (b * height + i) * rowLength;
      const source = i + rows[b];
      if (source < 0 || source >= height || from >= to) {
        fillBetween(row, row + rowLength);
        continue;
      }
      fillBetween(row, row + from);
      const sourceRow = (b * height + source) * rowLength + shift;
      out.set(a.subarray(sourceRow + from, sourceRow + to), row + from);
      fillBetween(row + to, row + rowLength);
    }
  }
  return out;
}

/** Sets each image's square, cut at the border, to the fill, in `a`. */
function cutOutOnHost(a: Float32Array, [n, height, width, channels]: Shape, offsets: Offsets, fill: number[]): Float32Array {
  const fillRow = fillRun(fill, width) ?? new Float32Array(width * channels);
  for (const [b, top, bottom, left, right] of squares(offsets, n, height, width)) {
    const part = fillRow.subarray(0, (right - left) * channels);
    for (let i = top; i < bottom; i++) a.set(part, ((b * height + i) * width + left) * channels);
  }
  return a;
}

/** Each image's cutout square as [image, top, bottom, left, right), cut at the border. */
function squares({ rows, cols }: Offsets, n: number, height: number, width: number): [number, number, number, number, number][] {
  const [kh, kw] = [cutoutSize(height), cutoutSize(width)];
  return Array.from({ length: n }, (_, b) => {
    const top = rows[b] - Math.floor(kh / 2);
    const left = cols[b] - Math.floor(kw / 2);
    return [b, Math.max(0, top), Math.min(height, top + kh), Math.max(0, left), Math.min(width, left + kw)];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// As tfjs ops: colour as the official code writes it; translation and cutout as a map from each output pixel
// (n, i, j), numbered n·H·W + i·W + j, to where its value comes from — a pixel of the input, or one of the fills,
// numbered after the pixels — composed on the host, so that a run of them is one gather on the device.

const TRANSLATION_FILL = 0;
const CUTOUT_FILL = 1;

function withTensors(images: tf.Tensor4D, steps: readonly AugmentStep[], fills: Fills): tf.Tensor4D {
  const [n, height, width] = images.shape;
  const fillRows = [fills.translation, fills.cutout]; // TRANSLATION_FILL, CUTOUT_FILL
  return tf.tidy(() => {
    let x = images;
    let map: Int32Array | null = null; // the spatial steps not yet applied
    const flush = () => {
      if (map) x = gather(x, map, fillRows);
      map = null;
    };
    for (const step of steps) {
      if (step.op === 'color') {
        flush();
        x = colorWithTensors(x, step);
      } else {
        map ??= identity(n * height * width);
        if (step.op === 'translation') map = translateMap(map, step, n, height, width);
        else cutOutMap(map, step, n, height, width);
      }
    }
    flush();
    return x;
  });
}

function colorWithTensors(x: tf.Tensor4D, { brightness, saturation, contrast }: ColorStep): tf.Tensor4D {
  const perImage = (v: Float64Array) => tf.tensor4d(Float32Array.from(v), [v.length, 1, 1, 1]);
  const towards = (y: tf.Tensor4D, mean: tf.Tensor, factor: Float64Array): tf.Tensor4D => y.sub(mean).mul(perImage(factor)).add(mean);
  let y: tf.Tensor4D = x.add(perImage(brightness));
  y = towards(y, y.mean(3, true), saturation); //                       mean over channels: [n, H, W, 1]
  return towards(y, y.mean([1, 2, 3], true), contrast); //              mean over the image: [n, 1, 1, 1]
}

function identity(pixels: number): Int32Array {
  const map = new Int32Array(pixels);
  for (let p = 0; p < pixels; p++) map[p] = p;
  return map;
}

/** The map after translating what `map` gives: out[i][j] = map's [i + a][j + b], or the translation's fill. */
function translateMap(map: Int32Array, { rows, cols }: Offsets, n: number, height: number, width: number): Int32Array {
  const pixels = n * height * width;
  const out = new Int32Array(pixels);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < height; i++) {
      const fromRow = i + rows[b];
      for (let j = 0; j < width; j++) {
        const fromCol = j + cols[b];
        const inside = fromRow >= 0 && fromRow < height && fromCol >= 0 && fromCol < width;
        out[(b * height + i) * width + j] = inside ? map[(b * height + fromRow) * width + fromCol] : pixels + TRANSLATION_FILL;
      }
    }
  }
  return out;
}

/** Points cutout's squares at the cutout's fill (in place). */
function cutOutMap(map: Int32Array, offsets: Offsets, n: number, height: number, width: number): void {
  const fill = n * height * width + CUTOUT_FILL;
  for (const [b, top, bottom, left, right] of squares(offsets, n, height, width)) {
    for (let i = top; i < bottom; i++) map.fill(fill, (b * height + i) * width + left, (b * height + i) * width + right);
  }
}

/**
 * The transpose of a map: for each input pixel, the output pixel that reads it, or `pixels` (a zero) where none does.
 * Translation and cutout move or drop pixels, never copy one twice, so each input pixel has at most one reader and the
 * gradient is a gather too — where tfjs's own gather gradient sums segments, quadratic in the pixels on cpu and wasm.
 */
function readers(map: Int32Array): Int32Array {
  const pixels = map.length;
  const reader = new Int32Array(pixels).fill(pixels);
  for (let p = 0; p < pixels; p++) {
    const q = map[p];
    if (q >= pixels) continue;
    if (reader[q] !== pixels) throw new Error('augment: a spatial map that reads a pixel twice has no gather gradient');
    reader[q] = p;
  }
  return reader;
}

/** out[p] = x[map[p]], or the fill it names: one gather from [x's pixels; the fills]; its gradient the reverse gather. */
function gather(x: tf.Tensor4D, map: Int32Array, fillRows: number[][]): tf.Tensor4D {
  const [n, height, width, channels] = x.shape;
  const pixels = n * height * width;
  const gatherRows = (t: tf.Tensor, rows: number[][], index: Int32Array) =>
    tf.gather(tf.concat([t.reshape([pixels, channels]), tf.tensor2d(rows)]), tf.tensor1d(index, 'int32')).reshape(x.shape);
  const op = tf.customGrad((input) => ({
    value: gatherRows(input as tf.Tensor, fillRows, map), //            [n·H·W + 2, C] → [n, H, W, C]
    gradFunc: (dy: tf.Tensor) => gatherRows(dy, [new Array<number>(channels).fill(0)], readers(map)),
  }));
  return op(x) as tf.Tensor4D;
}
