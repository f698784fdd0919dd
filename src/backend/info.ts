// `dcgan info`: what this machine offers each backend, and why a backend does not start. collectInfo() gathers (it
// starts every backend in turn, then leaves tfjs on cpu); formatInfo() only formats, so it is tested on fixed reports.
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BackendOptions, initBackend } from './index.js';
import { packageVersion } from '../util/package-version.js';

export { packageVersion };
import { startTensorflow, TENSORFLOW_MODULES } from './tensorflow.js';
import { type AdapterReport, probeAdapter, startWebgpu } from './webgpu.js';

export const INFO_PACKAGES = [
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-webgpu',
  'webgpu',
  ...TENSORFLOW_MODULES,
] as const;

export type ProbedBackend = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export interface BackendStatus {
  name: ProbedBackend;
  starts: boolean;
  /** when it starts: what it runs on, as a run would print it */
  device?: string;
  /** when it does not start: why */
  reason?: string;
  /** when it starts, but `auto` would pass it over: why */
  autoSkips?: string;
}

export interface VulkanFile {
  path: string;
  /** what the driver is, when the file name says: "NVIDIA", "lavapipe (software)" */
  driver: string;
}

export interface VulkanReport {
  /** Dawn uses Vulkan on Linux only (Metal on macOS, D3D12 on Windows) */
  needed: boolean;
  /** where libvulkan.so.1 (the Vulkan loader) is, or null when it was not found */
  loader: string | null;
  /** the Vulkan drivers (ICD files) the loader would read */
  icds: VulkanFile[];
  /** what to do, when something is missing */
  hints: string[];
}

export interface InfoReport {
  node: string;
  platform: string;
  arch: string;
  tfjs: string;
  /** package → version, or "not installed" */
  packages: Record<string, string>;
  backends: BackendStatus[];
  /** what `--backend auto` picks here, and what it passed over */
  auto: { name: string; device: string; skipped: { name: string; reason: string }[] } | { error: string };
  webgpu: { adapter: AdapterReport | null; error?: string };
  tensorflow: { module?: string; version?: string; gpu?: boolean; error?: string };
  vulkan: VulkanReport;
}

// ---- gathering ---------------------------------------------------------------------------------------------------------


/** One small op on the current backend, read back: a backend that initialises but cannot compute is no backend. */
async function smokeTest(): Promise<void> {
  const t = tf.tidy(() => tf.tensor1d([1, 2, 3]).mul(2).add(1));
  try {
    const values = Array.from(await t.data());
    if (values.join(',') !== '3,5,7') throw new Error(`a test op computed [${values.join(', ')}] instead of [3, 5, 7]`);
  } finally {
    t.dispose();
  }
}

function reasonOf(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}

const LOADER_DIRS = [
  '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu',
  '/usr/lib64', '/usr/lib', '/lib64', '/lib', '/usr/local/lib',
];
const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/** What an ICD file's name says about its driver. Pure. */
export function icdDriver(path: string): string {
  const name = path.replace(/^.*\//, '').toLowerCase();
  if (name.includes('nvidia')) return 'NVIDIA';
  if (name.startsWith('lvp')) return 'lavapipe (software)';
  if (name.includes('radeon')) return 'AMD (RADV)';
  if (name.includes('amd')) return 'AMD';
  if (name.includes('intel_hasvk')) return 'Intel (hasvk, older GPUs)';
  if (name.includes('intel')) return 'Intel (ANV)';
  if (name.includes('nouveau')) return 'NVIDIA (nvk)';
  if (name.includes('swiftshader')) return 'SwiftShader (software)';
  if (name.includes('virtio')) return 'virtio-gpu (venus)';
  if (name.includes('gfxstream')) return 'gfxstream (emulators)';
  if (name.includes('dzn')) return 'Dozen (D3D12 on WSL)';
  return 'unknown';
}

function findLoader(): string | null {
  for (const ldconfig of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      const out = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const line = out.split('\n').find((l) => /^\s*libvulkan\.so\.1\s/.test(l));
      if (line) return line.split('=>').pop()!.trim();
      break; // ldconfig ran and does not know it; look on disk too (LD_LIBRARY_PATH, odd layouts)
    } catch {
      // not on PATH: try the next spelling
    }
  }
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LOADER_DIRS];
  for (const dir of dirs) {
    const path = join(dir, 'libvulkan.so.1');
    if (existsSync(path)) return path;
  }
  return null;
}

