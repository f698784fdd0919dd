// tfjs-core 4.22's gradient of FusedBatchNorm (gradients/FusedBatchNorm_grad.js) computes dx, for a per-channel
// mean (rank 1), as dy · tile(reshape(rsqrt(var + ε), [1, 1, 1, C]), [B, H, W, 1]) · scale: it materialises the
// per-channel factor at the full [B, H, W, C] size first. The wasm Tile is a slow generic loop (~45 ms for
// [64, 16, 16, 32] on one core, against < 1 ms for the multiply), and in a DCGAN step on wasm those tiles cost
// about a quarter of the step. Multiplying by the [C] factor with broadcasting gives the same products, element
// for element and in the same order (dy·r first, then ·scale), so dx is bit-for-bit the same on every backend.
//
// Gradients are global to all backends. Everything else here is tfjs-core's gradient as it is, written with the
// public ops; only derX's per-channel branch changes.
import * as tf from '@tensorflow/tfjs';

const KERNEL = 'FusedBatchNorm';

const gradFunc: tf.GradConfig['gradFunc'] = (dyOrDys, saved, attrs) => {
  const dy = dyOrDys as tf.Tensor;
  const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
  const [x, mean, variance, scale] = saved;
  const scaleValue = scale == null ? tf.scalar(1) : scale;
  const reductionAxes = tf.broadcast_util.getReductionAxes(mean.shape, x.shape);
  const xMinusMean = tf.sub(x, mean);
  const dyTimesScaleValue = tf.mul(dy, scaleValue);
  const oneOverSqrtVariance = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
  const minusHalfRCube = tf.mul(
    tf.mul(tf.mul(oneOverSqrtVariance, oneOverSqrtVariance), oneOverSqrtVariance), tf.scalar(-0.5));
  // A rank-1 mean runs along x's last axis (FusedBatchNorm always sees x as 4D), so the [C] factor broadcasts
  // exactly where tfjs-core's tile put copies of it.
  const derX = () => tf.reshape(tf.mul(tf.mul(dy, oneOverSqrtVariance), scaleValue), x.shape);
  const derMean = () => {
    let meanDer = tf.mul(tf.mul(oneOverSqrtVariance, tf.scalar(-1)), dyTimesScaleValue);
    if (mean.rank === 1) meanDer = tf.sum(meanDer, reductionAxes);
    return tf.reshape(meanDer, mean.shape);
  };
  const derVariance = () => {
    let varianceDer = tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScaleValue);
    if (mean.rank === 1) varianceDer = tf.sum(varianceDer, reductionAxes);
    return tf.reshape(varianceDer, mean.shape);
  };
  const derScale = () => {
    const xMinusMean2TimesRsqrt = tf.mul(xMinusMean, oneOverSqrtVariance);
    let scaleDer = tf.mul(dy, xMinusMean2TimesRsqrt);
    if (mean.rank === 1) scaleDer = tf.sum(scaleDer, reductionAxes);
    return tf.reshape(scaleDer, mean.shape);
  };
  const derOffset = () => {
    let offsetDer = dy;
    if (mean.rank === 1) offsetDer = tf.sum(offsetDer, reductionAxes);
    return tf.reshape(offsetDer, mean.shape);
  };
  return { x: derX, mean: derMean, variance: derVariance, scale: derScale, offset: derOffset };
};

let original: tf.GradConfig | undefined;

/** Replaces tfjs-core's FusedBatchNorm gradient, for every backend; a second call leaves it alone. */
export function registerBatchNormGradient(): void {
  const current = tf.getGradient(KERNEL);
  if (current?.gradFunc === gradFunc) return;
  original = current;
  tf.registerGradient({ kernelName: KERNEL, inputsToSave: ['x', 'mean', 'variance', 'scale'], gradFunc });
}

/** Puts tfjs-core's gradient back (for before/after measurements). */
export function unregisterBatchNormGradient(): void {
  if (tf.getGradient(KERNEL)?.gradFunc === gradFunc && original != null) tf.registerGradient(original);
}
