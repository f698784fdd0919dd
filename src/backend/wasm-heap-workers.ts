// Worker threads for our own JavaScript wasm kernels. The threaded build's memory is a SharedArrayBuffer, so JavaScript
// workers can read a kernel's input and write its output on the heap itself, as XNNPACK's pthreads do. A kernel call
// stays synchronous (tfjs kernels are): the main thread posts each worker its share through shared memory, does its own
// share, and waits on an Atomics futex until every worker is done. Between calls the workers wait on a futex too.
//
// A job is a function of (heap: Float32Array, args: number[], from: number, to: number); it must be plain JavaScript
// that names nothing outside itself, because its source text is what the workers run. Kernels define their jobs once
// (defineHeapJob) and run them with runHeapJob, which splits them over the wasm backend's threads where there are
// several and the range is large enough, and runs them inline on this thread otherwise.
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { Worker } from 'node:worker_threads';
import type { WasmBackend } from './kernel-util.js';
import { simdKernels, simdKernelsModule, type SimdKernels } from './wasm-simd-kernels.js';

/** Arguments a job takes, at most. */
const MAX_ARGS = 16;
/** What the main thread waits for a worker before it gives up: a worker that died would otherwise hang the kernel. */
const TIMEOUT_MS = 120_000;

/** `simd`: our SIMD kernels (wasm-simd-kernels.ts), instantiated on the same memory in each thread. */
export type HeapJob = (heap: Float32Array, args: number[], from: number, to: number, simd: SimdKernels) => void;

// Slots per worker in `control`: the generation it is asked to run, and the last one it finished (negative: it threw).
const ASKED = 0, DONE = 1;
/** Polls, by either side, before sleeping on the futex: a few microseconds. */
const SPIN = 20000;

function workerSource(jobs: HeapJob[]): string {
  return `
const { workerData } = require('node:worker_threads');
const { memory, control, args, index, simdModule } = workerData;
const simd = new WebAssembly.Instance(simdModule, { env: { memory } }).exports;
const jobs = [${jobs.map((j) => j.toString()).join(',\n')}];
const c = new Int32Array(control), a = new Float64Array(args);
let generation = 0;
for (;;) {
  Atomics.wait(c, 2 * index + ${ASKED}, generation);
  generation = Atomics.load(c, 2 * index + ${ASKED});
  const at = index * ${MAX_ARGS + 3};
  let result = generation;
  try {
    jobs[a[at]](new Float32Array(memory.buffer), Array.from(a.subarray(at + 3, at + ${MAX_ARGS + 3})), a[at + 1], a[at + 2], simd);
  } catch {
    result = -generation;
  }
  Atomics.store(c, 2 * index + ${DONE}, result);
  Atomics.notify(c, 2 * index + ${DONE});
}`;
}

export class HeapWorkers {
  private readonly workers: Worker[];
  private readonly control: Int32Array;
  private readonly args: Float64Array;
  private generation = 0;

  /**
   * `threads` − 1 workers on `memory` (shared), for `jobs`; the main thread is the other thread. `simd`: our SIMD
   * kernels on `memory`, for the main thread's share (each worker makes its own).
   */
  constructor(memory: WebAssembly.Memory, readonly threads: number, private readonly jobs: HeapJob[], private readonly simd?: SimdKernels) {
    const n = threads - 1;
    this.control = new Int32Array(new SharedArrayBuffer(8 * n));
    this.args = new Float64Array(new SharedArrayBuffer(8 * (MAX_ARGS + 3) * n));
    this.workers = Array.from({ length: n }, (_, index) => {
      const worker = new Worker(workerSource(jobs), {
        eval: true, workerData: { memory, control: this.control.buffer, args: this.args.buffer, index, simdModule: simdKernelsModule(true) },
      });
      worker.unref(); // between calls it only waits; a process must not stay alive for it
      return worker;
    });
  }

  /** Ends the workers (they hold the memory); run() may not be called after. */
  close(): void {
    for (const worker of this.workers) void worker.terminate();
  }

