// tfjs-backend-wasm 4.22's Identity copies its input into a new buffer. Tensors are never written after they are made,
// so the copy buys nothing: the backend's own Reshape already hands out the same buffer with one more reference, and
// the cpu backend's Identity does the same. A DCGAN step runs Identity dozens of times on whole activations (tfjs's
// gradient bookkeeping), one JavaScript copy each, on the main thread however many threads the backend has: about 4%
// of a step at 32×32, width 32, batch 64.
import type * as tf from '@tensorflow/tfjs';
import { replaceKernel, restoreKernel } from './kernel-util.js';

const BACKEND = 'wasm';
const KERNEL = 'Identity';

let original: tf.KernelConfig | undefined;

const identity: tf.KernelFunc = (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return original!.kernelFunc(args);
  (args.backend as tf.KernelBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/** Replaces the wasm backend's Identity with one that shares the buffer; a second call leaves it alone. */
export function registerWasmIdentity(): void {
  original = replaceKernel(KERNEL, BACKEND, identity, `${KERNEL} (wasm): import @tensorflow/tfjs-backend-wasm before registering`) ?? original;
}

/** Puts the wasm backend's own Identity back (for before/after measurements). */
export function unregisterWasmIdentity(): void {
  restoreKernel(KERNEL, BACKEND, identity, original);
}
