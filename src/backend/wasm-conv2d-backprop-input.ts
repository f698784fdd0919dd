// tfjs-backend-wasm 4.22's Conv2DBackpropInput is a plain C++ loop that also multiplies every zero a stride
// inserts; in a DCGAN step it cost 10–25× a forward XNNPACK convolution of the same useful size (the generator's
// transposed convolutions and the discriminator's input gradients all run it). This kernel rewrites it onto the
// wasm Conv2D (XNNPACK) through the sub-pixel (phase) decomposition, which multiplies no inserted zeros.
//
// Per spatial axis, with stride s, kernel size K and padding p before: the forward convolution reads x[z - p]
// with z = o·s + k, so dx[z - p] = Σ_{o·s + k = z} dy[o]·W[k]. Write z = q·s + r (0 ≤ r < s): then k = r + s·j
// and o = q - j, so the dx rows of phase r are a stride-1 correlation of dy with the flipped taps W[r + s·j],
// j < J_r = ceil((K - r) / s). Four ways to run that:
//
// - direct (Ci a multiple of 16): our SIMD kernel (wasm-simd-kernels.wat, inputGradient) walks dx's pixels and adds,
//   for each, the products of the dy values and taps that reach it, two pixels of a phase at a time; split between
//   threads by image. No XNNPACK operator to create and no filter to pack per phase, no scatter: measured on the
//   2-core VM, dx [64, 16, 16, 32] 9.8 → 8.4 ms on one thread and 5.9 → 4.4 on two against split, [64, 8, 8, 64]
//   10.2 → 6.9 and 5.9 → 3.6. Taken for every layer it fits but the discriminator head's (dy 1×1 with one channel).
// - split: one Conv2D per phase (s_h·s_w of them), each over exactly the rows and columns its phase owns, then
//   one pass of our wasm kernel (wasm-simd-kernels.wat) scatters them into dx. No wasted multiplications; XNNPACK
//   is as fast here as on the forward convolution once a phase has ≥ SPLIT_MIN_CHANNELS output channels (Ci).
// - combined: for few input channels (the generator's RGB output layer, Ci = 3) one Conv2D with Ci·s_h·s_w
//   output channels does all phases (XNNPACK pads narrow outputs up to its tile width, so four convolutions with
//   3 channels cost twice one with 12). Its rows are the union of the phases' q ranges, one row and column more
//   than each phase needs, and a phase with fewer taps than J = ceil(K / s) gets zero taps (none when s divides
//   K, as in every DCGAN layer). One pass (our wasm kernel) interleaves the phases and crops to dx.
// - gemm: dy of 1×1 (the generator's first block, from the latent vector; the discriminator head's gradient) is
//   a matrix product, dx[b, ih, iw, :] = Σ_co dy[b, co]·W[ih + p_top, iw + p_left, :, co]: one 1×1 Conv2D.
//   As a K×K convolution of a zero-padded 1×1 image, K²-1 of every K² multiplications would be by padding.
//
// Filters are rearranged straight in the wasm heap (a few hundred KiB at most), and the phases interleaved or
// scattered into dx, by our wasm kernels (wasm-simd-kernels.wat): the
// wasm DepthToSpace took ~110 ms for [64, 9, 9, 128] (five times the convolution), and the wasm Slice copies its whole
// input out of the heap first. The convolutions run through the
// wasm backend's own kernelFuncs on TensorInfos, as its composite kernels do: the engine never sees an
// intermediate, and each one is released with backend.disposeData (which also drops the XNNPACK operator Conv2D
// cached for the rearranged filter). Cases this does not handle (NCHW, non-float32, empty tensors) go to the
// original kernel. On the threaded build the passes that copy into dx are split between worker threads by image
// (wasm-heap-workers.ts): copies, so the thread count changes no bit.
import * as tf from '@tensorflow/tfjs';
import { kernelCaller, type Conv2DBackpropInputAttrs as Attrs, replaceKernel, restoreKernel, type WasmBackend } from './kernel-util.js';
import { defineHeapJob, parallelMin, runHeapJob } from './wasm-heap-workers.js';
import { simdKernels, type SimdKernels } from './wasm-simd-kernels.js';

const BACKEND = 'wasm';
const KERNEL = 'Conv2DBackpropInput';

/** From this many input channels (dx's), the phases run as separate convolutions. */
export const SPLIT_MIN_CHANNELS = 8;


type TypedArray = tf.backend_util.TypedArray;

