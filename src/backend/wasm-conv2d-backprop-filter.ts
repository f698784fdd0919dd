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
import { kernelCaller, type Conv2DBackpropFilterAttrs as Attrs, type WasmBackend } from './kernel-util.js';
import { defineHeapJob, parallelMin, runHeapJob } from './wasm-heap-workers.js';

const BACKEND = 'wasm';


const call = kernelCaller(BACKEND, 'Conv2DBackpropFilter (wasm)');

// The three transposes are plain copies, so they run as our wasm kernels (wasm-simd-kernels.wat) split between the
// threads: tfjs-backend-wasm's Transpose is a generic single-threaded loop (2.3 ms for [64, 16, 16, 32] on the 2-core VM,
// a quarter of this kernel). Pointers in bytes; the split is over the middle axis, rows [from, to).
const SWAP_OUTER = defineHeapJob((_, a, from, to, simd) => simd.swapOuterAxes(a[0], a[1], a[2], a[3], a[4], from, to));
const SWAP_FIRST_LAST = defineHeapJob((_, a, from, to, simd) => simd.swapFirstLastAxes(a[0], a[1], a[2], a[3], a[4], from, to));
const DIRECT = defineHeapJob((_, a, from, to, simd) =>
  simd.filterGradient(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], from, to));

/**
 * From this many output positions per image (OH·OW), dW comes from our direct kernel (wasm-simd-kernels.wat,
 * filterGradient), split between the threads by tap, instead of the transposes and XNNPACK's convolution: XNNPACK packs
 * the whole of dy as its filter on one thread every call (for d2l's first layer at 32 px, batch 64: 2.8 ms of a
 * 6.1 ms kernel), and the transposes are single-threaded copies. Measured on the 2-core VM (ms, 1 / 2 threads), d2l at
 * 32 px, width 32, batch 64: first layer XNNPACK 6.1 / 5.4, direct 1.7 / 1.1; second 10.7 / 6.7 against 8.5 / 4.4;
 * third (4×4 outputs) 9.4 / 5.6 against 8.2 / 4.4; at 64 px, width 64: 162 / 94 against 137 / 66 for the second
 * layer, a tie for the third. With fewer positions (the discriminator's 4×4 → 1×1 head) the direct kernel re-reads its
 * sums too often: 1.4 against 3.8 ms there, so those stay with XNNPACK.
 */
export const DIRECT_MIN_POSITIONS = 16;

/**
 * t seen as [A, M, N] into [M, A, N] ('outer': perm [1, 2, 0, 3] of a 4D tensor whose axes 1 and 2 make M) or into
 * [N, M, A] ('first-last': perm [3, 1, 2, 0]).
 */
function permute(backend: WasmBackend, t: tf.TensorInfo, kind: 'outer' | 'first-last'): tf.TensorInfo {
  const [a, h, w, n] = t.shape;
  const perm = kind === 'outer' ? [1, 2, 0, 3] : [3, 1, 2, 0];
  const out = backend.makeOutput(perm.map((p) => t.shape[p]), 'float32');
  const [src, dst] = [t, out].map((u) => backend.typedArrayFromHeap(u));
  const heap = new Float32Array(src.buffer);
  runHeapJob(backend, heap, kind === 'outer' ? SWAP_OUTER : SWAP_FIRST_LAST, [src.byteOffset, dst.byteOffset, a, h * w, n],
    h * w, a * h * w * n >= parallelMin());
  return out;
}

const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as WasmBackend;
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

  if ((forcedPath === 'auto' ? outHeight * outWidth >= DIRECT_MIN_POSITIONS : forcedPath === 'direct')) {
    const dW = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
    const [xs, dys, dWs] = [x, dy, dW].map((t) => backend.typedArrayFromHeap(t));
    runHeapJob(backend, new Float32Array(xs.buffer), DIRECT, [xs.byteOffset, dys.byteOffset, dWs.byteOffset, batchSize, inHeight,
      inWidth, inChannels, outHeight, outWidth, outChannels, filterWidth, strideHeight, strideWidth, padInfo.top, padInfo.left],
    // split by tap when there are more than 4 million multiplications (Ci·KH·KW per dy value; ~0.3 ms), in pieces of
    // several taps: a piece reads every image once for all its taps (d2l at 32 px, 2 threads, runs alternating, img/s:
    // 2 pieces a thread 398, 383, 385, 393; one tap a piece 389, 383, 378, 383)
    filterHeight * filterWidth, dy.shape.reduce((a, b) => a * b) * inChannels * filterHeight * filterWidth >= 4 * parallelMin(), 2);
    return dW;
  }

  // Pad bottom/right up to the last row (column) the last output's window reaches, so the convolution yields
  // exactly KH×KW taps. computeConv2DInfo's own bottom/right padding can fall short (dimRoundingMode 'ceil' adds
  // an output row) or overshoot; where the input itself already reaches further, the extra taps are cropped.
  const padBottom = (outHeight - 1) * strideHeight + filterHeight - padInfo.top - inHeight;
  const padRight = (outWidth - 1) * strideWidth + filterWidth - padInfo.left - inWidth;
  const xT = permute(backend, x, 'first-last');
  const dyT = permute(backend, dy, 'outer');
  const taps = call('Conv2D', backend, { x: xT, filter: dyT }, {
    strides: 1,
    dilations: [strideHeight, strideWidth],
    pad: [[0, 0], [padInfo.top, Math.max(0, padBottom)], [padInfo.left, Math.max(0, padRight)], [0, 0]],
    dataFormat: 'NHWC',
  });
  const cropped = padBottom < 0 || padRight < 0
    ? call('Slice', backend, { x: taps }, { begin: [0, 0, 0, 0], size: [inChannels, filterHeight, filterWidth, outChannels] })
    : taps;
  const dW = permute(backend, cropped, 'outer');

  for (const t of new Set([xT, dyT, taps, cropped])) backend.disposeData(t.dataId);
  return dW;
};

export type FilterGradientPath = 'auto' | 'direct' | 'xnnpack';
let forcedPath: FilterGradientPath = 'auto';
/** For tests: every case through the direct kernel, or through the transposes and XNNPACK, or as measured best. */
export function forceFilterGradientPath(path: FilterGradientPath): void {
  forcedPath = path;
}

/** Registers the kernel for the wasm backend; a second call, or a tfjs that already has one, leaves it alone. */
export function registerWasmConv2DBackpropFilter(): void {
  if (tf.getKernel('Conv2DBackpropFilter', BACKEND) != null) return;
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: BACKEND, kernelFunc: conv2DBackpropFilter });
}