  /**
   * Runs jobs[job](heap, args, from, to) over [0, count) in `threads` contiguous shares, the first on this thread, and
   * returns when all are done. The job must write only within its share.
   */
  run(heap: Float32Array, job: number, args: number[], count: number): void {
    if (args.length > MAX_ARGS) throw new Error(`a heap job takes at most ${MAX_ARGS} arguments`);
    const share = Math.ceil(count / this.threads);
    const generation = ++this.generation;
    const asked: number[] = [];
    this.workers.forEach((_, w) => {
      const from = (w + 1) * share, to = Math.min(count, from + share);
      if (from >= to) return;
      const at = w * (MAX_ARGS + 3);
      this.args.set([job, from, to, ...args], at);
      Atomics.store(this.control, 2 * w + ASKED, generation);
      Atomics.notify(this.control, 2 * w + ASKED);
      asked.push(w);
    });
    this.jobs[job](heap, args, 0, Math.min(count, share), this.simd!);
    for (const w of asked) {
      const deadline = performance.now() + TIMEOUT_MS;
      let done: number;
      while (Math.abs((done = Atomics.load(this.control, 2 * w + DONE))) !== generation) {
        if (performance.now() > deadline) throw new Error(`a heap worker did not finish within ${TIMEOUT_MS / 1000} s`);
        Atomics.wait(this.control, 2 * w + DONE, done, 1000);
      }
      if (done < 0) throw new Error('a heap worker failed');
    }
  }
}

/**
 * Below this many elements a job runs on the calling thread (the SIMD kernels that take a count of multiplications
 * instead use four times this). Waking a worker costs ~80 µs; our SIMD kernels do a pass over half a million floats in
 * ~0.2 ms. Measured on the 2-core VM, --threads 2, d2l at 32×32, width 32, batch 64, runs alternating: 1 << 19 gave
 * 316, 314, 324 img/s against 299, 309, 310 for 1 << 20 (which splits none of that model's tensors). Before
 * pthreadpool's spin-wait was shortened (wasm-threads.ts) every split lost: the pool's spinning thread held the core.
 */
export const DEFAULT_PARALLEL_MIN = 1 << 19;
let parallelMinimum = DEFAULT_PARALLEL_MIN;

/** The size from which jobs are split between the workers. */
export function parallelMin(): number {
  return parallelMinimum;
}

/** Sets that size (tests lower it, to split the small tensors of small models). */
export function setParallelMin(elements: number): void {
  parallelMinimum = elements;
}

const jobs: HeapJob[] = [];

/** Adds a job for the heap workers (at module load: workers started later run every job defined so far). */
export function defineHeapJob(job: HeapJob): number {
  jobs.push(job);
  return jobs.length - 1;
}

/**
 * The workers of the threaded build behind `backend`, made on first use; none for the single-threaded build. One
 * wasm backend lives at a time: the workers of an earlier one (another memory, another thread count) are ended.
 */
let current: { memory: WebAssembly.Memory; pool: HeapWorkers; jobs: number } | undefined;
function workersFor(backend: WasmBackend): HeapWorkers | undefined {
  const memory = (backend as unknown as { wasm: { wasmMemory?: WebAssembly.Memory } }).wasm.wasmMemory;
  const threads = getThreadsCount();
  if (memory == null || !(memory.buffer instanceof SharedArrayBuffer) || threads < 2) return undefined;
  if (current?.memory !== memory || current.pool.threads !== threads || current.jobs !== jobs.length) {
    current?.pool.close();
    current = { memory, pool: new HeapWorkers(memory, threads, [...jobs], simdKernels(backend)), jobs: jobs.length };
  }
  return current.pool;
}

/**
 * Runs a defined job over [0, count) on the wasm heap (a Float32Array of the whole heap, taken after the kernel's last
 * allocation): split over the backend's threads when `parallel` and there are several, else on this thread.
 */
export function runHeapJob(backend: WasmBackend, heap: Float32Array, job: number, args: number[], count: number, parallel: boolean): void {
  const pool = parallel ? workersFor(backend) : undefined;
  if (pool) pool.run(heap, job, args, count);
  else jobs[job](heap, args, 0, count, simdKernels(backend));
}

/** Whether `backend` has heap workers (the threaded build, on more than one thread). */
export function hasHeapWorkers(backend: WasmBackend): boolean {
  return workersFor(backend) !== undefined;
}
