// Conv2DBackpropInput for tfjs's webgpu backend as one implicit GEMM per stride phase, all phases in one dispatch.
//
// tfjs-backend-webgpu 4.22 runs Conv2DDerInputProgram by default: every thread gathers its dx pixels' taps from dy
// and the filter in global memory (no workgroup-memory reuse), testing each of the KH·KW taps with float divisions;
// at stride 2 three taps in four are skipped after the test. Its GEMM variant (WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=
// false) multiplies the zeros a stride inserts: 4× the arithmetic at stride 2. Both run G's transposed convolutions
// and every discriminator input gradient in a DCGAN step.
//
// The math (per spatial axis; src/backend/wasm-conv2d-backprop-input.ts derives the same for wasm). The forward
// convolution reads dx[z − p] at z = o·s + k (o: dy position, k: tap, p: padding before), so
// dx[z − p] = Σ_{o·s + k = z} dy[o]·W[k]. With z = q·s + r (0 ≤ r < s), k = r + s·j and o = q − j: the dx rows of
// phase r, i.e. (row + p) mod s = r, see only the taps W[r + s·j], j < J_r = ceil((K − r) / s), and nothing else.
// In 2-D, phase (rh, rw) is a dense GEMM
//   m = (u, v, b)        M = B · rowsH(rh) · rowsW(rw)   (u, v: the phase's own row and column; b fastest)
//   n = ci               N = Ci                          (dx's channels)
//   k = (jh, jw, co)     K = J_h(rh) · J_w(rw) · Co      (co fastest)
//   A[m, k] = dy[b, q0h + u − jh, q0w + v − jw, co]      (0 outside dy)
//   B[k, n] = W[rh + sH·jh, rw + sW·jw, ci, co]          (the filter is [KH, KW, Ci, Co]: read transposed)
//   dx[b, firstH + u·sH, firstW + v·sW, ci] = Σ_k A[m, k] · B[k, n]
// where firstH is the first dx row of the phase and q0h = (firstH + padTop − rh) / sH. No multiplication by a tap
// that the stride skips; each dx element is written exactly once (a phase with no taps, as at k1 s2, writes zeros).
//
// One workgroup per (phase, tile of M, tile of N), numbered along x: phase by phase, tile column fastest. The shader
// finds its phase by walking the phases (s_h·s_w of them: 4 at stride 2), so one dispatch serves all of them.
// Each thread accumulates 4 (m) × 4 (n); K goes through workgroup memory in TILE_K-deep steps. Two tile shapes, two
// pipelines for every layer and shape (shapes, strides and padding are uniforms, inputs are flat views):
//   wide   64 × 64, 256 threads, 32-deep K steps (16 KB of workgroup memory), as the Conv2DBackpropFilter kernel;
//   narrow 256 × 4, 64 threads, 8-deep (12 KB), for N = Ci ≤ 4: the generator's RGB output layer and the
//          discriminator's first input gradient (Ci = 3), which a 64-wide tile would compute 94 % padding for.
// Because b is the fastest part of m, a tile at batch ≥ its height covers one (u, v) and so one dy window: each
// workgroup narrows the taps it loops over to those that reach its rows (tileTaps below). For the generator's first
// block (dy [B,1,1,100] → dx [B,4,4,C], k4 s1 'valid') that is 1 of the 16 taps; for stride-2 layers the image
// borders lose their dead taps.
//
// docs/webgpu-kernels.md has the predicted H100 cost.
import * as tf from '@tensorflow/tfjs';
import { replaceKernel, restoreKernel, type Conv2DBackpropInputAttrs as Attrs } from '../kernel-util.js';
import type { ProgramUniform, WebGPUBackendLike, WebGPUProgramLike } from './types.js';

const KERNEL = 'Conv2DBackpropInput';
const BACKEND = 'webgpu';

/** One tile shape: the output tile of a workgroup (m × n) and the depth of one K step in workgroup memory. */
export interface TileShape {
  name: 'wide' | 'narrow';
  m: number;
  n: number;
  k: number;
}

export const WIDE: Readonly<TileShape> = { name: 'wide', m: 64, n: 64, k: 32 };
export const NARROW: Readonly<TileShape> = { name: 'narrow', m: 256, n: 4, k: 8 };
/** dx channel counts up to this take the narrow tile. */
export const NARROW_MAX_N = NARROW.n;

