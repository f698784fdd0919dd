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

let original: tf.GradConfig | undefined;

/** Replaces tfjs-core's LeakyRelu gradient, for every backend; a second call leaves it alone. */
export function registerLeakyReluGradient(): void {
  const current = tf.getGradient(KERNEL);
  if (current?.gradFunc === gradFunc) return;
  original = current;
  tf.registerGradient({ kernelName: KERNEL, inputsToSave: ['x'], gradFunc });
}

/** Puts tfjs-core's gradient back (for before/after comparisons). */
export function unregisterLeakyReluGradient(): void {
  if (tf.getGradient(KERNEL)?.gradFunc === gradFunc && original != null) tf.registerGradient(original);
}
