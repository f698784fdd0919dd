// tfjs-backend-wasm 4.22 runs some kernels of a DCGAN step as plain C++ loops, on one thread however many the backend
// has: FusedBatchNorm (batch norm's forward), LeakyRelu, and the Greater and Select of LeakyRelu's gradient. Ours do the
// C++'s arithmetic element for element: the same float32 roundings in the same places, so the bytes do not depend on
// which ran (test/wasm-elementwise.test.ts compares them with the originals, NaNs, infinities, signed zeros and
// subnormals included). LeakyRelu, and its gradient in one pass (leaky-relu-grad.ts), run as our SIMD kernels
// (wasm-simd-kernels.wat) at every size: 0.2 ms for [64, 16, 16, 32] where the C++ loop took 1.4. The others are
// JavaScript heap jobs, split between the threaded build's worker threads (wasm-heap-workers.ts) from parallelMin()
// elements on, the originals running below that and on one thread. (Training no longer calls FusedBatchNorm on wasm:
// batch norm in training is one kernel of its own, wasm-training-batch-norm.ts.)
import * as tf from '@tensorflow/tfjs';
import { replaceKernel, restoreKernel, type WasmBackend } from './kernel-util.js';
import { ADAM_UPDATE, type AdamConstants } from './adam-update.js';
import { LEAKY_RELU_GRAD } from './leaky-relu-grad.js';
import { defineHeapJob, hasHeapWorkers, parallelMin, runHeapJob } from './wasm-heap-workers.js';

const BACKEND = 'wasm';

// Heap jobs: plain JavaScript that names nothing outside itself. Offsets count float32s, or bytes for bool tensors.

/**
 * out = offset + ((x − mean)·scale) / sqrt(variance + ε), as the C++ has it: x − mean and ·scale in float32, the square
 * root in float32 then widened, the division and the + offset in float64, rounded to float32 once stored. Each of
 * mean, variance, scale and offset repeats with its own length (0: scale 1, offset 0).
 */
function batchNorm(heap: Float32Array, a: number[], from: number, to: number): void {
  const x = a[0], mean = a[1], meanN = a[2], variance = a[3], varianceN = a[4], scale = a[5], scaleN = a[6];
  const offset = a[7], offsetN = a[8], epsilon = a[9], out = a[10];
  const f = Math.fround;
  const factor = new Float64Array(varianceN);
  for (let c = 0; c < varianceN; c++) factor[c] = f(Math.sqrt(f(heap[variance + c] + epsilon)));
  let m = from % meanN, v = from % varianceN, s = scaleN ? from % scaleN : 0, o = offsetN ? from % offsetN : 0;
  for (let i = from; i < to; i++) {
    const scaled = f(f(heap[x + i] - heap[mean + m]) * (scaleN ? heap[scale + s] : 1));
    heap[out + i] = (offsetN ? heap[offset + o] : 0) + scaled / factor[v];
    if (++m === meanN) m = 0;
    if (++v === varianceN) v = 0;
    if (scaleN && ++s === scaleN) s = 0;
    if (offsetN && ++o === offsetN) o = 0;
  }
}

/** out (bool) = x > y, y one number or as long as x. */
function greater(heap: Float32Array, a: number[], from: number, to: number): void {
  const x = a[0], y = a[1], yStep = a[2], outByte = a[3];
  const bytes = new Uint8Array(heap.buffer);
  for (let i = from; i < to; i++) bytes[outByte + i] = heap[x + i] > heap[y + i * yStep] ? 1 : 0;
}

/** out = condition (bool) ? t : e, all the same length. */
function select(heap: Float32Array, a: number[], from: number, to: number): void {
  const conditionByte = a[0], t = a[1], e = a[2], out = a[3];
  const bytes = new Uint8Array(heap.buffer);
  for (let i = from; i < to; i++) heap[out + i] = bytes[conditionByte + i] ? heap[t + i] : heap[e + i];
}