/** Threads of a workgroup: each computes 4 × 4 of the tile. */
const threadsOf = (tile: TileShape) => (tile.m * tile.n) / 16;

/** One stride phase (rh, rw), as the shader derives it. */
export interface Phase {
  rh: number;
  rw: number;
  /** the first dx row / column of the phase */
  firstH: number;
  firstW: number;
  rows: number;
  cols: number;
  /** the q of the phase's row / column 0 */
  q0h: number;
  q0w: number;
  /** taps per axis: J = ceil((K − r) / s), 0 when r ≥ K */
  tapsH: number;
  tapsW: number;
  /** GEMM sizes of the phase */
  M: number;
  K: number;
  tilesM: number;
}

export interface PhasePlan {
  tile: TileShape;
  phases: Phase[];
  /** N = Ci, and its tiles (the same in every phase) */
  N: number;
  tilesN: number;
  /** all workgroups of the one dispatch */
  workgroups: number;
  /** multiply-adds the convolution needs: only taps that land inside dy */
  usefulMacs: number;
}

const mod = (a: number, b: number) => ((a % b) + b) % b;

/** The phases, tiles and workgroups for a convolution (inputShape = dx's shape). Pure. */
export function planConv2DBackpropInput(info: tf.backend_util.Conv2DInfo): PhasePlan {
  const { batchSize: B, inHeight: inH, inWidth: inW, inChannels: N, outHeight: outH, outWidth: outW } = info;
  const { strideHeight: sH, strideWidth: sW, filterHeight: kH, filterWidth: kW } = info;
  const tile = N <= NARROW_MAX_N ? NARROW : WIDE;
  const tilesN = Math.ceil(N / tile.n);
  const axis = (r: number, pad: number, s: number, inSize: number, kernel: number) => {
    const first = mod(r - pad, s);
    return {
      first,
      rows: first < inSize ? Math.ceil((inSize - first) / s) : 0,
      q0: (first + pad - r) / s,
      taps: r < kernel ? Math.ceil((kernel - r) / s) : 0,
    };
  };
  // taps of one axis that land inside dy, summed over the phase's rows
  const validTaps = (a: ReturnType<typeof axis>, outSize: number) => {
    let total = 0;
    for (let u = 0; u < a.rows; u++) {
      const q = a.q0 + u;
      total += Math.max(0, Math.min(a.taps - 1, q) - Math.max(0, q - outSize + 1) + 1);
    }
    return total;
  };
  const phases: Phase[] = [];
  let workgroups = 0;
  let usefulMacs = 0;
  for (let rh = 0; rh < sH; rh++) {
    for (let rw = 0; rw < sW; rw++) {
      const h = axis(rh, info.padInfo.top, sH, inH, kH);
      const w = axis(rw, info.padInfo.left, sW, inW, kW);
      const M = B * h.rows * w.rows;
      const tilesM = Math.ceil(M / tile.m);
      phases.push({
        rh, rw, firstH: h.first, firstW: w.first, rows: h.rows, cols: w.rows, q0h: h.q0, q0w: w.q0,
        tapsH: h.taps, tapsW: w.taps, M, K: h.taps * w.taps * info.outChannels, tilesM,
      });
      workgroups += tilesM * tilesN;
      usefulMacs += B * validTaps(h, outH) * validTaps(w, outW) * N * info.outChannels;
    }
  }
  return { tile, phases, N, tilesN, workgroups, usefulMacs };
}

/**
 * The taps one workgroup loops over: those that reach a dy position from any row of its tile (rows m0 .. m0 +
 * tile.m − 1 of the phase). Exact when the tile covers one (u, v) — batch ≥ tile height — else a superset (the loads
 * are bounds-checked). The shader computes the same. Pure.
 */
