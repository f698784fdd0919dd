// The loader of the opt-in `tensorflow` backend (@tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, never installed
// by this project). What is tested is our code: which package it takes, how it tells "not installed" from "installed
// but broken", and what it does with a TensorFlow that runs on the CPU. The stand-ins are tiny ESM files that do what
// the real packages do at import — register backend 'tensorflow' in tfjs's engine and switch to it, exporting
// `version` — with a backend that only carries the flag tfjs-node's has (isUsingGpuDevice); no TensorFlow runs.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { BackendError, initBackend, shutdownBackend } from '../src/backend/index.js';
import { isNotFound, startTensorflow, TENSORFLOW_MODULES } from '../src/backend/tensorflow.js';

const require = createRequire(import.meta.url);
const installed = TENSORFLOW_MODULES.filter((name) => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
});

let dir = '';
const files: Record<string, string> = {};
let imports = 0;
/** A stand-in's URL, new at every call: ESM runs a module once per URL, and each test needs a fresh registration. */
const standIn = (name: string): string => `${files[name]}?import=${++imports}`;

function writeStandIn(name: string, body: string): void {
  const file = join(dir, `${name}.mjs`);
  // The stand-in gets this project's tfjs, as an installed tfjs-node-gpu of the same version would (npm dedupes it).
  writeFileSync(file, `import { createRequire } from 'node:module';
const tf = createRequire(${JSON.stringify(pathToFileURL(join(process.cwd(), 'package.json')).href)})('@tensorflow/tfjs');
${body}
`);
  files[name] = pathToFileURL(file).href;
}

const registering = (gpu: boolean, core = 'tf.version_core') => `
class NodeJSKernelBackendStandIn extends tf.KernelBackend {
  isUsingGpuDevice = ${gpu};
  isGPUPackage = true;
  numDataIds() { return 0; }
  dispose() {}
}
if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
tf.registerBackend('tensorflow', () => new NodeJSKernelBackendStandIn(), 3);
tf.setBackend('tensorflow'); // tfjs-node does this at import, without waiting
export const version = { ...tf.version, 'tfjs-core': ${core}, 'tfjs-node': '0.0.0-standin' };
`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'dcgan-tfjs-node-'));
  writeStandIn('gpu', registering(true));
  writeStandIn('cpu', registering(false));
  writeStandIn('other-core', registering(true, "'3.21.0'"));
  writeStandIn('registers-nothing', 'export const version = { ...tf.version, \'tfjs-node\': \'0.0.0-standin\' };');
  // What tfjs-node-gpu does when its binding cannot find CUDA 11's runtime.
  writeStandIn('broken', "throw new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');");
  writeStandIn('missing-dependency', "import 'dcgan-no-such-package-for-tests';");
});

afterEach(async () => {
  await tf.setBackend('cpu');
  if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await shutdownBackend();
});

