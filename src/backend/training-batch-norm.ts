// Batch normalisation of a training batch as one operation: the batch's per-channel mean and (biased) variance, and
// (x − mean)·scale/√(variance + ε) + offset, with the gradient worked out by hand.
//
// Written with tfjs's ops (tf.moments, then tf.batchNorm), a training batch norm is six kernels forward and about twenty
// backward, each a pass over the activation: on the wasm backend, at 32×32, width 32, batch 64, about a third of a
// training step, and almost all of it in single-threaded loops. A backend that registers the TrainingBatchNorm kernel
// (the wasm backend, wasm-training-batch-norm.ts) does it in three passes forward and two backward; every other backend
// runs the ops as before, bit for bit.
//
// The kernel's three outputs are y, the mean and the variance (the moving statistics are updated from the last two).
// Its gradient takes all three outputs' gradients: x's gradient is
//   dx = γr·dy − γr³·Σ(dy·(x − μ))/n·(x − μ) − γr·Σdy/n  +  dμ/n  +  2·dσ²·(x − μ)/n,     r = 1/√(σ² + ε),
// (the last two terms are zero unless something differentiates through the statistics), dγ = r·Σ dy·(x − μ) and
// dβ = Σ dy, the sums per channel over every other axis.
import * as tf from '@tensorflow/tfjs';

/** The forward kernel: inputs x, scale, offset ([C] each, C = x's last axis); attrs { epsilon }; outputs y, mean, variance. */
export const TRAINING_BATCH_NORM = 'DcganTrainingBatchNorm';
/**
 * Its gradient kernel: inputs dy, x, scale, mean, variance, dmean, dvariance; attrs { epsilon }; outputs dx, dscale,
 * doffset.
 */
export const TRAINING_BATCH_NORM_GRAD = 'DcganTrainingBatchNormGrad';

export interface TrainingBatchNormResult {
  y: tf.Tensor;
  /** the batch's mean per channel, [C] */
  mean: tf.Tensor1D;
  /** the batch's biased variance per channel, [C] */
  variance: tf.Tensor1D;
}

/**
 * Normalises x ([..., C], channels last) with its own statistics over every axis but the last, as batch norm does in
 * training. One kernel where the active backend has it, tfjs's ops otherwise.
 */
export function trainingBatchNorm(x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): TrainingBatchNormResult {
  if (tf.getKernel(TRAINING_BATCH_NORM, tf.getBackend()) != null) {
    const [y, mean, variance] = tf.engine().runKernel(TRAINING_BATCH_NORM, { x, scale, offset }, { epsilon } as never) as tf.Tensor[];
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
  return { y: tf.batchNorm(x, mean, variance, offset, scale, epsilon), mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

const gradFunc: tf.GradConfig['gradFunc'] = (dys, saved, attrs) => {
  const [dy, dmean, dvariance] = dys as tf.Tensor[];
  const [x, scale, mean, variance] = saved;
  const [dx, dscale, doffset] = tf.engine().runKernel(TRAINING_BATCH_NORM_GRAD,
    { dy, x, scale, mean, variance, dmean, dvariance }, attrs as never) as tf.Tensor[];
  return { x: () => dx, scale: () => dscale, offset: () => doffset };
};

/** Registers the kernel's gradient (gradients are global; the gradient kernel must exist where the forward one does). */
export function registerTrainingBatchNormGradient(): void {
  if (tf.getGradient(TRAINING_BATCH_NORM)?.gradFunc === gradFunc) return;
  tf.registerGradient({ kernelName: TRAINING_BATCH_NORM, inputsToSave: ['x', 'scale'], outputsToSave: [false, true, true], gradFunc });
}