export function tileTaps(phase: Phase, m0: number, tileM: number, batch: number, outH: number, outW: number):
  { jh0: number; nh: number; jw0: number; nw: number } {
  const first = Math.floor(m0 / batch);
  const last = Math.floor((Math.min(m0 + tileM, phase.M) - 1) / batch);
  const uFirst = Math.floor(first / phase.cols);
  const uLast = Math.floor(last / phase.cols);
  const [vFirst, vLast] = uFirst === uLast ? [first % phase.cols, last % phase.cols] : [0, phase.cols - 1];
  const jh0 = Math.max(0, phase.q0h + uFirst - outH + 1);
  const jw0 = Math.max(0, phase.q0w + vFirst - outW + 1);
  return {
    jh0, nh: Math.max(0, Math.min(phase.tapsH - 1, phase.q0h + uLast) - jh0 + 1),
    jw0, nw: Math.max(0, Math.min(phase.tapsW - 1, phase.q0w + vLast) - jw0 + 1),
  };
}

/** Multiply-adds the dispatch issues (whole tiles and K steps, padding included). Pure; loops over the M tiles. */
export function issuedMacs(plan: PhasePlan, info: tf.backend_util.Conv2DInfo): number {
  const { tile } = plan;
  let total = 0;
  for (const phase of plan.phases) {
    for (let t = 0; t < phase.tilesM; t++) {
      const taps = tileTaps(phase, t * tile.m, tile.m, info.batchSize, info.outHeight, info.outWidth);
      const steps = Math.ceil((taps.nh * taps.nw * info.outChannels) / tile.k);
      total += steps * tile.k * tile.m * tile.n * plan.tilesN;
    }
  }
  return total;
}

/** The GEMM of every phase in one dispatch. Shapes, strides and padding are uniforms: one pipeline per tile shape. */
export class PhaseGemmProgram implements WebGPUProgramLike {
  variableNames = ['dy', 'W'];
  outputShape: number[];
  shaderKey: string;
  // Flat: tfjs's entry point calls main(global index), which this shader ignores (it reads workgroupId).
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = 'dxDims : vec4<i32>, dyDims : vec4<i32>, kernelDims : vec2<i32>, strides : vec2<i32>, ' +
    'pads : vec2<i32>, tilesN : i32,';
  private readonly tile: TileShape;

  /**
   * The output is dx as [1, size] (rank 2, so that its shape never equals the flat inputs' in tfjs's pipeline-cache
   * key); the inputs are flat. Workgroups are numbered along x only (≤ maxComputeWorkgroupsPerDimension, which the
   * kernel function checks).
   */
  constructor(plan: PhasePlan, dxSize: number) {
    this.tile = plan.tile;
    this.outputShape = [1, dxSize];
    this.dispatch = [plan.workgroups, 1, 1];
    this.workgroupSize = [threadsOf(plan.tile), 1, 1];
    const { name, m, n, k } = plan.tile;
    this.shaderKey = `dcganConv2DBackpropInputPhaseGemm_${name}_${m}x${n}x${k}`;
  }

