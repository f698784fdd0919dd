// The split-K Conv2DBackpropFilter for webgpu (src/backend/webgpu-kernels) against the cpu backend's kernel, on
// whatever adapter Dawn finds — in CI, Mesa's lavapipe. Without an adapter the GPU tests skip, unless
// DCGAN_REQUIRE_WEBGPU=1 makes that a failure. lavapipe compiles each pipeline on first use (seconds each; the GEMM
// pipeline ~10 s cold), so the shapes are tiny and the cases share pipelines: every shape goes in as uniforms.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { probeAdapter, shutdownWebgpu, startWebgpu } from '../src/backend/webgpu.js';
import {
  conv2DBackpropFilterCounts, DEFAULT_TUNING, lastFallbackReason, planSplitK, registerWebgpuConv2DBackpropFilter,
  setSplitKTuning, TILE_K,
} from '../src/backend/webgpu-kernels/conv2d-backprop-filter.js';
import { registerWebgpuKernels } from '../src/backend/webgpu-kernels/index.js';
import {
  assertClose, assertCountsBack, conv2dBackpropFilter, type ConvCase, convChain, dyShape, leakCounts, on, randoms,
  type Shape4, size, webgpuSkip,
} from './kernel-compare.js';

// ---- the split-K plan: pure, no GPU ---------------------------------------------------------------------------------

/** The DCGAN at 64×64, width 64, batch 256: [x, filter] of every Conv2DBackpropFilter in one training step. */
const DCGAN_LAYERS: { name: string; x: Shape4; filter: Shape4; strides: number; pad: 'same' | 'valid' }[] = [
  { name: 'd0 (and g_out)', x: [256, 64, 64, 3], filter: [4, 4, 3, 64], strides: 2, pad: 'same' },
  { name: 'd1 (and g3)', x: [256, 32, 32, 64], filter: [4, 4, 64, 128], strides: 2, pad: 'same' },
  { name: 'd2 (and g2)', x: [256, 16, 16, 128], filter: [4, 4, 128, 256], strides: 2, pad: 'same' },
  { name: 'd3 (and g1)', x: [256, 8, 8, 256], filter: [4, 4, 256, 512], strides: 2, pad: 'same' },
  { name: 'd_out', x: [256, 4, 4, 512], filter: [4, 4, 512, 1], strides: 1, pad: 'valid' },
  { name: 'g0', x: [256, 4, 4, 512], filter: [4, 4, 512, 100], strides: 1, pad: 'valid' },
];

describe('split-K plan', () => {
  test('the DCGAN layers get thousands of workgroups, small K none to few splits', (t) => {
    for (const layer of DCGAN_LAYERS) {
      const info = tf.backend_util.computeConv2DInfo(layer.x, layer.filter, layer.strides, 1, layer.pad);
      const M = layer.filter[0] * layer.filter[1] * layer.filter[2];
      const N = layer.filter[3];
      const K = info.batchSize * info.outHeight * info.outWidth;
      const plan = planSplitK(M, N, K, DEFAULT_TUNING);
      const workgroups = plan.tilesM * plan.tilesN * plan.splits;
      t.diagnostic(`${layer.name}: M ${M} N ${N} K ${K} → ${plan.tilesM}×${plan.tilesN} tiles × ${plan.splits} splits ` +
        `of ${plan.kPerSplit} = ${workgroups} workgroups, reduce lanes ${plan.reduceLanes}`);
      assert.equal(plan.kPerSplit % TILE_K, 0);
      assert.ok(plan.splits * plan.kPerSplit >= K && (plan.splits - 1) * plan.kPerSplit < K, 'no slice is empty');
      if (K >= 4096) assert.ok(workgroups >= 1024, `${layer.name}: only ${workgroups} workgroups`);
      else assert.equal(plan.splits, 1, `${layer.name}: K ${K} is too small to split`);
    }
  });

  test('splits respect the floor on K per split, the partials budget and the dispatch limit', () => {
    assert.equal(planSplitK(48, 64, 255, DEFAULT_TUNING).splits, 1);
    assert.equal(planSplitK(48, 64, 512, DEFAULT_TUNING).splits, 2);
    const tight = planSplitK(4096, 512, 4096, { ...DEFAULT_TUNING, maxPartialBytes: 2 * 4 * 4096 * 512 });
    assert.equal(tight.splits, 2);
    assert.equal(planSplitK(48, 64, 1 << 24, DEFAULT_TUNING, 100).splits, 100);
    assert.throws(() => setSplitKTuning({ minKPerSplit: 48 }), /multiple of 32/);
  });
});

// ---- on an adapter ----------------------------------------------------------------------------------------------

const skip = await webgpuSkip(probeAdapter);

interface Case extends ConvCase {
  /** minKPerSplit for this case (the default plan does not split tiny K) */
  minKPerSplit?: number;
  /** how many K slices the plan must give */
  splits?: number;
}

