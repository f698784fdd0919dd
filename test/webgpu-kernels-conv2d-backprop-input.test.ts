// The stride-phase GEMM Conv2DBackpropInput for webgpu (src/backend/webgpu-kernels) against the cpu backend's kernel,
// on whatever adapter Dawn finds — in CI, Mesa's lavapipe. Without an adapter the GPU tests skip, unless
// DCGAN_REQUIRE_WEBGPU=1 makes that a failure. lavapipe compiles each pipeline on first use, so the shapes are tiny
// and the cases share the kernel's two pipelines (wide and narrow tiles): every shape goes in as uniforms.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { probeAdapter, shutdownWebgpu, startWebgpu } from '../src/backend/webgpu.js';
import {
  conv2DBackpropInputCounts, issuedMacs, lastFallbackReason, NARROW, planConv2DBackpropInput,
  registerWebgpuConv2DBackpropInput, tileTaps, webgpuConv2DBackpropInputRegistered, WIDE,
} from '../src/backend/webgpu-kernels/conv2d-backprop-input.js';
import { CUSTOM_KERNELS, parseTfjsKernels, registerWebgpuKernels } from '../src/backend/webgpu-kernels/index.js';
import {
  assertClose, assertCountsBack, conv2dBackpropInput, type ConvCase, convInfo, leakCounts, on, type Pad, randoms,
  type Shape4, size, type Strides, webgpuSkip,
} from './kernel-compare.js';

// ---- the phase plan: pure, no GPU -----------------------------------------------------------------------------------

/** The DCGAN at 64×64, width 64, batch 256: dx and filter of every Conv2DBackpropInput in a training step. */
const DCGAN_LAYERS: { name: string; dx: Shape4; filter: Shape4; strides: number; pad: 'same' | 'valid' }[] = [
  { name: 'g0', dx: [256, 4, 4, 512], filter: [4, 4, 512, 100], strides: 1, pad: 'valid' },
  { name: 'g1 (and d3 dx)', dx: [256, 8, 8, 256], filter: [4, 4, 256, 512], strides: 2, pad: 'same' },
  { name: 'g2 (and d2 dx)', dx: [256, 16, 16, 128], filter: [4, 4, 128, 256], strides: 2, pad: 'same' },
  { name: 'g3 (and d1 dx)', dx: [256, 32, 32, 64], filter: [4, 4, 64, 128], strides: 2, pad: 'same' },
  { name: 'g_out (and d0 dx)', dx: [256, 64, 64, 3], filter: [4, 4, 3, 64], strides: 2, pad: 'same' },
  { name: 'd_out dx', dx: [256, 4, 4, 512], filter: [4, 4, 512, 1], strides: 1, pad: 'valid' },
];

