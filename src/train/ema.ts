// An exponential moving average of G's weights (Karras et al. 2018; Yazici et al., ICLR 2019), in StyleGAN2-ADA's form
// (training/training_loop.py): after every step G_ema ← β·G_ema + (1 − β)·G with β = 0.5^(batch / n_half), the
// half-life n_half = --ema KIMG thousand images, ramped up as at most 5 % of the images seen so far. It only reads G:
// training does not depend on it, so a run with --ema trains exactly as one without.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';

/** StyleGAN2-ADA's ema_rampup: the half-life is at most this share of the images seen before the step. */
export const EMA_RAMPUP = 0.05;

/**
 * β for the step that follows `imagesSeen` training images (StyleGAN2-ADA's cur_nimg, counted before the step):
 * 0.5^(batch / max(min(kimg·1000, imagesSeen·0.05), 1e-8)). The first step gives β = 0: G_ema starts as G.
 */
export function emaBeta(kimg: number, batchSize: number, imagesSeen: number): number {
  const halfLife = Math.min(kimg * 1000, imagesSeen * EMA_RAMPUP);
  return 0.5 ** (batchSize / Math.max(halfLife, 1e-8));
}

/**
 * G_ema.w ← β·G_ema.w + (1 − β)·G.w, as G.w + β·(G_ema.w − G.w) (PyTorch's lerp), for every trainable weight and, with
 * `statistics`, for batch norm's moving mean and variance too. Every other non-trainable weight (StyleGAN's w̄, its
 * stored noise maps, ProGAN's fade-in α) is copied from G, as StyleGAN2-ADA copies buffers into G_ema: they are state
 * G keeps, not weights to average (an average of w̄'s would lag w̄, and without the copy G_ema keeps the zeros it was
 * built with).
 */
export function updateAverage(G: tf.LayersModel, Gema: tf.LayersModel, beta: number, statistics: boolean): void {
  const trainable = new Set(G.trainableWeights);
  const batchNorm = new Set(batchNormLayers(G).flatMap((l) => l.nonTrainableWeights));
  G.weights.forEach((w, i) => {
    const average = Gema.weights[i];
    if (trainable.has(w) || (statistics && batchNorm.has(w))) {
      tf.tidy(() => {
        const g = w.read();
        average.write(g.add(average.read().sub(g).mul(beta)));
      });
    } else if (!batchNorm.has(w)) {
      average.write(w.read());
    }
  });
}

/** The fields of a batch-norm layer this needs (tfjs-layers 4.22's BatchNormalization and its PyTorch subclass). */
interface BatchNormInternals {
  momentum: number;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

const batchNormLayers = (model: tf.LayersModel) =>
  model.layers.filter((l) => l.getClassName() === 'BatchNormalization') as unknown as (tf.layers.Layer & BatchNormInternals)[];

/** Batches of noise the standing statistics are averaged over, and their size. */
export const STANDING = { batches: 4, batchSize: 128 };

/**
 * BigGAN's "standing statistics": G_ema's batch-norm moving mean and variance recomputed from G_ema itself, run in
 * training mode on fresh noise — the statistics G gathered belong to G's weights, not to their average. Each layer's
 * statistics become the plain mean of the batches' (the k-th batch enters with weight 1/k, as PyTorch's momentum=None),
 * in the layer's own variance form (PyTorch's unbiased or Keras' biased). The noise comes from `seed`: the same weights
 * give the same statistics. A generator without batch norm is left as it is.
 */
export function standingStatistics(Gema: tf.LayersModel, o: { seed: number; latent: number; classes: number }, sizes = STANDING): void {
  const layers = batchNormLayers(Gema);
  if (!layers.length) return;
  const rng = new Rng(o.seed);
  const momenta = layers.map((l) => l.momentum);
  try {
    for (let k = 1; k <= sizes.batches; k++) {
      // the layers update moving = momentum·moving + (1 − momentum)·batch: momentum 1 − 1/k averages the k batches
      for (const l of layers) l.momentum = 1 - 1 / k;
      const z = rng.normals(sizes.batchSize * o.latent);
      const labels = o.classes ? rng.integers(sizes.batchSize, o.classes) : undefined;
      tf.tidy(() => {
        const Z = tf.tensor2d(z, [sizes.batchSize, o.latent]);
        const inputs = labels ? [Z, tf.tensor2d(Array.from(labels), [sizes.batchSize, 1])] : Z;
        Gema.apply(inputs, { training: true });
      });
    }
  } finally {
    layers.forEach((l, i) => {
      l.momentum = momenta[i];
    });
  }
}