/** The FusedBatchNorm job (args as batchNorm's above), for wasm-training-batch-norm.ts too. */
export const BATCH_NORM = defineHeapJob(batchNorm);
// on our SIMD kernels (wasm-simd-kernels.wat): pointers in bytes, the products in float32
const LEAKY_RELU = defineHeapJob((_, a, from, to, simd) => simd.leakyRelu(a[0], a[1], a[2], from, to));
const LEAKY_RELU_GRAD_JOB = defineHeapJob((_, a, from, to, simd) => simd.leakyReluGrad(a[0], a[1], a[2], a[3], from, to));
const ADAM_UPDATE_JOB = defineHeapJob((_, a, from, to, simd) =>
  simd.adamUpdate(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], from, to));
const GREATER = defineHeapJob(greater);
const SELECT = defineHeapJob(select);

/** A view of the whole heap, and where each tensor starts in it: in float32s, or in bytes for bool tensors. */
export function locate(backend: WasmBackend, ...tensors: tf.TensorInfo[]): [Float32Array, ...number[]] {
  const views = tensors.map((t) => backend.typedArrayFromHeap(t));
  return [new Float32Array(views[0].buffer), ...views.map((v, i) => v.byteOffset / (tensors[i].dtype === 'bool' ? 1 : 4))];
}

const size = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape);
const worthSplitting = (backend: WasmBackend, t: tf.TensorInfo) => size(t) >= parallelMin() && hasHeapWorkers(backend);

type Ours = (backend: WasmBackend, args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo | undefined;

const kernels: Record<string, Ours> = {
  FusedBatchNorm(backend, { inputs, attrs }) {
    const { x, mean, variance, scale, offset } = inputs as Record<string, tf.TensorInfo | undefined> & { x: tf.TensorInfo };
    const params = [mean!, variance!, scale, offset];
    if (!worthSplitting(backend, x) || [x, ...params].some((t) => t != null && (t.dtype !== 'float32' || size(t) === 0))) return undefined;
    const out = backend.makeOutput(x.shape, 'float32');
    const [heap, xAt, outAt, meanAt, varianceAt, scaleAt, offsetAt] =
      locate(backend, x, out, mean!, variance!, scale ?? mean!, offset ?? mean!);
    const epsilon = Math.fround((attrs as unknown as { varianceEpsilon: number }).varianceEpsilon);
    runHeapJob(backend, heap, BATCH_NORM, [xAt, meanAt, size(mean!), varianceAt, size(variance!),
      scaleAt, scale ? size(scale) : 0, offsetAt, offset ? size(offset) : 0, epsilon, outAt], size(x), true);
    return out;
  },
  // vectorised, so taken at every size (split between threads from parallelMin())
  LeakyRelu(backend, { inputs, attrs }) {
    const { x } = inputs as { x: tf.TensorInfo };
    if (x.dtype !== 'float32') return undefined;
    const out = backend.makeOutput(x.shape, 'float32');
    const [heap, xAt, outAt] = locate(backend, x, out);
    const alpha = Math.fround((attrs as unknown as { alpha: number }).alpha);
    runHeapJob(backend, heap, LEAKY_RELU, [4 * xAt, alpha, 4 * outAt], size(x), worthSplitting(backend, x));
    return out;
  },
  Greater(backend, { inputs }) {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const sameShape = a.shape.length === b.shape.length && a.shape.every((n, i) => n === b.shape[i]);
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || !(sameShape || size(b) === 1) || !worthSplitting(backend, a)) return undefined;
    const out = backend.makeOutput(a.shape, 'bool');
    const [heap, aAt, bAt, outAt] = locate(backend, a, b, out);
    runHeapJob(backend, heap, GREATER, [aAt, bAt, sameShape ? 1 : 0, outAt], size(a), true);
    return out;
  },
  Select(backend, { inputs }) {
    const { condition, t, e } = inputs as { condition: tf.TensorInfo; t: tf.TensorInfo; e: tf.TensorInfo };
    const same = (u: tf.TensorInfo) => u.shape.length === t.shape.length && u.shape.every((n, i) => n === t.shape[i]);
    if (condition.dtype !== 'bool' || t.dtype !== 'float32' || e.dtype !== 'float32' || !same(condition) || !same(e) ||
      !worthSplitting(backend, t)) return undefined;
    const out = backend.makeOutput(t.shape, 'float32');
    const [heap, conditionAt, tAt, eAt, outAt] = locate(backend, condition, t, e, out);
    runHeapJob(backend, heap, SELECT, [conditionAt, tAt, eAt, outAt], size(t), true);
    return out;
  },
};

