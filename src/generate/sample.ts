// `dcgan sample`: the generator of a run → a PNG grid. Batch norm runs in inference mode (the moving statistics
// gathered in training), the same as the per-epoch grids: each image depends on its own latent only, so --n 1 and
// --n 64 draw the same first image for the same seed.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { tileGrid, toUint8, writePng } from '../image/grid.js';
import { loadModel } from '../model/io.js';
import { Rng } from '../util/rng.js';

export interface SampleOptions {
  run: string;
  n: number;
  out: string;
  seed: number;
  cols: number;
}

/** The most recently trained run under `root` (a folder with generator/model.json), or undefined. */
export async function latestRun(root: string): Promise<string | undefined> {
  if (!existsSync(root)) return undefined;
  let best: { dir: string; mtime: number } | undefined;
  for (const name of await readdir(root)) {
    const model = path.join(root, name, 'generator', 'model.json');
    if (!existsSync(model)) continue;
    const mtime = (await stat(model)).mtimeMs;
    if (!best || mtime > best.mtime) best = { dir: path.join(root, name), mtime };
  }
  return best?.dir;
}

/** Latent vectors for a seed: the same seed gives the same latents, whatever n (the first k of n+1 equal those of n). */
export function latents(seed: number, n: number, latent: number): Float32Array {
  return new Rng(seed).normals(n * latent);
}

/** Runs G on `z` in batches of at most 256 (memory stays bounded for large --n) and returns uint8 pixels. */
export async function generate(G: tf.LayersModel, z: Float32Array, n: number): Promise<Uint8Array> {
  const latent = z.length / n;
  const [, size, , channels] = G.outputs[0].shape as number[];
  const out = new Uint8Array(n * size * size * channels);
  for (let start = 0; start < n; start += 256) {
    const count = Math.min(256, n - start);
    const images = tf.tidy(() => G.predict(tf.tensor2d(z.subarray(start * latent, (start + count) * latent), [count, latent])) as tf.Tensor);
    out.set(toUint8((await images.data()) as Float32Array), start * size * size * channels);
    images.dispose();
  }
  return out;
}

/** A run's generator; a clear error when the run has none. */
export async function loadGenerator(run: string): Promise<tf.LayersModel> {
  const generatorDir = path.join(run, 'generator');
  if (!existsSync(path.join(generatorDir, 'model.json'))) throw new Error(`no generator in ${run} (train first: dcgan train)`);
  return loadModel(generatorDir);
}

export async function sample(o: SampleOptions): Promise<{ width: number; height: number }> {
  const G = await loadGenerator(o.run);
  try {
    const latent = (G.inputs[0].shape as number[])[1];
    const [, size, , channels] = G.outputs[0].shape as number[];
    const pixels = await generate(G, latents(o.seed, o.n, latent), o.n);
    const grid = tileGrid(pixels, o.n, size, channels as 1 | 3, Math.min(o.cols, o.n));
    await writePng(o.out, grid);
    return { width: grid.width, height: grid.height };
  } finally {
    G.dispose();
  }
}
