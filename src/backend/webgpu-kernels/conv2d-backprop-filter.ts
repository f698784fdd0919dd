// Conv2DBackpropFilter for tfjs's webgpu backend as a split-K implicit GEMM.
//
// tfjs-backend-webgpu 4.22 computes dW with one thread per filter element, each looping over every (b, oh, ow): for
// the DCGAN's first discriminator layer (x [256,64,64,3], dy [256,32,32,64], k4 s2) that is 3,072 threads, each
// summing 262,144 products — a few dozen workgroups on a GPU with 132 SMs (187 ms on an H100).
//
// Here dW is a matrix product dW[m, n] = Σ_k A[k, m] · B[k, n] with
//   m = (kh, kw, ci)   M = KH·KW·Ci
//   n = co             N = Co
//   k = (b, oh, ow)    K = B·OH·OW
//   A[k, m] = x[b, oh·sH + kh − padTop, ow·sW + kw − padLeft, ci]   (0 outside x: the padding)
//   B[k, n] = dy[b, oh, ow, co] = dy[k·N + n]                        (dy is exactly a K×N matrix)
// Pass 1 (SplitKProgram): one workgroup per (64×64 tile of dW, slice s of K) sums its tile over its slice, staging
// 32-deep steps of both operands in workgroup memory, and writes that partial tile to partials[s, m, n].
// Pass 2 (SplitKSumProgram): dW[m, n] = Σ_s partials[s, m, n], in a fixed order, so the result is deterministic
// (no float atomics). With one split, pass 1 writes dW directly and pass 2 is skipped.
//
// docs/webgpu-kernels.md has the reasoning behind the tile sizes and the split count, and the predicted H100 cost.
import * as tf from '@tensorflow/tfjs';
import { replaceKernel, restoreKernel, type Conv2DBackpropFilterAttrs as Attrs } from '../kernel-util.js';
import type { ProgramUniform, WebGPUBackendLike, WebGPUProgramLike } from './types.js';

const KERNEL = 'Conv2DBackpropFilter';
const BACKEND = 'webgpu';

/** Output tile of one workgroup (M × N) and the depth of one K step staged in workgroup memory. */
export const TILE_M = 64;
export const TILE_N = 64;
export const TILE_K = 32;
/** 16×16 threads, each accumulating a 4 (m) × 4 (n) block of the tile. */
const WORKGROUP: [number, number, number] = [16, 16, 1];
const THREADS = WORKGROUP[0] * WORKGROUP[1];

/** How many workgroups pass 1 aims for, and how little of K one may get; see planSplitK. */
export interface SplitKTuning {
  /** workgroups to aim for in pass 1: an H100 holds ~4 of these per SM at once, ×132 SMs, so 2048 is ~4 waves */
  targetWorkgroups: number;
  /** the fewest K positions one workgroup sums (a multiple of TILE_K): keeps partial tiles few for small K */
  minKPerSplit: number;
  /** the most memory the partials may take */
  maxPartialBytes: number;
}

export const DEFAULT_TUNING: Readonly<SplitKTuning> = {
  targetWorkgroups: 2048,
  minKPerSplit: 256,
  maxPartialBytes: 256 * 2 ** 20,
};

let tuning: SplitKTuning = { ...DEFAULT_TUNING };

/** Changes the split-K policy (for tests and experiments); returns the previous one. */
export function setSplitKTuning(next: Partial<SplitKTuning>): SplitKTuning {
  const previous = tuning;
  tuning = { ...tuning, ...next };
  if (!(tuning.minKPerSplit >= TILE_K) || tuning.minKPerSplit % TILE_K !== 0) {
    tuning = previous;
    throw new Error(`minKPerSplit must be a positive multiple of ${TILE_K}, got ${next.minKPerSplit}`);
  }
  return previous;
}

export interface SplitKPlan {
  M: number;
  N: number;
  K: number;
  tilesM: number;
  tilesN: number;
  /** number of K slices (pass-1 workgroups = tilesM · tilesN · splits) */
  splits: number;
  /** K positions per slice, a multiple of TILE_K; the last slice may be shorter */
  kPerSplit: number;
  /** pass 2: threads per output element that share its sum over splits (a power of two; 0 when splits is 1) */
  reduceLanes: number;
}

