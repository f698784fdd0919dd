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
