// tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, which the gradient of a gather (GatherV2) needs — so an Embedding
// layer, a conditional G's class input, cannot train there. The sum of the rows of x per segment is a matrix product:
// out[s] = Σ_i [id_i = s]·x_i = onehot(ids)ᵀ·x, which the wasm backend's OneHot and BatchMatMul give (ids outside
// [0, S) have an all-zero one-hot row, so they are dropped, as TensorFlow drops them).
import * as tf from '@tensorflow/tfjs';
import { kernelCaller } from './kernel-util.js';

const BACKEND = 'wasm';
const call = kernelCaller(BACKEND, 'UnsortedSegmentSum (wasm)');

const unsortedSegmentSum: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as tf.KernelBackend;
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  if (x.dtype !== 'float32') throw new Error(`UnsortedSegmentSum (wasm) sums float32 tensors, got ${x.dtype}`);
  const n = segmentIds.shape.reduce((p, d) => p * d, 1);
  const rest = x.shape.slice(segmentIds.shape.length);
  const width = rest.reduce((p, d) => p * d, 1);
  const ids = call('Reshape', backend, { x: segmentIds }, { shape: [n] });
  // the wasm OneHot writes int32 whatever dtype it is given: cast its result
  const onehot = call('OneHot', backend, { indices: ids }, { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' });
  const floats = call('Cast', backend, { x: onehot }, { dtype: 'float32' });
  const a = call('Reshape', backend, { x: floats }, { shape: [1, n, numSegments] });
  const b = call('Reshape', backend, { x }, { shape: [1, n, width] });
  const sums = call('BatchMatMul', backend, { a, b }, { transposeA: true, transposeB: false });
  const out = call('Reshape', backend, { x: sums }, { shape: [numSegments, ...rest] });
  // Reshape shares its input's data and counts a reference: each intermediate is released once
  for (const t of [ids, onehot, floats, a, b, sums]) backend.disposeData(t.dataId);
  return out;
};

/** Registers the kernel for the wasm backend; a tfjs that already has one keeps its own. */
export function registerWasmUnsortedSegmentSum(): void {
  if (tf.getKernel('UnsortedSegmentSum', BACKEND) != null) return;
  tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: BACKEND, kernelFunc: unsortedSegmentSum });
}