const call = kernelCaller(BACKEND, `${KERNEL} (wasm)`);

/** One axis of one convolution over phase rows q = q0 .. q0 + rows - 1, with `taps` taps. */
export interface Window {
  taps: number;
  /** Conv2D padding before / after dy, after cropping */
  padBefore: number;
  padAfter: number;
  /** dy rows dropped before / after: they reach no row of the window */
  cropBefore: number;
  cropAfter: number;
  /** the rows the Conv2D yields */
  rows: number;
  /** dy rows left after cropping: none means nothing reaches the window */
  kept: number;
}

/** outSize: dy's size on this axis. Output u reads dy[q0 + u - j], j < taps. */
export function window(q0: number, rows: number, taps: number, outSize: number): Window {
  // dy padded by taps - 1 - q0 before, and after by enough for `rows` outputs; negative padding means dy rows no
  // output reads, which are cropped instead.
  const before = taps - 1 - q0;
  const after = rows + taps - 1 - outSize - before;
  return {
    taps, rows,
    kept: outSize - Math.max(0, -before) - Math.max(0, -after),
    padBefore: Math.max(0, before),
    padAfter: Math.max(0, after),
    cropBefore: Math.max(0, -before),
    cropAfter: Math.max(0, -after),
  };
}

/** One axis of the combined convolution: all phases over q = qa .. qb, and where dx row 0 falls (z - qa·s). */
export function combinedAxis(inSize: number, outSize: number, kernel: number, stride: number, pad: number): Window & { offset: number } {
  const qa = Math.floor(pad / stride);
  const qb = Math.floor((inSize - 1 + pad) / stride);
  return { ...window(qa, qb - qa + 1, Math.ceil(kernel / stride), outSize), offset: pad - qa * stride };
}

/** One axis of phase r's own convolution: dx rows first, first + s, …, and the window they need. */
export function phaseAxis(r: number, inSize: number, outSize: number, kernel: number, stride: number, pad: number):
  Window & { first: number } {
  const first = (((r - pad) % stride) + stride) % stride; // the first dx row with (row + pad) mod s = r
  const rows = first < inSize ? Math.ceil((inSize - first) / stride) : 0;
  const taps = kernel > r ? Math.ceil((kernel - r) / stride) : 0;
  return { ...window((first + pad - r) / stride, rows, taps, outSize), first };
}

/**
 * Writes phase (rh, rw)'s taps into f, laid out [jh, jw, Co, outC], at channels channel .. channel + Ci - 1:
 * f[th, tw, co, channel + ci] = W[rh + sh·(jh-1-th), rw + sw·(jw-1-tw), ci, co], taps past the kernel left zero.
 */
export function writeTaps(f: TypedArray, outC: number, channel: number, w: TypedArray, [kh, kw, ci, co]: number[],
  sh: number, sw: number, rh: number, rw: number, jh: number, jw: number, kernels: SimdKernels): void {
  // each tap's [Ci, Co] block transposed into [Co, Ci] by our wasm kernel (f and w are views of its memory)
  for (let th = 0; th < jh; th++) {
    const h = rh + sh * (jh - 1 - th);
    if (h >= kh) continue;
    for (let tw = 0; tw < jw; tw++) {
      const x = rw + sw * (jw - 1 - tw);
      if (x >= kw) continue;
      const src = (h * kw + x) * ci * co; // W[h, x, 0, 0]
      const dst = (th * jw + tw) * co * outC + channel; // f[th, tw, 0, channel]
      kernels.transpose2d(w.byteOffset + 4 * src, f.byteOffset + 4 * dst, ci, co, co, outC);
    }
  }
}

function empty(w: Window): boolean {
  return w.rows === 0 || w.taps === 0 || w.kept <= 0;
}

/**
 * Conv2D of dy (cropped as the windows say) with a filter [jh, jw, Co, outC] that `taps` writes, from W, straight
 * into the wasm heap (zeroed first); temps collects what this makes.
 */