  getUserCode(): string {
    const { m: TM, n: TN, k: TK } = this.tile;
    const threads = threadsOf(this.tile);
    const VM = TM / 4; // vec4 slots per K row of the A tile
    const VN = TN / 4;
    // Loaders: 8 consecutive threads take 8 consecutive k (consecutive co: contiguous in dy and in W) of one row, the
    // next 8 the next row, …: a warp reads 4 rows × 32 bytes. R rows per pass, KQ groups of 8 k.
    const KQ = TK / 8;
    const R = threads / (8 * KQ);
    const rowsA = TM / R;
    const passesB = Math.ceil(TN / R);
    if (!Number.isInteger(KQ) || !Number.isInteger(R) || !Number.isInteger(rowsA) || TM % 4 || TN % 4 || R % 4) {
      throw new Error(`PhaseGemmProgram: tile ${TM}×${TN}×${TK} does not fit ${threads} threads`);
    }
    // Row information for the A loads: in registers when each thread loads few rows, else a table in workgroup memory.
    const table = rowsA > 8;
    // Swizzle: element (k, row) of a tile sits in vec4 slot k·V + ((row / 4) ^ (k mod 8)). The loaders' 8 k × 4 rows
    // of a warp then hit 32 distinct banks, and the inner loop still reads one aligned vec4.
    const swizzle = (v: number, slot: string, kExpr: string) => (v >= 8 ? `(${slot} ^ (${kExpr} & 7))` : slot);
    const fmas = [0, 1, 2, 3].map((i) => `acc${i} = fma(vec4<f32>(av[${i}]), bv, acc${i});`).join('\n        ');

    const rowSetup = table
      ? `for (var i = tid; i < ${TM}; i += ${threads}) {
      rowTable[i] = rowInfo(m0 + i, dimM, batch, cols, q0h, q0w, outH, outW);
    }`
      : Array.from({ length: rowsA }, (_, i) =>
        `let row${i} = rowInfo(m0 + mr + ${i * R}, dimM, batch, cols, q0h, q0w, outH, outW);`).join('\n    ');
    const loadA = (local: string, info: string) => `{
        let r = ${info};
        let oh = r.y - jh;
        let ow = r.z - jw;
        var a = 0.0;
        if (kValid && u32(oh) < u32(outH) && u32(ow) < u32(outW)) {
          a = dy[(r.x - kOffset) * outC + co];
        }
        tileA[kRowA + ${swizzle(VM, `((${local}) / 4)`, 'kc')}][lane] = a;
      }`;
    // A loop over the table (32 unrolled loads took lavapipe ~12 s to compile instead of ~3); unrolled over registers.
    const loadsA = table
      ? `for (var i = 0; i < ${rowsA}; i++) {
        let local = mr + i * ${R};
        ${loadA('local', 'rowTable[local]')}
      }`
      : Array.from({ length: rowsA }, (_, i) => loadA(`mr + ${i * R}`, `row${i}`)).join('\n      ');
    const loadsB = Array.from({ length: passesB }, (_, i) => {
      const local = `mr + ${i * R}`;
      return `if (${local} < ${TN}) {
        let n = n0 + ${local};
        var w = 0.0;
        if (kValid && n < inC) {
          w = W[(tapBase + n) * outC + co];
        }
        tileB[kRowB + ${swizzle(VN, `((${local}) / 4)`, 'kc')}][lane] = w;
      }`;
    }).join('\n      ');
    const writes = [0, 1, 2, 3].map((i) => `
    {
      let m = m0 + ty * 4 + ${i};
      if (m < dimM) {
        let b = m % batch;
        let pos = m / batch;
        let ih = firstH + (pos / cols) * sH;
        let iw = firstW + (pos % cols) * sW;
        let base = ((b * inH + ih) * inW + iw) * inC + nOut;
        ${[0, 1, 2, 3].map((j) => `if (nOut + ${j} < inC) { result[base + ${j}] = acc${i}[${j}]; }`).join('\n        ')}
      }
    }`).join('');

    return `
  // [TILE_K][TILE_M] and [TILE_K][TILE_N] as vec4 (4 m or 4 n per slot), swizzled.
  var<workgroup> tileA : array<vec4<f32>, ${TK * VM}>;
  var<workgroup> tileB : array<vec4<f32>, ${TK * VN}>;
  var<workgroup> kSteps : i32;
  ${table ? `var<workgroup> rowTable : array<vec3<i32>, ${TM}>;` : ''}

  fn ceilDiv(a : i32, b : i32) -> i32 {
    return (a + b - 1) / b;
  }

  // First dx row of phase r, and how many rows it has.
  fn phaseFirst(r : i32, pad : i32, s : i32) -> i32 {
    return ((r - pad) % s + s) % s;
  }
  fn phaseRows(first : i32, size : i32, s : i32) -> i32 {
    return select(0, ceilDiv(size - first, s), first < size);
  }

  // Row m of a phase's GEMM: (dy offset of (b, q0h + u, q0w + v) without the tap, q0h + u, q0w + v). A row past
  // the phase gets a q that no tap brings inside dy.
  fn rowInfo(m : i32, dimM : i32, batch : i32, cols : i32, q0h : i32, q0w : i32, outH : i32, outW : i32)
      -> vec3<i32> {
    if (m >= dimM) {
      return vec3<i32>(0, -1073741824, 0);
    }
    let b = m % batch;
    let pos = m / batch;
    let qh = q0h + pos / cols;
    let qw = q0w + pos % cols;
    return vec3<i32>((b * outH + qh) * outW + qw, qh, qw);
  }

  fn main(unusedIndex : i32) {
    let tid = i32(localIndex);
    let batch = uniforms.dxDims[0];
    let inH = uniforms.dxDims[1];
    let inW = uniforms.dxDims[2];
    let inC = uniforms.dxDims[3];
    let outH = uniforms.dyDims[0];
    let outW = uniforms.dyDims[1];
    let outC = uniforms.dyDims[2];
    let kH = uniforms.kernelDims[0];
    let kW = uniforms.kernelDims[1];
    let sH = uniforms.strides[0];
    let sW = uniforms.strides[1];
    let tilesN = uniforms.tilesN;

    // Workgroup → phase: each phase owns ceil(M / ${TM}) · tilesN consecutive workgroups.
    var rest = i32(workgroupId.x);
    var rh = 0;
    var rw = 0;
    var firstH = 0;
    var firstW = 0;
    var rows = 0;
    var cols = 0;
    for (var p = 0; p < sH * sW; p++) {
      rh = p / sW;
      rw = p % sW;
      firstH = phaseFirst(rh, uniforms.pads[0], sH);
      firstW = phaseFirst(rw, uniforms.pads[1], sW);
      rows = phaseRows(firstH, inH, sH);
      cols = phaseRows(firstW, inW, sW);
      let groups = ceilDiv(batch * rows * cols, ${TM}) * tilesN;
      if (rest < groups) {
        break;
      }
      rest = rest - groups;
    }
    let dimM = batch * rows * cols;
    let n0 = (rest % tilesN) * ${TN};
    let m0 = (rest / tilesN) * ${TM};
    let q0h = (firstH + uniforms.pads[0] - rh) / sH;
    let q0w = (firstW + uniforms.pads[1] - rw) / sW;
    let tapsH = select(0, ceilDiv(kH - rh, sH), rh < kH);
    let tapsW = select(0, ceilDiv(kW - rw, sW), rw < kW);

    // The taps that reach this tile's rows (all of one (u, v) when batch ≥ ${TM}): jh0 .. jh0 + nh − 1, likewise w.
    let pFirst = m0 / batch;
    let pLast = (min(m0 + ${TM}, dimM) - 1) / batch;
    let uFirst = pFirst / cols;
    let uLast = pLast / cols;
    var vFirst = 0;
    var vLast = cols - 1;
    if (uFirst == uLast) {
      vFirst = pFirst % cols;
      vLast = pLast % cols;
    }
    let jh0 = max(0, q0h + uFirst - outH + 1);
    let nh = max(0, min(tapsH - 1, q0h + uLast) - jh0 + 1);
    let jw0 = max(0, q0w + vFirst - outW + 1);
    let nw = max(0, min(tapsW - 1, q0w + vLast) - jw0 + 1);
    let dimK = nh * nw * outC;

    // Loader: column kc of both tiles, rows mr, mr + ${R}, …
    let kc = tid % 8 + 8 * (tid / ${8 * R});
    let mr = (tid / 8) % ${R};
    let lane = mr % 4;
    let kRowA = kc * ${VM};
    let kRowB = kc * ${VN};
    ${rowSetup}

    if (tid == 0) {
      kSteps = ceilDiv(dimK, ${TK});
    }
    // A barrier (the row table is complete), and a trip count that the barriers below may depend on.
    let steps = workgroupUniformLoad(&kSteps);

    let tx = tid % ${VN};
    let ty = tid / ${VN};
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);

    for (var t = 0; t < steps; t++) {
      let k = t * ${TK} + kc;
      let kValid = k < dimK;
      let co = k % outC;
      let tap = k / outC;
      let jh = jh0 + tap / nw;
      let jw = jw0 + tap % nw;
      let kOffset = jh * outW + jw;
      let tapBase = ((rh + sH * jh) * kW + rw + sW * jw) * inC;
      ${loadsA}
      ${loadsB}
      workgroupBarrier();
      for (var kk = 0; kk < ${TK}; kk++) {
        let av = tileA[kk * ${VM} + ${swizzle(VM, 'ty', 'kk')}];
        let bv = tileB[kk * ${VN} + ${swizzle(VN, 'tx', 'kk')}];
        ${fmas}
      }
      workgroupBarrier();
    }

    let nOut = n0 + tx * 4;${writes}
  }
`;
  }
}