describe('tensorflow backend loader', () => {
  test('not installed: one line that says how to install it', async () => {
    const missing = ['@tensorflow/tfjs-node-gpu-not-here', '@tensorflow/tfjs-node-not-here'];
    await assert.rejects(startTensorflow({ requireGpu: false, modules: missing }), (err: Error) => {
      assert.match(err.message, /^not installed \(npm i @tensorflow\/tfjs-node-gpu@4\.22\.0; .*CUDA 11\.2.*cuDNN 8\.1\)$/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  });

  test('not installed, with the real package names', async (t) => {
    if (installed.length) return t.skip(`${installed.join(', ')} is installed here`);
    await assert.rejects(startTensorflow({ requireGpu: true }), /^Error: not installed \(npm i @tensorflow\/tfjs-node-gpu/);
    // Asked for by name: an error with the reason and a hint, not another backend.
    await assert.rejects(initBackend('tensorflow'), (err: Error) => {
      assert.ok(err instanceof BackendError);
      assert.match(err.message, /^backend tensorflow is not available: not installed \(npm i .*\) \(run `dcgan info`/);
      return true;
    });
    assert.equal(tf.getBackend(), 'cpu', 'a failed explicit backend switches nothing');
  });

  test('auto records why it passed over tensorflow, and goes on', async (t) => {
    if (installed.length) return t.skip(`${installed.join(', ')} is installed here`);
    const chosen = await initBackend('auto');
    assert.notEqual(chosen.name, 'tensorflow');
    assert.deepEqual(chosen.skipped[0], { name: 'tensorflow', reason: (await reason(startTensorflow({ requireGpu: true }))) });
    assert.match(chosen.skipped[0].reason, /^not installed/);
  });

  test('a TensorFlow on a GPU is taken, whether or not a GPU is required', async () => {
    for (const requireGpu of [true, false]) {
      const gpu = standIn('gpu');
      const started = await startTensorflow({ requireGpu, modules: [gpu] });
      assert.equal(started.gpu, true);
      assert.equal(started.module, gpu);
      assert.equal(started.device, `tensorflow: gpu (CUDA, ${gpu} 0.0.0-standin)`);
      assert.equal(tf.getBackend(), 'tensorflow');
      await tf.setBackend('cpu');
    }
  });

  test('a TensorFlow on the CPU: refused when a GPU is required, taken and labelled cpu otherwise', async () => {
    await assert.rejects(startTensorflow({ requireGpu: true, modules: [standIn('cpu')] }), (err: Error) => {
      assert.equal(err.message,
        'tfjs-node-gpu loaded but runs on the CPU (isUsingGpuDevice false): it needs CUDA 11.2 and cuDNN 8.1');
      return true;
    });
    const cpu = standIn('cpu');
    const started = await startTensorflow({ requireGpu: false, modules: [cpu] });
    assert.equal(started.gpu, false);
    assert.equal(started.device, `tensorflow: cpu (${cpu} 0.0.0-standin)`);
    assert.equal(tf.getBackend(), 'tensorflow');
  });

  test('installed but broken: the reason names what is missing, and the next package is tried', async () => {
    const broken = standIn('broken');
    await assert.rejects(startTensorflow({ requireGpu: false, modules: [broken] }), (err: Error) => {
      assert.equal(err.message, `${broken} installed but did not load: libcudart.so.11.0: cannot open shared object ` +
        'file: No such file or directory');
      return true;
    });
    // A package whose own dependency is missing is installed-but-broken, not "not installed".
    await assert.rejects(startTensorflow({ requireGpu: false, modules: [standIn('missing-dependency')] }),
      /installed but did not load: Cannot find package 'dcgan-no-such-package-for-tests'/);

    const cpu = standIn('cpu');
    const started = await startTensorflow({ requireGpu: false, modules: [broken, cpu] });
    assert.equal(started.module, cpu);
    assert.deepEqual(started.passedOver.map((p) => p.name), [broken]);
    await tf.setBackend('cpu');
    tf.removeBackend('tensorflow');
    // When a GPU is required, the refusal keeps what went wrong with the GPU package before it.
    await assert.rejects(startTensorflow({ requireGpu: true, modules: [standIn('broken'), standIn('cpu')] }),
      /libcudart\.so\.11\.0.*; tfjs-node-gpu loaded but runs on the CPU/);
  });

  test('a package that registers no backend, or one built on another tfjs-core, is refused with the reason', async () => {
    await assert.rejects(startTensorflow({ requireGpu: false, modules: [standIn('registers-nothing')] }),
      /loaded but registered no 'tensorflow' backend with this tfjs/);
    await assert.rejects(startTensorflow({ requireGpu: false, modules: [standIn('other-core')] }),
      /uses tfjs-core 3\.21\.0 but this program uses 4\.22\.0/);
  });

  test('"not found" means the package itself, not something it imports', () => {
    const err = Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node-gpu' imported from /x/y.js"),
      { code: 'ERR_MODULE_NOT_FOUND' });
    assert.equal(isNotFound(err, '@tensorflow/tfjs-node-gpu'), true);
    assert.equal(isNotFound(err, '@tensorflow/tfjs-node'), false);
    const binding = Object.assign(new Error("Cannot find module '/x/lib/napi-v8/tfjs_binding.node'"), { code: 'MODULE_NOT_FOUND' });
    assert.equal(isNotFound(binding, '@tensorflow/tfjs-node-gpu'), false);
    assert.equal(isNotFound(new Error('@tensorflow/tfjs-node-gpu'), '@tensorflow/tfjs-node-gpu'), false);
  });
});

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a rejection');
}
