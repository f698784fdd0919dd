// One DCGAN training step, d2l's update_D then update_G (Goodfellow et al.'s non-saturating loss).
import * as tf from '@tensorflow/tfjs';
import type { Adam } from './adam.js';

export interface Gan {
  G: tf.LayersModel;
  D: tf.LayersModel;
  optG: Adam;
  optD: Adam;
  /**
   * How the batch's cross-entropies make the loss that is differentiated: d2l's BCEWithLogitsLoss(reduction='sum'),
   * or their mean. Under Adam only ε sees the difference. The losses reported are per example either way.
   */
  reduction: 'sum' | 'mean';
}

/** Sigmoid cross-entropy of logits against a constant label, summed or averaged over the batch. */
function bce(logits: tf.Tensor, label: 0 | 1, reduction: Gan['reduction']): tf.Scalar {
  const labels = label === 1 ? tf.onesLike(logits) : tf.zerosLike(logits);
  // tfjs's default reduction, SUM_BY_NONZERO_WEIGHTS, is the mean when there are no weights
  const tfReduction = reduction === 'sum' ? tf.Reduction.SUM : tf.Reduction.SUM_BY_NONZERO_WEIGHTS;
  return tf.losses.sigmoidCrossEntropy(labels, logits, undefined, undefined, tfReduction) as tf.Scalar;
}

/** The loss as d2l reports it: per example (d2l divides its summed losses by the number of examples). */
const perExample = (loss: tf.Tensor, gan: Gan, n: number) => (gan.reduction === 'sum' ? loss.div(n) : loss);

const train = { training: true };
const trainableVariables = (model: tf.LayersModel) => model.trainableWeights.map((w) => w.read() as tf.Variable);

/** Discriminator: real images towards 1, generated ones towards 0. Returns [loss_D, mean D(x), mean D(G(z))]. */
function updateD(gan: Gan, X: tf.Tensor, Z: tf.Tensor): tf.Tensor[] {
  const { G, D, optD, reduction } = gan;
  const fakeX = G.apply(Z, train) as tf.Tensor; // computed outside the gradient: G is not updated here (detach)
  let meanDx!: tf.Scalar, meanDGz!: tf.Scalar;
  const { value, grads } = tf.variableGrads(() => {
    const realY = D.apply(X, train) as tf.Tensor;
    const fakeY = D.apply(fakeX, train) as tf.Tensor;
    meanDx = tf.keep(tf.sigmoid(realY).mean());
    meanDGz = tf.keep(tf.sigmoid(fakeY).mean());
    return bce(realY, 1, reduction).add(bce(fakeY, 0, reduction)).div(2);
  }, trainableVariables(D));
  optD.apply(grads);
  return [perExample(value, gan, X.shape[0]), meanDx, meanDGz];
}

/** Generator: make D call a fresh G(z) real. Returns loss_G. */
function updateG(gan: Gan, Z: tf.Tensor): tf.Tensor {
  const { G, D, optG, reduction } = gan;
  const { value, grads } = tf.variableGrads(() => {
    const fakeY = D.apply(G.apply(Z, train) as tf.Tensor, train) as tf.Tensor;
    return bce(fakeY, 1, reduction);
  }, trainableVariables(G));
  optG.apply(grads);
  return perExample(value, gan, Z.shape[0]);
}

/**
 * X: real images in [-1, 1], NHWC; Z: latent noise [n, latent].
 * Returns [loss_D, loss_G, mean D(x), mean D(G(z))] as one small tensor, left on the device so that the caller can read
 * it when it suits (a read forces a GPU sync).
 */
export function trainStep(gan: Gan, X: tf.Tensor4D, Z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [lossD, meanDx, meanDGz] = updateD(gan, X, Z);
    const lossG = updateG(gan, Z);
    const stats = tf.stack([lossD, lossG, meanDx, meanDGz]) as tf.Tensor1D;
    tf.dispose([meanDx, meanDGz]); // kept out of variableGrads' scope with tf.keep, which every tidy then leaves alone
    return stats;
  });
}
