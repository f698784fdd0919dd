// What sampling does with a StyleGAN generator's w (src/model/stylegan.ts): the truncation trick, walks in w, and the
// style-mixing figure's codes. All need G's mapping network (z → w), so a run of another architecture is refused in
// one line naming the flag.
//
// Walks in w are straight lines (lerp), as the StyleGAN paper's perceptual path length walks W: w lies where the
// mapping put it, not on z's Gaussian sphere, so slerp (which suits z, White 2016) has nothing to follow there.
import * as tf from '@tensorflow/tfjs';
import { toUint8 } from '../image/grid.js';
import type { Generator } from '../model/generator.js';
import { setTruncation } from '../model/stylegan.js';
import { everyLayer, isStyleGenerator, styleModels } from '../model/style-models.js';
import { UsageError } from '../util/errors.js';
import { lerp } from '../util/slerp.js';

/** Refuses, in one line naming the flag, a generator that has no w (any architecture but stylegan). */
export function requireStyleGenerator(G: Generator, flag: string, run: string, what: string): void {
  if (!isStyleGenerator(G.model)) {
    throw new UsageError(`${flag}: the generator of ${run} has no mapping network, so no w to ${what}: it needs a run trained with --arch stylegan`);
  }
}

/**
 * The truncation trick on a run's StyleGAN generator: every w it draws becomes w̄ + ψ(w − w̄) (its WAverage layer does it
 * in inference). The average of G's weights has G's own w̄: --ema copies it from G at every step (train/ema.ts), as
 * the official code copies G's dlatent_avg into Gs.
 */
export function applyTruncation(G: Generator, run: string, psi: number | undefined): void {
  if (psi === undefined) return;
  requireStyleGenerator(G, `--truncation ${psi}`, run, 'truncate');
  setTruncation(G.model, psi);
}

/** A StyleGAN G's two halves: z (and the class) → w, and w per layer → images. */
export interface StyleParts {
  mapping: tf.LayersModel;
  synthesis: tf.LayersModel;
  /** synthesis layers, each with its own w */
  layers: number;
  /** w's size */
  size: number;
}

export function styleParts(G: Generator): StyleParts {
  const { mapping, synthesis, layers } = styleModels(G.model);
  return { mapping, synthesis, layers, size: mapping.outputs[0].shape[1] as number };
}

/** w ([n × size] floats) for n latents (and, on a conditional run, their classes), truncated if G is set to. */
export async function mapLatents(G: Generator, parts: StyleParts, z: Float32Array, n: number, labels?: ArrayLike<number>): Promise<Float32Array> {
  const w = tf.tidy(() => {
    const zs = tf.tensor2d(z, [n, G.latent]);
    return parts.mapping.predict(labels ? [zs, tf.tensor2d(Float32Array.from(labels), [n, 1])] : zs) as tf.Tensor;
  });
  const values = (await w.data()) as Float32Array;
  w.dispose();
  return values;
}

const BATCH = 256;

/** The synthesis network on `count` codes of w per layer ([count × layers × size] floats), in batches: uint8 NHWC. */
export async function synthesize(G: Generator, parts: StyleParts, ws: Float32Array, count: number, onProgress?: (done: number) => void): Promise<Uint8Array> {
  const { layers, size } = parts;
  const imageBytes = G.imageSize * G.imageSize * G.channels;
  const out = new Uint8Array(count * imageBytes);
  for (let start = 0; start < count; start += BATCH) {
    const k = Math.min(BATCH, count - start);
    const images = tf.tidy(() => parts.synthesis.predict(tf.tensor3d(ws.subarray(start * layers * size, (start + k) * layers * size), [k, layers, size])) as tf.Tensor);
    out.set(toUint8((await images.data()) as Float32Array), start * imageBytes);
    images.dispose();
    onProgress?.(start + k);
  }
  return out;
}

/**
 * Points of `walks` straight walks in w ([walks × steps × size]), walk after walk: walk i from the i-th of `starts` to
 * the i-th of `ends` at t = 0, 1/(steps − 1), …, 1, as (1 − t)·a + t·b (lerp: the exported page walks with it too).
 */
export function walkW(starts: Float32Array, ends: Float32Array, walks: number, steps: number, size: number): Float32Array {
  const out = new Float32Array(walks * steps * size);
  for (let w = 0; w < walks; w++) {
    for (let k = 0; k < steps; k++) {
      const at = (w * steps + k) * size;
      out.set(lerp(starts.subarray(w * size, (w + 1) * size), ends.subarray(w * size, (w + 1) * size), k / (steps - 1)), at);
    }
  }
  return out;
}

/**
 * The images of walks in w between the codes of two sets of latents (`starts` and `ends`, [walks × latent]): each end
 * through the mapping network, the points between on the line joining them, each through the synthesis network.
 */
export async function styleWalkImages(
  G: Generator, starts: Float32Array, ends: Float32Array, walks: number, steps: number, labels?: number[], onProgress?: (done: number) => void,
): Promise<Uint8Array> {
  const parts = styleParts(G);
  const from = await mapLatents(G, parts, starts, walks, labels);
  const to = await mapLatents(G, parts, ends, walks, labels);
  const points = walkW(from, to, walks, steps, parts.size);
  return synthesize(G, parts, everyLayer(points, walks * steps, parts.layers, parts.size), walks * steps, onProgress);
}

/**
 * One code of w per layer ([layers × size]) that takes B's w at the layers of `range` ([first, end)) and A's at the
 * others: the style-mixing figure's "styles copied from source B". Where the range starts at layer 0 or ends at the
 * last, it is mixStyles' single crossover (A below, B from it on; or B below, A from it on).
 */
export function copyStyles(wA: Float32Array, wB: Float32Array, layers: number, range: readonly [number, number]): Float32Array {
  const size = wA.length;
  const ws = new Float32Array(layers * size);
  for (let l = 0; l < layers; l++) ws.set(l >= range[0] && l < range[1] ? wB : wA, l * size);
  return ws;
}
