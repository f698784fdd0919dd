// The wasm backend's TrainingBatchNorm kernel and its gradient kernel (training-batch-norm.ts says what they compute), on
// our SIMD kernels (wasm-simd-kernels.wat).
//
// Each kernel is two passes over the activation: the per-channel sums, then k1·a + k2·(x − mean) + k3 with float32
// coefficients per channel worked out here in float64. Sums are added in float64 (the mean and variance around the
// channel's value in the first row, so that a large mean does not cancel the variance away). The results are as close
// to the exact ones as float32 allows (test/wasm-simd-kernels.test.ts against float64), not the bits of tfjs's ops.
// On one thread a forward pass over [64, 16, 16, 32] takes 0.8 ms where tf.moments and tf.batchNorm take 4.3 (median of
// 40 calls each, the 2-core VM).
//
// As heap jobs (wasm-heap-workers.ts) they may be split between threads, by rows: the sums over chunks of rows whose
// bounds depend on the shape only (rowChunks), each chunk's sums added in float64 and the chunks' added in order after,
// and the elementwise pass row by row; so the thread count changes no bit. (Split by channel instead, each thread read
// every row's cache lines: [64, 16, 16, 32] forward 0.81 → 0.75 ms on two threads.)
import * as tf from '@tensorflow/tfjs';
import type { WasmBackend } from './kernel-util.js';
import { TRAINING_BATCH_NORM, TRAINING_BATCH_NORM_GRAD } from './training-batch-norm.js';
import { locate } from './wasm-elementwise.js';
import { defineHeapJob, parallelMin, runHeapJob } from './wasm-heap-workers.js';
import { simdKernels } from './wasm-simd-kernels.js';

const BACKEND = 'wasm';

// Heap jobs (wasm-heap-workers.ts) on our SIMD kernels (wasm-simd-kernels.wat): pointers in bytes.
const MOMENT_SUMS = defineHeapJob((_, a, from, to, simd) => simd.momentSums(a[0], a[1], a[2], from, to, a[3], a[4]));
const GRADIENT_SUMS = defineHeapJob((_, a, from, to, simd) =>
  simd.gradientChunkSums(a[0], a[1], a[2], a[3], a[4], from, to, a[5], a[6]));
const AFFINE = defineHeapJob((_, a, from, to, simd) => simd.affine(a[0], a[1], a[2], a[3], from, to, a[4]));

/** Chunks of rows the sums are split into: a function of the row count only, ≥ 64 rows each where there are enough. */
function rowChunks(rows: number): number {
  return Math.max(1, Math.min(24, Math.floor(rows / 64)));
}

const size = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape);
/** locate()'s float32 offsets as byte addresses, the heap view first. */
const bytes = ([heap, ...at]: [Float32Array, ...number[]]): [Float32Array, ...number[]] => [heap, ...at.map((i) => 4 * i)];

/** Checks the inputs every kernel here takes: float32, x with C channels last, the per-channel ones [C]. */
function check(kernel: string, x: tf.TensorInfo, perChannel: Record<string, tf.TensorInfo>, others: Record<string, tf.TensorInfo>): number {
  const channels = x.shape[x.shape.length - 1];
  for (const [name, t] of Object.entries({ x, ...perChannel, ...others })) {
    if (t.dtype !== 'float32') throw new Error(`${kernel} (wasm): ${name} must be float32, not ${t.dtype}`);
  }
  if (x.shape.length < 2 || size(x) === 0) throw new Error(`${kernel} (wasm): x must have at least 2 axes and values, not [${x.shape}]`);
  for (const [name, t] of Object.entries(perChannel)) {
    if (t.shape.length !== 1 || t.shape[0] !== channels) throw new Error(`${kernel} (wasm): ${name} must be [${channels}], not [${t.shape}]`);
  }
  for (const [name, t] of Object.entries(others)) {
    if (t.shape.join() !== x.shape.join()) throw new Error(`${kernel} (wasm): ${name} must be [${x.shape}] as x, not [${t.shape}]`);
  }
  return channels;
}

