// Image-to-image distances for the memorisation check and the collapse warning, in one unit: the root-mean-square
// pixel difference with pixels in [0, 1] (0: identical; two unrelated images are typically 0.2–0.5 apart).
import * as tf from '@tensorflow/tfjs';

/** Rows of images as floats in [0, 1]: [count, pixels per image]. */
function rows(pixels: Uint8Array, count: number): tf.Tensor2D {
  return tf.tidy(() => tf.tensor2d(pixels, [count, pixels.length / count], 'int32').toFloat().div(255));
}

/**
 * For each query image, the distance to its closest reference image. Runs as matrix products
 * (‖q‖² + ‖r‖² − 2 q·r) over reference chunks, so memory stays bounded by the chunk.
 */
export async function nearestDistances(queries: Uint8Array, queryCount: number, reference: Uint8Array, referenceCount: number, chunk = 512): Promise<Float32Array> {
  if (queryCount < 1 || referenceCount < 1) throw new Error('nearest-neighbour distances need at least one query and one reference image');
  const dim = queries.length / queryCount;
  if (reference.length / referenceCount !== dim) throw new Error('queries and reference images differ in size');
  const Q = rows(queries, queryCount);
  let best = tf.fill([queryCount], Infinity) as tf.Tensor1D;
  try {
    const qq = tf.tidy(() => Q.square().sum(1, true));
    for (let start = 0; start < referenceCount; start += chunk) {
      const count = Math.min(chunk, referenceCount - start);
      const next = tf.tidy(() => {
        const R = rows(reference.subarray(start * dim, (start + count) * dim), count);
        const d2 = qq.add(R.square().sum(1).expandDims(0)).sub(tf.matMul(Q, R, false, true).mul(2));
        return tf.minimum(best, d2.min(1)) as tf.Tensor1D;
      });
      best.dispose();
      best = next;
    }
    qq.dispose();
    const d2 = (await best.data()) as Float32Array;
    // the expansion can dip a hair below 0 for identical images
    return d2.map((v) => Math.sqrt(Math.max(0, v) / dim));
  } finally {
    tf.dispose([Q, best]);
  }
}

/** The mean distance between all pairs of the images: how different a batch's images are from each other. */
export function meanPairwiseDistance(pixels: Uint8Array, count: number): number {
  if (count < 2) throw new Error('pairwise distances need at least two images');
  const dim = pixels.length / count;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      let d2 = 0;
      for (let k = 0; k < dim; k++) {
        const d = pixels[i * dim + k] - pixels[j * dim + k];
        d2 += d * d;
      }
      sum += Math.sqrt(d2 / dim) / 255;
    }
  }
  return sum / ((count * (count - 1)) / 2);
}
