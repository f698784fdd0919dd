// tfjs-backend-wasm 4.22's Sum and Mean add their inputs one after another into a float32 accumulator: once the sum is
// large, each small term loses its low bits. tf.mean of 262,144 copies of 0.1 comes out 2.5e-3 too small (relative),
// and a batch-norm mean over a batch of sprites, whose many equal background pixels all round the same way, is off by
// 1e-3 of a standard deviation — enough to change a discriminator's gradients by percent. The cpu backend sums in
// JavaScript numbers (float64), in a fixed order, and rounds once at the end.
//
// These kernels do the same arithmetic as the cpu backend's, in the same order, on the wasm heap: Sum adds the float32
// inputs in float64 and rounds the total to float32; Mean first rounds each x / n to float32 (the cpu backend's
// RealDiv) and sums those. So for float32 inputs both give the cpu backend's results bit for bit, and the per-channel
// reductions of batch norm and of broadcasting gradients need no transpose: every output's terms arrive in x's memory
// order, which (for axes in ascending order) is the order the cpu backend adds them in after its transpose.
//
// Sum of int32 (exact in the wasm backend already) and anything this does not take goes to the original kernel.
//
// On the threaded build the two shapes that a training step reduces — down the rows of [rows, channels] (batch norm,
// broadcasting gradients) and along the rows of [rows, length] — are split between worker threads by output: each
// output is still one thread's sum in the same order, so the thread count changes no bit.
import * as tf from '@tensorflow/tfjs';
import { defineHeapJob, parallelMin, runHeapJob } from './wasm-heap-workers.js';
import { kernelCaller, replaceKernel, restoreKernel, type WasmBackend } from './kernel-util.js';

const BACKEND = 'wasm';
const call = kernelCaller(BACKEND, 'Sum/Mean (wasm)');

interface ReductionAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/**
 * The blocks of x's shape after merging neighbouring axes of one kind (all reduced, or all kept): their sizes,
 * whether each is reduced, and each block's stride in the output (0 for reduced ones).
 */
export function reductionBlocks(shape: number[], axes: number[]): { sizes: number[]; reduced: boolean[]; outStrides: number[] } {
  const sizes: number[] = [];
  const reduced: boolean[] = [];
  shape.forEach((n, i) => {
    const r = axes.includes(i);
    if (n === 1) return; // a size-1 axis changes neither the order nor the output index
    if (reduced.length > 0 && reduced[reduced.length - 1] === r) sizes[sizes.length - 1] *= n;
    else {
      sizes.push(n);
      reduced.push(r);
    }
  });
  if (sizes.length === 0) {
    sizes.push(1);
    reduced.push(false);
  }
  const outStrides = new Array<number>(sizes.length).fill(0);
  for (let b = sizes.length - 1, stride = 1; b >= 0; b--) {
    if (reduced[b]) continue;
    outStrides[b] = stride;
    stride *= sizes[b];
  }
  return { sizes, reduced, outStrides };
}

/**
 * Σ over the reduced axes of fround(x / divisor), added in float64 in x's memory order: what the cpu backend's Sum
 * (divisor 1: x / 1 is x) and Mean (divisor n) compute, term for term. `axes` must be ascending.
 */
export function reduceInto(acc: Float64Array, x: ArrayLike<number>, shape: number[], axes: number[], divisor: number): void {
  const { sizes, reduced, outStrides } = reductionBlocks(shape, axes);
  const last = sizes.length - 1;
  let i = 0;
  const walk = (b: number, o: number): void => {
    const n = sizes[b];
    if (b < last) {
      for (let k = 0; k < n; k++) walk(b + 1, o + k * outStrides[b]);
    } else if (reduced[b]) {
      let s = acc[o];
      for (let k = 0; k < n; k++) s += Math.fround(x[i++] / divisor);
      acc[o] = s;
    } else {
      for (let k = 0; k < n; k++) acc[o + k] += Math.fround(x[i++] / divisor);
    }
  };
  if (x.length > 0) walk(0, 0);
}

// Heap jobs (wasm-heap-workers.ts): plain JavaScript that names nothing outside itself. Offsets count float32s.

/**
 * x is [rows, width]: out[k] = Σ_r fround(x[r, k] / divisor), for k in [from, to). Four rows at a time: each output
 * still takes its terms one by one, row after row (the additions associate to the left), with a quarter of the
 * accumulator traffic.
 */
function sumDownRows(heap: Float32Array, args: number[], from: number, to: number): void {
  const x = args[0], rows = args[1], width = args[2], divisor = args[3], out = args[4];
  const n = to - from;
  const acc = new Float64Array(n);
  let r = 0, i = x + from;
  // x / 1 is x, and fround of a float32 is itself: the same sums without a division per term
  if (divisor === 1) {
    for (; r + 4 <= rows; r += 4, i += 4 * width) {
      const i1 = i + width, i2 = i1 + width, i3 = i2 + width;
      for (let k = 0; k < n; k++) acc[k] = acc[k] + heap[i + k] + heap[i1 + k] + heap[i2 + k] + heap[i3 + k];
    }
    for (; r < rows; r++, i += width) for (let k = 0; k < n; k++) acc[k] += heap[i + k];
  } else {
    const f = Math.fround;
    for (; r + 4 <= rows; r += 4, i += 4 * width) {
      const i1 = i + width, i2 = i1 + width, i3 = i2 + width;
      for (let k = 0; k < n; k++) {
        acc[k] = acc[k] + f(heap[i + k] / divisor) + f(heap[i1 + k] / divisor) + f(heap[i2 + k] / divisor) + f(heap[i3 + k] / divisor);
      }
    }
    for (; r < rows; r++, i += width) for (let k = 0; k < n; k++) acc[k] += f(heap[i + k] / divisor);
  }
  for (let k = 0; k < n; k++) heap[out + from + k] = acc[k];
}

