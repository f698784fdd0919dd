// tfjs-backend-wasm 4.22 registers Conv2D and Conv2DBackpropInput but no Conv2DBackpropFilter, so any conv
// filter gradient throws there. This kernel builds dW from kernels the wasm backend does have.
//
// dW[kh,kw,ci,co] = Σ_{b,oh,ow} xPadded[b, oh·sH + kh, ow·sW + kw, ci] · dy[b,oh,ow,co]
// is itself a convolution: of x seen as [Ci, H, W, B] (Ci images with B channels) with dy seen as an
// [OH, OW, B, Co] filter, stride 1 and dilation (sH, sW). The wasm Conv2D runs that through XNNPACK, which is
// 25–50× faster than one strided slice and matMul per filter tap (the wasm StridedSlice alone costs more than
// this whole kernel).
//
// The other kernels are called through their kernelFuncs on TensorInfos, as the wasm backend's own composite
// kernels do: that keeps the engine out of it (no tensors to track or leak), and every intermediate is released
// with backend.disposeData. Disposing the transposed dy also drops the XNNPACK operator Conv2D cached for it.
import * as tf from '@tensorflow/tfjs';
import { kernelCaller, type Conv2DBackpropFilterAttrs as Attrs } from './kernel-util.js';

const BACKEND = 'wasm';


const call = kernelCaller(BACKEND, 'Conv2DBackpropFilter (wasm)');

const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as tf.KernelBackend;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Attrs;
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm) supports NHWC only, got NCHW');
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`Conv2DBackpropFilter (wasm) needs float32 tensors, got x ${x.dtype} and dy ${dy.dtype}`);
  }
  // Conv2DBackpropFilter has no dilations attribute: tfjs-core refuses conv gradients with dilations > 1 before
  // it gets here, which is why dilations are fixed at 1.
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth, padInfo } = info;
  const dyExpected = [batchSize, outHeight, outWidth, outChannels];
  if (dy.shape.join() !== dyExpected.join()) {
    throw new Error(`Conv2DBackpropFilter (wasm): dy has shape [${dy.shape}], the convolution gives [${dyExpected}]`);
  }

  // Pad bottom/right up to the last row (column) the last output's window reaches, so the convolution yields
  // exactly KH×KW taps. computeConv2DInfo's own bottom/right padding can fall short (dimRoundingMode 'ceil' adds
  // an output row) or overshoot; where the input itself already reaches further, the extra taps are cropped.
  const padBottom = (outHeight - 1) * strideHeight + filterHeight - padInfo.top - inHeight;
  const padRight = (outWidth - 1) * strideWidth + filterWidth - padInfo.left - inWidth;
  const xT = call('Transpose', backend, { x }, { perm: [3, 1, 2, 0] });
  const dyT = call('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] });
  const taps = call('Conv2D', backend, { x: xT, filter: dyT }, {
    strides: 1,
    dilations: [strideHeight, strideWidth],
    pad: [[0, 0], [padInfo.top, Math.max(0, padBottom)], [padInfo.left, Math.max(0, padRight)], [0, 0]],
    dataFormat: 'NHWC',
  });
  const cropped = padBottom < 0 || padRight < 0
    ? call('Slice', backend, { x: taps }, { begin: [0, 0, 0, 0], size: [inChannels, filterHeight, filterWidth, outChannels] })
    : taps;
  const dW = call('Transpose', backend, { x: cropped }, { perm: [1, 2, 0, 3] });

  for (const t of new Set([xT, dyT, taps, cropped])) backend.disposeData(t.dataId);
  return dW;
};

/** Registers the kernel for the wasm backend; a second call, or a tfjs that already has one, leaves it alone. */
export function registerWasmConv2DBackpropFilter(): void {
  if (tf.getKernel('Conv2DBackpropFilter', BACKEND) != null) return;
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: BACKEND, kernelFunc: conv2DBackpropFilter });
}
