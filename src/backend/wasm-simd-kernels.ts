// Our SIMD kernels (wasm-simd-kernels.wat), instantiated on the wasm backend's own memory, so that they read and write
// its tensors where they lie. tfjs-backend-wasm's C++ kernels that a training step leans on are either not vectorised
// (LeakyRelu) or many passes where one would do (batch norm as tfjs's ops); JavaScript on the heap is no substitute
// (measured on the 2-core VM: a JavaScript LeakyRelu over [64, 16, 16, 32] took 2.3 ms, tfjs's vectorised Multiply
// 0.2 ms). The module imports the memory: the threaded build's is shared, the single-threaded build's is not, and a
// module must say which it imports, hence two binaries of one text. WebAssembly SIMD is in every Node the package
// supports (engines: >= 20.9; V8 has had it since Node 16.4).
import { SHARED_MEMORY_KERNELS, UNSHARED_MEMORY_KERNELS } from './wasm-simd-kernels.generated.js';
import type { WasmBackend } from './kernel-util.js';

/** The exports of wasm-simd-kernels.wat: pointers in bytes, counts and ranges in elements. */
export interface SimdKernels {
  /** batch norm's sums over row chunks [k0, k1) of `chunks`; `acc`: 16·width·chunks bytes of scratch */
  momentSums(x: number, rows: number, width: number, k0: number, k1: number, chunks: number, acc: number): void;
  /** after momentSums over every chunk: the mean and variance */
  moments(x: number, rows: number, width: number, chunks: number, acc: number, mean: number, variance: number): void;
  /** the gradient's sums over row chunks [k0, k1) of `chunks`; `acc`: 16·width·chunks bytes of scratch */
  gradientChunkSums(dy: number, x: number, mean: number, rows: number, width: number, k0: number, k1: number, chunks: number,
    acc: number): void;
  /** after gradientChunkSums over every chunk: Σ dy and Σ dy·(x − mean) */
  gradientSums(width: number, chunks: number, acc: number, sumDy: number, sumDyXm: number): void;
  affine(a: number, x: number, coefficients: number, width: number, r0: number, r1: number, out: number): void;
  leakyRelu(x: number, alpha: number, out: number, i0: number, i1: number): void;
  leakyReluGrad(dy: number, x: number, alpha: number, out: number, i0: number, i1: number): void;
  swapOuterAxes(src: number, dst: number, a: number, m: number, n: number, m0: number, m1: number): void;
  filterGradient(x: number, dy: number, dw: number, b: number, h: number, w: number, ci: number, oh: number, ow: number, co: number,
    kw: number, sh: number, sw: number, padTop: number, padLeft: number, t0: number, t1: number): void;
  interleavePhases(conv: number, dx: number, h: number, w: number, c: number, sh: number, sw: number, offH: number, offW: number,
    convW: number, convH: number, b0: number, b1: number): void;
  inputGradient(dy: number, wT: number, dx: number, zeros: number, h: number, w: number, ci: number, oh: number, ow: number,
    co: number, kh: number, kw: number, sh: number, sw: number, padTop: number, padLeft: number, b0: number, b1: number): void;
  adamUpdate(w: number, g: number, m: number, v: number, wOut: number, mOut: number, vOut: number, b1: number, omb1: number,
    b2: number, omb2: number, k: number, c: number, eps: number, i0: number, i1: number): void;
  inputGradientFromPoint(dy: number, wT: number, dx: number, b: number, h: number, w: number, ci: number, co: number, kh: number,
    kw: number, padTop: number, padLeft: number, p0: number, p1: number): void;
  /** strides in elements */
  transpose2d(src: number, dst: number, rows: number, cols: number, srcStride: number, dstStride: number): void;
  swapFirstLastAxes(src: number, dst: number, a: number, m: number, n: number, m0: number, m1: number): void;
  scatterPhase(part: number, dx: number, h: number, w: number, c: number, sh: number, sw: number, firstH: number, firstW: number,
    rowsH: number, rowsW: number, b0: number, b1: number): void;
}

const compiled = new Map<boolean, WebAssembly.Module>();

/** The compiled module for a shared or an unshared memory. */
export function simdKernelsModule(shared: boolean): WebAssembly.Module {
  let module = compiled.get(shared);
  if (module == null) {
    module = new WebAssembly.Module(Buffer.from(shared ? SHARED_MEMORY_KERNELS : UNSHARED_MEMORY_KERNELS, 'base64'));
    compiled.set(shared, module);
  }
  return module;
}

/** The wasm backend's memory: the threaded build keeps it as wasmMemory, the single-threaded one exports it. */
export function backendMemory(backend: WasmBackend): WebAssembly.Memory {
  const wasm = (backend as unknown as { wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } } }).wasm;
  const memory = wasm.wasmMemory ?? wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) throw new Error('the wasm backend\'s memory was not found (a tfjs-backend-wasm other than 4.22?)');
  return memory;
}

let current: { memory: WebAssembly.Memory; kernels: SimdKernels } | undefined;

/** The kernels on `backend`'s memory (one wasm backend lives at a time; a new one gets a new instance). */
export function simdKernels(backend: WasmBackend): SimdKernels {
  const memory = backendMemory(backend);
  if (current?.memory !== memory) {
    const module = simdKernelsModule(memory.buffer instanceof SharedArrayBuffer);
    current = { memory, kernels: new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels };
  }
  return current.kernels;
}
