// `dcgan sample`: the generator of a run → a grid of images, the same images for the same seed, as PNG, JPEG or WebP.
// On a conditional run --class picks the class; --class all draws the same latents once per class, a row each.
// On a StyleGAN run --truncation ψ draws every w as w̄ + ψ(w − w̄) (generate/style.ts).
import path from 'node:path';
import sharp from 'sharp';
import { tileGrid, type RawImage } from '../image/grid.js';
import { generateImages, latents } from '../model/generator.js';
import { loadGenerator, readClassNames, type GeneratorChoice } from '../run/runs.js';
import { UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { createProgress } from '../util/progress.js';
import { chooseClass, classesFor } from './classes.js';
import { checkGridImages, checkGridSide } from './limits.js';
import { applyTruncation } from './style.js';

export interface SampleOptions {
  run: string;
  n: number;
  out: string;
  seed: number;
  cols: number;
  /** --class: a name, an index or 'all' (conditional runs) */
  class?: string;
  /** --raw, --best: which of the run's generators (default: the average of G's weights where the run keeps one) */
  generator?: GeneratorChoice;
  /** --truncation ψ in [0, 1] (StyleGAN runs): 1 or undefined leaves w as it is */
  truncation?: number;
}

export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** The format --out's extension asks for; an extension without one of ours is refused, never written as PNG bytes. */
export function imageFormat(file: string): ImageFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.webp') return 'webp';
  throw new UsageError(`--out ${file}: a grid is written as .png, .jpg (or .jpeg) or .webp${ext ? `, not ${ext}` : '; the name has no extension'}`);
}

/** Encodes an image in the format its name asks for: PNG, JPEG (quality 95, no chroma subsampling: small tiles) or lossless WebP. */
export async function encodeImage(img: RawImage, format: ImageFormat): Promise<Buffer> {
  const image = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: img.channels },
  });
  if (format === 'jpeg') return image.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
  if (format === 'webp') return image.webp({ lossless: true }).toBuffer();
  return image.png().toBuffer();
}

export async function writeImage(file: string, img: RawImage): Promise<void> {
  await writeFileAtomic(file, await encodeImage(img, imageFormat(file)));
}

/** Sampling's progress on stderr, for more images than a few batches (fewer take a moment): a no-op otherwise. */
export function imageProgress(total: number, label: string): { update: (done: number) => void; stop: () => void } {
  if (total <= 1024) return { update: () => {}, stop: () => {} };
  const bar = createProgress({ total, label });
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}

/** --n against its limit, before any work (limits.ts). */
export function checkSample(n: number): void {
  checkGridImages(n, `--n ${n}`);
}

export async function sample(o: SampleOptions): Promise<{ width: number; height: number; rows?: number }> {
  imageFormat(o.out);
  checkSample(o.n);
  const G = await loadGenerator(o.run, o.generator);
  try {
    const choice = chooseClass(o.class, G, await readClassNames(o.run));
    applyTruncation(G, o.run, o.truncation);
    if (choice === 'all') {
      checkGridImages(G.classes * o.n, `--class all --n ${o.n}`, `${G.classes} classes × ${o.n}`);
      checkGridSide(o.out, G.classes * o.n, G.imageSize, o.n);
    } else {
      checkGridSide(o.out, o.n, G.imageSize, Math.min(o.cols, o.n));
    }
    const z = latents(o.seed, o.n, G.latent);
    if (choice === 'all') {
      const all = new Float32Array(G.classes * z.length);
      for (let c = 0; c < G.classes; c++) all.set(z, c * z.length);
      const labels = Array.from({ length: G.classes * o.n }, (_, i) => Math.floor(i / o.n));
      const progress = imageProgress(G.classes * o.n, 'generating');
      const grid = tileGrid(await generateImages(G, all, G.classes * o.n, labels, progress.update), G.classes * o.n, G.imageSize, G.channels, o.n);
      progress.stop();
      await writeImage(o.out, grid);
      return { width: grid.width, height: grid.height, rows: G.classes };
    }
    const progress = imageProgress(o.n, 'generating');
    const pixels = await generateImages(G, z, o.n, classesFor(choice, o.n, G), progress.update);
    progress.stop();
    const grid = tileGrid(pixels, o.n, G.imageSize, G.channels, Math.min(o.cols, o.n));
    await writeImage(o.out, grid);
    return { width: grid.width, height: grid.height };
  } finally {
    G.model.dispose();
  }
}
