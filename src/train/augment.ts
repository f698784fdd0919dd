// DiffAugment (Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020): the same
// random augmentation of every image D sees, real and generated, in D's update and in G's, and differentiable, so that
// D cannot memorise a small set and G still learns through it. Definitions, ranges and order are the official code's
// (mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py), here on NHWC images in [-1, 1], u ~ U[0, 1) per image:
//   color        brightness  x + (u − 0.5)
//                saturation  m + (x − m)·2u         m: the pixel's mean over its channels
//                contrast    m + (x − m)·(u + 0.5)  m: the image's mean over H, W and C
//   translation  out[i][j] = x[i + a][j + b], a and b whole numbers uniform in [−s, s], s = round(side / 8);
//                what falls outside the image is the fill
//   cutout       a square of side k = round(side / 2) set to the fill, its rows from r − ⌊k/2⌋ (cut at the border),
//                r uniform in [0, H + 1 − k mod 2), likewise its columns
// The official fill is zero for both: translation pads with zeros and cutout multiplies by a 0/1 mask. In [-1, 1] zero
// is mid-grey; a background colour (white, +1, for sprites) is offered beside it, for each operation on its own.
//
// Every random number is drawn on the host from the caller's Rng in one fixed order (drawAugmentation), not by tfjs: a
// resumed run continues the same stream, and every backend applies the same parameters.
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

export const AUGMENT_OPS = ['color', 'translation', 'cutout'] as const;
export type AugmentOp = (typeof AUGMENT_OPS)[number];
/** The operations in the order they are applied; empty: no augmentation (`--augment none`). */
export type AugmentPolicy = readonly AugmentOp[];

const ALLOWED = `${AUGMENT_OPS.join(', ')} (a comma list, applied in its order) or none`;

/** `--augment`'s value: 'none', or a comma list of DiffAugment's operations, each at most once. */
export function parsePolicy(text: string): AugmentPolicy {
  const trimmed = text.trim();
  if (trimmed === 'none') return [];
  const names = trimmed.split(',').map((s) => s.trim());
  const policy: AugmentOp[] = [];
  for (const name of names) {
    if (!(AUGMENT_OPS as readonly string[]).includes(name)) {
      throw new UsageError(`--augment ${text}: ${name === '' ? 'an empty name' : `unknown operation '${name}'`}; the operations are ${ALLOWED}`);
    }
    if (policy.includes(name as AugmentOp)) throw new UsageError(`--augment ${text}: ${name} is named twice; the operations are ${ALLOWED}`);
    policy.push(name as AugmentOp);
  }
  return policy;
}

/** The policy as `--augment` takes it (what config.json records). */
export const policyText = (policy: AugmentPolicy): string => (policy.length ? policy.join(',') : 'none');

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
 * Where the augmentation runs. 'host': in JavaScript on the images' values, one pass an operation — where tensors live
 * in this process (cpu, wasm) reading them is a copy, and tfjs's kernels cost more than the pass: on wasm, 2 threads,
 * 64 images of 32×32, tfjs's Gather took 11.5 ms and `color` as tfjs ops 7 ms forward. 'tensors': as tfjs ops
 * (elementwise and a gather), for GPU backends, where reading the images back would stall the device.
 */
export type AugmentCompute = 'host' | 'tensors';
export const defaultCompute = (): AugmentCompute => (tf.getBackend() === 'cpu' || tf.getBackend() === 'wasm' ? 'host' : 'tensors');

/**
 * Applies drawn parameters in their order. Either way it is one differentiable op for tfjs: its gradient is the
 * transpose of what it did (colour's mixing with a mean is symmetric; a spatial map is read backwards).
 */
export function applyAugmentation(images: tf.Tensor4D, steps: readonly AugmentStep[], fill: AugmentFill = OFFICIAL_FILL,
  compute: AugmentCompute = defaultCompute()): tf.Tensor4D {
  const [n, height, width, channels] = images.shape;
  const fills = [fillColour(fill.translation, channels), fillColour(fill.cutout, channels)];
  const plan = stages(steps, n, height, width);
  return compute === 'host' ? onHost(images, plan, fills) : withTensors(images, plan, fills);
}

function fillColour(fill: Fill, channels: number): number[] {
  if (fill === 'zero') return new Array<number>(channels).fill(0);
  const c = fill.background;
  if (c.length !== 1 && c.length !== channels) throw new Error(`a fill colour has 1 or ${channels} values, got ${c.length}`);
  if (c.some((v) => !(v >= -1 && v <= 1))) throw new Error(`a fill colour is in [-1, 1], got [${c.join(', ')}]`);
  return c.length === 1 ? new Array<number>(channels).fill(c[0]) : [...c];
}

