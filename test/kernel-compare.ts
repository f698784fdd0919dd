// What the tests of this project's Conv2DBackpropFilter and Conv2DBackpropInput kernels (wasm and webgpu) share: they
// check each kernel against the cpu backend's, which tfjs ships and tests itself. Inputs are plain Float32Arrays from a
// seeded PRNG so each backend builds its own tensors from the same numbers.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';

// The cpu reference would print tfjs's "install our node backend" banner into the test output; as the CLI does
// (initBackend), production mode silences it. It changes logging only.
tf.enableProdMode();

export type Shape4 = [number, number, number, number];
export type Strides = number | [number, number];
export type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
export type DimRoundingMode = 'floor' | 'round' | 'ceil';
export type DataFormat = 'NHWC' | 'NCHW';
export type Backend = 'cpu' | 'wasm' | 'webgpu';

/** A convolution to check a kernel on: x is the convolution's input (dx, for Conv2DBackpropInput). */
export interface ConvCase {
  name: string;
  x: Shape4;
  filter: Shape4;
  strides: Strides;
  pad: Pad;
  dimRoundingMode?: DimRoundingMode;
}

/** n numbers in [-1, 1) from mulberry32 seeded with `seed`. */
export function randoms(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1;
  }
  return out;
}

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The inputs of a discriminator-style conv (k4 s2 same, 3 → 6 channels, 9×7 → 5×4) followed by a generator-style
 * transposed conv (k4 s2 same, 6 → 2 channels, 5×4 → 10×8): x, the two filters and a target for the output, from the
 * seeds `seed` to `seed + 3` in that order.
 */
export function convChain(batch: number, seed: number) {
  const xShape: Shape4 = [batch, 9, 7, 3];
  const w1Shape: Shape4 = [4, 4, 3, 6];
  const w2Shape: Shape4 = [4, 4, 2, 6];
  const outShape: Shape4 = [batch, 10, 8, 2];
  return {
    xShape, w1Shape, w2Shape, outShape,
    xs: randoms(size(xShape), seed),
    w1s: randoms(size(w1Shape), seed + 1),
    w2s: randoms(size(w2Shape), seed + 2),
    targets: randoms(size(outShape), seed + 3),
  };
}

/** tfjs' description of the convolution of x (dx) with filter: dy is its outShape. */
export function convInfo(x: Shape4, filter: Shape4, strides: Strides, pad: Pad, dimRoundingMode?: DimRoundingMode,
  dataFormat: DataFormat = 'NHWC'): tf.backend_util.Conv2DInfo {
  const format = dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst';
  return tf.backend_util.computeConv2DInfo(x, filter, strides, 1, pad, dimRoundingMode, false, format);
}

export function dyShape(x: Shape4, filter: Shape4, strides: Strides, pad: Pad, dimRoundingMode?: DimRoundingMode,
  dataFormat: DataFormat = 'NHWC'): Shape4 {
  return convInfo(x, filter, strides, pad, dimRoundingMode, dataFormat).outShape;
}

// tfjs does not export its conv2dBackpropFilter and conv2DBackpropInput ops, so the kernels are run the way those ops
// would run them, with the attributes spelled out.

export function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, strides: Strides, pad: Pad,
  dataFormat: DataFormat = 'NHWC', dimRoundingMode?: DimRoundingMode): tf.Tensor4D {
  const attrs = { strides, pad, dataFormat, dimRoundingMode, filterShape };
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

export function conv2dBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: Shape4, strides: Strides,
  pad: Pad, dataFormat: DataFormat = 'NHWC', dimRoundingMode?: DimRoundingMode): tf.Tensor4D {
  const attrs = { inputShape, strides, pad, dataFormat, dimRoundingMode };
  return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** What f gave on one backend, read back, and how long that took (building, running and reading). */
export interface Run {
  backend: Backend;
  outputs: { shape: number[]; values: Float32Array }[];
  ms: number;
}

/** Runs f on `backend` in a tidy, reads its outputs back and disposes them. */
export async function on(backend: Backend, f: () => tf.Tensor[]): Promise<Run> {
  assert.ok(await tf.setBackend(backend));
  const start = performance.now();
  const outs = tf.tidy(f);
  const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  const ms = performance.now() - start;
  const outputs = outs.map((t, i) => ({ shape: t.shape, values: values[i] }));
  tf.dispose(outs);
  return { backend, outputs, ms };
}

/** max |actual − expected| (Infinity where actual has a NaN the other has not) and max |expected|. */
export function maxErrors(expected: Float32Array, actual: Float32Array): { maxDiff: number; maxAbs: number } {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let j = 0; j < expected.length; j++) {
    maxAbs = Math.max(maxAbs, Math.abs(expected[j]));
    const d = Math.abs(expected[j] - actual[j]);
    maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
  }
  return { maxDiff, maxAbs };
}

/**
 * max |run − cpu| / max |cpu| per output, which must stay under 1e-4 (fp32 sums in another order: ~1e-7), on outputs
 * that are not all zeros. Returns the worst of them.
 */
export function assertClose(run: Run, cpu: Run): number {
  assert.equal(run.outputs.length, cpu.outputs.length);
  let worst = 0;
  for (let i = 0; i < cpu.outputs.length; i++) {
    const [r, c] = [run.outputs[i], cpu.outputs[i]];
    assert.deepEqual(r.shape, c.shape);
    const { maxDiff, maxAbs } = maxErrors(c.values, r.values);
    assert.ok(maxAbs > 0, `output ${i} is all zeros, so it proves nothing`);
    const relative = maxDiff / maxAbs;
    assert.ok(relative < 1e-4, `output ${i}: max |${run.backend} - cpu| = ${maxDiff}, max |cpu| = ${maxAbs}`);
    worst = Math.max(worst, relative);
  }
  return worst;
}

/** Runs f on `backend`, then on cpu, and compares the two with assertClose. */
export async function assertMatchesCpu(backend: Backend, f: () => tf.Tensor[]): Promise<number> {
  const run = await on(backend, f);
  return assertClose(run, await on('cpu', f));
}

/** Tensors, data buffers and the backend's data ids, to count what a kernel leaves behind. */
export function leakCounts(): { numTensors: number; numDataBuffers: number; dataIds: number } {
  const { numTensors, numDataBuffers } = tf.memory();
  return { numTensors, numDataBuffers, dataIds: tf.backend().numDataIds() };
}

/** After the outputs are disposed: as many tensors and data ids as at `before`. */
export function assertCountsBack(before: { numTensors: number; dataIds: number }): void {
  assert.equal(tf.memory().numTensors, before.numTensors);
  assert.equal(tf.backend().numDataIds(), before.dataIds);
}

/**
 * The `skip` of the tests that need a WebGPU adapter: a reason when probeAdapter finds none, unless
 * DCGAN_REQUIRE_WEBGPU=1 makes that a failure; false when there is one.
 */
export async function webgpuSkip(probeAdapter: () => Promise<unknown>): Promise<string | false> {
  const required = process.env.DCGAN_REQUIRE_WEBGPU === '1';
  const noAdapter = await probeAdapter().then(() => undefined, (err: Error) => err.message);
  return noAdapter && !required
    ? `no WebGPU adapter (${noAdapter}); scripts/install-lavapipe.sh installs a software one, DCGAN_REQUIRE_WEBGPU=1 fails here`
    : false;
}
