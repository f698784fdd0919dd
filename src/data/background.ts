// The colour a set's images stand on, read from the images: what fills what is not image (DiffAugment's translation
// and cutout with --augment-fill background) — white for sprites flattened onto white, black for MNIST's digits.
import type { ImageSet } from './types.js';

/** The most common colour among the four corner pixels of every image (uint8 per channel); ties: the first seen. */
export function backgroundColour(set: Pick<ImageSet, 'pixels' | 'count' | 'size' | 'channels'>): Uint8Array {
  const { size, channels } = set;
  const counts = new Map<string, number>();
  let best = '', bestCount = 0;
  for (let k = 0; k < set.count; k++) {
    for (const [y, x] of [[0, 0], [0, size - 1], [size - 1, 0], [size - 1, size - 1]]) {
      const at = ((k * size + y) * size + x) * channels;
      const key = Array.from(set.pixels.subarray(at, at + channels)).join(',');
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n > bestCount) [best, bestCount] = [key, n];
    }
  }
  return Uint8Array.from(best.split(',').map(Number));
}
