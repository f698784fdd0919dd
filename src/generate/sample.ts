// `dcgan sample`: the generator of a run → a PNG grid, the same images for the same seed. On a conditional run
// --class picks the class; --class all draws the same latents once per class, a row each.
import { tileGrid, writePng } from '../image/grid.js';
import { generateImages, latents } from '../model/generator.js';
import { loadGenerator, readClassNames } from '../run/runs.js';
import { chooseClass, classesFor } from './classes.js';

export interface SampleOptions {
  run: string;
  n: number;
  out: string;
  seed: number;
  cols: number;
  /** --class: a name, an index or 'all' (conditional runs) */
  class?: string;
}

export async function sample(o: SampleOptions): Promise<{ width: number; height: number; rows?: number }> {
  const G = await loadGenerator(o.run);
  try {
    const choice = chooseClass(o.class, G, await readClassNames(o.run));
    const z = latents(o.seed, o.n, G.latent);
    if (choice === 'all') {
      const all = new Float32Array(G.classes * z.length);
      for (let c = 0; c < G.classes; c++) all.set(z, c * z.length);
      const labels = Array.from({ length: G.classes * o.n }, (_, i) => Math.floor(i / o.n));
      const grid = tileGrid(await generateImages(G, all, G.classes * o.n, labels), G.classes * o.n, G.imageSize, G.channels, o.n);
      await writePng(o.out, grid);
      return { width: grid.width, height: grid.height, rows: G.classes };
    }
    const pixels = await generateImages(G, z, o.n, classesFor(choice, o.n, G));
    const grid = tileGrid(pixels, o.n, G.imageSize, G.channels, Math.min(o.cols, o.n));
    await writePng(o.out, grid);
    return { width: grid.width, height: grid.height };
  } finally {
    G.model.dispose();
  }
}
