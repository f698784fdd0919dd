// The webgpu backend on whatever adapter Dawn finds — in CI, Mesa's lavapipe (a software Vulkan; see
// scripts/install-lavapipe.sh). Without any adapter these tests skip, unless DCGAN_REQUIRE_WEBGPU=1 makes that a failure.
//
// tfjs switches backends globally, so this file starts webgpu once and moves between it and cpu with tf.setBackend.
// Tensors cannot cross backends: every run builds its tensors anew from the same Float32Arrays. lavapipe is slow and
// compiles each shader on first use (most of the time here), so the shapes are tiny.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import {
  adapterLabel, type AdapterReport, describeGpuError, deviceLost, installNavigatorGpu, onDeviceLost, onGpuError,
  probeAdapter, reportAdapter, shutdownWebgpu, softwareReasons, startWebgpu, takeGpuError,
} from '../src/backend/webgpu.js';
import type { ModelShape } from '../src/model/architecture.js';
import { d2l } from '../src/model/d2l.js';
import { buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { Adam, type AdamOptions } from '../src/train/adam.js';
import { Rng } from '../src/util/rng.js';
import { trainStep } from '../src/train/step.js';

// ---- without a GPU: what decides software or hardware, the labels, the error messages ------------------------------

const LAVAPIPE = {
  vendor: 'mesa',
  architecture: 'software',
  device: 'llvmpipe-llvm-15-0-6-256-bits-',
  description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
  isFallbackAdapter: true,
};

describe('webgpu adapter classification', () => {
  test('lavapipe is software, for each thing it says about itself', () => {
    assert.equal(softwareReasons(LAVAPIPE).length, 4);
    // Any one signal is enough: a Dawn that stops marking CPU adapters as fallback still gets caught by the name.
    assert.ok(softwareReasons({ ...LAVAPIPE, isFallbackAdapter: false, architecture: '' }).length > 0);
    assert.ok(softwareReasons({ vendor: 'mesa', description: 'llvmpipe (LLVM 17.0.6, 256 bits)' }).length > 0);
    assert.ok(softwareReasons({ vendor: 'google', device: 'swiftshader-device' }).length > 0);
    assert.ok(softwareReasons({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }).length > 0);
    assert.ok(softwareReasons({ architecture: 'cpu' }).length > 0);
    assert.ok(softwareReasons({}, true).length > 0, 'the adapter-level isFallbackAdapter of older Dawns');
  });

  test('GPUs are not software, Mesa ones included', () => {
    assert.deepEqual(softwareReasons({ vendor: 'nvidia', architecture: 'hopper', device: 'nvidia-h100-80gb-hbm3',
      description: 'NVIDIA: 550.54.15 550.54.15.0', isFallbackAdapter: false }), []);
    assert.deepEqual(softwareReasons({ vendor: 'amd', architecture: 'rdna-2',
      description: 'AMD Radeon RX 6800 (RADV NAVI21)', isFallbackAdapter: false }), []);
    assert.deepEqual(softwareReasons({ vendor: 'intel', architecture: 'gen-12lp', device: 'mesa-intel-r-xe-graphics-tgl-gt2' }), []);
    assert.deepEqual(softwareReasons({ vendor: 'apple', architecture: 'metal-3', description: 'Apple M2 Pro' }), []);
  });

  test('labels name the device and the API, or the software implementation', () => {
    const lavapipe = reportAdapter({ info: LAVAPIPE, features: ['b', 'a'], limits: { maxBufferSize: 4, other: 1 } }, 'linux');
    assert.equal(adapterLabel(lavapipe), 'llvmpipe (software, lavapipe)');
    assert.deepEqual(lavapipe.features, ['a', 'b']);
    assert.deepEqual(lavapipe.limits, { maxBufferSize: 4 });
    const h100 = reportAdapter({ info: { vendor: 'nvidia', architecture: 'hopper', device: 'nvidia-h100-80gb-hbm3' },
      features: [], limits: {} }, 'linux');
    assert.equal(adapterLabel(h100), 'nvidia-h100-80gb-hbm3 (vulkan)');
    assert.equal(adapterLabel(reportAdapter({ info: { vendor: 'apple', description: 'Apple M2' }, features: [], limits: {} },
      'darwin')), 'Apple M2 (metal)');
  });

  test('navigator.gpu is installed on Node 20 (no navigator) and Node 21+ (navigator behind a getter)', () => {
    const node20: Record<string, unknown> = {};
    installNavigatorGpu('gpu20', node20);
    assert.equal((node20.navigator as { gpu: string }).gpu, 'gpu20');

    const navigator = { hardwareConcurrency: 2 };
    const node21: Record<string, unknown> = {};
    Object.defineProperty(node21, 'navigator', { get: () => navigator, configurable: true, enumerable: true });
    installNavigatorGpu('gpu21', node21);
    assert.equal((node21.navigator as { gpu: string }).gpu, 'gpu21');

    const frozen: Record<string, unknown> = {};
    const frozenNavigator = Object.freeze({ hardwareConcurrency: 2 });
    Object.defineProperty(frozen, 'navigator', { get: () => frozenNavigator, configurable: true });
    installNavigatorGpu('gpu-frozen', frozen);
    assert.equal((frozen.navigator as { gpu: string; hardwareConcurrency: number }).gpu, 'gpu-frozen');
    assert.equal((frozen.navigator as { hardwareConcurrency: number }).hardwareConcurrency, 2);
  });

  test('GPU errors become one line that suggests half the batch size', () => {
    const oom = describeGpuError({ kind: 'out-of-memory', message: 'Out of memory\n - While calling CreateBuffer' }, 64);
    assert.equal(oom, 'the GPU ran out of memory at batch size 64 (Out of memory); try --batch-size 32');
    assert.match(describeGpuError(new Error('VK_ERROR_OUT_OF_DEVICE_MEMORY: vkAllocateMemory'), 7)!, /--batch-size 3$/);
    assert.match(describeGpuError('GPUOutOfMemoryError: allocation failed', 1)!, /--batch-size 1$/);
    const lost = describeGpuError({ reason: 'unknown', message: 'Device lost (TDR)' }, 128);
    assert.match(lost!, /^the GPU device was lost \(reason "unknown": Device lost \(TDR\)\).*--batch-size 64/);
    assert.match(describeGpuError(new Error('[Device] is lost.'), 16)!, /device was lost/);
    assert.equal(describeGpuError(new Error('shapes [2,3] and [4] do not match'), 64), null);
  });
});

// ---- on an adapter ------------------------------------------------------------------------------------------------

const REQUIRED = process.env.DCGAN_REQUIRE_WEBGPU === '1';
const probe: { adapter: AdapterReport } | { error: string } = await probeAdapter().then(
  (adapter) => ({ adapter }),
  (err: Error) => ({ error: err.message }),
);
const adapter = 'adapter' in probe ? probe.adapter : undefined;
const noAdapter = 'error' in probe ? probe.error : undefined;
const skip = noAdapter && !REQUIRED
  ? `no WebGPU adapter (${noAdapter}); scripts/install-lavapipe.sh installs a software one, DCGAN_REQUIRE_WEBGPU=1 fails here`
  : false;

after(async () => {
  await shutdownWebgpu();
});

describe('webgpu backend', { skip }, () => {
  if (adapter) console.log(`# adapter: ${adapterLabel(adapter)} — ${JSON.stringify({ ...adapter, features: undefined })}`);

  // Registers tfjs's webgpu backend for the tests that switch to it, whatever the tests before them did.
  before(async () => {
    if (adapter) await startWebgpu({ allowSoftware: true });
  });

  test('a WebGPU adapter is found', () => {
    assert.ok(adapter, `Dawn found no adapter: ${noAdapter}`);
  });

  test('auto does not pick a software adapter, and says why', async (t) => {
    if (adapter && !adapter.software) return t.skip(`the adapter here is a GPU (${adapterLabel(adapter)})`);
    const chosen = await initBackend('auto');
    assert.notEqual(chosen.name, 'webgpu');
    assert.equal(tf.getBackend(), chosen.name);
    const webgpu = chosen.skipped.find((s) => s.name === 'webgpu');
    assert.ok(webgpu, `auto did not record passing over webgpu: ${JSON.stringify(chosen.skipped)}`);
    assert.match(webgpu.reason, /software/);
    assert.match(webgpu.reason, /--backend webgpu/);
  });

  test('--backend webgpu accepts the software adapter', async () => {
    const chosen = await initBackend('webgpu');
    assert.equal(chosen.name, 'webgpu');
    assert.equal(tf.getBackend(), 'webgpu');
    assert.equal(chosen.device, `webgpu: ${adapterLabel(adapter!)}`);
    if (adapter!.software) assert.match(chosen.device, /\(software, /);
  });

  test('a training step on webgpu matches the cpu backend', async (t) => {
    const cpu = await runSteps('cpu');
    const gpu = await runSteps('webgpu');
    let statDiff = 0;
    // The losses and mean D outputs: fp32 reductions in another order differ in the last bits, ~1e-7 relative.
    for (let s = 0; s < STEPS; s++) {
      for (let k = 0; k < 4; k++) {
        const [a, b] = [gpu.stats[s][k], cpu.stats[s][k]];
        statDiff = Math.max(statDiff, Math.abs(a - b));
        assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `step ${s} stat ${k}: webgpu ${a}, cpu ${b}`);
      }
    }
    // Each weight's total update over the steps: relative to the update's own size (see UPDATE_TOLERANCE).
    assert.equal(gpu.weights.length, cpu.weights.length);
    let moved = 0;
    let worstRelative = 0;
    let worstElement = 0;
    for (let i = 0; i < cpu.weights.length; i++) {
      const c = cpu.weights[i];
      const g = gpu.weights[i];
      const w0 = cpu.initial[i];
      let diff2 = 0;
      let update2 = 0;
      let maxDiff = 0;
      for (let j = 0; j < c.values.length; j++) {
        const d = g.values[j] - c.values[j];
        diff2 += d * d;
        update2 += (c.values[j] - w0[j]) ** 2;
        maxDiff = Math.max(maxDiff, Math.abs(d));
      }
      if (update2 > 0) moved++;
      const relative = Math.sqrt(diff2) / Math.max(Math.sqrt(update2), 1e-12);
      worstRelative = Math.max(worstRelative, relative);
      worstElement = Math.max(worstElement, maxDiff);
      assert.ok(relative <= UPDATE_TOLERANCE || Math.sqrt(diff2) === 0,
        `${c.name}: |webgpu - cpu| / |update| = ${relative.toExponential(2)} (max elementwise ${maxDiff.toExponential(2)})`);
      assert.ok(maxDiff <= ELEMENT_TOLERANCE, `${c.name}: an element differs by ${maxDiff.toExponential(2)}`);
    }
    t.diagnostic(`max |stat diff| ${statDiff.toExponential(2)}; weights: max |diff| / |update| ${worstRelative.toExponential(2)}, ` +
      `max elementwise |diff| ${worstElement.toExponential(2)} (lr ${ADAM.lr})`);
    assert.ok(moved >= cpu.weights.length / 2, `only ${moved} of ${cpu.weights.length} weights changed: the test proves little`);
  });

  test('sampling on webgpu matches the cpu backend', async (t) => {
    const cpu = await sample('cpu');
    const gpu = await sample('webgpu');
    assert.equal(gpu.length, cpu.length);
    let maxDiff = 0;
    let maxAbs = 0;
    let diff2 = 0;
    let norm2 = 0;
    for (let j = 0; j < cpu.length; j++) {
      maxDiff = Math.max(maxDiff, Math.abs(gpu[j] - cpu[j]));
      maxAbs = Math.max(maxAbs, Math.abs(cpu[j]));
      diff2 += (gpu[j] - cpu[j]) ** 2;
      norm2 += cpu[j] ** 2;
    }
    const relative = Math.sqrt(diff2 / norm2);
    t.diagnostic(`|webgpu - cpu| / |cpu| ${relative.toExponential(2)}; max |webgpu - cpu| ${maxDiff.toExponential(2)}, ` +
      `max |cpu| ${maxAbs.toExponential(2)}`);
    assert.ok(maxAbs > 1e-3, 'the generator output is all but zero: the comparison proves nothing');
    // One forward pass in inference mode: fp32 with other reduction orders agrees to ~1e-7. tfjs-webgpu's tanh is
    // (1 - e^-2|a|) / (1 + e^-2|a|), whose error is absolute (~1e-7), not relative: for an untrained G's small outputs
    // (|x| ~ 3e-3) that is ~3e-5 relative. So: absolute on tanh's [-1, 1] range, plus a loose relative bound that still
    // catches a kernel that is systematically off.
    assert.ok(maxDiff <= 1e-5, `max |webgpu - cpu| = ${maxDiff}`);
    assert.ok(relative <= 1e-3, `|webgpu - cpu| / |cpu| = ${relative}`);
  });

  test('uncaptured WebGPU errors are caught, and reported to a listener instead of printed', async () => {
    assert.ok(await tf.setBackend('webgpu'));
    const device = (tf.backend() as unknown as { device: GPUDeviceForTest }).device;
    takeGpuError(); // start clean
    const seen: string[] = [];
    const stop = onGpuError((e) => seen.push(e.kind));
    try {
      // Bigger than maxBufferSize: a validation error, reported the way an out-of-memory one is.
      device.createBuffer({ size: 2 ** 52, usage: 0x80 /* STORAGE */ });
      const error = await waitFor(() => (seen.length > 0 ? takeGpuError() : undefined));
      assert.equal(error.kind, 'validation');
      assert.match(error.message, /size/i);
      assert.deepEqual(seen, ['validation']);
      assert.equal(takeGpuError(), undefined, 'takeGpuError clears what it returns');
    } finally {
      stop();
    }
  });

  // Last: it destroys the device tfjs uses.
  test('onDeviceLost reports the loss of the device tfjs uses', async () => {
    assert.ok(await tf.setBackend('webgpu'));
    const device = (tf.backend() as unknown as { device: GPUDeviceForTest }).device;
    const calls: { reason: string; message: string }[] = [];
    const stop = onDeviceLost((info) => calls.push(info));
    try {
      device.destroy(); // Dawn cannot lose a device on request; destroying it from outside our code is the nearest thing
      const info = await waitFor(() => calls[0]);
      assert.equal(info.reason, 'destroyed');
      assert.deepEqual(deviceLost(), info);
      assert.match(describeGpuError(info, 8)!, /device was lost.*--batch-size 4/);
    } finally {
      stop();
      await shutdownWebgpu();
    }
  });
});

// ---- helpers --------------------------------------------------------------------------------------------------------

interface GPUDeviceForTest {
  createBuffer(descriptor: { size: number; usage: number }): unknown;
  destroy(): void;
}

async function waitFor<T>(get: () => T | undefined, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`nothing after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const SHAPE: ModelShape = { imageSize: 16, width: 8, latent: 16, channels: 3, classes: 0 };
const BATCH = 8;
const STEPS = 3;
const ADAM: AdamOptions = { lr: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8, form: 'torch' };
/**
 * How far the webgpu update of a weight tensor may be from the cpu one, relative to the update's size, after STEPS.
 * Forward and backward passes agree to ~1e-6 relative (fp32, other reduction orders). Adam divides by sqrt(v): an
 * element whose gradient is near zero moves by up to ~lr either way on a last-bit difference, which the norm over the
 * whole tensor dilutes but does not hide. A wrong kernel gives O(1).
 */
const UPDATE_TOLERANCE = 1e-3;
/** No element may differ by more than a tenth of one Adam step (lr): the worst case above, with margin. */
const ELEMENT_TOLERANCE = 0.1 * ADAM.lr;

function data(n: number, seed: number, uniform = false): Float32Array {
  const rng = new Rng(seed);
  if (!uniform) return rng.normals(n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform() * 2 - 1;
  return out;
}


/** The cpu backend's seeded initial weights, once, as plain arrays: both backends start from exactly these. */
let initialWeights: { g: Float32Array[]; d: Float32Array[] } | undefined;

async function modelsOn(backend: 'cpu' | 'webgpu') {
  assert.ok(await tf.setBackend(backend));
  const G = buildGenerator(d2l, SHAPE, 7);
  const D = buildDiscriminator(d2l, SHAPE, 7);
  if (!initialWeights) {
    assert.equal(backend, 'cpu', 'the initial weights come from the cpu backend');
    initialWeights = {
      g: await Promise.all(G.getWeights().map((w) => w.data() as Promise<Float32Array>)),
      d: await Promise.all(D.getWeights().map((w) => w.data() as Promise<Float32Array>)),
    };
  }
  const set = (model: tf.LayersModel, values: Float32Array[]) => {
    const tensors = model.getWeights().map((w, i) => tf.tensor(values[i], w.shape));
    model.setWeights(tensors);
    tf.dispose(tensors);
  };
  set(G, initialWeights.g);
  set(D, initialWeights.d);
  return { G, D };
}

async function runSteps(backend: 'cpu' | 'webgpu') {
  const { G, D } = await modelsOn(backend);
  const optG = new Adam(ADAM, G.trainableWeights.map((w) => w.read() as tf.Variable));
  const optD = new Adam(ADAM, D.trainableWeights.map((w) => w.read() as tf.Variable));
  const stats: number[][] = [];
  for (let s = 0; s < STEPS; s++) {
    const X = tf.tensor4d(data(BATCH * 16 * 16 * 3, 100 + s, true), [BATCH, 16, 16, 3]);
    const Z = tf.tensor2d(data(BATCH * SHAPE.latent, 200 + s), [BATCH, SHAPE.latent]);
    const out = trainStep({ G, D, optG, optD, recipe: { reduction: 'sum', step: 'd2l' } }, { X, Z });
    stats.push(Array.from(await out.data()));
    tf.dispose([X, Z, out]);
  }
  // Every weight, trainable or not: the batch-norm moving statistics are updated in training mode too.
  const weights = await Promise.all([...G.weights, ...D.weights].map(async (w) => {
    const t = w.read();
    return { name: w.name, values: (await t.data()) as Float32Array };
  }));
  const initial = [...initialWeights!.g, ...initialWeights!.d];
  optG.dispose();
  optD.dispose();
  G.dispose();
  D.dispose();
  return { stats, weights, initial };
}

async function sample(backend: 'cpu' | 'webgpu'): Promise<Float32Array> {
  const { G, D } = await modelsOn(backend);
  const Z = tf.tensor2d(data(4 * SHAPE.latent, 300), [4, SHAPE.latent]);
  const images = G.predict(Z) as tf.Tensor;
  assert.deepEqual(images.shape, [4, 16, 16, 3]);
  const values = (await images.data()) as Float32Array;
  tf.dispose([Z, images]);
  G.dispose();
  D.dispose();
  return values;
}