const trainingBatchNorm: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as WasmBackend;
  const { x, scale, offset } = inputs as Record<'x' | 'scale' | 'offset', tf.TensorInfo>;
  const { epsilon } = attrs as unknown as { epsilon: number };
  const channels = check(TRAINING_BATCH_NORM, x, { scale, offset }, {});
  const rows = size(x) / channels;
  const parallel = size(x) >= parallelMin();
  const y = backend.makeOutput(x.shape, 'float32');
  const mean = backend.makeOutput([channels], 'float32');
  const variance = backend.makeOutput([channels], 'float32');
  const coefficients = backend.makeOutput([4 * channels], 'float32');
  const chunks = rowChunks(rows);
  const scratch = backend.makeOutput([4 * channels * chunks], 'float32'); // two float64 sums per channel and chunk
  try {
    const [heap, xAt, yAt, meanAt, varianceAt, coefficientsAt, scratchAt] = bytes(locate(backend, x, y, mean, variance, coefficients, scratch));
    runHeapJob(backend, heap, MOMENT_SUMS, [xAt, rows, channels, chunks, scratchAt], chunks, parallel);
    simdKernels(backend).moments(xAt, rows, channels, chunks, scratchAt, meanAt, varianceAt);
    const [m, v, g, b, k] = [mean, variance, scale, offset, coefficients].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
    // y = 0·x + factor·(x − mean) + offset
    for (let c = 0; c < channels; c++) {
      k[c] = m[c];
      k[channels + c] = 0;
      k[2 * channels + c] = g[c] / Math.sqrt(v[c] + epsilon);
      k[3 * channels + c] = b[c];
    }
    runHeapJob(backend, heap, AFFINE, [xAt, xAt, coefficientsAt, channels, yAt], rows, parallel);
    return [y, mean, variance];
  } finally {
    backend.disposeData(coefficients.dataId);
    backend.disposeData(scratch.dataId);
  }
};

const trainingBatchNormGrad: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as WasmBackend;
  const { dy, x, scale, mean, variance, dmean, dvariance } =
    inputs as Record<'dy' | 'x' | 'scale' | 'mean' | 'variance' | 'dmean' | 'dvariance', tf.TensorInfo>;
  const { epsilon } = attrs as unknown as { epsilon: number };
  const channels = check(TRAINING_BATCH_NORM_GRAD, x, { scale, mean, variance, dmean, dvariance }, { dy });
  const rows = size(x) / channels;
  const parallel = size(x) >= parallelMin();
  const dx = backend.makeOutput(x.shape, 'float32');
  const dscale = backend.makeOutput([channels], 'float32');
  const doffset = backend.makeOutput([channels], 'float32');
  const sumDyXm = backend.makeOutput([channels], 'float32');
  const coefficients = backend.makeOutput([4 * channels], 'float32');
  const chunks = rowChunks(rows);
  const scratch = backend.makeOutput([4 * channels * chunks], 'float32'); // two float64 sums per channel and chunk
  try {
    const [heap, dyAt, xAt, meanAt, dxAt, sumDyAt, sumDyXmAt, coefficientsAt, scratchAt] =
      bytes(locate(backend, dy, x, mean, dx, doffset, sumDyXm, coefficients, scratch));
    runHeapJob(backend, heap, GRADIENT_SUMS, [dyAt, xAt, meanAt, rows, channels, chunks, scratchAt], chunks, parallel);
    simdKernels(backend).gradientSums(channels, chunks, scratchAt, sumDyAt, sumDyXmAt);
    const [m, g, v, dm, dv, sDy, sDyXm, k, dg] = [mean, scale, variance, dmean, dvariance, doffset, sumDyXm, coefficients, dscale]
      .map((t) => backend.typedArrayFromHeap(t) as Float32Array);
    for (let c = 0; c < channels; c++) {
      const r = 1 / Math.sqrt(v[c] + epsilon);
      const gr = g[c] * r;
      k[c] = m[c];
      k[channels + c] = gr;
      k[2 * channels + c] = (2 * dv[c] - gr * r * r * sDyXm[c]) / rows;
      k[3 * channels + c] = (dm[c] - gr * sDy[c]) / rows;
      dg[c] = sDyXm[c] * r;
    }
    runHeapJob(backend, heap, AFFINE, [dyAt, xAt, coefficientsAt, channels, dxAt], rows, parallel);
    return [dx, dscale, doffset];
  } finally {
    backend.disposeData(sumDyXm.dataId);
    backend.disposeData(coefficients.dataId);
    backend.disposeData(scratch.dataId);
  }
};

/** Registers both kernels for the wasm backend; a second call leaves them alone. */
export function registerWasmTrainingBatchNorm(): void {
  if (tf.getKernel(TRAINING_BATCH_NORM, BACKEND) == null) {
    tf.registerKernel({ kernelName: TRAINING_BATCH_NORM, backendName: BACKEND, kernelFunc: trainingBatchNorm });
  }
  if (tf.getKernel(TRAINING_BATCH_NORM_GRAD, BACKEND) == null) {
    tf.registerKernel({ kernelName: TRAINING_BATCH_NORM_GRAD, backendName: BACKEND, kernelFunc: trainingBatchNormGrad });
  }
}

/** Takes both kernels away again (ops then fall back to tfjs's), for before/after comparisons. */
export function unregisterWasmTrainingBatchNorm(): void {
  for (const name of [TRAINING_BATCH_NORM, TRAINING_BATCH_NORM_GRAD]) {
    if (tf.getKernel(name, BACKEND) != null) tf.unregisterKernel(name, BACKEND);
  }
}
