// The WebGPU backend on Node: Dawn (the `webgpu` package) provides navigator.gpu, tfjs-backend-webgpu runs on it.
//
// Both packages are optional dependencies, so they are imported by a computed name: the project still type-checks and
// runs (on wasm or cpu) without them. The few WebGPU types used here are declared locally for the same reason.
import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { registerWebgpuKernels } from './webgpu-kernels/index.js';

/** The part of GPUAdapterInfo this project reads (Dawn fills all of these). */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

interface GpuAdapterLike {
  info?: AdapterInfoLike;
  /** the pre-2024 spelling, on the adapter itself */
  isFallbackAdapter?: boolean;
  features: Iterable<string>;
  limits: Record<string, number>;
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>;
}

interface GpuErrorEventLike {
  error?: { message?: string; constructor?: { name?: string } };
  preventDefault(): void;
}

interface GpuDeviceLike {
  lost: Promise<{ reason?: string; message?: string }>;
  addEventListener(type: 'uncapturederror', listener: (event: GpuErrorEventLike) => void): void;
  destroy(): void;
}

/** What `dcgan info` and the start of a run say about an adapter. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** a CPU implementation of WebGPU (lavapipe, SwiftShader, WARP…) rather than a GPU */
  software: boolean;
  /** why it counts as software; empty for a hardware adapter */
  softwareReasons: string[];
  /** the graphics API Dawn drives on this OS */
  api: string;
  limits: Record<string, number>;
  features: string[];
}

/** The limits `dcgan info` shows; the first four are the ones tfjs asks for when it creates its device. */
export const KEY_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

// Names that only CPU implementations of Vulkan / D3D / Metal carry. "mesa" alone is not one: radv, anv and nvk are
// Mesa drivers for real GPUs.
const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|\bwarp\b|microsoft basic render|software/i;

/** Why an adapter is a software one, from what it says about itself; an empty list for a GPU. Pure. */
export function softwareReasons(info: AdapterInfoLike, adapterIsFallback?: boolean): string[] {
  const reasons: string[] = [];
  if (info.isFallbackAdapter || adapterIsFallback) reasons.push('isFallbackAdapter is true');
  const architecture = (info.architecture ?? '').toLowerCase();
  if (architecture === 'cpu' || architecture === 'software') reasons.push(`architecture is "${info.architecture}"`);
  for (const key of ['vendor', 'device', 'description'] as const) {
    const value = info[key] ?? '';
    const match = SOFTWARE_NAMES.exec(value);
    if (match) reasons.push(`${key} "${value}" names ${match[0].toLowerCase()}`);
  }
  return reasons;
}

/** The graphics API Dawn uses here (Dawn does not report it per adapter). */
export function platformApi(platform: NodeJS.Platform = process.platform): string {
  switch (platform) {
    case 'darwin':
      return 'metal';
    case 'win32':
      return 'd3d12';
    default:
      return 'vulkan';
  }
}

/** "nvidia-h100-80gb-hbm3 (vulkan)" or "llvmpipe (software, lavapipe)": the device part of "webgpu: …". Pure. */
export function adapterLabel(report: Pick<AdapterReport, 'vendor' | 'device' | 'description' | 'software' | 'api'>): string {
  if (report.software) {
    // lavapipe's description is "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)"; its device "llvmpipe-llvm-15-0-6-256-bits-".
    const name = (report.description.split(':')[0] || report.device || report.vendor || 'unknown').trim();
    const implementation = /llvmpipe|lavapipe/i.test(`${report.description} ${report.device}`) && report.api === 'vulkan'
      ? 'lavapipe'
      : report.api;
    return `${name} (software, ${implementation})`;
  }
  const name = report.device || report.description || report.vendor || 'unknown adapter';
  return `${name} (${report.api})`;
}

/** Turns an adapter into the report people read. */
export function reportAdapter(adapter: GpuAdapterLike, platform: NodeJS.Platform = process.platform): AdapterReport {
  const info = adapter.info ?? {};
  const reasons = softwareReasons(info, adapter.isFallbackAdapter);
  const limits: Record<string, number> = {};
  for (const key of KEY_LIMITS) {
    const value = adapter.limits[key];
    if (typeof value === 'number') limits[key] = value;
  }
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
    software: reasons.length > 0,
    softwareReasons: reasons,
    api: platformApi(platform),
    limits,
    features: [...adapter.features].sort(),
  };
}

// ---- Dawn ------------------------------------------------------------------------------------------------------------

let gpu: GpuLike | undefined;

/**
 * Puts `gpu` at navigator.gpu. Node 20 has no navigator; Node 21+ has one behind a getter on globalThis, which
 * `globalThis.navigator = …` cannot replace, so the property is added to that object or the global is redefined.
 */
