// More than one thread for the wasm backend under Node.
//
// tfjs-backend-wasm 4.22 ships a threaded SIMD build (XNNPACK on a pthreadpool, pthreads as worker threads sharing the
// wasm memory), but never loads it under Node: its WASM_HAS_MULTITHREAD_SUPPORT flag answers false there
// (tensorflow/tfjs#3830), and its loader could not start it anyway — it hands Emscripten the worker script and the
// module factory as Blob URLs, which Node's Worker cannot load. The Emscripten code inside does support Node
// (worker_threads, a shared WebAssembly.Memory). So this module starts that build itself: the factory from the package's
// wasm-out folder, a data: URL for the worker script (WORKER_SOURCE) and the factory's own path as the script each
// worker loads, then hands the started module to the package's BackendWasm, as the package's own loader would.
//
// Its pool's idle threads busy-wait: pthreadpool spins a million times after every parallel operation before it sleeps
// on a futex (PTHREADPOOL_SPIN_WAIT_ITERATIONS; not timed here). On a machine with as many cores as threads
// that spinning thread holds a core the whole time our own worker threads (wasm-heap-workers.ts) run their share of the
// kernel that follows, so that share takes twice as long. shortenPoolSpin() patches the constant in the binary to
// POOL_SPIN_ITERATIONS; measured on the 2-core VM, d2l at 32×32, width 32, batch 64, two threads, runs alternating:
// 317 → 331 img/s. Only the wait changes, never what is computed.
//
// The build sizes its thread pool as min(requested, 8, logical cores / 2): 8 workers are started with the module, and
// the halving assumes two hyper-threads per core. To get the count asked for, the module is told it has twice that many
// logical cores (Emscripten's emscripten_num_logical_cores import); the limit of 8 stays.
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The threaded build starts 8 workers with the module and its pool uses no more. */
export const MAX_WASM_THREADS = 8;

const require = createRequire(import.meta.url);
const WASM_PRIORITY = 2; // tfjs-backend-wasm's own

/** The threaded build's files in the package's wasm-out folder, and the worker that runs its pthreads. */
function threadedBuild(): { factory: string; binary: string; worker: URL } {
  let factory: string, workerScript: string;
  try {
    factory = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
    workerScript = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js');
  } catch {
    throw new Error('the threaded build is not installed (@tensorflow/tfjs-backend-wasm/wasm-out/)');
  }
  // The worker behind each pthread. Emscripten's worker script ships in the package as a string, written for a
  // CommonJS worker: it wants `require` and `__filename`, and reads its main script (the factory, named in the "load"
  // message) with an `importScripts` it defines for Node itself. The string came out of a template literal, so its
  // "\n" escapes are real line breaks by now, inside string literals; tfjs-backend-wasm puts them back the same way in
  // a browser. As a data: URL the worker needs no file of its own (which tsc would not copy, nor a worker thread run
  // as TypeScript).
  const source = `
    import { createRequire } from 'node:module';
    const require = createRequire(${JSON.stringify(workerScript)});
    const { wasmWorkerContents } = require(${JSON.stringify(workerScript)});
    Object.assign(globalThis, { require, __filename: ${JSON.stringify(factory)} });
    (0, eval)(wasmWorkerContents.replace(/\\n/g, '\\\\n'));`;
  return {
    factory,
    binary: path.join(path.dirname(factory), 'tfjs-backend-wasm-threaded-simd.wasm'),
    worker: new URL(`data:text/javascript,${encodeURIComponent(source)}`),
  };
}

type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;
interface EmscriptenModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  tfjs?: Record<string, unknown>;
  PThread: { runningWorkers: { unref(): void }[] };
}

/** The threaded build, started with `threads` threads in its pool, as tfjs-backend-wasm's init() would return it. */
async function startThreadedModule(threads: number): Promise<EmscriptenModule> {
  const build = threadedBuild();
  const factory = require(build.factory) as Factory;
  let failed!: (err: unknown) => void;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  const module = await Promise.race([failure, factory({
    locateFile: (file: string) => (file.endsWith('.worker.js') ? build.worker : path.join(path.dirname(build.factory), file)),
    mainScriptUrlOrBlob: build.factory,
    instantiateWasm(imports: WebAssembly.Imports & { env: WebAssembly.ModuleImports }, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) {
      imports.env.emscripten_num_logical_cores = () => 2 * threads;
      WebAssembly.instantiate(shortenPoolSpin(readFileSync(build.binary)).binary as BufferSource, imports)
        .then(({ instance, module }) => receive(instance, module), failed);
      return {};
    },
    onAbort: (what: unknown) => failed(new Error(`the threaded wasm module aborted: ${String(what)}`)),
  })]);
  // what tfjs-backend-wasm's init() adds to the module for BackendWasm
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  return module;
}