function findIcds(): VulkanFile[] {
  // VK_DRIVER_FILES (and the older VK_ICD_FILENAMES) replace the search when set.
  const override = process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES;
  const files: string[] = [];
  if (override) {
    files.push(...override.split(':').filter(Boolean));
  } else {
    for (const dir of ICD_DIRS) {
      try {
        for (const f of readdirSync(dir).sort()) if (f.endsWith('.json')) files.push(join(dir, f));
      } catch {
        // no such directory
      }
    }
  }
  return files.map((path) => ({ path, driver: existsSync(path) ? icdDriver(path) : 'file missing' }));
}

export const VULKAN_HINTS = {
  loader: 'the Vulkan loader libvulkan.so.1 is missing: `apt-get install libvulkan1` (Debian/Ubuntu), ' +
    '`dnf install vulkan-loader` (Fedora)',
  icd: 'no Vulkan driver found: an NVIDIA driver installs /usr/share/vulkan/icd.d/nvidia_icd.json (in a container ' +
    'started with the NVIDIA toolkit, NVIDIA_DRIVER_CAPABILITIES must include "graphics"); AMD and Intel GPUs use ' +
    'Mesa\'s `mesa-vulkan-drivers`',
  software: 'for a software Vulkan (slow; for tests): `apt-get install libvulkan1 mesa-vulkan-drivers` — on Debian ' +
    'bookworm from bookworm-backports, as scripts/install-lavapipe.sh does (bookworm\'s own Mesa 22 is too old for Dawn)',
} as const;

function vulkanReport(): VulkanReport {
  if (process.platform !== 'linux') {
    return { needed: false, loader: null, icds: [], hints: [] };
  }
  const loader = findLoader();
  const icds = findIcds();
  const hints: string[] = [];
  if (!loader) hints.push(VULKAN_HINTS.loader);
  const drivers = icds.filter((f) => f.driver !== 'file missing');
  if (drivers.length === 0) hints.push(VULKAN_HINTS.icd);
  if (!loader || drivers.length === 0) hints.push(VULKAN_HINTS.software);
  return { needed: true, loader, icds, hints };
}

/**
 * Starts each backend in turn (tensorflow, webgpu, wasm, cpu), runs one small op on each, asks initBackend what `auto`
 * would pick, and leaves tfjs on cpu. The WebGPU device stays open: the caller exits (or calls shutdownBackend).
 * `threads`: what the other commands would give wasm (their --threads), so that its device line is the one a run
 * prints; left out, wasm keeps what it has (one thread in a fresh process).
 */
export async function collectInfo(options: BackendOptions = {}): Promise<InfoReport> {
  const packages: Record<string, string> = {};
  for (const name of INFO_PACKAGES) packages[name] = packageVersion(name);
  const backends: BackendStatus[] = [];
  const tensorflow: InfoReport['tensorflow'] = {};
  const webgpu: InfoReport['webgpu'] = { adapter: null };

  const attempt = async (name: ProbedBackend, start: () => Promise<{ device: string }>, autoSkips?: () => string | undefined) => {
    try {
      const { device } = await start();
      await smokeTest();
      const skips = autoSkips?.();
      backends.push({ name, starts: true, device, ...(skips ? { autoSkips: skips } : {}) });
    } catch (err) {
      backends.push({ name, starts: false, reason: reasonOf(err) });
    }
  };

  await attempt('tensorflow', async () => {
    try {
      const started = await startTensorflow({ requireGpu: false });
      Object.assign(tensorflow, { module: started.module, version: started.version, gpu: started.gpu });
      return started;
    } catch (err) {
      tensorflow.error = reasonOf(err);
      throw err;
    }
  }, () => (tensorflow.gpu ? undefined : 'it runs on the CPU (isUsingGpuDevice false)'));

  try {
    webgpu.adapter = await probeAdapter();
  } catch (err) {
    webgpu.error = reasonOf(err);
  }
  await attempt('webgpu', async () => {
    if (!webgpu.adapter) throw new Error(webgpu.error ?? 'no adapter');
    return startWebgpu({ allowSoftware: true });
  }, () => (webgpu.adapter?.software ? 'the adapter is a software one' : undefined));

  await attempt('wasm', async () => (await initBackend('wasm', options)));
  await attempt('cpu', async () => (await initBackend('cpu')));

  let auto: InfoReport['auto'];
  try {
    const chosen = await initBackend('auto', options);
    auto = { name: chosen.name, device: chosen.device, skipped: chosen.skipped };
  } catch (err) {
    auto = { error: reasonOf(err) };
  }
  await tf.setBackend('cpu');

  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    tfjs: tf.version.tfjs,
    packages,
    backends,
    auto,
    webgpu,
    tensorflow,
    vulkan: vulkanReport(),
  };
}