/**
 * Chooses the split of K. Pure.
 *
 * splits ≈ targetWorkgroups / (tilesM · tilesN), but each slice keeps ≥ minKPerSplit of K (so small problems, and the
 * tests' tiny shapes, get few or no splits), the partials stay under maxPartialBytes, and the workgroups, numbered
 * along one dispatch dimension, stay within maxPerDimension. kPerSplit is rounded up to whole K tiles, and splits
 * recomputed so that no slice is empty.
 */
export function planSplitK(M: number, N: number, K: number, options: SplitKTuning = tuning,
  maxPerDimension = 65535): SplitKPlan {
  const tilesM = Math.ceil(M / TILE_M);
  const tilesN = Math.ceil(N / TILE_N);
  const wanted = Math.ceil(options.targetWorkgroups / (tilesM * tilesN));
  const byK = Math.max(1, Math.floor(K / options.minKPerSplit));
  const byMemory = Math.max(1, Math.floor(options.maxPartialBytes / (4 * M * N)));
  const byDispatch = Math.floor(maxPerDimension / (tilesM * tilesN));
  const first = Math.max(1, Math.min(wanted, byK, byMemory, byDispatch));
  const kPerSplit = Math.ceil(Math.ceil(K / first) / TILE_K) * TILE_K;
  const splits = Math.max(1, Math.ceil(K / kPerSplit));
  return { M, N, K, tilesM, tilesN, splits, kPerSplit, reduceLanes: splits === 1 ? 0 : reduceLanesFor(splits) };
}

/** Lanes per output in pass 2: enough threads to keep memory busy when splits are many, each summing ≥ 4. */
function reduceLanesFor(splits: number): number {
  let lanes = 1;
  while (lanes < 16 && lanes * 2 * 4 <= splits) lanes *= 2;
  return lanes;
}

/** Pass 1. Shapes, strides and padding are uniforms: one pipeline serves every layer. */
export class SplitKProgram implements WebGPUProgramLike {
  variableNames = ['x', 'dy'];
  outputShape: number[];
  shaderKey = `dcganConv2DBackpropFilterSplitK_${TILE_M}x${TILE_N}x${TILE_K}`;
  // Flat: tfjs's entry point calls main(global index), which this shader ignores (it reads workgroupId). The dispatch
  // is set here, not computed from the layout.
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize = WORKGROUP;
  uniforms = 'inShape : vec4<i32>, outSize : vec2<i32>, pads : vec2<i32>, strides : vec2<i32>, tiles : vec2<i32>, ' +
    'filterWidth : i32, dimM : i32, dimN : i32, dimK : i32, kPerSplit : i32, numKTiles : i32,';

  /**
   * The output is [splits·M, N] and the inputs are flat (see the kernel function). One workgroup per (tile, split),
   * numbered along x only (≤ maxComputeWorkgroupsPerDimension, which the kernel function checks): tfjs's
   * pipeline-cache key says whether a dispatch is flat, so this keeps one pipeline for every shape.
   */
  constructor(plan: SplitKPlan) {
    this.outputShape = [plan.splits * plan.M, plan.N];
    this.dispatch = [plan.tilesN * plan.tilesM * plan.splits, 1, 1];
  }