const originals: Record<string, tf.KernelConfig | undefined> = {};
const kernelFuncs: Record<string, tf.KernelFunc> = Object.fromEntries(Object.entries(kernels).map(([name, ours]) =>
  [name, (args: Parameters<tf.KernelFunc>[0]) => ours(args.backend as WasmBackend, args) ?? originals[name]!.kernelFunc(args)]));

/** leaky-relu-grad.ts's kernel: dx = x > 0 ? dy : dy·alpha, in one vectorised pass. */
const leakyReluGrad: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as WasmBackend;
  const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  if (dy.dtype !== 'float32' || x.dtype !== 'float32' || dy.shape.join() !== x.shape.join()) {
    throw new Error(`${LEAKY_RELU_GRAD} (wasm): dy and x must be float32 of one shape, not ${dy.dtype} [${dy.shape}] and ${x.dtype} [${x.shape}]`);
  }
  const out = backend.makeOutput(x.shape, 'float32');
  const [heap, dyAt, xAt, outAt] = locate(backend, dy, x, out);
  const alpha = Math.fround((attrs as unknown as { alpha: number }).alpha);
  runHeapJob(backend, heap, LEAKY_RELU_GRAD_JOB, [4 * dyAt, 4 * xAt, alpha, 4 * outAt], size(x), worthSplitting(backend, x));
  return out;
};

/** adam-update.ts's kernel: one Adam step of one variable in one vectorised pass, the ops' float32 roundings. */
const adamUpdate: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as WasmBackend;
  const { w, g, m, v } = inputs as Record<'w' | 'g' | 'm' | 'v', tf.TensorInfo>;
  const { beta1, beta2, k, c, epsilon } = attrs as unknown as AdamConstants;
  for (const [name, t] of Object.entries({ g, m, v })) {
    if (t.dtype !== 'float32' || w.dtype !== 'float32' || t.shape.join() !== w.shape.join()) {
      throw new Error(`${ADAM_UPDATE} (wasm): ${name} must be float32 of w's shape [${w.shape}], not ${t.dtype} [${t.shape}]`);
    }
  }
  const outs = [w, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
  const [heap, ...at] = locate(backend, w, g, m, v, ...outs);
  // the constants as tfjs's ops make them: float32 scalars of the float64 numbers (1 − β computed in float64 first)
  runHeapJob(backend, heap, ADAM_UPDATE_JOB, [...at.map((i) => 4 * i), beta1, 1 - beta1, beta2, 1 - beta2, k, c, epsilon],
    size(w), worthSplitting(backend, w));
  return outs;
};

/** Puts these kernels in place of the wasm backend's (which they fall back to); a second call leaves them alone. */
export function registerWasmElementwise(): void {
  if (tf.getKernel(LEAKY_RELU_GRAD, BACKEND) == null) {
    tf.registerKernel({ kernelName: LEAKY_RELU_GRAD, backendName: BACKEND, kernelFunc: leakyReluGrad });
  }
  if (tf.getKernel(ADAM_UPDATE, BACKEND) == null) {
    tf.registerKernel({ kernelName: ADAM_UPDATE, backendName: BACKEND, kernelFunc: adamUpdate });
  }
  for (const name of Object.keys(kernels)) {
    originals[name] = replaceKernel(name, BACKEND, kernelFuncs[name], `${name} (wasm): import @tensorflow/tfjs-backend-wasm before registering`) ?? originals[name];
  }
}

/** Puts the wasm backend's own kernels back (for before/after comparisons). */
export function unregisterWasmElementwise(): void {
  if (tf.getKernel(LEAKY_RELU_GRAD, BACKEND) != null) tf.unregisterKernel(LEAKY_RELU_GRAD, BACKEND);
  if (tf.getKernel(ADAM_UPDATE, BACKEND) != null) tf.unregisterKernel(ADAM_UPDATE, BACKEND);
  for (const name of Object.keys(kernels)) restoreKernel(name, BACKEND, kernelFuncs[name], originals[name]);
}