export function installNavigatorGpu(value: unknown, target: Record<string, unknown> = globalThis as never): void {
  const existing = target.navigator as Record<string, unknown> | undefined;
  if (existing && typeof existing === 'object') {
    try {
      Object.defineProperty(existing, 'gpu', { value, configurable: true, writable: true, enumerable: true });
    } catch {
      // a frozen or exotic navigator: replaced below
    }
    if ((target.navigator as Record<string, unknown> | undefined)?.gpu === value) return;
  }
  Object.defineProperty(target, 'navigator', {
    value: { ...(existing ?? {}), gpu: value },
    configurable: true,
    writable: true,
    enumerable: true,
  });
}

/** Loads Dawn and exposes it as navigator.gpu (once). Throws, with what to do, when the package cannot load. */
export async function wireDawn(): Promise<GpuLike> {
  if (gpu) return gpu;
  const specifier = 'webgpu';
  let mod: { create(options: string[]): GpuLike; globals: object };
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && message.includes(`'${specifier}'`)) {
      throw new Error('the `webgpu` package (Dawn) is not installed (npm i webgpu @tensorflow/tfjs-backend-webgpu)');
    }
    throw new Error(`the \`webgpu\` package (Dawn) did not load: ${message}`);
  }
  Object.assign(globalThis, mod.globals);
  gpu = mod.create([]);
  installNavigatorGpu(gpu);
  return gpu;
}

/** tfjs asks for a high-performance adapter unless WEBGPU_USE_LOW_POWER_GPU is set; the probe asks the same. */
function adapterOptions(): { powerPreference: 'low-power' | 'high-performance' } {
  let lowPower = false;
  try {
    lowPower = Boolean(tf.env().get('WEBGPU_USE_LOW_POWER_GPU'));
  } catch {
    // the flag is registered by tfjs-backend-webgpu; before it loads, the default applies
  }
  return { powerPreference: lowPower ? 'low-power' : 'high-performance' };
}

/** The adapter tfjs would get; throws with what to install when there is none. Loads Dawn; creates no device. */
export async function probeAdapter(): Promise<AdapterReport> {
  const dawn = await wireDawn();
  const adapter = await dawn.requestAdapter(adapterOptions());
  if (!adapter) {
    throw new Error(`Dawn found no WebGPU adapter (${platformApi()}: ${noAdapterHint()})`);
  }
  return reportAdapter(adapter);
}

// The child's program: Dawn's instance, one adapter request, what the adapter says of itself on stdout.
const CHILD_PROBE = `
const [url, powerPreference] = process.argv.slice(-2);
const { create } = await import(url);
const adapter = await create([]).requestAdapter({ powerPreference });
const info = adapter && (adapter.info ?? {});
console.log(JSON.stringify(adapter && {
  vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
  isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter,
}));
process.exit(0);
`;

/**
 * What the adapter says of itself, asked in a child process; null when there is none. Dawn prints warnings of its own
 * on stderr when its instance is created ("…artificially reduced…"), and a process that then runs on wasm should not
 * show them: `--backend auto` asks here first and loads Dawn into this process only for a GPU it will use.
 */
export async function probeAdapterInChild(): Promise<AdapterInfoLike | null> {
  let url: string;
  try {
    url = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  } catch {
    throw new Error('the `webgpu` package (Dawn) is not installed (npm i webgpu @tensorflow/tfjs-backend-webgpu)');
  }
  const { powerPreference } = adapterOptions();
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', CHILD_PROBE, '--', url, powerPreference], { timeout: 30_000 }, (err, out, errOut) => {
      if (err) {
        const why = String(errOut).split('\n').map((l) => l.trim()).filter((l) => l && !/artificially reduced/.test(l)).pop();
        reject(new Error(`the WebGPU probe failed${why ? `: ${why}` : err.killed ? ': it did not answer in 30 s' : ''}`));
      } else {
        resolve(String(out));
      }
    });
  });
  const last = stdout.trim().split('\n').pop() ?? 'null';
  return JSON.parse(last) as AdapterInfoLike | null;
}

function noAdapterHint(): string {
  switch (process.platform) {
    case 'linux':
      return 'needs libvulkan.so.1 and a Vulkan driver — the GPU driver\'s ICD, or `apt-get install libvulkan1 ' +
        'mesa-vulkan-drivers` for a software one; see `dcgan info`';
    case 'darwin':
      return 'needs macOS with Metal';
    case 'win32':
      return 'needs Windows 10+ with a D3D12 driver';
    default:
      return `Dawn has no prebuilt binary for ${process.platform}`;
  }
}

// ---- tfjs backend ------------------------------------------------------------------------------------------------------

