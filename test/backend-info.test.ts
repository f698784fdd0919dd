// `dcgan info`: formatInfo on fixed reports (what people read), collectInfo on this machine (what it finds).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { shutdownBackend } from '../src/backend/index.js';
import { collectInfo, formatInfo, icdDriver, type InfoReport, packageVersion, VULKAN_HINTS } from '../src/backend/info.js';

after(async () => {
  await shutdownBackend();
});

const LAVAPIPE_MACHINE: InfoReport = {
  node: 'v20.20.2',
  platform: 'linux',
  arch: 'x64',
  tfjs: '4.22.0',
  packages: {
    '@tensorflow/tfjs': '4.22.0',
    '@tensorflow/tfjs-backend-webgpu': '4.22.0',
    webgpu: '0.6.2',
    '@tensorflow/tfjs-node-gpu': 'not installed',
  },
  backends: [
    { name: 'tensorflow', starts: false, reason: 'not installed (npm i @tensorflow/tfjs-node-gpu@4.22.0)' },
    { name: 'webgpu', starts: true, device: 'webgpu: llvmpipe (software, lavapipe)', autoSkips: 'the adapter is a software one' },
    { name: 'wasm', starts: true, device: 'wasm (simd, 1 thread)' },
    { name: 'cpu', starts: true, device: 'cpu (pure JavaScript)' },
  ],
  auto: { name: 'wasm', device: 'wasm (simd, 1 thread)', skipped: [] },
  webgpu: {
    adapter: {
      vendor: 'mesa',
      architecture: 'software',
      device: 'llvmpipe-llvm-15-0-6-256-bits-',
      description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
      isFallbackAdapter: true,
      software: true,
      softwareReasons: ['isFallbackAdapter is true'],
      api: 'vulkan',
      limits: { maxBufferSize: 4294967295, maxStorageBufferBindingSize: 134217728, maxComputeInvocationsPerWorkgroup: 1024 },
      features: ['shader-f16', 'timestamp-query'],
    },
  },
  tensorflow: { error: 'not installed (npm i @tensorflow/tfjs-node-gpu@4.22.0)' },
  vulkan: {
    needed: true,
    loader: '/lib/x86_64-linux-gnu/libvulkan.so.1',
    icds: [{ path: '/usr/share/vulkan/icd.d/lvp_icd.json', driver: 'lavapipe (software)' }],
    hints: [],
  },
};

describe('formatInfo', () => {
  test('a machine with lavapipe: every section, and why auto passes over webgpu', () => {
    const text = formatInfo(LAVAPIPE_MACHINE);
    const lines = text.split('\n');
    for (const expected of [
      /^dcgan info$/,
      /^ {2}node +v20\.20\.2 \(linux x64\)$/,
      /^ {2}@tensorflow\/tfjs-node-gpu +not installed$/,
      /^ {2}tensorflow +no: not installed \(npm i @tensorflow\/tfjs-node-gpu@4\.22\.0\)$/,
      /^ {2}webgpu +starts: webgpu: llvmpipe \(software, lavapipe\) \(auto passes it over: the adapter is a software one\)$/,
      /^ {2}--backend auto picks wasm: wasm \(simd, 1 thread\)$/,
      /^ {2}software +yes \(isFallbackAdapter is true\)$/,
      /^ {2}maxBufferSize +4294967295 \(4\.0 GiB\)$/,
      /^ {2}maxStorageBufferBindingSize +134217728 \(128 MiB\)$/,
      /^ {2}maxComputeInvocationsPerWorkgroup +1024$/,
      /^ {2}features +shader-f16, timestamp-query$/,
      /^ {2}libvulkan\.so\.1 +\/lib\/x86_64-linux-gnu\/libvulkan\.so\.1$/,
      /^ {2}drivers \(ICD\) +\/usr\/share\/vulkan\/icd\.d\/lvp_icd\.json \(lavapipe \(software\)\)$/,
    ]) {
      assert.ok(lines.some((l) => expected.test(l)), `no line matches ${expected}:\n${text}`);
    }
    assert.equal(formatInfo(LAVAPIPE_MACHINE), text, 'the same report gives the same text');
  });

  test('a machine without Vulkan: the adapter error and what to install', () => {
    const text = formatInfo({
      ...LAVAPIPE_MACHINE,
      backends: LAVAPIPE_MACHINE.backends.map((b) => (b.name === 'webgpu' ? { name: 'webgpu', starts: false, reason: 'Dawn found no WebGPU adapter' } : b)),
      webgpu: { adapter: null, error: 'Dawn found no WebGPU adapter' },
      vulkan: { needed: true, loader: null, icds: [], hints: [VULKAN_HINTS.loader, VULKAN_HINTS.icd, VULKAN_HINTS.software] },
    });
    assert.match(text, /^ {2}webgpu +no: Dawn found no WebGPU adapter$/m);
    assert.match(text, /^WebGPU adapter \(Dawn\)\n {2}none: Dawn found no WebGPU adapter$/m);
    assert.match(text, /^ {2}libvulkan\.so\.1 +not found$/m);
    assert.match(text, /^ {2}hint: the Vulkan loader libvulkan\.so\.1 is missing: `apt-get install libvulkan1`/m);
    assert.match(text, /^ {2}hint: no Vulkan driver found: an NVIDIA driver installs \/usr\/share\/vulkan\/icd\.d\/nvidia_icd\.json/m);
    assert.match(text, /^ {2}hint: for a software Vulkan .*`apt-get install libvulkan1 mesa-vulkan-drivers`/m);
  });

  test('macOS and Windows need no Vulkan; a TensorFlow that loads says whether it has a GPU', () => {
    const mac = formatInfo({ ...LAVAPIPE_MACHINE, platform: 'darwin', vulkan: { needed: false, loader: null, icds: [], hints: [] } });
    assert.match(mac, /^ {2}not needed on darwin \(Dawn uses Metal\)$/m);
    const tfGpu = formatInfo({ ...LAVAPIPE_MACHINE, tensorflow: { module: '@tensorflow/tfjs-node-gpu', version: '4.22.0', gpu: true } });
    assert.match(tfGpu, /^ {2}@tensorflow\/tfjs-node-gpu 4\.22\.0 loads; GPU: yes$/m);
    const tfCpu = formatInfo({ ...LAVAPIPE_MACHINE, tensorflow: { module: '@tensorflow/tfjs-node-gpu', gpu: false } });
    assert.match(tfCpu, /GPU: no \(runs on the CPU\)$/m);
    const none = formatInfo({ ...LAVAPIPE_MACHINE, auto: { error: 'no backend could start' } });
    assert.match(none, /^ {2}--backend auto picks nothing: no backend could start$/m);
  });

  test('package versions and driver names', () => {
    assert.equal(packageVersion('@tensorflow/tfjs'), tf.version.tfjs);
    assert.equal(packageVersion('dcgan-no-such-package-for-tests'), 'not installed');
    assert.equal(icdDriver('/usr/share/vulkan/icd.d/nvidia_icd.json'), 'NVIDIA');
    assert.equal(icdDriver('/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'), 'lavapipe (software)');
    assert.equal(icdDriver('/usr/share/vulkan/icd.d/radeon_icd.x86_64.json'), 'AMD (RADV)');
  });
});

