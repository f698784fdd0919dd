// `dcgan sample --interpolate K`: walks through latent space along great circles (slerp, as White 2016 recommends for
// Gaussian latents: a straight line passes through the improbable region near the origin), K images per walk.
// On a StyleGAN run the walks go in w instead, on straight lines (lerp), as the paper's perceptual path length does:
// z's great circle means nothing once the mapping network has bent the space (generate/style.ts).
// Walk i starts at the latent of image i of `dcgan sample --seed S` and ends at that of image n + i, so both ends are
// images the plain sampler draws for the same seed.
import path from 'node:path';
import sharp from 'sharp';
import { tileGrid, writePng, type RawImage } from '../image/grid.js';
import { generateImages, latents } from '../model/generator.js';
import { isStyleGenerator } from '../model/style-models.js';
import { loadGenerator, readClassNames, type GeneratorChoice } from '../run/runs.js';

import { UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { slerp } from '../util/slerp.js';
import { chooseClass, classesFor } from './classes.js';
import { plural } from '../util/plural.js';
import { checkGridImages, checkGridSide } from './limits.js';
import { imageProgress } from './sample.js';
import { applyTruncation, styleWalkImages } from './style.js';

export interface InterpolateOptions {
  run: string;
  /** walks (rows of the grid) */
  n: number;
  /** images per walk, both ends included */
  steps: number;
  seed: number;
  /** .png: a grid, one walk per row; .gif or .webp: an animation, one frame per step, the walks side by side */
  out: string;
  /** walks per row of an animation frame */
  cols: number;
  /** --class on a conditional run: one class for every walk (else walk i keeps class i mod classes) */
  class?: string;
  /** --raw, --best: which of the run's generators (default: the average of G's weights where the run keeps one) */
  generator?: GeneratorChoice;
  /** --truncation ψ (StyleGAN runs): the walks' ends, and so the walks, truncated */
  truncation?: number;
}

export type OutputKind = 'png' | 'gif' | 'webp';

export function outputKind(file: string): OutputKind {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png' || ext === '.gif' || ext === '.webp') return ext.slice(1) as OutputKind;
  throw new UsageError(`--out ${file}: an interpolation is written as .png (a grid), .gif or .webp (an animation)`);
}

/**
 * Latents of `walks` walks of `steps` points each, walk after walk: walk i runs from the i-th of `starts` to the i-th
 * of `ends` (both [walks × latent]) at t = 0, 1/(steps − 1), …, 1.
 */
export function walkLatents(starts: Float32Array, ends: Float32Array, walks: number, steps: number): Float32Array {
  checkInterpolation(steps, walks);
  const latent = starts.length / walks;
  const out = new Float32Array(walks * steps * latent);
  for (let w = 0; w < walks; w++) {
    const a = starts.subarray(w * latent, (w + 1) * latent);
    const b = ends.subarray(w * latent, (w + 1) * latent);
    for (let k = 0; k < steps; k++) out.set(slerp(a, b, k / (steps - 1)), (w * steps + k) * latent);
  }
  return out;
}

/** --interpolate K with --n walks, before any work: at least the two ends, at most a grid's images (limits.ts). */
export function checkInterpolation(steps: number, walks: number): void {
  if (steps < 2) throw new UsageError('--interpolate needs at least 2 steps (the two ends)');
  checkGridImages(steps * walks, `--interpolate ${steps} --n ${walks}`, `${steps} steps × ${plural(walks, 'walk')}`);
}

/** The walks' start and end latents for a seed: the first n and the next n latents `dcgan sample` draws for it. */
export function walkEnds(seed: number, walks: number, latent: number): { starts: Float32Array; ends: Float32Array } {
  const z = latents(seed, 2 * walks, latent);
  return { starts: z.subarray(0, walks * latent), ends: z.subarray(walks * latent) };
}

// Frames play forward then back, so the loop has no jump; the ends linger so that one can see them.
const FRAME_MS = 90;
const END_MS = 600;

/** Writes frames (equal sizes) as a looping animated GIF or WebP. */
export async function writeAnimation(file: string, frames: RawImage[], delays: number[], kind: 'gif' | 'webp'): Promise<void> {
  const { width, height, channels } = frames[0];
  const stacked = new Uint8Array(frames.length * width * height * channels);
  frames.forEach((f, i) => stacked.set(f.data, i * f.data.length));
  const image = sharp(Buffer.from(stacked.buffer), { raw: { width, height: height * frames.length, channels, pageHeight: height } });
  const encoded = await (kind === 'gif' ? image.gif({ loop: 0, delay: delays }) : image.webp({ loop: 0, delay: delays, lossless: true })).toBuffer();
  await writeFileAtomic(file, encoded);
}

/** The walks' output and where they walked: z (slerp) or, on a StyleGAN run, w (lerp). */
export interface InterpolateResult {
  width: number;
  height: number;
  frames: number;
  space: 'z' | 'w';
}

export async function interpolate(o: InterpolateOptions): Promise<InterpolateResult> {
  const kind = outputKind(o.out);
  checkInterpolation(o.steps, o.n);
  const G = await loadGenerator(o.run, o.generator);
  try {
    const { imageSize: size, channels } = G;
    const { starts, ends } = walkEnds(o.seed, o.n, G.latent);
    const count = o.n * o.steps;
    const choice = chooseClass(o.class, G, await readClassNames(o.run));
    if (choice === 'all') throw new UsageError('--class all does not combine with --interpolate: name one class (or leave --class out: walk i keeps class i)');
    applyTruncation(G, o.run, o.truncation);
    const walkClasses = classesFor(choice, o.n, G);
    const labels = walkClasses && Array.from({ length: count }, (_, i) => walkClasses[Math.floor(i / o.steps)]);
    if (kind === 'png') checkGridSide(o.out, count, size, o.steps);
    else checkGridSide(o.out, o.n, size, Math.min(o.cols, o.n));
    const progress = imageProgress(count, 'generating');
    const space = isStyleGenerator(G.model) ? 'w' : 'z';
    const pixels = space === 'w'
      ? await styleWalkImages(G, starts, ends, o.n, o.steps, walkClasses, progress.update)
      : await generateImages(G, walkLatents(starts, ends, o.n, o.steps), count, labels, progress.update);
    progress.stop();
    if (kind === 'png') {
      const grid = tileGrid(pixels, count, size, channels, o.steps);
      await writePng(o.out, grid);
      return { width: grid.width, height: grid.height, frames: 1, space };
    }
    const imageBytes = size * size * channels;
    const order = [...Array(o.steps).keys(), ...Array.from({ length: Math.max(0, o.steps - 2) }, (_, i) => o.steps - 2 - i)];
    const frames = order.map((k) => {
      const frame = new Uint8Array(o.n * imageBytes);
      for (let w = 0; w < o.n; w++) frame.set(pixels.subarray((w * o.steps + k) * imageBytes, (w * o.steps + k + 1) * imageBytes), w * imageBytes);
      return tileGrid(frame, o.n, size, channels, Math.min(o.cols, o.n));
    });
    const delays = order.map((k) => (k === 0 || k === o.steps - 1 ? END_MS : FRAME_MS));
    await writeAnimation(o.out, frames, delays, kind);
    return { width: frames[0].width, height: frames[0].height, frames: frames.length, space };
  } finally {
    G.model.dispose();
  }
}