  getUserCode(): string {
    const vecsM = TILE_M / 4; // 16 vec4 per K row of the A tile
    const vecsN = TILE_N / 4;
    const rowsPerLoader = (TILE_K * TILE_M) / THREADS; // 8: each thread stages 8 K rows of one column
    if (TILE_M !== TILE_N || vecsM !== WORKGROUP[0] || vecsN !== WORKGROUP[1] || THREADS % TILE_M !== 0) {
      throw new Error('SplitKProgram: the tile constants do not fit the workgroup');
    }
    const fmas = [0, 1, 2, 3].map((i) => `acc${i} = fma(vec4<f32>(av[${i}]), bv, acc${i});`).join('\n        ');
    const writes = [0, 1, 2, 3].map((i) => `
    {
      let m = m0 + ty * 4 + ${i};
      if (m < uniforms.dimM) {
        let row = base + m * uniforms.dimN;
        ${[0, 1, 2, 3].map((j) => `if (nOut + ${j} < uniforms.dimN) { result[row + nOut + ${j}] = acc${i}[${j}]; }`).join('\n        ')}
      }
    }`).join('');
    return `
  // [TILE_K][TILE_M] and [TILE_K][TILE_N], as vec4 so that the inner loop reads 4 m and 4 n per load.
  var<workgroup> tileA : array<vec4<f32>, ${TILE_K * vecsM}>;
  var<workgroup> tileB : array<vec4<f32>, ${TILE_K * vecsN}>;

  fn main(unusedIndex : i32) {
    let tid = i32(localIndex);
    let tx = tid % ${WORKGROUP[0]};
    let ty = tid / ${WORKGROUP[0]};
    // Workgroup number → (split, tile row, tile column), tile column fastest.
    let group = i32(workgroupId.x);
    let n0 = (group % uniforms.tiles[0]) * ${TILE_N};
    let m0 = ((group / uniforms.tiles[0]) % uniforms.tiles[1]) * ${TILE_M};
    let split = group / (uniforms.tiles[0] * uniforms.tiles[1]);
    let kBegin = split * uniforms.kPerSplit;
    let kEnd = min(kBegin + uniforms.kPerSplit, uniforms.dimK);

    let inH = uniforms.inShape[1];
    let inW = uniforms.inShape[2];
    let inC = uniforms.inShape[3];
    let outH = uniforms.outSize[0];
    let outW = uniforms.outSize[1];

    // Staging: this thread loads column \`col\` of both tiles, K rows row0 .. row0 + ${rowsPerLoader - 1}.
    // Consecutive threads take consecutive m (contiguous ci, then kw, in x) and n (contiguous co in dy).
    let col = tid % ${TILE_M};
    let row0 = (tid / ${TILE_M}) * ${rowsPerLoader};
    let mLoad = m0 + col;
    let mValid = mLoad < uniforms.dimM;
    let ci = mLoad % inC;
    let kw = (mLoad / inC) % uniforms.filterWidth;
    let kh = mLoad / (inC * uniforms.filterWidth);
    let hOffset = kh - uniforms.pads[0];
    let wOffset = kw - uniforms.pads[1];
    let nLoad = n0 + col;
    let nValid = nLoad < uniforms.dimN;
    let slot0 = row0 * ${vecsM} + col / 4;
    let lane = col % 4;

    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);

    // The trip count is uniform (the last slice is shorter: its missing K rows load as zeros), as the barriers need.
    for (var t = 0; t < uniforms.numKTiles; t++) {
      let kFirst = kBegin + t * ${TILE_K} + row0;
      // (b, oh, ow) of kFirst, then stepped along with k.
      var ow = kFirst % outW;
      let q = kFirst / outW;
      var oh = q % outH;
      var b = q / outH;
      for (var i = 0; i < ${rowsPerLoader}; i++) {
        let k = kFirst + i;
        var aValue = 0.0;
        var bValue = 0.0;
        if (k < kEnd) {
          let ih = oh * uniforms.strides[0] + hOffset;
          let iw = ow * uniforms.strides[1] + wOffset;
          if (mValid && ih >= 0 && ih < inH && iw >= 0 && iw < inW) {
            aValue = x[((b * inH + ih) * inW + iw) * inC + ci];
          }
          if (nValid) {
            bValue = dy[k * uniforms.dimN + nLoad];
          }
        }
        let slot = slot0 + i * ${vecsM};
        tileA[slot][lane] = aValue;
        tileB[slot][lane] = bValue;
        ow = ow + 1;
        if (ow == outW) {
          ow = 0;
          oh = oh + 1;
          if (oh == outH) {
            oh = 0;
            b = b + 1;
          }
        }
      }
      workgroupBarrier();
      for (var kk = 0; kk < ${TILE_K}; kk++) {
        let av = tileA[kk * ${vecsM} + ty];
        let bv = tileB[kk * ${vecsN} + tx];
        ${fmas}
      }
      workgroupBarrier();
    }

    let base = split * uniforms.dimM * uniforms.dimN;
    let nOut = n0 + tx * 4;${writes}
  }
`;
  }
}

