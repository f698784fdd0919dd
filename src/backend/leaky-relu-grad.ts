// tfjs-core 4.22's gradient of LeakyRelu is where(greater(x, 0), dy, mul(dy, alpha)): three kernels, three passes and a
// bool tensor, each pass single-threaded C++ on the wasm backend. This gradient gives the same numbers, element for
// element, through one kernel where the backend has it (the wasm backend: wasm-elementwise.ts), and through tfjs-core's
// three ops everywhere else.
//
// Gradients are global to all backends.
import * as tf from '@tensorflow/tfjs';

const KERNEL = 'LeakyRelu';
/** dx = x > 0 ? dy : dy·alpha: inputs dy, x (float32, one shape); attrs { alpha }. */
export const LEAKY_RELU_GRAD = 'DcganLeakyReluGrad';

const gradFunc: tf.GradConfig['gradFunc'] = (dy, saved, attrs) => {
  const [x] = saved;
  const { alpha } = attrs as unknown as { alpha: number };
  const fused = tf.getKernel(LEAKY_RELU_GRAD, tf.getBackend()) != null && x.dtype === 'float32' && (dy as tf.Tensor).dtype === 'float32';
  return {
    x: () => (fused
      ? tf.engine().runKernel(LEAKY_RELU_GRAD, { dy: dy as tf.Tensor, x }, { alpha } as never) as tf.Tensor
      : tf.where(tf.greater(x, 0), dy as tf.Tensor, tf.mul(dy as tf.Tensor, alpha))),
  };
};

// Second-order gradients (WGAN-GP's gradient penalty differentiates D's input gradient again, with respect to D's
// weights). dx = mask(x)·dy is linear in dy with a mask that is piecewise constant in x, so its own gradient is
// mask(x)·ddx for dy — this gradient again — and zero for x. tfjs-core 4.22 registers neither: the fused kernel is ours,
// and the three-op form's Greater has no gradient ("gradient function not found for Greater"), unlike its
// GreaterEqual, whose gradient is zero. Both are registered here with that meaning.
const secondOrder: tf.GradConfig['gradFunc'] = (ddx, saved, attrs) => {
  const [x] = saved;
  return { dy: () => gradFunc(ddx, saved, attrs).x(), x: () => tf.zerosLike(x) };
};
const comparisonGrad: tf.GradConfig['gradFunc'] = (_dy, saved) => {
  const [a, b] = saved;
  return { a: () => tf.zerosLike(a), b: () => tf.zerosLike(b) };
};

let original: tf.GradConfig | undefined;

/**
 * Replaces tfjs-core's LeakyRelu gradient, for every backend, and gives its pieces gradients of their own (second
 * order); a second call leaves it alone.
 */
export function registerLeakyReluGradient(): void {
  const current = tf.getGradient(KERNEL);
  if (current?.gradFunc === gradFunc) return;
  original = current;
  tf.registerGradient({ kernelName: KERNEL, inputsToSave: ['x'], gradFunc });
  tf.registerGradient({ kernelName: LEAKY_RELU_GRAD, inputsToSave: ['x'], gradFunc: secondOrder });
  if (!tf.getGradient('Greater')) tf.registerGradient({ kernelName: 'Greater', inputsToSave: ['a', 'b'], gradFunc: comparisonGrad });
}

/** Puts tfjs-core's gradient back (for before/after comparisons). */
export function unregisterLeakyReluGradient(): void {
  if (tf.getGradient(KERNEL)?.gradFunc === gradFunc && original != null) tf.registerGradient(original);
}