describe('phase plan', () => {
  test('the DCGAN layers: one dispatch of thousands of workgroups, no skipped taps multiplied', (t) => {
    for (const layer of DCGAN_LAYERS) {
      const info = convInfo(layer.dx, layer.filter, layer.strides, layer.pad);
      const plan = planConv2DBackpropInput(info);
      const issued = issuedMacs(plan, info);
      const dense = size(layer.dx) * layer.filter[0] * layer.filter[1] * layer.filter[3]; // every tap, skipped or not
      t.diagnostic(`${layer.name}: ${plan.tile.name} ${plan.tile.m}×${plan.tile.n}, ${plan.phases.length} phases × ` +
        `M ${plan.phases[0].M} N ${plan.N} K ${plan.phases[0].K} → ${plan.workgroups} workgroups; useful ` +
        `${(2 * plan.usefulMacs / 1e9).toFixed(2)} GFLOP, issued ${(2 * issued / 1e9).toFixed(2)} ` +
        `(all taps: ${(2 * dense / 1e9).toFixed(2)})`);
      assert.ok(plan.workgroups >= 512 && plan.workgroups <= 65535, `${layer.name}: ${plan.workgroups} workgroups`);
      assert.ok(issued >= plan.usefulMacs);
      // batch 256 ≥ the tile height: each tile loops over exactly the taps that reach dy, so only the N tile and
      // the last K step of a tile round up: at worst a tile with one tap, K = Co (g0: 100 → 4 steps of 32)
      const nRound = plan.tilesN * plan.tile.n / plan.N;
      const co = layer.filter[3];
      const kRound = Math.ceil(co / plan.tile.k) * plan.tile.k / co;
      assert.ok(issued <= plan.usefulMacs * kRound * nRound * 1.0001, `${layer.name}: issues ${issued / plan.usefulMacs}×`);
    }
  });

  test('phases partition dx, with the taps of the wasm derivation', () => {
    const cases: [Shape4, Shape4, Strides, Pad][] = [
      [[2, 7, 9, 3], [4, 4, 3, 5], 2, 'same'],
      [[1, 6, 5, 4], [1, 1, 4, 2], 2, 'valid'],
      [[1, 7, 6, 8], [3, 2, 8, 2], [2, 1], 'same'],
      [[1, 6, 7, 4], [3, 3, 4, 5], 2, [[0, 0], [1, 2], [2, 0], [0, 0]]],
      [[1, 5, 5, 2], [3, 3, 2, 2], 3, 'same'],
    ];
    for (const [dx, filter, strides, pad] of cases) {
      const info = convInfo(dx, filter, strides, pad);
      const plan = planConv2DBackpropInput(info);
      assert.equal(plan.tile, dx[3] <= 4 ? NARROW : WIDE);
      const seen = new Array(dx[1] * dx[2]).fill(0);
      for (const p of plan.phases) {
        for (let u = 0; u < p.rows; u++) {
          for (let v = 0; v < p.cols; v++) {
            const ih = p.firstH + u * info.strideHeight;
            const iw = p.firstW + v * info.strideWidth;
            assert.equal((ih + info.padInfo.top) % info.strideHeight, p.rh);
            assert.equal((p.q0h + u) * info.strideHeight + p.rh, ih + info.padInfo.top);
            seen[ih * dx[2] + iw]++;
          }
        }
        assert.equal(p.tapsH, Math.max(0, Math.ceil((filter[0] - p.rh) / info.strideHeight)));
      }
      assert.deepEqual(seen, new Array(dx[1] * dx[2]).fill(1), 'every dx pixel in exactly one phase');
    }
  });

  test('a tile covering one (u, v) loops over exactly the taps that reach dy', () => {
    // g0: dy 1×1, dx 4×4, k4 s1 valid: dx pixel (u, v) sees only tap (u, v)
    const info = convInfo([64, 4, 4, 8], [4, 4, 8, 100], 1, 'valid');
    const plan = planConv2DBackpropInput(info);
    const phase = plan.phases[0];
    for (let t = 0; t < phase.tilesM; t++) {
      const taps = tileTaps(phase, t * WIDE.m, WIDE.m, 64, 1, 1);
      assert.deepEqual(taps, { jh0: Math.floor(t / 4), nh: 1, jw0: t % 4, nw: 1 });
    }
    // a tile over several rows of a small batch falls back to a superset
    const small = planConv2DBackpropInput(convInfo([2, 8, 8, 8], [4, 4, 8, 3], 2, 'same'));
    const taps = tileTaps(small.phases[0], 0, WIDE.m, 2, 4, 4);
    assert.deepEqual([taps.nh, taps.nw], [2, 2]);
  });

  test('DCGAN_TFJS_KERNELS parsing', () => {
    assert.deepEqual([...parseTfjsKernels(undefined)], []);
    assert.deepEqual([...parseTfjsKernels('')], []);
    assert.deepEqual([...parseTfjsKernels(' conv2dbackpropinput ')], ['Conv2DBackpropInput']);
    assert.deepEqual([...parseTfjsKernels('Conv2DBackpropFilter,Conv2DBackpropInput')].sort(),
      ['Conv2DBackpropFilter', 'Conv2DBackpropInput']);
    assert.deepEqual([...parseTfjsKernels('all')].sort(), [...CUSTOM_KERNELS].sort());
    assert.throws(() => parseTfjsKernels('Conv2DBackpropInputs'), /none of this project's webgpu kernels/);
  });
});

// ---- on an adapter ----------------------------------------------------------------------------------------------

const skip = await webgpuSkip(probeAdapter);

/**
 * Leaves freed GPU buffers of `elements` floats full of NaN in tfjs's pool, which hands them to the next outputs of
 * that size: a dx element the kernel does not write then shows as NaN instead of a fresh buffer's zero.
 */
async function poison(elements: number): Promise<void> {
  assert.ok(await tf.setBackend('webgpu'));
  const filled = [0, 1, 2].map(() => tf.fill([elements], NaN));
  await Promise.all(filled.map((t) => t.data()));
  tf.dispose(filled);
}

/** A ConvCase whose convolution input is named for what this kernel computes, dx. */
interface Case extends Omit<ConvCase, 'x'> {
  dx: Shape4;
}

const cases: Case[] = [
  { name: 'k4 s2 same, 8×8, batch 2, Ci 8, Co 6', dx: [2, 8, 8, 8], filter: [4, 4, 8, 6], strides: 2, pad: 'same' },
  { name: 'k4 s2 same, odd 7×9, batch 1, Ci 5', dx: [1, 7, 9, 5], filter: [4, 4, 5, 6], strides: 2, pad: 'same' },
  { name: 'the DCGAN output layer: k4 s2 same, Ci 3 (narrow tile), batch 2', dx: [2, 8, 8, 3], filter: [4, 4, 3, 8], strides: 2, pad: 'same' },
  { name: 'Ci 3 at odd 7×9, batch 3 (narrow)', dx: [3, 7, 9, 3], filter: [4, 4, 3, 5], strides: 2, pad: 'same' },
  { name: 'k4 s1 valid from 1×1 (G\'s first block), batch 3', dx: [3, 4, 4, 6], filter: [4, 4, 6, 10], strides: 1, pad: 'valid' },
  { name: 'k3 s2 same, 7×6, batch 2', dx: [2, 7, 6, 5], filter: [3, 3, 5, 4], strides: 2, pad: 'same' },
  { name: 'k3 s2 valid, odd 7×9, batch 3', dx: [3, 7, 9, 6], filter: [3, 3, 6, 5], strides: 2, pad: 'valid' },
  { name: 'k1 s2 valid: three phases have no taps and write zeros', dx: [2, 6, 5, 5], filter: [1, 1, 5, 7], strides: 2, pad: 'valid' },
  { name: 'k3×2 strides [2,1] same, Ci 3', dx: [2, 7, 6, 3], filter: [3, 2, 3, 5], strides: [2, 1], pad: 'same' },
  { name: 'k3×2 strides [2,1] same, Ci 6', dx: [1, 7, 6, 6], filter: [3, 2, 6, 5], strides: [2, 1], pad: 'same' },
  {
    name: 'k3 s2 explicit uneven padding, 6×7', dx: [1, 6, 7, 4], filter: [3, 3, 4, 5], strides: 2,
    pad: [[0, 0], [1, 2], [2, 0], [0, 0]],
  },
  {
    name: 'k3 s2 pad 0 rounded up, 8×10 (windows reach past dx)', dx: [1, 8, 10, 6], filter: [3, 3, 6, 3],
    strides: 2, pad: 0, dimRoundingMode: 'ceil',
  },
  { name: 'k3 s3 same, 5×5: taps per phase 1', dx: [1, 5, 5, 7], filter: [3, 3, 7, 4], strides: 3, pad: 'same' },
  // phase M = 10·9 = 90 (2 tiles of 64), N = 70 (2 tiles of 64), K = 4·6 = 24 (one short step)
  { name: 'M 90 × N 70 × K 24 per phase: 2×2 tiles', dx: [1, 20, 18, 70], filter: [4, 4, 70, 6], strides: 2, pad: 'same' },
  // 66 = 2 K steps of 32 for the full tap set; 16 tiles of 64 rows, each at one (u, v): one tap each
  { name: 'batch 64, 1×1 → 4×4: single-position tiles, one tap each', dx: [64, 4, 4, 6], filter: [4, 4, 6, 33], strides: 1, pad: 'valid' },
  // narrow tiles of 256 rows at batch 256: a tile per (phase, u, v)
  { name: 'batch 256, Ci 3: single-position narrow tiles', dx: [256, 4, 4, 3], filter: [4, 4, 3, 4], strides: 2, pad: 'same' },
];

describe('webgpu Conv2DBackpropInput (stride-phase GEMM)', { skip }, () => {
  before(async () => {
    await startWebgpu({ allowSoftware: true }); // registers the kernel too
  });
  after(async () => {
    await shutdownWebgpu();
  });

  test('startWebgpu registered it; registering again is harmless', (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    assert.ok(webgpuConv2DBackpropInputRegistered());
    const ours = tf.getKernel('Conv2DBackpropInput', 'webgpu')!.kernelFunc;
    registerWebgpuKernels('');
    registerWebgpuConv2DBackpropInput();
    assert.equal(warn.mock.callCount(), 0);
    assert.equal(tf.getKernel('Conv2DBackpropInput', 'webgpu')!.kernelFunc, ours);
  });

  for (const c of cases) {
    test(`matches cpu: ${c.name}`, async (t) => {
      const info = convInfo(c.dx, c.filter, c.strides, c.pad, c.dimRoundingMode);
      const dyShape = info.outShape;
      const dys = randoms(size(dyShape), 1);
      const ws = randoms(size(c.filter), 2);
      const run = () => [conv2dBackpropInput(tf.tensor4d(dys, dyShape), tf.tensor4d(ws, c.filter), c.dx, c.strides,
        c.pad, 'NHWC', c.dimRoundingMode)];
      const plan = planConv2DBackpropInput(info);
      await poison(size(c.dx));
      const before = { ...conv2DBackpropInputCounts };
      const gpu = await on('webgpu', run);
      assert.equal(conv2DBackpropInputCounts[plan.tile.name], before[plan.tile.name] + 1, 'the phase GEMM did not run');
      assert.equal(conv2DBackpropInputCounts.fallback, before.fallback, 'tfjs\'s kernel ran instead');
      const cpu = await on('cpu', run);
      const relative = assertClose(gpu, cpu);
      t.diagnostic(`${plan.tile.name}, ${plan.phases.length} phases, ${plan.workgroups} workgroups; webgpu ` +
        `${gpu.ms.toFixed(0)} ms, cpu ${cpu.ms.toFixed(0)} ms; max relative error ${relative.toExponential(1)}`);
    });
  }

  test('NCHW goes to tfjs\'s own kernel, and matches cpu', async () => {
    const dx: Shape4 = [1, 3, 7, 9];
    const filter: Shape4 = [4, 4, 3, 5];
    const dyShape = convInfo(dx, filter, 2, 'same', undefined, 'NCHW').outShape;
    const dys = randoms(size(dyShape), 3);
    const ws = randoms(size(filter), 4);
    const run = () => [conv2dBackpropInput(tf.tensor4d(dys, dyShape), tf.tensor4d(ws, filter), dx, 2, 'same', 'NCHW')];
    const before = { ...conv2DBackpropInputCounts };
    const gpu = await on('webgpu', run);
    assert.equal(conv2DBackpropInputCounts.fallback, before.fallback + 1);
    assert.equal(lastFallbackReason, 'NCHW');
    assert.equal(conv2DBackpropInputCounts.wide + conv2DBackpropInputCounts.narrow, before.wide + before.narrow);
    assertClose(gpu, await on('cpu', run));
  });

  test('conv2dTranspose forward (G\'s blocks) and the input gradient of conv2d (D\'s) match cpu', async (t) => {
    const zShape: Shape4 = [2, 1, 1, 10];
    const w0Shape: Shape4 = [4, 4, 8, 10]; // 1×1 → 4×4, k4 s1 valid
    const w1Shape: Shape4 = [4, 4, 3, 8]; // 4×4 → 8×8, k4 s2 same, to RGB
    const xShape: Shape4 = [2, 8, 8, 3];
    const w2Shape: Shape4 = [4, 4, 3, 6]; // D's first conv
    const zs = randoms(size(zShape), 5);
    const w0s = randoms(size(w0Shape), 6);
    const w1s = randoms(size(w1Shape), 7);
    const xs = randoms(size(xShape), 8);
    const w2s = randoms(size(w2Shape), 9);
    const dys = randoms(2 * 4 * 4 * 6, 10);
    const run = () => {
      const h = tf.conv2dTranspose(tf.tensor4d(zs, zShape), tf.tensor4d(w0s, w0Shape), [2, 4, 4, 8], 1, 'valid');
      const y = tf.conv2dTranspose(h, tf.tensor4d(w1s, w1Shape), [2, 8, 8, 3], 2, 'same');
      const w2 = tf.tensor4d(w2s, w2Shape);
      const dx = tf.grad((x: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w2, 2, 'same'))(tf.tensor4d(xs, xShape), tf.tensor4d(dys, [2, 4, 4, 6]));
      return [h, y, dx];
    };
    const before = { ...conv2DBackpropInputCounts };
    const gpu = await on('webgpu', run);
    assert.equal(conv2DBackpropInputCounts.wide, before.wide + 1, 'the 1×1 → 4×4 block');
    assert.equal(conv2DBackpropInputCounts.narrow, before.narrow + 2, 'the RGB layer and D\'s input gradient');
    assert.equal(conv2DBackpropInputCounts.fallback, before.fallback);
    const cpu = await on('cpu', run);
    t.diagnostic(`max relative error ${assertClose(gpu, cpu).toExponential(1)}`);
  });

  test('leaves no tensors or buffers behind and its inputs intact', async () => {
    assert.ok(await tf.setBackend('webgpu'));
    for (const dx of [[2, 8, 8, 3], [2, 8, 8, 8]] as Shape4[]) {
      const filter: Shape4 = [4, 4, dx[3], 5];
      const dyShape = convInfo(dx, filter, 2, 'same').outShape;
      const dys = randoms(size(dyShape), 11);
      const ws = randoms(size(filter), 12);
      const dy = tf.tensor4d(dys, dyShape);
      const w = tf.tensor4d(ws, filter);
      // Once before counting, and read back: that submits the queue, so nothing earlier is still pending release.
      const warm = conv2dBackpropInput(dy, w, dx, 2, 'same');
      await warm.data();
      warm.dispose();
      const before = leakCounts();
      const out = conv2dBackpropInput(dy, w, dx, 2, 'same');
      await out.data();
      const after = leakCounts();
      assert.equal(after.numTensors, before.numTensors + 1);
      assert.equal(after.dataIds, before.dataIds + 1);
      out.dispose();
      assertCountsBack(before);
      assert.deepEqual(await dy.data(), dys);
      assert.deepEqual(await w.data(), ws);
      tf.dispose([dy, w]);
    }
  });

  test('DCGAN_TFJS_KERNELS leaves tfjs\'s kernels in place, and unsetting it restores ours', async () => {
    const previous = process.env.DCGAN_TFJS_KERNELS;
    const filterBefore = tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc;
    const dx: Shape4 = [1, 6, 6, 3];
    const filter: Shape4 = [4, 4, 3, 4];
    const dyShape = convInfo(dx, filter, 2, 'same').outShape;
    const dys = randoms(size(dyShape), 13);
    const ws = randoms(size(filter), 14);
    const run = () => [conv2dBackpropInput(tf.tensor4d(dys, dyShape), tf.tensor4d(ws, filter), dx, 2, 'same')];
    try {
      process.env.DCGAN_TFJS_KERNELS = 'Conv2DBackpropInput';
      assert.deepEqual(registerWebgpuKernels(), ['Conv2DBackpropFilter']);
      assert.ok(!webgpuConv2DBackpropInputRegistered());
      assert.equal(tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc, filterBefore, 'the other one stays');
      const before = { ...conv2DBackpropInputCounts };
      const gpu = await on('webgpu', run);
      assert.deepEqual(conv2DBackpropInputCounts, before, 'tfjs\'s kernel ran, not through ours');
      assertClose(gpu, await on('cpu', run));

      process.env.DCGAN_TFJS_KERNELS = 'Conv2DBackpropFilter, Conv2DBackpropInput';
      assert.deepEqual(registerWebgpuKernels(), []);
      assert.notEqual(tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc, filterBefore);

      delete process.env.DCGAN_TFJS_KERNELS;
      assert.deepEqual(registerWebgpuKernels(), ['Conv2DBackpropFilter', 'Conv2DBackpropInput']);
      assert.ok(webgpuConv2DBackpropInputRegistered());
      assert.equal(tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc, filterBefore);
      const again = { ...conv2DBackpropInputCounts };
      await on('webgpu', run);
      assert.equal(conv2DBackpropInputCounts.narrow, again.narrow + 1);
    } finally {
      if (previous === undefined) delete process.env.DCGAN_TFJS_KERNELS;
      else process.env.DCGAN_TFJS_KERNELS = previous;
      registerWebgpuKernels('');
    }
  });
});