function windowConv({ backend, dy, filter: w, temps }: Problem, fh: Window, fw: Window, outC: number,
  taps: (f: TypedArray, w: TypedArray) => void): tf.TensorInfo {
  const [batch, outH, outW, co] = dy.shape;
  const filter = backend.makeOutput([fh.taps, fw.taps, co, outC], 'float32');
  temps.push(filter);
  const f = backend.typedArrayFromHeap(filter); // both views are taken after the allocation, which may move the heap
  f.fill(0);
  taps(f, backend.typedArrayFromHeap(w));
  let x = dy;
  if (fh.cropBefore + fh.cropAfter + fw.cropBefore + fw.cropAfter > 0) {
    x = call('Slice', backend, { x: dy }, {
      begin: [0, fh.cropBefore, fw.cropBefore, 0],
      size: [batch, outH - fh.cropBefore - fh.cropAfter, outW - fw.cropBefore - fw.cropAfter, co],
    });
    temps.push(x);
  }
  return call('Conv2D', backend, { x, filter }, {
    strides: 1, dilations: 1, dataFormat: 'NHWC',
    pad: [[0, 0], [fh.padBefore, fh.padAfter], [fw.padBefore, fw.padAfter], [0, 0]],
  });
}

interface Problem {
  backend: WasmBackend;
  dy: tf.TensorInfo;
  /** W [K_h, K_w, Ci, Co] */
  filter: tf.TensorInfo;
  filterShape: number[];
  info: tf.backend_util.Conv2DInfo;
  temps: tf.TensorInfo[];
}

/** dy is 1×1: dx[b, ih, iw, :] = Σ_co dy[b, co]·W[ih + p_top, iw + p_left, :, co], as one 1×1 Conv2D. */
function gemm(problem: Problem): tf.TensorInfo {
  const { backend, filterShape, info, temps } = problem;
  const { batchSize, inHeight, inWidth, inChannels: ci, outChannels: co, padInfo } = info;
  const [kh, kw] = filterShape;
  const outC = inHeight * inWidth * ci;
  const one = window(0, 1, 1, 1);
  // f[0, 0, co, (ih·W + iw)·Ci + ci] = W[ih + p_top, iw + p_left, ci, co]
  const product = windowConv(problem, one, one, outC, (f, w) => {
    for (let ih = 0; ih < inHeight; ih++) {
      const h = ih + padInfo.top;
      if (h < 0 || h >= kh) continue;
      for (let iw = 0; iw < inWidth; iw++) {
        const x = iw + padInfo.left;
        if (x < 0 || x >= kw) continue;
        const src = (h * kw + x) * ci * co;
        const dst = (ih * inWidth + iw) * ci;
        for (let o = 0; o < co; o++) {
          const to = dst + o * outC;
          for (let c = 0; c < ci; c++) f[to + c] = w[src + c * co + o];
        }
      }
    }
  });
  temps.push(product);
  return call('Reshape', backend, { x: product }, { shape: [batchSize, inHeight, inWidth, ci] });
}

/** All phases in one Conv2D over the union of their rows, then interleaved and cropped into dx (our wasm kernel). */
function combined(problem: Problem): tf.TensorInfo {
  const { backend, dy, filterShape, info, temps } = problem;
  const { batchSize, inHeight, inWidth, inChannels: ci, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const [kh, kw] = filterShape;
  const [, outH, outW] = dy.shape;
  const ah = combinedAxis(inHeight, outH, kh, sh, padInfo.top);
  const aw = combinedAxis(inWidth, outW, kw, sw, padInfo.left);
  if (empty(ah) || empty(aw)) return zeros(backend, info); // no dy row reaches dx (huge padding)
  const phaseC = sh * sw * ci;
  const conv = windowConv(problem, ah, aw, phaseC, (f, w) => {
    for (let rh = 0; rh < sh; rh++) {
      for (let rw = 0; rw < sw; rw++) writeTaps(f, phaseC, (rh * sw + rw) * ci, w, filterShape, sh, sw, rh, rw, ah.taps, aw.taps, simdKernels(backend));
    }
  });
  if (sh === 1 && sw === 1 && ah.offset === 0 && aw.offset === 0 && ah.rows === inHeight && aw.rows === inWidth) {
    return conv; // stride 1: the convolution is dx
  }
  temps.push(conv);
  const dx = backend.makeOutput([batchSize, inHeight, inWidth, ci], 'float32');
  const [heap, src, dst] = heapOffsets(backend, conv, dx);
  const parallel = dx.shape.reduce((a, b) => a * b) >= parallelMin();
  runHeapJob(backend, heap, INTERLEAVE, [4 * src, 4 * dst, inHeight, inWidth, ci, sh, sw, ah.offset, aw.offset, aw.rows, ah.rows],
    batchSize, parallel);
  return dx;
}

/** A view of the whole wasm heap, and where each tensor's float32s start in it. */
function heapOffsets(backend: WasmBackend, ...tensors: tf.TensorInfo[]): [Float32Array, ...number[]] {
  const views = tensors.map((t) => backend.typedArrayFromHeap(t));
  return [new Float32Array(views[0].buffer), ...views.map((v) => v.byteOffset / 4)];
}

/**
 * combined's phases into dx, images [from, to): dx[b, ih, iw, :] = conv[b, z_h div sh, z_w div sw,
 * ((z_h mod sh)·sw + z_w mod sw)·Ci ..] with z = i + offset (our wasm kernel; pointers in bytes).
 */
const INTERLEAVE = defineHeapJob((_, a, from, to, simd) =>
  simd.interleavePhases(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], from, to));
