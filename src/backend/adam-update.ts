// One Adam update of one variable as one operation: m' = β1·m + (1−β1)·g, v' = β2·v + (1−β2)·g², and
// w' = w − k·m' / (√v' / c + ε), each step rounded to float32 in that order (tfjs's ops, as train/adam.ts wrote them).
// torch.optim.Adam's form is k = lr/(1−β1^t), c = √(1−β2^t); Keras' ε-hat form is k = lr·√(1−β2^t)/(1−β1^t), c = 1
// (a division by 1 changes no bit).
//
// Written with tfjs's ops that is eleven kernels a variable — about 400 small kernels a step for d2l's model, ~9 ms on
// the wasm backend that no thread count shortens. A backend that registers the AdamUpdate kernel (the wasm backend:
// wasm-elementwise.ts) does it in one pass with the same float32 roundings, so the bytes are the ops'; every other
// backend runs the ops.
import * as tf from '@tensorflow/tfjs';

/** Inputs w, g, m, v (one shape, float32); attrs AdamConstants; outputs w', m', v'. */
export const ADAM_UPDATE = 'DcganAdamUpdate';

export interface AdamConstants {
  beta1: number;
  beta2: number;
  /** the step size k: lr/(1−β1^t) (torch) or lr·√(1−β2^t)/(1−β1^t) (keras) */
  k: number;
  /** the divisor of √v': √(1−β2^t) (torch) or 1 (keras) */
  c: number;
  epsilon: number;
}

/** w', m', v' after one Adam step: one kernel where the active backend has it, tfjs's ops otherwise. */
export function adamUpdate(w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, constants: AdamConstants): { w: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  if (tf.getKernel(ADAM_UPDATE, tf.getBackend()) != null && [w, g, m, v].every((t) => t.dtype === 'float32')) {
    const [w2, m2, v2] = tf.engine().runKernel(ADAM_UPDATE, { w, g, m, v }, constants as never) as tf.Tensor[];
    return { w: w2, m: m2, v: v2 };
  }
  const { beta1, beta2, k, c, epsilon } = constants;
  const m2 = m.mul(beta1).add(g.mul(1 - beta1));
  const v2 = v.mul(beta2).add(g.square().mul(1 - beta2));
  const update = m2.mul(k).div(v2.sqrt().div(c).add(epsilon));
  return { w: w.sub(update), m: m2, v: v2 };
}