// ---- formatting --------------------------------------------------------------------------------------------------------

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n} (${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]})`;
}

const BYTE_LIMITS = new Set(['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize']);

function table(rows: [string, string][], indent = '  '): string[] {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`.trimEnd());
}

/** The report as people read it. Pure: the same report always gives the same text. */
export function formatInfo(report: InfoReport): string {
  const lines: string[] = [];
  lines.push('dcgan info');
  lines.push(...table([
    ['node', `${report.node} (${report.platform} ${report.arch})`],
    ['tfjs', report.tfjs],
    ...Object.entries(report.packages).map(([name, version]): [string, string] => [name, version]),
  ]));

  lines.push('', 'Backends');
  lines.push(...table(report.backends.map((b): [string, string] => [
    b.name,
    b.starts ? `starts: ${b.device}${b.autoSkips ? ` (auto passes it over: ${b.autoSkips})` : ''}` : `no: ${b.reason}`,
  ])));
  if ('error' in report.auto) {
    lines.push(`  --backend auto picks nothing: ${report.auto.error}`);
  } else {
    lines.push(`  --backend auto picks ${report.auto.name}: ${report.auto.device}`);
  }

  lines.push('', 'WebGPU adapter (Dawn)');
  const a = report.webgpu.adapter;
  if (!a) {
    lines.push(`  none: ${report.webgpu.error ?? 'unknown reason'}`);
  } else {
    lines.push(...table([
      ['vendor', a.vendor || '-'],
      ['architecture', a.architecture || '-'],
      ['device', a.device || '-'],
      ['description', a.description || '-'],
      ['api', a.api],
      ['fallback adapter', a.isFallbackAdapter ? 'yes' : 'no'],
      ['software', a.software ? `yes (${a.softwareReasons.join('; ')})` : 'no: a GPU'],
      ...Object.entries(a.limits).map(([k, v]): [string, string] => [k, BYTE_LIMITS.has(k) ? bytes(v) : String(v)]),
      ['features', a.features.join(', ') || '-'],
    ]));
  }

  lines.push('', 'TensorFlow (tfjs-node-gpu)');
  const t = report.tensorflow;
  if (t.error) lines.push(`  ${t.error}`);
  else lines.push(`  ${t.module}${t.version ? ` ${t.version}` : ''} loads; GPU: ${t.gpu ? 'yes' : 'no (runs on the CPU)'}`);

  lines.push('', 'Vulkan (Dawn\'s graphics API on Linux)');
  const v = report.vulkan;
  if (!v.needed) {
    lines.push(`  not needed on ${report.platform} (Dawn uses ${report.platform === 'darwin' ? 'Metal' : 'D3D12'})`);
  } else {
    lines.push(...table([
      ['libvulkan.so.1', v.loader ?? 'not found'],
      ['drivers (ICD)', v.icds.length ? v.icds.map((f) => `${f.path} (${f.driver})`).join(', ') : 'none'],
    ]));
    for (const hint of v.hints) lines.push(`  hint: ${hint}`);
  }
  return lines.join('\n');
}