/** How often each path ran since the last reset: tests use it to see that this kernel, not tfjs's, did the work. */
export const conv2DBackpropInputCounts = { wide: 0, narrow: 0, fallback: 0 };

/** Why the last call that went to tfjs's kernel did (null until one has). */
export let lastFallbackReason: string | null = null;

/** Why this kernel hands a call to tfjs's own, or null when it takes it. */
function unsupported(dy: tf.TensorInfo, filter: tf.TensorInfo, attrs: Attrs, info: tf.backend_util.Conv2DInfo,
  plan: PhasePlan, maxPerDimension: number): string | null {
  if (attrs.dataFormat === 'NCHW') return 'NCHW';
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') return 'not float32';
  if (dy.shape.length !== 4 || filter.shape.length !== 4 || attrs.inputShape.length !== 4) return 'not rank 4';
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (dy.shape.join() !== expected.join()) return `dy is [${dy.shape}], the convolution gives [${expected}]`;
  if (filter.shape[2] !== info.inChannels) return `the filter has ${filter.shape[2]} input channels, dx ${info.inChannels}`;
  const dxSize = tf.util.sizeFromShape(attrs.inputShape);
  if (dxSize === 0 || tf.util.sizeFromShape(dy.shape) === 0 || tf.util.sizeFromShape(filter.shape) === 0) return 'empty';
  if (plan.workgroups > maxPerDimension) return 'too many workgroups for one dispatch';
  // i32 indices in the shader
  const limit = 2 ** 31 - 1;
  if (dxSize > limit || tf.util.sizeFromShape(dy.shape) > limit || tf.util.sizeFromShape(filter.shape) > limit) {
    return 'too large for i32 indexing';
  }
  return null;
}