describe('collectInfo on this machine', () => {
  test('finds the backends, says what auto picks (wasm on the threads asked for), and leaves tfjs on cpu', async (t) => {
    const started = Date.now();
    const report = await collectInfo({ threads: 2 });
    t.diagnostic(`took ${Date.now() - started} ms; ${report.backends.map((b) => `${b.name}: ${b.starts ? b.device : b.reason}`).join('; ')}`);
    assert.equal(report.node, process.version);
    assert.equal(report.tfjs, tf.version.tfjs);
    assert.equal(report.packages['@tensorflow/tfjs-backend-webgpu'], '4.22.0');
    assert.deepEqual(report.backends.map((b) => b.name), ['tensorflow', 'webgpu', 'wasm', 'cpu']);
    const byName = Object.fromEntries(report.backends.map((b) => [b.name, b]));
    assert.equal(byName.cpu.starts, true);
    assert.equal(byName.wasm.starts, true, byName.wasm.reason);
    // what `train --threads 2` runs on, not wasm's own one thread
    assert.equal(byName.wasm.device, 'wasm (simd, 2 threads)');
    if ('name' in report.auto && report.auto.name === 'wasm') assert.equal(report.auto.device, 'wasm (simd, 2 threads)');
    if (report.packages['@tensorflow/tfjs-node-gpu'] === 'not installed' && report.packages['@tensorflow/tfjs-node'] === 'not installed') {
      assert.match(byName.tensorflow.reason ?? '', /^not installed/);
      assert.match(report.tensorflow.error ?? '', /^not installed/);
    }
    assert.equal(tf.getBackend(), 'cpu');
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report, 'the report survives --json');

    const adapter = report.webgpu.adapter;
    if (process.env.DCGAN_REQUIRE_WEBGPU === '1') assert.ok(adapter, `no adapter: ${report.webgpu.error}`);
    if (adapter) {
      assert.equal(byName.webgpu.starts, true, byName.webgpu.reason);
      assert.ok('name' in report.auto);
      if (adapter.software) {
        assert.match(byName.webgpu.autoSkips ?? '', /software/);
        assert.notEqual(report.auto.name, 'webgpu');
      }
    } else {
      assert.equal(byName.webgpu.starts, false);
      assert.ok(report.webgpu.error);
    }
    if (process.platform === 'linux') {
      assert.equal(report.vulkan.needed, true);
      if (adapter) assert.ok(report.vulkan.loader, 'Dawn found an adapter, so libvulkan.so.1 is somewhere');
    }
    const text = formatInfo(report);
    assert.match(text, /^Backends$/m);
  });
});