type ColorStep = Extract<AugmentStep, { op: 'color' }>;

// A spatial step is a map from each output pixel (n, i, j), numbered n·H·W + i·W + j, to where its value comes from: a
// pixel of the input, or one of the fills, numbered after the pixels (TRANSLATION_FILL, CUTOUT_FILL). Maps compose on
// the host, so translation and cutout side by side are one pass (one gather).
const TRANSLATION_FILL = 0;
const CUTOUT_FILL = 1;
type Stage = ColorStep | { op: 'remap'; source: Int32Array };

/** The steps as colour stages and remaps, each run of spatial steps composed into one remap. */
function stages(steps: readonly AugmentStep[], n: number, height: number, width: number): Stage[] {
  const out: Stage[] = [];
  for (const step of steps) {
    if (step.op === 'color') {
      out.push(step);
      continue;
    }
    let last = out[out.length - 1];
    if (last?.op !== 'remap') out.push((last = { op: 'remap', source: identity(n * height * width) }));
    if (step.op === 'translation') last.source = translate(last.source, step, n, height, width);
    else cutOut(last.source, step, n, height, width);
  }
  return out;
}

function identity(pixels: number): Int32Array {
  const source = new Int32Array(pixels);
  for (let p = 0; p < pixels; p++) source[p] = p;
  return source;
}

/** The map after translating what `source` gives: out[i][j] = source's [i + a][j + b], or the translation's fill. */
function translate(source: Int32Array, { rows, cols }: { rows: Int32Array; cols: Int32Array }, n: number, height: number, width: number): Int32Array {
  const pixels = n * height * width;
  const out = new Int32Array(pixels);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < height; i++) {
      const fromRow = i + rows[b];
      for (let j = 0; j < width; j++) {
        const fromCol = j + cols[b];
        const inside = fromRow >= 0 && fromRow < height && fromCol >= 0 && fromCol < width;
        out[(b * height + i) * width + j] = inside ? source[(b * height + fromRow) * width + fromCol] : pixels + TRANSLATION_FILL;
      }
    }
  }
  return out;
}

/** Sets cutout's square, cut at the image's border, to the cutout's fill in `source` (in place). */
function cutOut(source: Int32Array, { rows, cols }: { rows: Int32Array; cols: Int32Array }, n: number, height: number, width: number): void {
  const [kh, kw] = [cutoutSize(height), cutoutSize(width)];
  const fill = n * height * width + CUTOUT_FILL;
  for (let b = 0; b < n; b++) {
    const top = rows[b] - Math.floor(kh / 2);
    const left = cols[b] - Math.floor(kw / 2);
    for (let i = Math.max(0, top); i < Math.min(height, top + kh); i++) {
      for (let j = Math.max(0, left); j < Math.min(width, left + kw); j++) source[(b * height + i) * width + j] = fill;
    }
  }
}

/**
 * The transpose of a map: for each input pixel, the output pixel that reads it, or `pixels` (a zero) where none does.
 * Translation and cutout move or drop pixels, never copy one twice, so each input pixel has at most one reader and the
 * gradient is a gather too — where tfjs's own gather gradient sums segments, quadratic in the pixels on cpu and wasm.
 */
function readers(source: Int32Array): Int32Array {
  const pixels = source.length;
  const reader = new Int32Array(pixels).fill(pixels);
  for (let p = 0; p < pixels; p++) {
    const q = source[p];
    if (q >= pixels) continue;
    if (reader[q] !== pixels) throw new Error('augment: a spatial map that reads a pixel twice has no gather gradient');
    reader[q] = p;
  }
  return reader;
}

// ---------------------------------------------------------------------------------------------------------------
// On the host: x is [n, H, W, C], row after row; every stage writes a new array.

function onHost(images: tf.Tensor4D, plan: Stage[], fills: number[][]): tf.Tensor4D {
  const shape = images.shape;
  const zero = [new Array<number>(shape[3]).fill(0)];
  const op = tf.customGrad((input) => {
    let values = (input as tf.Tensor).dataSync() as Float32Array; // cpu: tfjs's own array, only read
    for (const stage of plan) values = stage.op === 'color' ? colorOnHost(values, shape, stage, true) : remapOnHost(values, stage.source, fills);
    return {
      value: tf.tensor4d(values, shape),
      gradFunc: (dy: tf.Tensor) => {
        let grad = dy.dataSync() as Float32Array;
        for (const stage of [...plan].reverse()) {
          grad = stage.op === 'color' ? colorOnHost(grad, shape, stage, false) : remapOnHost(grad, readers(stage.source), zero);
        }
        return tf.tensor4d(grad, shape);
      },
    };
  });
  return op(images) as tf.Tensor4D;
}

