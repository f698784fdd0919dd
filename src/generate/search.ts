// `dcgan sample --search N`: draw N candidates and keep the n the run's discriminator finds most real — AnimeGAN's
// recipe (gen_search_num 512 → gen_num 64). D runs in inference mode, like G: a candidate's score is its own.
import * as tf from '@tensorflow/tfjs';
import { tileGrid } from '../image/grid.js';
import { generateImages, latents, type Discriminator, type Generator } from '../model/generator.js';
import { loadDiscriminator, loadGenerator, readClassNames, type GeneratorChoice } from '../run/runs.js';
import { UsageError } from '../util/errors.js';
import { chooseClass, classesFor } from './classes.js';
import { checkCandidates, checkGridImages, checkGridSide } from './limits.js';
import { imageProgress, writeImage } from './sample.js';
import { applyTruncation } from './style.js';

export interface SearchOptions {
  run: string;
  /** images kept */
  n: number;
  /** candidates drawn */
  candidates: number;
  seed: number;
  out: string;
  cols: number;
  /** --class on a conditional run: every candidate of this class (else candidate i has class i mod classes) */
  class?: string;
  /** --raw, --best: which of the run's generators (default: the average of G's weights where the run keeps one) */
  generator?: GeneratorChoice;
  /** --truncation ψ (StyleGAN runs): the candidates are drawn truncated */
  truncation?: number;
}

export interface SearchResult {
  width: number;
  height: number;
  /** the kept candidates, best first: index among the candidates (= among `dcgan sample`'s images for the seed) */
  kept: { index: number; score: number }[];
  /** mean score of all candidates */
  meanScore: number;
}

const BATCH = 256;

/** D's probability that each G(z) is real, sigmoid(D(G(z))), in batches; `z` holds `count` latents (`labels`: their classes). */
export async function scoreLatents(
  G: Generator, D: Discriminator, z: Float32Array, count: number, labels?: number[], onProgress?: (done: number) => void,
): Promise<Float32Array> {
  const latent = G.latent;
  const scores = new Float32Array(count);
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const s = tf.tidy(() => {
      const classes = labels && tf.tensor1d(labels.slice(start, start + n), 'int32');
      const images = G.generate(tf.tensor2d(z.subarray(start * latent, (start + n) * latent), [n, latent]), classes);
      return tf.sigmoid(D.judge(images).logits);
    });
    scores.set((await s.data()) as Float32Array, start);
    s.dispose();
    onProgress?.(start + n);
  }
  return scores;
}

/** Indices of the k highest scores, highest first; equal scores keep their order. */
export function topIndices(scores: ArrayLike<number>, k: number): number[] {
  return Array.from(scores, (s, i) => ({ s, i }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, k)
    .map((e) => e.i);
}

/** --search against --n and its limit (limits.ts), before any work. */
export function checkSearch(candidates: number, n: number): void {
  if (candidates < n) throw new UsageError(`--search ${candidates} draws fewer candidates than the --n ${n} to keep`);
  checkCandidates(candidates);
  checkGridImages(n, `--n ${n}`);
}

export async function search(o: SearchOptions): Promise<SearchResult> {
  checkSearch(o.candidates, o.n);
  const G = await loadGenerator(o.run, o.generator);
  let D: Discriminator | undefined;
  try {
    D = await loadDiscriminator(o.run);
    const { latent, imageSize: size, channels } = G;
    const choice = chooseClass(o.class, G, await readClassNames(o.run));
    if (choice === 'all') throw new UsageError('--class all does not combine with --search: name one class (or leave --class out: candidate i has class i)');
    applyTruncation(G, o.run, o.truncation);
    checkGridSide(o.out, o.n, size, Math.min(o.cols, o.n));
    const labels = classesFor(choice, o.candidates, G);
    const z = latents(o.seed, o.candidates, latent);
    const progress = imageProgress(o.candidates, 'judging candidates');
    const scores = await scoreLatents(G, D, z, o.candidates, labels, progress.update);
    progress.stop();
    const best = topIndices(scores, o.n);
    const chosen = new Float32Array(o.n * latent);
    best.forEach((k, i) => chosen.set(z.subarray(k * latent, (k + 1) * latent), i * latent));
    const pixels = await generateImages(G, chosen, o.n, labels && best.map((k) => labels[k]));
    const grid = tileGrid(pixels, o.n, size, channels, Math.min(o.cols, o.n));
    await writeImage(o.out, grid);
    return {
      width: grid.width, height: grid.height,
      kept: best.map((index) => ({ index, score: scores[index] })),
      meanScore: scores.reduce((s, v) => s + v, 0) / scores.length,
    };
  } finally {
    G.model.dispose();
    D?.model.dispose();
  }
}
