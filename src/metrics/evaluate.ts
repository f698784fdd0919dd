// Quality figures of a generator against its data: ProGAN's SWD per pyramid level, and a memorisation check
// (how close generated images come to training images, against how close unseen real images come).
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types.js';
import { generateImages, latents, type Discriminator, type Generator } from '../model/generator.js';
import type { EvalFigures } from '../run/records.js';
import { Rng } from '../util/rng.js';
import { nearestDistances } from './distance.js';
import { swd, type Images } from './swd.js';

export interface EvalOptions {
  /** images per set for SWD */
  n: number;
  seed: number;
}

/** The images `indices` of a set, as a set of their own. */
function subset(data: Images, indices: ArrayLike<number>): Images {
  const bytes = data.size * data.size * data.channels;
  const pixels = new Uint8Array(indices.length * bytes);
  for (let i = 0; i < indices.length; i++) pixels.set(data.pixels.subarray(indices[i] * bytes, (indices[i] + 1) * bytes), i * bytes);
  return { pixels, count: indices.length, size: data.size, channels: data.channels };
}

const mean = (x: Float32Array) => x.reduce((s, v) => s + v, 0) / x.length;

// A fifth of the data is held out from the reference set; the memorisation check asks for no more queries than that.
const HELD_OUT_FRACTION = 5;

/**
 * The share of images whose class D's head names as `labels` says (its arg max), from uint8 pixels, in batches:
 * how well G draws the class it is asked for, as D sees it.
 */
export async function classAgreement(D: Discriminator, pixels: Uint8Array, count: number, size: number, channels: number, labels: number[]): Promise<number> {
  const imageBytes = size * size * channels;
  let agree = 0;
  for (let start = 0; start < count; start += 256) {
    const n = Math.min(256, count - start);
    const predicted = tf.tidy(() => {
      const images = tf.tensor4d(pixels.subarray(start * imageBytes, (start + n) * imageBytes), [n, size, size, channels], 'int32').toFloat().div(127.5).sub(1);
      const { classLogits } = D.judge(images as tf.Tensor4D);
      if (!classLogits) throw new Error('the discriminator has no class head');
      return classLogits.argMax(1);
    });
    const classes = await predicted.data();
    predicted.dispose();
    for (let i = 0; i < n; i++) if (classes[i] === labels[start + i]) agree++;
  }
  return agree / count;
}

export async function evaluateGenerator(G: Generator, data: ImageSet, o: EvalOptions, D?: Discriminator): Promise<EvalFigures> {
  const started = performance.now();
  const { imageSize: size, channels } = G;
  if (size !== data.size || channels !== data.channels) {
    throw new Error(`the generator makes ${size}×${size}×${channels} images but the data is ${data.size}×${data.size}×${data.channels}`);
  }
  if (data.count < 2) throw new Error(`evaluation needs at least 2 real images (the data has ${data.count})`);
  const n = Math.min(o.n, data.count);
  const rng = new Rng(o.seed);
  const real = subset(data, rng.permutation(data.count).subarray(0, n));
  // a conditional G draws the classes in turn
  const labels = G.classes ? Array.from({ length: n }, (_, i) => i % G.classes) : undefined;
  const fake: Images = { pixels: await generateImages(G, latents(o.seed, n, G.latent), n, labels), count: n, size, channels: data.channels };
  const s = await swd(real, fake, { seed: o.seed });

  // Held-out real images measure how far a new image of the data lies from the rest; generated images should be as far.
  // A mirrored set is split by source image, both copies to one side: a held-out image's mirror image in the reference
  // would be a near neighbour that no new image has.
  const sources = data.mirrored ? data.count / 2 : data.count;
  const split = rng.permutation(sources);
  const queries = Math.max(1, Math.min(n, Math.floor(sources / HELD_OUT_FRACTION)));
  const rest = split.subarray(queries);
  const heldOut = subset(data, split.subarray(0, queries));
  const reference = subset(data, data.mirrored ? [...rest, ...rest.map((i) => i + sources)] : rest);
  const imageBytes = size * size * data.channels;
  const nnGenerated = await nearestDistances(fake.pixels.subarray(0, queries * imageBytes), queries, reference.pixels, reference.count);
  const nnReal = await nearestDistances(heldOut.pixels, queries, reference.pixels, reference.count);

  const swd_x1e3: Record<string, number> = {};
  s.resolutions.forEach((r, l) => (swd_x1e3[r] = s.levels[l]));
  swd_x1e3.avg = s.average;
  const agreement = labels && D ? await classAgreement(D, fake.pixels, n, size, data.channels, labels) : undefined;
  return {
    n, seed: o.seed, swd_x1e3,
    nn_generated: mean(nnGenerated), nn_real: mean(nnReal), nn_queries: queries, nn_reference: reference.count,
    ...(agreement !== undefined ? { class_agreement: agreement } : {}),
    seconds: (performance.now() - started) / 1000,
  };
}

/** The figures for people, a few lines. */
export function formatEval(f: EvalFigures): string[] {
  const levels = Object.entries(f.swd_x1e3).filter(([k]) => k !== 'avg').sort(([a], [b]) => Number(b) - Number(a));
  const ratio = f.nn_generated / f.nn_real;
  return [
    `SWD ×10³ (${f.n} generated vs ${f.n} real images): ` + levels.map(([r, v]) => `${r}px ${v.toFixed(2)}`).join(', ') + `; average ${f.swd_x1e3.avg.toFixed(2)}`,
    `nearest training image: generated ${f.nn_generated.toFixed(4)}, held-out real ${f.nn_real.toFixed(4)} ` +
      `(ratio ${ratio.toFixed(2)}; well under 1 suggests memorisation; ${f.nn_queries} queries, ${f.nn_reference} reference images)`,
    ...(f.class_agreement !== undefined
      ? [`class agreement: D's class head names the class asked for in ${(100 * f.class_agreement).toFixed(1)}% of the generated images`]
      : []),
  ];
}
