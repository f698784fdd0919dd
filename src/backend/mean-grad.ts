// tfjs-core 4.22's gradient of Mean (gradients/Mean_grad.js) is div(mul(dy, ones(x.shape)), n): it builds a tensor of
// ones the size of x in JavaScript (tf.ones fills a typed array on the main thread and uploads it) and divides every
// element. Batch norm in training takes two means per layer, so a DCGAN step spends ~3% of its time on one thread making
// ones. Dividing the reduced dy first and then multiplying by ones made with the Fill kernel gives the same numbers —
// dy·1/n and (dy/n)·1 are both fround(dy / n), element for element — so every backend's results stay bit for bit the
// same, with one small division and no JavaScript array.
//
// Gradients are global to all backends.
import * as tf from '@tensorflow/tfjs';

const KERNEL = 'Mean';

const gradFunc: tf.GradConfig['gradFunc'] = (dy, saved, attrs) => {
  const [x] = saved;
  const { axis } = attrs as unknown as { axis: number | number[] };
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const reduceSize = tf.util.sizeFromShape(tf.backend_util.computeOutAndReduceShapes(x.shape, axes)[1]);
  const derX = () => {
    const expandedDyShape = x.shape.slice();
    for (const a of axes) expandedDyShape[a] = 1;
    const expandedDy = tf.reshape(dy as tf.Tensor, expandedDyShape);
    return tf.mul(tf.div(expandedDy, reduceSize), tf.fill(x.shape, 1, 'float32'));
  };
  return { x: derX };
};

let original: tf.GradConfig | undefined;

/** Replaces tfjs-core's Mean gradient, for every backend; a second call leaves it alone. */
export function registerMeanGradient(): void {
  const current = tf.getGradient(KERNEL);
  if (current?.gradFunc === gradFunc) return;
  original = current;
  tf.registerGradient({ kernelName: KERNEL, inputsToSave: ['x'], gradFunc });
}

/** Puts tfjs-core's gradient back (for before/after measurements and tests). */
export function unregisterMeanGradient(): void {
  if (tf.getGradient(KERNEL)?.gradFunc === gradFunc && original != null) tf.registerGradient(original);
}