/**
 * Pass 2: out[i] = Σ_s partials[s·MN + i]. A workgroup covers 256 / lanes outputs; the `lanes` threads of one
 * output take every lanes-th split (4 independent sums each, for memory parallelism), then add up in workgroup
 * memory in a fixed tree. Order fixed by (splits, lanes): deterministic.
 */
export class SplitKSumProgram implements WebGPUProgramLike {
  variableNames = ['partials'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  uniforms = 'dimMN : i32, splits : i32,';
  private readonly lanes: number;

  /** The input is [splits, size] and the output [size], both flat. */
  constructor(size: number, lanes: number, maxPerDimension: number) {
    if (!(lanes >= 1 && lanes <= THREADS && (lanes & (lanes - 1)) === 0)) throw new Error(`bad lane count ${lanes}`);
    this.outputShape = [size];
    this.lanes = lanes;
    this.shaderKey = `dcganSplitKSum_${lanes}`;
    this.dispatchLayout = { x: [0] }; // flat: tfjs calls main(global thread index)
    const groups = Math.ceil(size / (THREADS / lanes));
    const dx = Math.min(groups, maxPerDimension);
    this.dispatch = [dx, Math.ceil(groups / dx), 1];
  }

  getUserCode(): string {
    const L = this.lanes;
    const cols = THREADS / L;
    let tree = '';
    for (let stride = L / 2; stride >= 1; stride /= 2) {
      tree += `
    if (lane < ${stride}) {
      sums[lid] = sums[lid] + sums[lid + ${stride * cols}];
    }
    workgroupBarrier();`;
    }
    return `
  ${L > 1 ? `var<workgroup> sums : array<f32, ${THREADS}>;` : ''}

  fn main(index : i32) {
    let lid = i32(localIndex);
    let lane = lid / ${cols};
    let i = (index / ${THREADS}) * ${cols} + lid % ${cols};
    let total = uniforms.dimMN;
    let splits = uniforms.splits;
    var s0 = 0.0;
    var s1 = 0.0;
    var s2 = 0.0;
    var s3 = 0.0;
    if (i < total) {
      var s = lane;
      for (; s + ${3 * L} < splits; s = s + ${4 * L}) {
        s0 = s0 + partials[s * total + i];
        s1 = s1 + partials[(s + ${L}) * total + i];
        s2 = s2 + partials[(s + ${2 * L}) * total + i];
        s3 = s3 + partials[(s + ${3 * L}) * total + i];
      }
      for (; s < splits; s = s + ${L}) {
        s0 = s0 + partials[s * total + i];
      }
    }
    let sum = (s0 + s1) + (s2 + s3);
    ${L === 1 ? `if (i < total) {
      setOutputAtIndex(i, sum);
    }` : `sums[lid] = sum;
    workgroupBarrier();${tree}
    if (lane == 0 && i < total) {
      setOutputAtIndex(i, sums[lid]);
    }`}
  }
`;
  }
}


/** How often each path ran since the last reset: tests use it to see that this kernel, not tfjs's, did the work. */
export const conv2DBackpropFilterCounts = { gemm: 0, reduced: 0, fallback: 0 };

/** Why the last call that went to tfjs's kernel did (null until one has). */
export let lastFallbackReason: string | null = null;

/** Why this kernel hands a call to tfjs's own, or null when it takes it. */
function unsupported(x: tf.TensorInfo, dy: tf.TensorInfo, attrs: Attrs, info: tf.backend_util.Conv2DInfo,
  plan: SplitKPlan, maxPerDimension: number): string | null {
  if (attrs.dataFormat === 'NCHW') return 'NCHW';
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return 'not float32';
  if (x.shape.length !== 4 || dy.shape.length !== 4) return 'not rank 4';
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (dy.shape.join() !== expected.join()) return `dy is [${dy.shape}], the convolution gives [${expected}]`;
  if (plan.M * plan.N * plan.K === 0) return 'empty';
  // Only a filter of over a gigabyte has this many 64×64 tiles (splits are capped by the same limit).
  if (plan.tilesM * plan.tilesN * plan.splits > maxPerDimension) return 'too many workgroups for one dispatch';
  // i32 indices in the shader
  const limit = 2 ** 31 - 1;
  if (tf.util.sizeFromShape(x.shape) > limit || plan.K * plan.N > limit || plan.splits * plan.M * plan.N > limit) {
    return 'too large for i32 indexing';
  }
  return null;
}

let original: tf.KernelConfig | undefined;

const conv2DBackpropFilter: tf.KernelFunc = (args) => {
  const { inputs, attrs } = args;
  const backend = args.backend as unknown as WebGPUBackendLike;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as Attrs;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides,
    1, a.pad, a.dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(a.dataFormat));
  const M = info.filterHeight * info.filterWidth * info.inChannels;
  const N = info.outChannels;
  const K = info.batchSize * info.outHeight * info.outWidth;
  const limits = backend.device.limits;
  const maxPerDimension = limits.maxComputeWorkgroupsPerDimension;
  const plan = planSplitK(M, N, K, {
    ...tuning,
    maxPartialBytes: Math.min(tuning.maxPartialBytes, limits.maxStorageBufferBindingSize),
  }, maxPerDimension);
  const reason = unsupported(x, dy, a, info, plan, maxPerDimension);
  if (reason != null) {
    lastFallbackReason = reason;
    conv2DBackpropFilterCounts.fallback++;
    return original!.kernelFunc(args);
  }

