// What our custom convolution kernels share: the attrs tfjs passes them, and calling another kernel of the same backend
// on TensorInfos (the way the backends' own composite kernels do, so the engine never sees the intermediates).
import * as tf from '@tensorflow/tfjs';

interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** tfjs-core's Conv2DBackpropFilterAttrs: `filterShape` is dW's. */
export interface Conv2DBackpropFilterAttrs extends ConvAttrs {
  filterShape: [number, number, number, number];
}

/** tfjs-core's Conv2DBackpropInputAttrs: `inputShape` is dx's. */
export interface Conv2DBackpropInputAttrs extends ConvAttrs {
  inputShape: [number, number, number, number];
}

/** The parts of tfjs-backend-wasm's BackendWasm that our wasm kernels use. */
export interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.TypedArray): tf.TensorInfo;
  /** a view of the wasm heap: valid until the next allocation, which may move the heap */
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
}

export type KernelCall = (
  kernelName: string,
  backend: tf.KernelBackend,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown>,
) => tf.TensorInfo;

/** A caller of `backendName`'s registered kernels for `owner` (named in the error when one is missing). */
export function kernelCaller(backendName: string, owner: string): KernelCall {
  return (kernelName, backend, inputs, attrs) => {
    const kernel = tf.getKernel(kernelName, backendName);
    if (kernel == null) throw new Error(`${owner} needs the ${backendName} ${kernelName} kernel, which is not registered`);
    return kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  };
}

/**
 * Puts `kernelFunc` in place of the kernel `backendName` registered for `kernelName`, keeping its setup and dispose
 * functions, and returns the kernel it replaced (the fallback for cases ours does not take). Returns undefined when ours
 * is already in place. `missing` says what to do when there is nothing to replace.
 */
export function replaceKernel(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc, missing: string): tf.KernelConfig | undefined {
  const current = tf.getKernel(kernelName, backendName);
  if (current == null) throw new Error(missing);
  if (current.kernelFunc === kernelFunc) return undefined;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...current, kernelFunc });
  return current;
}

/** Puts back the kernel that replaceKernel replaced, if `kernelFunc` (ours) is the one in place. */
export function restoreKernel(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc, original: tf.KernelConfig | undefined): void {
  if (original == null || tf.getKernel(kernelName, backendName)?.kernelFunc !== kernelFunc) return;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel(original);
}
