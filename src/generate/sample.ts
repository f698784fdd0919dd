// `dcgan sample`: the generator of a run → a PNG grid, the same images for the same seed.
import { tileGrid, writePng } from '../image/grid.js';
import { generateImages, latents } from '../model/generator.js';
import { loadGenerator } from '../run/runs.js';

export interface SampleOptions {
  run: string;
  n: number;
  out: string;
  seed: number;
  cols: number;
}

export async function sample(o: SampleOptions): Promise<{ width: number; height: number }> {
  const G = await loadGenerator(o.run);
  try {
    const pixels = await generateImages(G, latents(o.seed, o.n, G.latent), o.n);
    const grid = tileGrid(pixels, o.n, G.imageSize, G.channels, Math.min(o.cols, o.n));
    await writePng(o.out, grid);
    return { width: grid.width, height: grid.height };
  } finally {
    G.model.dispose();
  }
}
