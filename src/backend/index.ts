// Chooses and starts the tfjs backend. Every command goes through here, so the choice and its reasons live in one place.
import * as tf from '@tensorflow/tfjs';
import { commandLine } from '../util/shell.js';
import { startTensorflow } from './tensorflow.js';
import { describeGpuError, onDeviceLost, shutdownWebgpu, startWebgpu, takeGpuError } from './webgpu.js';

import type { BackendName } from './names.js';

export { BACKEND_NAMES, type BackendName } from './names.js';

export interface BackendInfo {
  /** the tfjs backend that runs the work */
  name: Exclude<BackendName, 'auto'>;
  /** what it runs on, for people: "cpu", "wasm (simd, 1 thread)", "webgpu: nvidia-h100-80gb-hbm3" */
  device: string;
  /** when `auto` passed over a backend, why */
  skipped: { name: string; reason: string }[];
  /** what a long job needs to know of the device it runs on */
  hooks: BackendHooks;
  /** the threads it computes with, where this program chooses them (wasm) */
  threads?: number;
}

export interface BackendHooks {
  /**
   * Throws when the device reported an error since the last call: a failed GPU allocation only shows as an error
   * event, and reads after it return zeros. Call it after each read from the device.
   */
  checkDevice?: (batchSize: number) => void;
  /** Calls `onLost` when the device is lost for good; returns a function that stops watching. */
  watchDeviceLoss?: (onLost: (reason: string) => void) => () => void;
  /**
   * Floats of activation a training batch may hold (see activationsPerImage in model/build.ts), where memory is bounded
   * and running out aborts: the default batch is capped by it. Undefined: no cap.
   */
  activationBudget?: number;
  /**
   * Bytes of the largest buffer one tensor may take (WebGPU: the adapter's maxBufferSize and
   * maxStorageBufferBindingSize, whichever is smaller); undefined where tensors have no such bound.
   */
  maxTensorBytes?: number;
}

/**
 * A WebAssembly heap stops at 4 GB however much memory the machine has. Measured on wasm: d2l's model at 64×64, width
 * 64 (774,346 activation floats per image, G and D) trains at batch 128 and aborts at 256.
 */
const WASM_ACTIVATION_BUDGET = 128 * 774_346;

const webgpuHooks: BackendHooks = {
  checkDevice: (batchSize) => {
    const error = takeGpuError();
    if (error) throw new Error(describeGpuError(error, batchSize) ?? `WebGPU error: ${error.message}`);
  },
  watchDeviceLoss: (onLost) => onDeviceLost((info) => onLost(`${info.reason}: ${info.message}`)),
};

const HOOKS: Record<Exclude<BackendName, 'auto'>, BackendHooks> = {
  webgpu: webgpuHooks,
  tensorflow: {},
  wasm: { activationBudget: WASM_ACTIVATION_BUDGET },
  cpu: { activationBudget: WASM_ACTIVATION_BUDGET }, // tfjs's cpu backend holds it all in JavaScript arrays: no better
};

/** A backend that was asked for explicitly and could not start: the message says why and what to try. */
export class BackendError extends Error {}

export interface BackendOptions {
  /**
   * Threads for the wasm backend (capped at MAX_WASM_THREADS); left out, it keeps what it has — one thread unless an
   * earlier call asked for more. Other backends ignore it.
   */
  threads?: number;
}

/** `explicit`: the user named this backend, so a software GPU adapter or a TensorFlow on the CPU is accepted. */
type Starter = (options: BackendOptions & { explicit: boolean }) =>
  Promise<{ device: string; passedOver?: BackendInfo['skipped']; hooks?: BackendHooks; threads?: number }>;

async function startWasm({ threads }: BackendOptions): Promise<{ device: string; threads: number }> {
  const { registerWasmConv2DBackpropFilter } = await import('./wasm-conv2d-backprop-filter.js');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  registerWasmConv2DBackpropFilter();
  (await import('./wasm-conv2d-backprop-input.js')).registerWasmConv2DBackpropInput();
  (await import('./wasm-unsorted-segment-sum.js')).registerWasmUnsortedSegmentSum();
  (await import('./wasm-reductions.js')).registerWasmReductions();
  (await import('./wasm-identity.js')).registerWasmIdentity();
  (await import('./wasm-elementwise.js')).registerWasmElementwise();
  // batch norm in training as one kernel (training-batch-norm.ts)
  (await import('./wasm-training-batch-norm.js')).registerWasmTrainingBatchNorm();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const { MAX_WASM_THREADS, registerWasmThreads } = await import('./wasm-threads.js');
  // Without the threaded build (it needs SIMD; a bundle may leave it out) the wasm backend runs on one thread and says why.
  let fewer = simd ? '' : ': more need SIMD';
  if (threads !== undefined) {
    try {
      registerWasmThreads(simd ? threads : 1);
    } catch (err) {
      registerWasmThreads(1);
      fewer = `: ${(err as Error).message}`;
    }
  }
  if (!(await tf.setBackend('wasm'))) {
    if (threads === undefined || threads === 1) throw new Error('the wasm backend did not initialise');
    registerWasmThreads(1);
    fewer = ': the threaded build did not start';
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  }
  await tf.ready();
  const count = wasm.getThreadsCount();
  if (threads === undefined || threads <= count) fewer = '';
  else if (count === MAX_WASM_THREADS) fewer = ': the most it takes';
  return { device: `wasm (${simd ? 'simd' : 'no simd'}, ${count} thread${count === 1 ? '' : 's'}${fewer})`, threads: count };
}