/**
 * brightness (when `brighten`), saturation, contrast: a + b, then m + (a − m)·s with m the pixel's channel mean, then
 * M + (a − M)·k with M the image's mean — which saturation leaves as it was, so M = mean(a) + b, known before the
 * pixels are written: one pass to sum, one to write. Without brightness it is also the gradient: saturation and
 * contrast are f·a + (1 − f)·mean(a) over a group, which is symmetric (the mean's transpose is the mean), and commute.
 */
function colorOnHost(a: Float32Array, [n, height, width, channels]: number[], step: ColorStep, brighten: boolean): Float32Array {
  const out = new Float32Array(a.length);
  const size = height * width * channels;
  for (let b = 0; b < n; b++) {
    const brightness = brighten ? step.brightness[b] : 0;
    const saturation = step.saturation[b];
    const contrast = step.contrast[b];
    const start = b * size, end = start + size;
    let sum = 0;
    for (let i = start; i < end; i++) sum += a[i];
    const imageMean = sum / size + brightness;
    for (let p = start; p < end; p += channels) {
      let pixelMean = 0;
      for (let c = 0; c < channels; c++) pixelMean += a[p + c];
      pixelMean = pixelMean / channels + brightness;
      for (let c = 0; c < channels; c++) {
        const saturated = pixelMean + (a[p + c] + brightness - pixelMean) * saturation;
        out[p + c] = imageMean + (saturated - imageMean) * contrast;
      }
    }
  }
  return out;
}

/** out[p] = a[source[p]], or the fill it names: one pixel (all its channels) at a time. */
function remapOnHost(a: Float32Array, source: Int32Array, fills: number[][]): Float32Array {
  const pixels = source.length;
  const channels = a.length / pixels;
  const out = new Float32Array(a.length);
  for (let p = 0; p < pixels; p++) {
    const q = source[p];
    if (q < pixels) for (let c = 0; c < channels; c++) out[p * channels + c] = a[q * channels + c];
    else for (let c = 0; c < channels; c++) out[p * channels + c] = fills[q - pixels][c];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// As tfjs ops: colour as the official code writes it, each remap one gather from [x's pixels; the fills].

function withTensors(images: tf.Tensor4D, plan: Stage[], fills: number[][]): tf.Tensor4D {
  return tf.tidy(() => plan.reduce((x, stage) => (stage.op === 'color' ? colorWithTensors(x, stage) : gather(x, stage.source, fills)), images));
}

function colorWithTensors(x: tf.Tensor4D, { brightness, saturation, contrast }: ColorStep): tf.Tensor4D {
  const perImage = (v: Float64Array) => tf.tensor4d(Float32Array.from(v), [v.length, 1, 1, 1]);
  const towards = (y: tf.Tensor4D, mean: tf.Tensor, factor: Float64Array): tf.Tensor4D => y.sub(mean).mul(perImage(factor)).add(mean);
  let y: tf.Tensor4D = x.add(perImage(brightness));
  y = towards(y, y.mean(3, true), saturation); //                       mean over channels: [n, H, W, 1]
  return towards(y, y.mean([1, 2, 3], true), contrast); //              mean over the image: [n, 1, 1, 1]
}

function gather(x: tf.Tensor4D, source: Int32Array, fills: number[][]): tf.Tensor4D {
  const [n, height, width, channels] = x.shape;
  const pixels = n * height * width;
  const gatherRows = (t: tf.Tensor, rows: number[][], index: Int32Array) =>
    tf.gather(tf.concat([t.reshape([pixels, channels]), tf.tensor2d(rows)]), tf.tensor1d(index, 'int32')).reshape(x.shape);
  const op = tf.customGrad((input) => ({
    value: gatherRows(input as tf.Tensor, fills, source), //            [n·H·W + 2, C] → [n, H, W, C]
    gradFunc: (dy: tf.Tensor) => gatherRows(dy, [new Array<number>(channels).fill(0)], readers(source)),
  }));
  return op(x) as tf.Tensor4D;
}
