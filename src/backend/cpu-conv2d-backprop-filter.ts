// The cpu backend's filter gradient of a convolution (dW), in tfjs-backend-cpu's own arithmetic with its loops turned
// inside out. tfjs's kernel computes one output at a time and reads every x·dy product through TensorBuffer.get (an
// argument list and a bounds check per read): about 140 ns a product, 2.7 s of CPU a call for keras28's second
// convolution at batch 2 (5×5, 64 → 128 channels), so that a keras28 step on cpu took minutes. Here all outputs of
// one filter tap are summed together, with the output channels innermost, on the typed arrays themselves. Each output
// still gets the same products added in the same order (image, row, column) to a float64 sum that starts at 0 and is
// rounded to float32 once, as in tfjs's kernel: the results are tfjs's bit for bit
// (test/cpu-conv2d-backprop-filter.test.ts).
import * as tf from '@tensorflow/tfjs';
import { type Conv2DBackpropFilterAttrs, replaceKernel, restoreKernel } from './kernel-util.js';

const KERNEL = 'Conv2DBackpropFilter';
const BACKEND = 'cpu';

/** tfjs-backend-cpu's kernel: for NCHW and anything not float32, which ours does not take. */
let original: tf.KernelConfig | undefined;

/** The parts of tfjs-backend-cpu's MathBackendCPU this kernel uses. */
interface CpuBackend extends tf.KernelBackend {
  data: { get(dataId: tf.DataId): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.TypedArray): tf.TensorInfo;
}

const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  const cpu = backend as CpuBackend;
  const xs = cpu.data.get(x.dataId).values;
  const dys = cpu.data.get(dy.dataId).values;
  if (dataFormat === 'NCHW' || !(xs instanceof Float32Array) || !(dys instanceof Float32Array)) {
    return original!.kernelFunc({ inputs, backend, attrs });
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1,
    pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth,
    filterHeight, filterWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;

  const dW = new Float32Array(filterHeight * filterWidth * inChannels * outChannels); // [fh, fw, Ci, Co]
  const sums = new Float64Array(inChannels * outChannels); //                            one tap's [Ci, Co]
  for (let wR = 0; wR < filterHeight; wR++) {
    // the output rows and columns whose window puts this tap on the image, not on padding (tfjs's bounds, unrounded)
    const yRMin = Math.max(0, Math.ceil((top - wR) / strideHeight));
    const yRMax = Math.min(outHeight, (inHeight + top - wR) / strideHeight);
    for (let wC = 0; wC < filterWidth; wC++) {
      const yCMin = Math.max(0, Math.ceil((left - wC) / strideWidth));
      const yCMax = Math.min(outWidth, (inWidth + left - wC) / strideWidth);
      sums.fill(0);
      for (let b = 0; b < batchSize; b++) {
        for (let yR = yRMin; yR < yRMax; yR++) {
          const xR = wR + yR * strideHeight - top;
          for (let yC = yCMin; yC < yCMax; yC++) {
            const xC = wC + yC * strideWidth - left;
            const xAt = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            const dyAt = ((b * outHeight + yR) * outWidth + yC) * outChannels;
            for (let d1 = 0; d1 < inChannels; d1++) {
              const xv = xs[xAt + d1];
              const row = d1 * outChannels;
              for (let d2 = 0; d2 < outChannels; d2++) sums[row + d2] += xv * dys[dyAt + d2];
            }
          }
        }
      }
      dW.set(sums, (wR * filterWidth + wC) * inChannels * outChannels); // float64 → float32: one rounding, as tfjs's
    }
  }
  return cpu.makeTensorInfo(filterShape, 'float32', dW);
};

/**
 * Replaces the cpu backend's Conv2DBackpropFilter with this one, keeping the original for NCHW and other dtypes. A
 * second call leaves it alone.
 */
export function registerCpuConv2DBackpropFilter(): void {
  original = replaceKernel(KERNEL, BACKEND, conv2DBackpropFilter, `${KERNEL} (cpu): tfjs-backend-cpu is not loaded`) ?? original;
}

/** Puts tfjs-backend-cpu's own kernel back (for tests and before/after measurements). */
export function unregisterCpuConv2DBackpropFilter(): void {
  restoreKernel(KERNEL, BACKEND, conv2DBackpropFilter, original);
}