async function startCpu(): Promise<{ device: string }> {
  // the filter gradient without TensorBuffer.get per product: keras28's step took minutes on tfjs's own
  (await import('./cpu-conv2d-backprop-filter.js')).registerCpuConv2DBackpropFilter();
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  await tf.ready();
  return { device: 'cpu (pure JavaScript)' };
}

const starters: Record<Exclude<BackendName, 'auto'>, Starter> = {
  // auto passes over a software adapter (lavapipe, SwiftShader): a CPU behind WebGPU, no faster than wasm.
  webgpu: async ({ explicit }) => {
    const { device, adapter } = await startWebgpu({ allowSoftware: explicit });
    const limits = [adapter.limits.maxBufferSize, adapter.limits.maxStorageBufferBindingSize].filter((l) => typeof l === 'number');
    return { device, hooks: limits.length ? { maxTensorBytes: Math.min(...limits) } : {} };
  },
  // auto wants TensorFlow only on a GPU; asked for by name, TensorFlow on the CPU is what the user gets.
  tensorflow: ({ explicit }) => startTensorflow({ requireGpu: !explicit }),
  wasm: startWasm,
  cpu: startCpu,
};

// Order of preference for `auto`; the GPU backends are only taken when they run on a real GPU.
const AUTO_ORDER: Exclude<BackendName, 'auto'>[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

export async function initBackend(requested: BackendName, options: BackendOptions = {}): Promise<BackendInfo> {
  // Production mode: no per-op debug checks, and no "install tfjs-node" banner on the cpu backend.
  tf.enableProdMode();
  // Gradients are shared by all backends: these give tfjs-core's results bit for bit, without its Tile (batch norm) and
  // without a tensor of ones made in JavaScript (mean).
  (await import('./batchnorm-grad.js')).registerBatchNormGradient();
  (await import('./mean-grad.js')).registerMeanGradient();
  (await import('./training-batch-norm.js')).registerTrainingBatchNormGradient();
  (await import('./leaky-relu-grad.js')).registerLeakyReluGradient();
  if (requested !== 'auto') {
    try {
      const { device, passedOver, hooks, threads } = await starters[requested]({ ...options, explicit: true });
      return {
        name: requested, device, skipped: passedOver ?? [], hooks: { ...HOOKS[requested], ...hooks },
        ...(threads === undefined ? {} : { threads }),
      };
    } catch (err) {
      throw new BackendError(`backend ${requested} is not available: ${(err as Error).message}${hint(requested)}`);
    }
  }
  const skipped: BackendInfo['skipped'] = [];
  for (const name of AUTO_ORDER) {
    try {
      const { device, passedOver, hooks, threads } = await starters[name]({ ...options, explicit: false });
      return {
        name, device, skipped: [...skipped, ...(passedOver ?? [])], hooks: { ...HOOKS[name], ...hooks },
        ...(threads === undefined ? {} : { threads }),
      };
    } catch (err) {
      skipped.push({ name, reason: (err as Error).message });
    }
  }
  throw new BackendError(`no backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** Releases what a GPU backend holds (Dawn's device) and leaves tfjs on cpu; call it once training is over. */
export async function shutdownBackend(): Promise<void> {
  await shutdownWebgpu();
}

/**
 * One line for a failure that the backend, not the user's data, caused — out of memory, a lost GPU, an aborted
 * WebAssembly module — naming the batch size to try; null for any other error.
 */
export async function describeBackendFailure(err: unknown, backend: BackendName, batchSize: number): Promise<string | null> {
  const smaller = Math.max(1, Math.floor(batchSize / 2));
  if (backend === 'wasm' && /\bAborted\(/.test(String((err as Error)?.message ?? err))) {
    // emscripten aborts when the heap cannot grow; WebAssembly's heap stops at 4 GB however much memory the machine has
    return `the wasm backend aborted at batch size ${batchSize}, most likely out of memory (a WebAssembly heap holds at most 4 GB); try --batch-size ${smaller}`;
  }
  if (backend === 'webgpu') return (await import('./webgpu.js')).describeGpuError(err, batchSize);
  return null;
}

function hint(name: BackendName): string {
  const info = commandLine('info');
  switch (name) {
    case 'wasm':
      return ' (try --backend cpu)';
    case 'webgpu':
      return ` (run \`${info}\` to see what Dawn finds; --backend wasm needs no GPU)`;
    case 'tensorflow':
      return ` (run \`${info}\`; --backend webgpu or wasm need no extra install)`;
    default:
      return ` (run \`${info}\` to see which backends work here)`;
  }
}