let device: GpuDeviceLike | undefined;
let shuttingDown = false;
/** tfjs-backend-webgpu registers its factory once, at import; kept so that a start after shutdownWebgpu works. */
let factory: ReturnType<typeof tf.findBackendFactory> | undefined;
const lostListeners = new Set<(info: DeviceLostInfo) => void>();
const errorListeners = new Set<(error: GpuErrorInfo) => void>();
let lostInfo: DeviceLostInfo | undefined;
let lastError: GpuErrorInfo | undefined;

export interface DeviceLostInfo {
  reason: string;
  message: string;
}

export interface GpuErrorInfo {
  kind: 'out-of-memory' | 'validation' | 'internal' | 'unknown';
  message: string;
}

/**
 * Starts tfjs's webgpu backend. The adapter is probed first, with the options tfjs will use, so that a software one
 * (lavapipe, SwiftShader) is refused before any device exists unless `allowSoftware`. Then the adapter tfjs actually
 * took is checked again.
 */
export async function startWebgpu({ allowSoftware }: { allowSoftware: boolean }): Promise<{ device: string; adapter: AdapterReport }> {
  if (!allowSoftware && !gpu) {
    // decided without Dawn in this process, whose instance prints warnings: a run that then uses wasm shows none
    const info = await probeAdapterInChild();
    if (!info) throw new Error(`Dawn found no WebGPU adapter (${platformApi()}: ${noAdapterHint()})`);
    const reasons = softwareReasons(info, info.isFallbackAdapter);
    if (reasons.length) {
      const label = adapterLabel({
        vendor: info.vendor ?? '', device: info.device ?? '', description: info.description ?? '', software: true, api: platformApi(),
      });
      throw new Error(`the WebGPU adapter is a software one, ${label}: ${reasons.join(', ')} (ask for it with --backend webgpu)`);
    }
  }
  const adapter = await probeAdapter();
  if (adapter.software && !allowSoftware) {
    throw new Error(`the WebGPU adapter is a software one, ${adapterLabel(adapter)}: ${adapter.softwareReasons.join(', ')}` +
      ' (ask for it with --backend webgpu)');
  }
  const specifier = '@tensorflow/tfjs-backend-webgpu';
  try {
    await import(specifier); // registers the 'webgpu' factory, which needs navigator.gpu at import time
  } catch (err) {
    throw new Error(`${specifier} did not load: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!tf.findBackendFactory('webgpu') && factory) tf.registerBackend('webgpu', factory, 3);
  factory = tf.findBackendFactory('webgpu');
  if (!factory) {
    throw new Error(`${specifier} loaded before navigator.gpu existed, so it registered no backend`);
  }
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not initialise (see the warning above)');
  registerWebgpuKernels(); // our kernels in place of tfjs-backend-webgpu's slow ones (src/backend/webgpu-kernels)
  await tf.ready();
  const backend = tf.backend() as unknown as { device?: GpuDeviceLike; adapterInfo?: { vendor?: string; architecture?: string } };
  // tfjs requested its own adapter; with the same options it is the one probed, unless the machine changed meanwhile.
  const taken = backend.adapterInfo;
  if (taken && (taken.vendor !== adapter.vendor || taken.architecture !== adapter.architecture)) {
    await tf.setBackend('cpu');
    tf.removeBackend('webgpu'); // drops the instance on the wrong adapter; the factory stays for another try
    tf.registerBackend('webgpu', factory, 3);
    throw new Error(`tfjs took a different adapter (${taken.vendor} ${taken.architecture}) from the one probed ` +
      `(${adapter.vendor} ${adapter.architecture})`);
  }
  if (backend.device && backend.device !== device) watchDevice(backend.device);
  return { device: `webgpu: ${adapterLabel(adapter)}`, adapter };
}

function watchDevice(d: GpuDeviceLike): void {
  device = d;
  lostInfo = undefined;
  lastError = undefined;
  void d.lost.then((info) => {
    if (device !== d || shuttingDown) return; // shutdownWebgpu destroyed it, or a newer device replaced it
    lostInfo = { reason: info.reason ?? 'unknown', message: (info.message ?? '').trim() };
    for (const cb of lostListeners) cb(lostInfo);
  });
  d.addEventListener('uncapturederror', (event) => {
    const error: GpuErrorInfo = { kind: errorKind(event.error), message: (event.error?.message ?? '').trim() };
    // tfjs pushes no error scopes, so a failed allocation only shows here: its buffer is invalid, the work that uses it
    // is skipped and reads return zeros. Keep the first error; the trainer asks for it with takeGpuError().
    lastError ??= error;
    if (errorListeners.size > 0) {
      event.preventDefault(); // the listeners report it; otherwise Dawn prints it
      for (const cb of errorListeners) cb(error);
    }
  });
}

function errorKind(error: GpuErrorEventLike['error']): GpuErrorInfo['kind'] {
  const name = error?.constructor?.name ?? '';
  if (name === 'GPUOutOfMemoryError' || OOM.test(error?.message ?? '')) return 'out-of-memory';
  if (name === 'GPUValidationError') return 'validation';
  if (name === 'GPUInternalError') return 'internal';
  return 'unknown';
}

/**
 * Calls `cb` once if the device tfjs uses is lost — driver reset (TDR), GPU removed, or destroyed by other code — but
 * not when shutdownWebgpu releases it. Returns a function that unsubscribes.
 */
export function onDeviceLost(cb: (info: DeviceLostInfo) => void): () => void {
  lostListeners.add(cb);
  const lost = lostInfo;
  if (lost) queueMicrotask(() => cb(lost));
  return () => lostListeners.delete(cb);
}

/** Calls `cb` for every uncaptured WebGPU error (out of memory, validation); while any is registered Dawn prints none. */
export function onGpuError(cb: (error: GpuErrorInfo) => void): () => void {
  errorListeners.add(cb);
  return () => errorListeners.delete(cb);
}

/** The first uncaptured WebGPU error since the last call, if any; clears it. Read it after syncing with the GPU. */
export function takeGpuError(): GpuErrorInfo | undefined {
  const error = lastError;
  lastError = undefined;
  return error;
}

/** Whether the device tfjs uses has been lost, and why. */
export function deviceLost(): DeviceLostInfo | undefined {
  return lostInfo;
}

const OOM = /out[ _-]?of[ _-]?(device[ _-]?|host[ _-]?)?memory|OutOfMemory|\bOOM\b|failed to allocate|allocation failed/i;
const LOST = /device\]? (was |is |has been )?lost|DEVICE_LOST|device.*destroyed|GPUDeviceLostInfo/i;

/**
 * One line for an error out of a GPU run, or null when it is not a GPU memory or device-loss error. `err` may be an
 * Error, a GpuErrorInfo, a DeviceLostInfo or a message. When `err` itself says nothing (a read on a lost device rejects
 * with an empty AbortError; an allocation that failed leaves only an uncaptured error), what the device reported is used.
 */
export function describeGpuError(err: unknown, batchSize: number): string | null {
  return describeOne(err, batchSize)
    ?? (lostInfo ? describeOne(lostInfo, batchSize) : null)
    ?? (lastError?.kind === 'out-of-memory' ? describeOne(lastError, batchSize) : null);
}

function describeOne(err: unknown, batchSize: number): string | null {
  const e = err as { message?: unknown; kind?: unknown; reason?: unknown; name?: unknown } | null;
  const message = typeof err === 'string' ? err : typeof e?.message === 'string' ? e.message : String(err);
  const firstLine = message.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  const smaller = Math.max(1, Math.floor(batchSize / 2));
  const isOom = e?.kind === 'out-of-memory' || e?.name === 'GPUOutOfMemoryError' || OOM.test(message);
  if (isOom) {
    return `the GPU ran out of memory at batch size ${batchSize} (${firstLine || 'out of memory'}); try --batch-size ${smaller}`;
  }
  const isLost = typeof e?.reason === 'string' || e?.name === 'AbortError' || LOST.test(message);
  if (isLost) {
    const why = [typeof e?.reason === 'string' ? `reason "${e.reason}"` : '', firstLine].filter(Boolean).join(': ');
    return `the GPU device was lost (${why || 'no reason given'}); this happens when the driver resets a GPU that ` +
      `ran out of memory or took too long — resume from the last checkpoint, with --batch-size ${smaller} if it recurs`;
  }
  return null;
}

/**
 * Releases the webgpu backend and Dawn's device so that nothing GPU-side is left running. Node may still not exit on
 * its own while Dawn's instance lives (crbug 387965810), so the CLI exits explicitly anyway. The engine is left on cpu.
 */
export async function shutdownWebgpu(): Promise<void> {
  shuttingDown = true;
  try {
    if (tf.findBackend('webgpu') || tf.findBackendFactory('webgpu')) {
      if (tf.getBackend() === 'webgpu') await tf.setBackend('cpu');
      tf.removeBackend('webgpu');
    }
    device?.destroy();
  } finally {
    device = undefined;
    gpu = undefined;
    const nav = (globalThis as unknown as { navigator?: Record<string, unknown> }).navigator;
    if (nav && 'gpu' in nav) {
      try {
        delete nav.gpu;
      } catch {
        // not deletable: nothing else to release
      }
    }
    shuttingDown = false;
  }
}
