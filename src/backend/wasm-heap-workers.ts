// Worker threads for our own JavaScript wasm kernels. The threaded build's memory is a SharedArrayBuffer, so JavaScript
// workers can read a kernel's input and write its output on the heap itself, as XNNPACK's pthreads do. A kernel call
// stays synchronous (tfjs kernels are): the main thread offers the job to the workers through shared memory, and then
// it and the workers take pieces of it (PIECES_PER_THREAD a thread) until none are left. Pieces rather than one share
// each, because a worker often starts late: woken from its futex (~60 µs), or kept off a core for milliseconds by
// XNNPACK's threads or V8's; measured in a step at 32×32 on the 2-core VM, the main thread waited ~9 ms a step for
// workers' equal shares, waits of up to 20 ms. A worker that has not started by the time every piece is taken is not
// waited for.
//
// A job is a function of (heap: Float32Array, args: number[], from: number, to: number); it must be plain JavaScript
// that names nothing outside itself, because its source text is what the workers run. Kernels define their jobs once
// (defineHeapJob) and run them with runHeapJob, which splits them over the wasm backend's threads where there are
// several and the range is large enough, and runs them inline on this thread otherwise. What a job writes must not
// depend on where its pieces begin and end: then no result depends on the thread count or on timing.
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

// `control` (Int32Array): at NEXT, the next piece of the current job to take; then two slots per worker: at state(w),
// the generation it is offered (g > 0), has taken (−g) or was offered and then withdrawn from (0); at done(w), the last
// generation it finished (−g: it threw).
const NEXT = 0;
const state = (w: number) => 1 + 2 * w, done = (w: number) => 2 + 2 * w;
// `args` (Float64Array): the job, its count, the piece size, then its arguments.
const JOB_ARGS = 3;
/**
 * Pieces a job is cut into per thread, unless its kernel asks otherwise: threads take them one at a time, so one that
 * starts late does fewer, and the last piece, which one thread finishes while the other has none left, is short.
 */
const PIECES_PER_THREAD = 8;
/**
 * How long either side polls before it sleeps on the futex, in microseconds: a worker after a job, waiting for the
 * next; the main thread, waiting for a worker to finish its last piece. Waking a sleeping thread costs ~60 µs on the
 * 2-core VM (a job of nothing: 54 µs a call; a 2 × 250 µs job: 324 µs), polling a few (2 µs, 256 µs). A worker polls
 * briefly, since while it polls it holds a core that XNNPACK's threads may want.
 */
const WORKER_SPIN_US = 50;
const MAIN_SPIN_US = 200;

function workerSource(jobs: HeapJob[]): string {
  return `
const { workerData } = require('node:worker_threads');
const { memory, control, args, index, simdModule } = workerData;
const simd = new WebAssembly.Instance(simdModule, { env: { memory } }).exports;
const jobs = [${jobs.map((j) => j.toString()).join(',\n')}];
const c = new Int32Array(control), a = new Float64Array(args);
const state = ${state(0)} + 2 * index, done = ${done(0)} + 2 * index; // state(index), done(index)
let seen = 0;
for (;;) {
  // a new offer: state positive and not the last one seen. The next job often follows within microseconds (a
  // kernel's second pass, the next kernel): poll a while before sleeping.
  let offer = Atomics.load(c, state);
  for (let i = 0, start = performance.now(); offer <= 0 || offer === seen; i++) {
    if ((i & 63) === 63 && performance.now() - start > ${WORKER_SPIN_US / 1000}) Atomics.wait(c, state, offer);
    offer = Atomics.load(c, state);
  }
  seen = offer;
  // take it, unless the main thread has withdrawn it (it did every piece itself) or offered the next already
  if (Atomics.compareExchange(c, state, offer, -offer) !== offer) continue;
  let result = offer;
  try {
    const job = jobs[a[0]], count = a[1], piece = a[2], jobArgs = Array.from(a.subarray(${JOB_ARGS}, ${JOB_ARGS + MAX_ARGS}));
    const heap = new Float32Array(memory.buffer);
    for (let p; (p = Atomics.add(c, ${NEXT}, 1) * piece) < count;) job(heap, jobArgs, p, Math.min(count, p + piece), simd);
  } catch {
    result = -offer;
  }
  Atomics.store(c, done, result);
  Atomics.notify(c, done);
}`;
}

