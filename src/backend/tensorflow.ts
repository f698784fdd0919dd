// The `tensorflow` backend: TensorFlow's C library through @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node.
//
// Neither is a dependency — tfjs-node-gpu's install downloads a libtensorflow built for CUDA 11.2 — so a user opts in by
// installing one, and it is imported by name at run time. Importing it registers the backend 'tensorflow' (and switches
// to it) in tfjs's engine, which tfjs-core keeps on globalThis: even a second copy of tfjs-core registers into the same
// engine, but one of another version may not work with ours, hence the version check below.
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';

/** Tried in this order; the first that is installed is used. */
export const TENSORFLOW_MODULES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

export const TENSORFLOW_INSTALL_HINT =
  'npm i @tensorflow/tfjs-node-gpu@' + tf.version.tfjs + '; Linux x64 with CUDA 11.2 and cuDNN 8.1';

export interface TensorflowStart {
  /** for people: "tensorflow: gpu (CUDA, @tensorflow/tfjs-node-gpu 4.22.0)" */
  device: string;
  /** the package that was loaded */
  module: string;
  /** its version, when it says */
  version?: string;
  /** whether TensorFlow runs the ops on a GPU */
  gpu: boolean;
  /** packages tried before it that are installed but did not load, and why */
  passedOver: { name: string; reason: string }[];
}

export interface TensorflowOptions {
  /** refuse a TensorFlow that runs on the CPU (what `auto` wants) */
  requireGpu: boolean;
  /** module specifiers to try, in order; tests pass stand-ins (file: URLs) */
  modules?: readonly string[];
}

interface NodeBackendLike {
  isUsingGpuDevice?: boolean;
  isGPUPackage?: boolean;
}

/** True when `err` says that `specifier` itself cannot be found (not one of its own dependencies or files). */
export function isNotFound(err: unknown, specifier: string): boolean {
  const e = err as { code?: string; message?: string };
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' && e?.code !== 'MODULE_NOT_FOUND') return false;
  const message = e.message ?? '';
  const names = [specifier];
  if (specifier.startsWith('file:')) names.push(fileURLToPath(specifier));
  return names.some((name) => message.includes(`'${name}'`) || message.includes(`"${name}"`));
}

/** The first line of an error, which for a native addon names the library it missed. */
function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0].trim();
}

/**
 * Loads tfjs-node-gpu (or tfjs-node) and switches tfjs to its backend. Throws one line saying why not: not installed,
 * installed but does not load (a missing libcudart / libcudnn is the usual reason), or, with `requireGpu`, loaded but
 * running on the CPU (what tfjs-node-gpu does when it finds no CUDA 11.2 — on CUDA 12/13 it silently falls back).
 */
export async function startTensorflow({ requireGpu, modules = TENSORFLOW_MODULES }: TensorflowOptions): Promise<TensorflowStart> {
  const failures: { name: string; reason: string }[] = [];
  for (const specifier of modules) {
    let mod: { version?: Record<string, string> };
    try {
      mod = (await import(specifier)) as typeof mod;
    } catch (err) {
      if (isNotFound(err, specifier)) continue;
      failures.push({ name: specifier, reason: `installed but did not load: ${firstLine(err)}` });
      continue;
    }
    const version = mod.version?.['tfjs-node'];
    const core = mod.version?.['tfjs-core'];
    if (!tf.findBackendFactory('tensorflow')) {
      failures.push({
        name: specifier,
        reason: 'loaded but registered no \'tensorflow\' backend with this tfjs' +
          (core && core !== tf.version_core ? ` (it uses tfjs-core ${core}, this program ${tf.version_core})` : ''),
      });
      continue;
    }
    if (core && core !== tf.version_core) {
      failures.push({
        name: specifier,
        reason: `uses tfjs-core ${core} but this program uses ${tf.version_core} (install ${specifier}@${tf.version_core})`,
      });
      continue;
    }
    if (!(await tf.setBackend('tensorflow'))) {
      failures.push({ name: specifier, reason: 'loaded but its backend did not initialise' });
      continue;
    }
    await tf.ready();
    const backend = tf.backend() as unknown as NodeBackendLike;
    const gpu = backend.isUsingGpuDevice === true;
    const label = `${specifier}${version ? ` ${version}` : ''}`;
    if (!gpu && requireGpu) {
      const which = specifier.endsWith('-gpu') || backend.isGPUPackage ? 'tfjs-node-gpu' : specifier.replace(/^.*\//, '');
      throw new Error([
        ...failures.map((f) => `${f.name} ${f.reason}`),
        `${which} loaded but runs on the CPU (isUsingGpuDevice false)` +
          (which === 'tfjs-node-gpu' ? ': it needs CUDA 11.2 and cuDNN 8.1' : ': it has no GPU support'),
      ].join('; '));
    }
    return {
      device: gpu ? `tensorflow: gpu (CUDA, ${label})` : `tensorflow: cpu (${label})`,
      module: specifier,
      version,
      gpu,
      passedOver: failures,
    };
  }
  if (failures.length > 0) throw new Error(failures.map((f) => `${f.name} ${f.reason}`).join('; '));
  throw new Error(`not installed (${TENSORFLOW_INSTALL_HINT})`);
}