/** x is [rows, width]: out[r] = Σ_k fround(x[r, k] / divisor), for r in [from, to). */
function sumAlongRows(heap: Float32Array, args: number[], from: number, to: number): void {
  const x = args[0], width = args[1], divisor = args[2], out = args[3];
  for (let r = from; r < to; r++) {
    let s = 0;
    const end = x + (r + 1) * width;
    if (divisor === 1) for (let i = x + r * width; i < end; i++) s += heap[i];
    else for (let i = x + r * width; i < end; i++) s += Math.fround(heap[i] / divisor);
    heap[out + r] = s;
  }
}

const DOWN_ROWS = defineHeapJob(sumDownRows);
const ALONG_ROWS = defineHeapJob(sumAlongRows);


/** Runs the reduction on x's float32s in the wasm heap, into out's, on the backend's threads where that pays. */
function reduceOnHeap(backend: WasmBackend, x: tf.TensorInfo, axes: number[], divisor: number, out: tf.TensorInfo): boolean {
  const { sizes, reduced } = reductionBlocks(x.shape, axes);
  if (sizes.length !== 2) return false;
  const [rows, width] = sizes;
  const xs = backend.typedArrayFromHeap(x), outs = backend.typedArrayFromHeap(out);
  const heap = new Float32Array(xs.buffer);
  const [at, outAt] = [xs.byteOffset / 4, outs.byteOffset / 4];
  const [job, args, count] = reduced[0]
    ? [DOWN_ROWS, [at, rows, width, divisor, outAt], width]
    : [ALONG_ROWS, [at, width, divisor, outAt], rows];
  runHeapJob(backend, heap, job, args, count, xs.length >= parallelMin());
  return true;
}

function reduce(kind: 'Sum' | 'Mean', args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | undefined {
  const backend = args.backend as WasmBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as ReductionAttrs;
  // int32 sums are exact already; Mean of int32 or bool first casts to float32, which fround below does
  if (x.dtype !== 'float32' && (kind === 'Sum' || (x.dtype !== 'int32' && x.dtype !== 'bool'))) return undefined;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  if (new Set(axes).size !== axes.length) return undefined;
  const [outShape, reduceShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
  const reduceSize = tf.util.sizeFromShape(reduceShape);
  const divisor = kind === 'Mean' ? Math.fround(reduceSize) : 1;

  // In ascending order the terms reach each output in the cpu backend's order as they lie; in any other order the cpu
  // backend adds them in that order, after transposing x so that those axes come last, and so does this.
  const ascending = axes.every((a, k) => k === 0 || axes[k - 1] < a);
  const perm = ascending ? null : tf.backend_util.getAxesPermutation(axes, rank);
  const input = perm ? call('Transpose', backend, { x }, { perm }) : x;
  const inputAxes = perm ? tf.backend_util.getInnerMostAxes(axes.length, rank) : axes;
  try {
    const out = backend.makeOutput(keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape, 'float32');
    // views are taken after the allocation, which may move the heap
    if (input.dtype === 'float32' && reduceOnHeap(backend, input, inputAxes, divisor, out)) return out;
    const acc = new Float64Array(tf.util.sizeFromShape(outShape));
    const values = backend.typedArrayFromHeap(input);
    reduceInto(acc, values instanceof Float32Array ? values : Float32Array.from(values), input.shape, inputAxes, divisor);
    backend.typedArrayFromHeap(out).set(acc);
    return out;
  } finally {
    if (input !== x) backend.disposeData(input.dataId);
  }
}

const originals: Partial<Record<'Sum' | 'Mean', tf.KernelConfig>> = {};

const sum: tf.KernelFunc = (args) => reduce('Sum', args) ?? originals.Sum!.kernelFunc(args);
const mean: tf.KernelFunc = (args) => reduce('Mean', args) ?? originals.Mean!.kernelFunc(args);
const ours = { Sum: sum, Mean: mean };

/** Replaces the wasm backend's Sum and Mean (keeping the originals for int32 sums); a second call leaves them alone. */
export function registerWasmReductions(): void {
  for (const name of ['Sum', 'Mean'] as const) {
    originals[name] = replaceKernel(name, BACKEND, ours[name], `${name} (wasm): import @tensorflow/tfjs-backend-wasm before registering`) ?? originals[name];
  }
}

/** Puts the wasm backend's own Sum and Mean back (to show what they get wrong); registering again re-installs ours. */
export function unregisterWasmReductions(): void {
  for (const name of ['Sum', 'Mean'] as const) restoreKernel(name, BACKEND, ours[name], originals[name]);
}