const cases: Case[] = [
  { name: 'k4 s2 same, 8×8, batch 2, Ci 3, Co 8 (a DCGAN layer)', x: [2, 8, 8, 3], filter: [4, 4, 3, 8], strides: 2, pad: 'same' },
  { name: 'k4 s2 same, odd 7×9, batch 1, Ci 3, Co 8', x: [1, 7, 9, 3], filter: [4, 4, 3, 8], strides: 2, pad: 'same' },
  { name: 'k4 s1 valid, 4×4, batch 4, Co 1 (the D head)', x: [4, 4, 4, 16], filter: [4, 4, 16, 1], strides: 1, pad: 'valid' },
  { name: 'k3 s2 valid, odd 7×9, batch 3', x: [3, 7, 9, 5], filter: [3, 3, 5, 6], strides: 2, pad: 'valid' },
  { name: 'k1 s1 same, 5×6, batch 2', x: [2, 5, 6, 7], filter: [1, 1, 7, 9], strides: 1, pad: 'same' },
  { name: 'k3 strides [2,1] same, 7×6, batch 2', x: [2, 7, 6, 3], filter: [3, 2, 3, 5], strides: [2, 1], pad: 'same' },
  {
    name: 'k3 s2 explicit uneven padding, 6×7', x: [1, 6, 7, 4], filter: [3, 3, 4, 5], strides: 2,
    pad: [[0, 0], [1, 2], [2, 0], [0, 0]],
  },
  {
    name: 'k3 s2 pad 0 rounded up, 8×10 (windows reach past the input)', x: [1, 8, 10, 2], filter: [3, 3, 2, 3],
    strides: 2, pad: 0, dimRoundingMode: 'ceil',
  },
  { name: 'M 90 × N 70: 2×2 tiles, neither a multiple of 64', x: [1, 6, 6, 10], filter: [3, 3, 10, 70], strides: 1, pad: 'same' },
  // split-K: K = 8·16·16 = 2048 gives 8 slices of 256 with the default plan
  {
    name: 'split-K, default plan: x [8,32,32,3], dy [8,16,16,8]', x: [8, 32, 32, 3], filter: [4, 4, 3, 8], strides: 2,
    pad: 'same', splits: 8,
  },
  // K = 8·15·15 = 1800: 29 slices of 64, the last of 8, summed by 4 lanes per output
  {
    name: 'split-K, 29 slices, the last one short', x: [8, 30, 30, 3], filter: [4, 4, 3, 8], strides: 2, pad: 'same',
    minKPerSplit: 32, splits: 29,
  },
  // K = 2·8·8 = 128 → 4 slices of 32 over 2×2 tiles (workgroup → slice, tile row, tile column), one lane per output
  {
    name: 'split-K over 2×2 tiles, 4 slices', x: [2, 16, 16, 10], filter: [3, 3, 10, 70], strides: 2, pad: 'same',
    minKPerSplit: 32, splits: 4,
  },
];