let original: tf.KernelConfig | undefined;

const conv2DBackpropInput: tf.KernelFunc = (args) => {
  const { inputs, attrs } = args;
  const backend = args.backend as unknown as WebGPUBackendLike;
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as Attrs;
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as [number, number, number, number],
    a.strides, 1, a.pad, a.dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(a.dataFormat));
  const plan = planConv2DBackpropInput(info);
  const reason = unsupported(dy, filter, a, info, plan, backend.device.limits.maxComputeWorkgroupsPerDimension);
  if (reason != null) {
    lastFallbackReason = reason;
    conv2DBackpropInputCounts.fallback++;
    return original!.kernelFunc(args);
  }

  // Flat views of dy and W (a TensorInfo with the same dataId and another shape, as tfjs's own Reshape makes): the
  // pipeline-cache key then depends on no shape.
  const flat = (t: tf.TensorInfo): tf.TensorInfo => ({ ...t, shape: [tf.util.sizeFromShape(t.shape)] });
  const dxSize = tf.util.sizeFromShape(a.inputShape);
  const uniforms: ProgramUniform[] = [
    { type: 'int32', data: [info.batchSize, info.inHeight, info.inWidth, info.inChannels] },
    { type: 'int32', data: [info.outHeight, info.outWidth, info.outChannels, 0] },
    { type: 'int32', data: [info.filterHeight, info.filterWidth] },
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [plan.tilesN] },
  ];
  conv2DBackpropInputCounts[plan.tile.name]++;
  const dx = backend.runWebGPUProgram(new PhaseGemmProgram(plan, dxSize), [flat(dy), flat(filter)], 'float32',
    uniforms);
  return { ...dx, shape: [...a.inputShape] };
};

/**
 * Puts this kernel in place of tfjs-backend-webgpu's Conv2DBackpropInput, keeping tfjs's for what it does not take
 * (NCHW, other dtypes). Call it after tfjs-backend-webgpu is imported (its import registers its kernels, and would
 * replace this one). A second call does nothing.
 */
export function registerWebgpuConv2DBackpropInput(): void {
  original = replaceKernel(KERNEL, BACKEND, conv2DBackpropInput, `tfjs-backend-webgpu has registered no ${KERNEL} kernel to replace`) ?? original;
}

/** Puts tfjs's own kernel back (for comparisons). */
export function unregisterWebgpuConv2DBackpropInput(): void {
  restoreKernel(KERNEL, BACKEND, conv2DBackpropInput, original);
}

/** Whether this kernel is the one registered now. */
export function webgpuConv2DBackpropInputRegistered(): boolean {
  return tf.getKernel(KERNEL, BACKEND)?.kernelFunc === conv2DBackpropInput;
}