  // The programs see x and dy as flat arrays and write [splits·M, N] (shapes go in as uniforms). tfjs's pipeline-cache
  // key includes which input dimensions are 1 or equal the output's, so rank-1 inputs keep it to one pipeline for every
  // layer. A view is a TensorInfo with the same dataId and another shape, as tfjs's own Reshape makes.
  const flat = (t: tf.TensorInfo): tf.TensorInfo => ({ ...t, shape: [tf.util.sizeFromShape(t.shape)] });
  const filterShape = [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels];
  const uniforms: ProgramUniform[] = [
    { type: 'int32', data: [info.batchSize, info.inHeight, info.inWidth, info.inChannels] },
    { type: 'int32', data: [info.outHeight, info.outWidth] },
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [plan.tilesN, plan.tilesM] },
    { type: 'int32', data: [info.filterWidth] },
    { type: 'int32', data: [M] },
    { type: 'int32', data: [N] },
    { type: 'int32', data: [K] },
    { type: 'int32', data: [plan.kPerSplit] },
    { type: 'int32', data: [plan.kPerSplit / TILE_K] },
  ];
  conv2DBackpropFilterCounts.gemm++;
  const partials = backend.runWebGPUProgram(new SplitKProgram(plan), [flat(x), flat(dy)], 'float32', uniforms);
  if (plan.splits === 1) return { ...partials, shape: filterShape };

  const sum = new SplitKSumProgram(M * N, plan.reduceLanes, maxPerDimension);
  const dW = backend.runWebGPUProgram(sum, [flat(partials)], 'float32', [
    { type: 'int32', data: [M * N] },
    { type: 'int32', data: [plan.splits] },
  ]);
  backend.disposeData(partials.dataId);
  conv2DBackpropFilterCounts.reduced++;
  return { ...dW, shape: filterShape };
};

/**
 * Puts this kernel in place of tfjs-backend-webgpu's Conv2DBackpropFilter, keeping tfjs's for what it does not take
 * (NCHW, other dtypes). Call it after tfjs-backend-webgpu is imported (its import registers its kernels, and would
 * replace this one). A second call does nothing.
 */
export function registerWebgpuConv2DBackpropFilter(): void {
  original = replaceKernel(KERNEL, BACKEND, conv2DBackpropFilter, `tfjs-backend-webgpu has registered no ${KERNEL} kernel to replace`) ?? original;
}

/** Puts tfjs's own kernel back (for comparisons). */
export function unregisterWebgpuConv2DBackpropFilter(): void {
  restoreKernel(KERNEL, BACKEND, conv2DBackpropFilter, original);
}