let ownFactory: (() => tf.KernelBackend | Promise<tf.KernelBackend>) | undefined;
/** The thread count the registered 'wasm' backend starts with: 1 is tfjs-backend-wasm's own single-threaded build. */
let registeredThreads = 1;

/**
 * Makes the 'wasm' backend start with `threads` threads (at most MAX_WASM_THREADS): 1 is tfjs-backend-wasm's own
 * single-threaded SIMD build, more the threaded one. Re-registers the backend only when the count changes, which
 * disposes a started wasm backend and every tensor on it. Import @tensorflow/tfjs-backend-wasm first. Throws, changing
 * nothing, when the threaded build's files are missing (a bundle that left out the package's wasm-out folder).
 */
export function registerWasmThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`the thread count must be a positive integer, not ${threads}`);
  const wanted = Math.min(threads, MAX_WASM_THREADS);
  if (wanted === registeredThreads) return;
  ownFactory ??= tf.findBackendFactory('wasm') ?? undefined;
  if (ownFactory == null) throw new Error('import @tensorflow/tfjs-backend-wasm before choosing its threads');
  if (wanted > 1) threadedBuild(); // fails here, not inside tfjs's backend start, when the files are missing
  tf.removeBackend('wasm'); // a started backend is disposed: its memory, and its workers with it
  setThreadsCount(wanted);
  const factory = wanted === 1 ? ownFactory : async () => {
    const module = await startThreadedModule(wanted);
    const backend = new BackendWasm(module as never); // creates the thread pool
    // Emscripten holds a reference on each worker that runs a pthread, so the pool's idle threads would keep Node
    // running after the work is done. Between kernels they only wait on a futex, and while a kernel runs the main
    // thread is blocked in it, so letting go of them is safe: the process ends as it does with one thread.
    for (const worker of module.PThread.runningWorkers) worker.unref();
    return backend;
  };
  tf.registerBackend('wasm', factory, WASM_PRIORITY);
  registeredThreads = wanted;
}

/** How often pthreadpool's idle threads check for new work before they sleep, after our patch (theirs: 1,000,000). */
export const POOL_SPIN_ITERATIONS = 2000;

/**
 * The bytes of pthreadpool's worker wait in tfjs-backend-wasm 4.22's threaded build (wait_for_new_command):
 * `i32.const 1000000; local.set _; local.get _; i32.const 2 (PTHREADPOOL_FLAG_YIELD_WORKERS); i32.and; i32.eqz; if`.
 * -1 matches any byte (local indices). The loop counts down by 5, so the new count is a multiple of 5.
 */
const SPIN_SITE = [0x41, 0xc0, 0x84, 0x3d, 0x21, -1, 0x20, -1, 0x41, 0x02, 0x71, 0x45, 0x04, 0x40];

/**
 * The threaded build's binary with its pool's spin-wait shortened to POOL_SPIN_ITERATIONS, where the site is found
 * exactly once; otherwise (another build of tfjs-backend-wasm) the binary unchanged and `patched` false.
 */
export function shortenPoolSpin(binary: Uint8Array): { binary: Uint8Array; patched: boolean } {
  const sites: number[] = [];
  for (let i = 0; i + SPIN_SITE.length <= binary.length; i++) {
    if (SPIN_SITE.every((b, k) => b < 0 || binary[i + k] === b)) sites.push(i);
  }
  if (sites.length !== 1) return { binary, patched: false };
  const patched = Uint8Array.from(binary);
  // the same three bytes as a padded LEB128 (valid in WebAssembly), so that no offset in the module moves
  const n = POOL_SPIN_ITERATIONS;
  patched.set([0x80 | (n & 0x7f), 0x80 | ((n >> 7) & 0x7f), (n >> 14) & 0x7f], sites[0] + 1);
  return { binary: patched, patched: true };
}