/** The direct strategy's kernel over images [from, to) (wasm-simd-kernels.wat, inputGradient; pointers in bytes). */
const DIRECT = defineHeapJob((_, a, from, to, simd) =>
  simd.inputGradient(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], from, to));

/** direct's kernel where dy is 1×1, over dx pixels [from, to) (inputGradientFromPoint; pointers in bytes). */
const DIRECT_FROM_POINT = defineHeapJob((_, a, from, to, simd) =>
  simd.inputGradientFromPoint(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], from, to));

/** One of split's phases into dx: dx[b, first_h + m·sh, first_w + n·sw, :] = part[b, m, n, :] (our wasm kernel; bytes). */
const SCATTER = defineHeapJob((_, a, from, to, simd) =>
  simd.scatterPhase(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], from, to));

/** One Conv2D per phase over exactly the dx rows and columns it owns, then scattered into dx by our wasm kernel. */
function split(problem: Problem): tf.TensorInfo {
  const { backend, dy, filterShape, info, temps } = problem;
  const { batchSize, inHeight, inWidth, inChannels: ci, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const [kh, kw] = filterShape;
  const [, outH, outW] = dy.shape;
  const parts: { h: ReturnType<typeof phaseAxis>; w: ReturnType<typeof phaseAxis>; out: tf.TensorInfo }[] = [];
  let covered = 0;
  for (let rh = 0; rh < sh; rh++) {
    const h = phaseAxis(rh, inHeight, outH, kh, sh, padInfo.top);
    for (let rw = 0; rw < sw; rw++) {
      const wa = phaseAxis(rw, inWidth, outW, kw, sw, padInfo.left);
      if (empty(h) || empty(wa)) continue; // dx there stays zero
      const out = windowConv(problem, h, wa, ci, (f, w) => writeTaps(f, ci, 0, w, filterShape, sh, sw, rh, rw, h.taps, wa.taps, simdKernels(backend)));
      temps.push(out);
      parts.push({ h, w: wa, out });
      covered += h.rows * wa.rows;
    }
  }
  // Every convolution runs before dx is allocated and the heap views are taken: an allocation can move the heap.
  const dx = backend.makeOutput([batchSize, inHeight, inWidth, ci], 'float32');
  if (covered < inHeight * inWidth) backend.typedArrayFromHeap(dx).fill(0);
  const parallel = dx.shape.reduce((a, b) => a * b) >= parallelMin();
  for (const { h, w: wa, out } of parts) {
    const [heap, src, dst] = heapOffsets(backend, out, dx);
    runHeapJob(backend, heap, SCATTER, [4 * src, 4 * dst, inHeight, inWidth, ci, sh, sw, h.first, wa.first, h.rows, wa.rows], batchSize, parallel);
  }
  return dx;
}

/**
 * Straight from dy and the filter (each tap's [Ci, Co] transposed first) by our SIMD kernel, split between threads by
 * image: no operator to create and no filter to pack per phase, no scatter. Needs Ci a multiple of 16.
 */
function direct(problem: Problem): tf.TensorInfo {
  const { backend, dy, filter, info, temps } = problem;
  const { batchSize, inHeight, inWidth, inChannels: ci, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const [kh, kw, , co] = filter.shape;
  const [, outH, outW] = dy.shape;
  const wT = backend.makeOutput([kh, kw, co, ci], 'float32');
  temps.push(wT);
  const zeroRow = backend.makeOutput([co], 'float32');
  temps.push(zeroRow);
  const dx = backend.makeOutput([batchSize, inHeight, inWidth, ci], 'float32');
  const [w, t, z, dys, dxs] = [filter, wT, zeroRow, dy, dx].map((u) => backend.typedArrayFromHeap(u));
  z.fill(0);
  const kernels = simdKernels(backend);
  for (let tap = 0; tap < kh * kw; tap++) kernels.transpose2d(w.byteOffset + 4 * tap * ci * co, t.byteOffset + 4 * tap * co * ci, ci, co, co, ci);
  // split when there are more than 4 million multiplications (each dy value meets KH·KW·Ci weights; ~0.3 ms)
  const macs = batchSize * outH * outW * co * kh * kw * ci;
  const heap = new Float32Array(dys.buffer);
  if (outH === 1 && outW === 1) {
    // dy 1×1: pixel by pixel, each tap's weights read once for all images (image by image, every image would read all
    // taps' weights: 0.8 MB for d2l's first generator block at 32 px, and two threads did no better than one)
    runHeapJob(backend, heap, DIRECT_FROM_POINT, [dys.byteOffset, t.byteOffset, dxs.byteOffset, batchSize, inHeight, inWidth,
      ci, co, kh, kw, padInfo.top, padInfo.left], inHeight * inWidth, macs >= 4 * parallelMin());
  } else {
    runHeapJob(backend, heap, DIRECT, [dys.byteOffset, t.byteOffset, dxs.byteOffset, z.byteOffset,
      inHeight, inWidth, ci, outH, outW, co, kh, kw, sh, sw, padInfo.top, padInfo.left], batchSize, macs >= 4 * parallelMin());
  }
  return dx;
}

function zeros(backend: WasmBackend, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const dx = backend.makeOutput(info.inShape, 'float32');
  backend.typedArrayFromHeap(dx).fill(0);
  return dx;
}

export type Strategy = 'auto' | 'gemm' | 'combined' | 'split' | 'direct';
let forced: Strategy = 'auto';

/** For tests: run every case through one strategy ('gemm' only applies where dy is 1×1, 'direct' where Ci is a multiple of 16). */
export function forceConv2DBackpropInputStrategy(strategy: Strategy): void {
  forced = strategy;
}

let original: tf.KernelConfig | undefined;

const conv2DBackpropInput: tf.KernelFunc = (args) => {
  const backend = args.backend as WasmBackend;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Attrs;
  if (dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32' ||
    [...dy.shape, ...filter.shape, ...inputShape].some((n) => n <= 0)) {
    return original!.kernelFunc(args);
  }
  const info = tf.backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const problem: Problem = { backend, dy, filter, info, filterShape: filter.shape, temps: [] };
  const { inChannels, strideHeight, strideWidth } = info;
  const oneByOne = dy.shape[1] === 1 && dy.shape[2] === 1;
  const directFits = inChannels % 16 === 0;
  let strategy = (forced === 'gemm' && !oneByOne) || (forced === 'direct' && !directFits) ? 'auto' : forced;
  if (strategy === 'auto') {
    // measured on the 2-core VM: dy [64, 1, 1, 100] → [64, 4, 4, 128] (d2l's first generator block) gemm 2.9 ms, direct
    // 1.7; dy [64, 1, 1, 1] → [64, 4, 4, 128] (the discriminator head) gemm 0.16, direct 0.37
    strategy = oneByOne ? (directFits && dy.shape[3] >= 16 ? 'direct' : 'gemm')
      : directFits ? 'direct'
        : strideHeight * strideWidth > 1 && inChannels >= SPLIT_MIN_CHANNELS ? 'split' : 'combined';
  }
  try {
    return strategy === 'gemm' ? gemm(problem) : strategy === 'direct' ? direct(problem)
      : strategy === 'split' ? split(problem) : combined(problem);
  } finally {
    for (const t of problem.temps) backend.disposeData(t.dataId);
  }
};

/**
 * Replaces the wasm backend's Conv2DBackpropInput with the phase-decomposed one, keeping the original (and its
 * setup, which the backend runs when it initialises) for the cases above. A second call leaves it alone.
 */
export function registerWasmConv2DBackpropInput(): void {
  original = replaceKernel(KERNEL, BACKEND, conv2DBackpropInput, `${KERNEL} (wasm): import @tensorflow/tfjs-backend-wasm before registering`) ?? original;
}

/** Puts the wasm backend's own kernel back (for before/after measurements); registering again re-installs this one. */
export function unregisterWasmConv2DBackpropInput(): void {
  restoreKernel(KERNEL, BACKEND, conv2DBackpropInput, original);
}