describe('webgpu Conv2DBackpropFilter (split-K GEMM)', { skip }, () => {
  before(async () => {
    await startWebgpu({ allowSoftware: true }); // registers the kernel too
  });
  after(async () => {
    setSplitKTuning(DEFAULT_TUNING);
    await shutdownWebgpu();
  });

  test('startWebgpu registered it; registering again is harmless', (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    const ours = tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc;
    registerWebgpuKernels();
    registerWebgpuConv2DBackpropFilter();
    assert.equal(warn.mock.callCount(), 0);
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc, ours);
    const before = { ...conv2DBackpropFilterCounts };
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const dy = tf.ones([1, 2, 2, 1]) as tf.Tensor4D;
    tf.dispose(conv2dBackpropFilter(x, dy, [2, 2, 1, 1], 2, 'valid'));
    tf.dispose([x, dy]);
    assert.equal(tf.getBackend(), 'webgpu');
    assert.equal(conv2DBackpropFilterCounts.gemm, before.gemm + 1);
  });

  for (const c of cases) {
    test(`matches cpu: ${c.name}`, async (t) => {
      setSplitKTuning({ minKPerSplit: c.minKPerSplit ?? DEFAULT_TUNING.minKPerSplit });
      try {
        const dy = dyShape(c.x, c.filter, c.strides, c.pad, c.dimRoundingMode);
        const xs = randoms(size(c.x), 1);
        const dys = randoms(size(dy), 2);
        const run = () => [conv2dBackpropFilter(tf.tensor4d(xs, c.x), tf.tensor4d(dys, dy), c.filter, c.strides, c.pad,
          'NHWC', c.dimRoundingMode)];
        const before = { ...conv2DBackpropFilterCounts };
        const gpu = await on('webgpu', run);
        assert.equal(conv2DBackpropFilterCounts.gemm, before.gemm + 1, 'the split-K kernel did not run');
        assert.equal(conv2DBackpropFilterCounts.fallback, before.fallback, 'tfjs\'s kernel ran instead');
        const splits = c.splits ?? 1;
        assert.equal(conv2DBackpropFilterCounts.reduced, before.reduced + (splits > 1 ? 1 : 0));
        const M = c.filter[0] * c.filter[1] * c.filter[2];
        assert.equal(planSplitK(M, c.filter[3], dy[0] * dy[1] * dy[2]).splits, splits);
        const cpu = await on('cpu', run);
        const relative = assertClose(gpu, cpu);
        if (splits > 1) {
          const again = await on('webgpu', run);
          assert.deepEqual(again.outputs[0].values, gpu.outputs[0].values, 'the split-K sum is not deterministic');
        }
        t.diagnostic(`webgpu ${gpu.ms.toFixed(0)} ms (the first case includes compiling), cpu ${cpu.ms.toFixed(0)} ms; ` +
          `max relative error ${relative.toExponential(1)}`);
      } finally {
        setSplitKTuning(DEFAULT_TUNING);
      }
    });
  }

  test('NCHW goes to tfjs\'s own kernel, and matches cpu', async () => {
    const xShape: Shape4 = [1, 3, 7, 9];
    const filter: Shape4 = [4, 4, 3, 5];
    const dy = dyShape(xShape, filter, 2, 'same', undefined, 'NCHW');
    const xs = randoms(size(xShape), 3);
    const dys = randoms(size(dy), 4);
    const run = () => [conv2dBackpropFilter(tf.tensor4d(xs, xShape), tf.tensor4d(dys, dy), filter, 2, 'same', 'NCHW')];
    const before = { ...conv2DBackpropFilterCounts };
    const gpu = await on('webgpu', run);
    assert.equal(conv2DBackpropFilterCounts.fallback, before.fallback + 1);
    assert.equal(lastFallbackReason, 'NCHW');
    assert.equal(conv2DBackpropFilterCounts.gemm, before.gemm);
    assertClose(gpu, await on('cpu', run));
  });

  test('filter gradients of a conv2d → conv2dTranspose chain match cpu', async (t) => {
    // A discriminator-style conv then a generator-style transposed conv: both filter gradients go through
    // Conv2DBackpropFilter (the transposed conv's via the gradient of Conv2DBackpropInput).
    const { xShape, w1Shape, w2Shape, outShape, xs, w1s, w2s, targets } = convChain(2, 5);
    const run = () => {
      const x = tf.tensor4d(xs, xShape);
      const target = tf.tensor4d(targets, outShape);
      const loss = (w1: tf.Tensor, w2: tf.Tensor) => {
        const h = tf.conv2d(x, w1 as tf.Tensor4D, 2, 'same');
        const y = tf.conv2dTranspose(h, w2 as tf.Tensor4D, outShape, 2, 'same');
        return tf.sum(tf.mul(y, target));
      };
      return tf.grads(loss)([tf.tensor4d(w1s, w1Shape), tf.tensor4d(w2s, w2Shape)]);
    };
    const before = { ...conv2DBackpropFilterCounts };
    const gpu = await on('webgpu', run);
    assert.equal(conv2DBackpropFilterCounts.gemm, before.gemm + 2, 'both filter gradients go through the kernel');
    const cpu = await on('cpu', run);
    t.diagnostic(`max relative error ${assertClose(gpu, cpu).toExponential(1)}`);
  });

  test('leaves no tensors or buffers behind and its inputs intact, with and without split-K', async () => {
    assert.ok(await tf.setBackend('webgpu'));
    for (const [xShape, minKPerSplit] of [[[2, 8, 8, 3], 256], [[2, 16, 16, 3], 32]] as [Shape4, number][]) {
      setSplitKTuning({ minKPerSplit });
      try {
        const filter: Shape4 = [4, 4, 3, 8];
        const dy = dyShape(xShape, filter, 2, 'same');
        const xs = randoms(size(xShape), 9);
        const x = tf.tensor4d(xs, xShape);
        const dyT = tf.tensor4d(randoms(size(dy), 10), dy);
        // Once before counting, and read back: that submits the queue, so nothing earlier is still pending release.
        const warm = conv2dBackpropFilter(x, dyT, filter, 2, 'same');
        await warm.data();
        warm.dispose();
        const reducedBefore = conv2DBackpropFilterCounts.reduced;
        const before = leakCounts();
        const dW = conv2dBackpropFilter(x, dyT, filter, 2, 'same');
        await dW.data();
        const after = leakCounts();
        assert.equal(conv2DBackpropFilterCounts.reduced, reducedBefore + (minKPerSplit === 32 ? 1 : 0));
        assert.equal(after.numTensors, before.numTensors + 1);
        assert.equal(after.dataIds, before.dataIds + 1, 'the partials were not released');
        dW.dispose();
        assertCountsBack(before);
        assert.deepEqual(await x.data(), xs);
        tf.dispose([x, dyT]);
      } finally {
        setSplitKTuning(DEFAULT_TUNING);
      }
    }
  });
});
