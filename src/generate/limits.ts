// How much one `dcgan sample` may ask for, checked before any work, so that an absurd --n is one line naming the flag
// and its limit, not "Invalid typed array length" or minutes of memory growing.
//
// A grid is held in memory whole, about three times over (the generated pixels, the tiled grid, the encoder's copy):
// 10,000 images of 64×64 colour take 123 MB a copy, of 128×128 (d2l's largest) 492 MB — still well inside a laptop's
// memory. --search keeps only each candidate's latent and score (100,000 candidates of 100 floats: 40 MB) and runs
// G and D in batches, so its limit is one of time: 100,000 candidates take minutes on a CPU.
import path from 'node:path';
import { UsageError } from '../util/errors.js';
import { plural } from '../util/plural.js';

export const MAX_GRID_IMAGES = 10_000;
export const MAX_CANDIDATES = 100_000;

/** The images one grid (or animation) holds, against MAX_GRID_IMAGES; `flags` says how the user asked for them. */
export function checkGridImages(count: number, flags: string, product?: string): void {
  if (count > MAX_GRID_IMAGES) {
    throw new UsageError(`${flags}: ${count.toLocaleString('en-US')} images${product ? ` (${product})` : ''}, and a grid holds at most ${MAX_GRID_IMAGES.toLocaleString('en-US')} ` +
      '(it is kept in memory whole); for more images, run sample again with another --seed');
  }
}

export function checkCandidates(candidates: number): void {
  if (candidates > MAX_CANDIDATES) {
    throw new UsageError(`--search ${candidates}: at most ${MAX_CANDIDATES.toLocaleString('en-US')} candidates (each is drawn by G and judged by D: ` +
      'that many take minutes already)');
  }
}

/** The largest side each format can hold (libvips refuses more): WebP 16383, JPEG 65500, GIF 65535; PNG far more. */
const MAX_SIDE: Record<string, number> = { '.webp': 16383, '.jpg': 65500, '.jpeg': 65500, '.gif': 65535 };

/**
 * The size of a grid of `n` images of `size` pixels in `cols` columns (as image/grid.ts tiles it: 2 pixels between
 * and around), checked against what the format of `out` can hold.
 */
export function checkGridSide(out: string, n: number, size: number, cols: number): void {
  const pad = 2;
  const rows = Math.ceil(n / cols);
  const width = cols * (size + pad) + pad;
  const height = rows * (size + pad) + pad;
  const ext = path.extname(out).toLowerCase();
  const max = MAX_SIDE[ext];
  if (max && Math.max(width, height) > max) {
    throw new UsageError(`--out ${out}: ${plural(n, 'image')} of ${size} px in ${plural(cols, 'column')} make a ${width}×${height} image, and ${ext} holds at most ` +
      `${max} pixels a side; pass fewer images, more --cols, or a .png`);
  }
}