export class HeapWorkers {
  private readonly workers: Worker[];
  private readonly control: Int32Array;
  private readonly args: Float64Array;
  private generation = 0;

  /**
   * `threads` − 1 workers on `memory` (shared), for `jobs`; the main thread is the other thread. `simd`: our SIMD
   * kernels on `memory`, for the main thread's pieces (each worker makes its own).
   */
  constructor(memory: WebAssembly.Memory, readonly threads: number, private readonly jobs: HeapJob[], private readonly simd?: SimdKernels) {
    const n = threads - 1;
    this.control = new Int32Array(new SharedArrayBuffer(4 * (1 + 2 * n)));
    this.args = new Float64Array(new SharedArrayBuffer(8 * (JOB_ARGS + MAX_ARGS)));
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
   * Runs jobs[job](heap, args, from, to) over [0, count) in pieces that this thread and the workers take one at a
   * time, and returns when all are done. The job must write only within its piece, and what it writes must not depend
   * on where the pieces begin and end (they depend on the thread count; who runs which piece depends on timing).
   */
  run(heap: Float32Array, job: number, args: number[], count: number, piecesPerThread = PIECES_PER_THREAD): void {
    if (args.length > MAX_ARGS) throw new Error(`a heap job takes at most ${MAX_ARGS} arguments`);
    const piece = Math.ceil(count / (piecesPerThread * this.threads));
    const generation = (this.generation = this.generation >= 0x3fffffff ? 1 : this.generation + 1); // positive, as an Int32
    const c = this.control;
    this.args.set([job, count, piece, ...args]);
    Atomics.store(c, NEXT, 0);
    this.workers.forEach((_, w) => {
      Atomics.store(c, state(w), generation);
      Atomics.notify(c, state(w));
    });
    let failure: unknown;
    try {
      for (let p; (p = Atomics.add(c, NEXT, 1) * piece) < count;) this.jobs[job](heap, args, p, Math.min(count, p + piece), this.simd!);
    } catch (err) {
      failure = err;
      Atomics.store(c, NEXT, count); // the workers take no more pieces
    }
    // Every piece is taken. A worker that has not taken the job yet (asleep, or waiting for a core) is not waited
    // for: the offer is withdrawn. One that has is finishing its last piece.
    this.workers.forEach((_, w) => {
      if (Atomics.compareExchange(c, state(w), generation, 0) === generation) return;
      const start = performance.now();
      for (let i = 0, d; Math.abs((d = Atomics.load(c, done(w)))) !== generation; i++) {
        if ((i & 63) !== 63) continue;
        const waited = performance.now() - start;
        if (waited > TIMEOUT_MS) throw new Error(`a heap worker did not finish within ${TIMEOUT_MS / 1000} s`);
        if (waited > MAIN_SPIN_US / 1000) Atomics.wait(c, done(w), d, 1000);
      }
      if (Atomics.load(c, done(w)) < 0) failure ??= new Error('a heap worker failed');
    });
    if (failure !== undefined) throw failure;
  }
}

/**
 * Below this many elements a job runs on the calling thread (the SIMD kernels that take a count of multiplications
 * instead use four times this). Measured on the 2-core VM, --threads 2, d2l at 32×32, width 32, batch 64, runs
 * alternating, `dcgan bench` img/s: 1 << 17 gave 388, 384, 392; 1 << 16 385, 385, 387; 1 << 18 379, 372, 361;
 * 1 << 19 ~375. (Before workers polled and jobs were cut into pieces, 1 << 19 was best: 316, 314, 324 against 299, 309,
 * 310 for 1 << 20; and before pthreadpool's spin-wait was shortened, wasm-threads.ts, every split lost.)
 */
export const DEFAULT_PARALLEL_MIN = 1 << 17;
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
 * `piecesPerThread`: fewer, larger pieces where a piece reuses what it reads across its range.
 */
export function runHeapJob(backend: WasmBackend, heap: Float32Array, job: number, args: number[], count: number, parallel: boolean, piecesPerThread?: number): void {
  const pool = parallel ? workersFor(backend) : undefined;
  if (pool) pool.run(heap, job, args, count, piecesPerThread);
  else jobs[job](heap, args, 0, count, simdKernels(backend));
}

/** Whether `backend` has heap workers (the threaded build, on more than one thread). */
export function hasHeapWorkers(backend: WasmBackend): boolean {
  return workersFor(backend) !== undefined;
}
