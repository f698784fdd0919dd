// The phase-decomposed wasm Conv2DBackpropInput is checked against the cpu backend's kernel, which tfjs ships and
// tests itself. Inputs are plain Float32Arrays from a seeded PRNG so each backend builds its own tensors from the
// same numbers. The original wasm kernel, which the new one keeps as a fallback, is wrapped in a call counter
// before the new one is registered: a case the new kernel claims to handle must not reach it.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  forceConv2DBackpropInputStrategy, registerWasmConv2DBackpropInput, type Strategy,
} from '../src/backend/wasm-conv2d-backprop-input.js';
import { registerWasmConv2DBackpropFilter } from '../src/backend/wasm-conv2d-backprop-filter.js';
import { registerBatchNormGradient } from '../src/backend/batchnorm-grad.js';
import { d2l } from '../src/model/d2l.js';
import { buildDiscriminator, buildGenerator } from '../src/model/build.js';
import {
  assertCountsBack, assertMatchesCpu, conv2dBackpropInput, type ConvCase, convChain, dyShape, leakCounts, on, type Pad,
  randoms, type Shape4, size, type Strides,
} from './kernel-compare.js';

/** Calls that reached the wasm backend's own Conv2DBackpropInput, which the new kernel falls back to. */
let originalCalls = 0;

before(async () => {
  // Wrap the original before the new kernel is registered, so that the new kernel's fallback is the wrapper.
  const original = tf.getKernel('Conv2DBackpropInput', 'wasm');
  assert.ok(original);
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      originalCalls++;
      return original.kernelFunc(args);
    },
  });
  registerWasmConv2DBackpropInput();
  registerWasmConv2DBackpropFilter(); // for the gradient tests below
  assert.ok(await tf.setBackend('wasm'));
  await tf.ready();
});

test('registering twice is harmless and keeps the new kernel', (t) => {
  const warn = t.mock.method(console, 'warn', () => {});
  const kernel = tf.getKernel('Conv2DBackpropInput', 'wasm');
  registerWasmConv2DBackpropInput();
  registerWasmConv2DBackpropInput();
  assert.equal(warn.mock.callCount(), 0);
  assert.equal(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, kernel?.kernelFunc);
  assert.ok(tf.getKernel('Conv2DBackpropInput', 'wasm')?.setupFunc, 'the original setup must still run at backend init');
});

const cases: ConvCase[] = [
  { name: 'k4 s2 same, 8×8, batch 1, Cin 3 Cout 5 (a generator layer)', x: [1, 8, 8, 3], filter: [4, 4, 3, 5], strides: 2, pad: 'same' },
  { name: 'k4 s2 same, odd 7×9, batch 3', x: [3, 7, 9, 2], filter: [4, 4, 2, 4], strides: 2, pad: 'same' },
  { name: 'k4 s2 same, 16×16, batch 2, Cin 8 Cout 16', x: [2, 16, 16, 8], filter: [4, 4, 8, 16], strides: 2, pad: 'same' },
  { name: 'k4 s2 same, 16×16, batch 2, Cin 16 Cout 8', x: [2, 16, 16, 16], filter: [4, 4, 16, 8], strides: 2, pad: 'same' },
  { name: 'k4 s2 same, 1×1 → 1×1 (padding before)', x: [3, 1, 1, 2], filter: [4, 4, 2, 3], strides: 2, pad: 'same' },
  { name: 'k4 s1 valid, 4×4 from 1×1 (the generator\'s first block)', x: [3, 4, 4, 5], filter: [4, 4, 5, 6], strides: 1, pad: 'valid' },
  { name: 'k4 s1 valid, 4×4 from 1×1, Cin 32 (the discriminator head)', x: [2, 4, 4, 32], filter: [4, 4, 32, 1], strides: 1, pad: 'valid' },
  { name: 'k2 s3 same, 3×3 from 1×1 (dx the kernel never reaches)', x: [2, 3, 3, 2], filter: [2, 2, 2, 3], strides: 3, pad: 'same' },
  { name: 'k3 s2 same, 7×9, Cin 17 Cout 5', x: [2, 7, 9, 17], filter: [3, 3, 17, 5], strides: 2, pad: 'same' },
  { name: 'k4 s1 valid, 7×9, batch 3, Cout 1 (the discriminator head)', x: [3, 7, 9, 2], filter: [4, 4, 2, 1], strides: 1, pad: 'valid' },
  { name: 'k3 s1 same, 7×9, batch 3', x: [3, 7, 9, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'same' },
  { name: 'k3 s2 same, 7×9, batch 1', x: [1, 7, 9, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { name: 'k3 s2 valid, 7×9, batch 1', x: [1, 7, 9, 4], filter: [3, 3, 4, 3], strides: 2, pad: 'valid' },
  { name: 'k3 s2 valid, 7×10, batch 3 (last input column unused)', x: [3, 7, 10, 2], filter: [3, 3, 2, 4], strides: 2, pad: 'valid' },
  { name: 'k1 s1 valid, 7×9, batch 3', x: [3, 7, 9, 3], filter: [1, 1, 3, 5], strides: 1, pad: 'valid' },
  { name: 'k1 s2 same, 7×9, batch 1 (three of four phases empty)', x: [1, 7, 9, 2], filter: [1, 1, 2, 3], strides: 2, pad: 'same' },
  { name: 'k1 s2 same, 8×9, batch 3 (last input row unused)', x: [3, 8, 9, 3], filter: [1, 1, 3, 2], strides: 2, pad: 'same' },
  { name: 'k2 s3 valid, 8×9 (kernel smaller than the stride)', x: [2, 8, 9, 2], filter: [2, 2, 2, 3], strides: 3, pad: 'valid' },
  { name: 'k5 s3 same, 10×11 (phases with 2 and 1 taps)', x: [2, 10, 11, 3], filter: [5, 5, 3, 2], strides: 3, pad: 'same' },
  { name: 'k3 strides [2,1] same, 7×9, batch 3', x: [3, 7, 9, 2], filter: [3, 3, 2, 3], strides: [2, 1], pad: 'same' },
  { name: 'k4 strides [1,2] same, 6×8, batch 2', x: [2, 6, 8, 3], filter: [4, 4, 3, 2], strides: [1, 2], pad: 'same' },
  { name: 'k3 s2 explicit pad 1, 7×9, batch 3', x: [3, 7, 9, 2], filter: [3, 3, 2, 3], strides: 2, pad: 1 },
  {
    name: 'k3 s2 explicit uneven padding, 7×9, batch 1', x: [1, 7, 9, 2], filter: [3, 3, 2, 3], strides: 2,
    pad: [[0, 0], [1, 2], [2, 0], [0, 0]],
  },
  // the direct strategy (Cin a multiple of 16): pairs of pixels, a last pixel alone, taps outside dy for one of a pair
  { name: 'k4 s2 same, odd 7×9, batch 2, Cin 32 Cout 20', x: [2, 7, 9, 32], filter: [4, 4, 32, 20], strides: 2, pad: 'same' },
  { name: 'k3 s2 same, 7×9, Cin 16 Cout 5', x: [2, 7, 9, 16], filter: [3, 3, 16, 5], strides: 2, pad: 'same' },
  { name: 'k5 s3 same, 10×11, Cin 16 Cout 3 (phases with 2 and 1 taps)', x: [2, 10, 11, 16], filter: [5, 5, 16, 3], strides: 3, pad: 'same' },
  { name: 'k3 strides [2,1] same, 7×9, Cin 16', x: [2, 7, 9, 16], filter: [3, 3, 16, 3], strides: [2, 1], pad: 'same' },
  { name: 'k3 s2 pad 4, 5×6, Cin 16 (dy rows that reach no dx row)', x: [2, 5, 6, 16], filter: [3, 3, 16, 3], strides: 2, pad: 4 },
  { name: 'k2 s3 valid, 8×9, Cin 16 (kernel smaller than the stride)', x: [2, 8, 9, 16], filter: [2, 2, 16, 3], strides: 3, pad: 'valid' },
  // the direct strategy from a 1×1 dy: pixel by pixel, two images at a time (three: one left over), taps outside the kernel
  { name: 'k4 s1 valid, 4×4 from 1×1, batch 3, Cin 32 Cout 20 (the generator\'s first block)', x: [3, 4, 4, 32], filter: [4, 4, 32, 20], strides: 1, pad: 'valid' },
  { name: 'k4 s2 same, 2×2 from 1×1, batch 2, Cin 16 Cout 18 (padding before)', x: [2, 2, 2, 16], filter: [4, 4, 16, 18], strides: 2, pad: 'same' },
  { name: 'k3 s2 pad 4, 2×3 from 1×1, Cin 16 (taps outside the kernel)', x: [2, 2, 3, 16], filter: [3, 3, 16, 17], strides: 2, pad: 4 },
  { name: 'k3 s1 pad 3, 5×6 (dy rows that reach no dx row)', x: [2, 5, 6, 2], filter: [3, 3, 2, 3], strides: 1, pad: 3 },
  { name: 'k3 s2 pad 4, 5×6 (dy rows that reach no dx row)', x: [2, 5, 6, 2], filter: [3, 3, 2, 3], strides: 2, pad: 4 },
  {
    name: 'k3 s2 pad 0 rounded up, 8×10 (window reaches past the input)', x: [1, 8, 10, 2], filter: [3, 3, 2, 3],
    strides: 2, pad: 0, dimRoundingMode: 'ceil',
  },
  {
    name: 'k3 s2 pad 0 rounded up, 8×10, Cin 16 (window reaches past the input)', x: [2, 8, 10, 16], filter: [3, 3, 16, 5],
    strides: 2, pad: 0, dimRoundingMode: 'ceil',
  },
  {
    name: 'k3 s2 explicit uneven padding, 7×9, Cin 16', x: [1, 7, 9, 16], filter: [3, 3, 16, 4], strides: 2,
    pad: [[0, 0], [1, 2], [2, 0], [0, 0]],
  },
];

// Every case runs through every strategy the kernel has, and through the one it picks itself.
for (const c of cases) {
  test(`conv2dBackpropInput matches cpu: ${c.name}`, async (t) => {
    const dy = dyShape(c.x, c.filter, c.strides, c.pad, c.dimRoundingMode);
    const dys = randoms(size(dy), 1);
    const ws = randoms(size(c.filter), 2);
    const strategies: Strategy[] = ['auto', 'combined', 'split', ...(dy[1] === 1 && dy[2] === 1 ? ['gemm' as const] : []),
      ...(c.x[3] % 16 === 0 ? ['direct' as const] : [])];
    for (const strategy of strategies) {
      await t.test(strategy, async () => {
        const calls = originalCalls;
        forceConv2DBackpropInputStrategy(strategy);
        try {
          await assertMatchesCpu('wasm', () => [
            conv2dBackpropInput(tf.tensor4d(dys, dy), tf.tensor4d(ws, c.filter), c.x, c.strides, c.pad, 'NHWC',
              c.dimRoundingMode),
          ]);
        } finally {
          forceConv2DBackpropInputStrategy('auto');
        }
        assert.equal(originalCalls, calls, 'the original wasm kernel ran: the new one fell back');
      });
    }
  });
}

test('input gradient of conv2d and input and filter gradients of conv2dTranspose match cpu', async () => {
  // A discriminator-style conv followed by a generator-style transposed conv: the conv's input gradient and the
  // transposed conv's forward pass run Conv2DBackpropInput.
  const { xShape, w1Shape, w2Shape, outShape, xs, w1s, w2s, targets } = convChain(3, 3);
  const calls = originalCalls;
  await assertMatchesCpu('wasm', () => {
    const w1 = tf.tensor4d(w1s, w1Shape);
    const target = tf.tensor4d(targets, outShape);
    const loss = (x: tf.Tensor, h: tf.Tensor, w2: tf.Tensor) => {
      const a = tf.leakyRelu(tf.conv2d(x as tf.Tensor4D, w1, 2, 'same'), 0.2).add(h);
      const y = tf.conv2dTranspose(a as tf.Tensor4D, w2 as tf.Tensor4D, outShape, 2, 'same');
      return tf.sum(tf.mul(tf.tanh(y), target));
    };
    const hShape = dyShape(xShape, w1Shape, 2, 'same');
    return tf.grads(loss)([tf.tensor4d(xs, xShape), tf.zeros(hShape), tf.tensor4d(w2s, w2Shape)]);
  });
  assert.ok(originalCalls === calls, 'the original wasm kernel ran');
});

test('a generator-shaped stack of transposed convs (k4 s1 valid from 1×1, then k4 s2 same) matches cpu', async () => {
  const zs = randoms(3 * 10, 9);
  const w0s = randoms(4 * 4 * 8 * 10, 10);
  const w1s = randoms(4 * 4 * 4 * 8, 11);
  const w2s = randoms(4 * 4 * 3 * 4, 12);
  const calls = originalCalls;
  await assertMatchesCpu('wasm', () => {
    const z = tf.tensor4d(zs, [3, 1, 1, 10]);
    const h0 = tf.relu(tf.conv2dTranspose(z, tf.tensor4d(w0s, [4, 4, 8, 10]), [3, 4, 4, 8], 1, 'valid'));
    const h1 = tf.relu(tf.conv2dTranspose(h0, tf.tensor4d(w1s, [4, 4, 4, 8]), [3, 8, 8, 4], 2, 'same'));
    return [h0, tf.conv2dTranspose(h1, tf.tensor4d(w2s, [4, 4, 3, 4]), [3, 16, 16, 3], 2, 'same')];
  });
  assert.equal(originalCalls, calls, 'the original wasm kernel ran');
});

test('weight gradients of the whole DCGAN (batch norm in training mode) match cpu', async () => {
  // The generator's transposed convolutions (k4 s1 valid from 1×1, then k4 s2 same) and the discriminator's input
  // gradients all run Conv2DBackpropInput (all three strategies: gemm, split, combined). The batch-norm gradient
  // here is still tfjs-core's; the last test compares the replacement with it bit for bit.
  const shape = { imageSize: 16, width: 8, latent: 10, channels: 3, classes: 0 } as const;
  const zs = randoms(4 * 10, 31);
  const xs = randoms(4 * 16 * 16 * 3, 32);
  const calls = originalCalls;
  await assertMatchesCpu('wasm', () => {
    const G = buildGenerator(d2l, shape, 1);
    const D = buildDiscriminator(d2l, shape, 1);
    const z = tf.tensor2d(zs, [4, 10]);
    const x = tf.tensor4d(xs, [4, 16, 16, 3]);
    const vars = [...G.trainableWeights, ...D.trainableWeights].map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => {
      const fake = D.apply(G.apply(z, { training: true }), { training: true }) as tf.Tensor;
      const real = D.apply(x, { training: true }) as tf.Tensor;
      return tf.sub(tf.sum(tf.sigmoid(fake)), tf.sum(tf.sigmoid(real))) as tf.Scalar;
    }, vars);
    const out = vars.map((v) => grads[v.name]);
    G.dispose();
    D.dispose();
    return out;
  });
  assert.equal(originalCalls, calls, 'the original wasm kernel ran');
});

test('leaves no tensors or buffers behind and leaves its inputs intact', async () => {
  assert.ok(await tf.setBackend('wasm'));
  const backend = tf.backend();
  const check = async (xShape: Shape4, filter: Shape4, strides: Strides, pad: Pad) => {
    const dy = dyShape(xShape, filter, strides, pad);
    const dys = randoms(size(dy), 7);
    const ws = randoms(size(filter), 8);
    const dyT = tf.tensor4d(dys, dy);
    const w = tf.tensor4d(ws, filter);

    const before = leakCounts();
    const dx = conv2dBackpropInput(dyT, w, xShape, strides, pad);
    const after = leakCounts();
    assert.equal(after.numTensors, before.numTensors + 1);
    assert.equal(after.numDataBuffers, before.numDataBuffers + 1);
    assert.equal(after.dataIds, before.dataIds + 1);
    assert.equal(backend.refCount(dx.dataId), 1, 'the result shares its buffer with nothing');

    dx.dispose();
    assertCountsBack(before);
    assert.deepEqual(await dyT.data(), dys);
    assert.deepEqual(await w.data(), ws);
    tf.dispose([dyT, w]);
  };
  try {
    for (const strategy of ['auto', 'combined', 'split', 'gemm'] as const) {
      forceConv2DBackpropInputStrategy(strategy);
      await check([2, 7, 9, 3], [4, 4, 3, 5], 2, 'same');
      await check([2, 8, 8, 16], [4, 4, 16, 5], 2, 'same');
      await check([2, 7, 9, 2], [1, 1, 2, 3], 2, 'same'); // empty phases
      await check([2, 4, 4, 3], [4, 4, 3, 5], 1, 'valid'); // from 1×1: gemm, or the Conv2D output is dx
      await check([2, 5, 6, 3], [3, 3, 3, 5], 1, 'same'); // stride 1: the Conv2D output is dx
      await check([2, 7, 9, 2], [3, 3, 2, 3], [2, 1], 'same');
      await check([2, 5, 6, 2], [3, 3, 2, 3], 1, 3); // cropped dy
      await check([2, 5, 6, 2], [3, 3, 2, 3], 2, 4); // cropped dy
    }
  } finally {
    forceConv2DBackpropInputStrategy('auto');
  }
});

test('NCHW goes to the original kernel and still matches cpu', async () => {
  const xShape: Shape4 = [2, 3, 8, 8]; // NCHW
  const filter: Shape4 = [4, 4, 3, 5];
  const dy: Shape4 = [2, 5, 4, 4];
  const dys = randoms(size(dy), 13);
  const ws = randoms(size(filter), 14);
  const calls = originalCalls;
  await assertMatchesCpu('wasm', () => [
    conv2dBackpropInput(tf.tensor4d(dys, dy), tf.tensor4d(ws, filter), xShape, 2, 'same', 'NCHW'),
  ]);
  assert.equal(originalCalls, calls + 1, 'NCHW should have run the original wasm kernel once');
});

// ---- The FusedBatchNorm gradient without Tile (src/backend/batchnorm-grad.ts) ----
// It replaces tfjs-core's gradient for every backend, so it must give exactly what tfjs-core's gives: compared bit
// for bit on cpu and on wasm, with the per-channel mean and variance from tf.moments as tf.layers computes them.

// (tfjs 4.22 cannot take these gradients without a scale or an offset, or with a mean of x's rank, whichever
// gradient is registered: those stay out.)
const batchNormCases: { name: string; x: number[] }[] = [
  { name: 'x [3, 5, 4, 6]', x: [3, 5, 4, 6] },
  { name: 'x [8, 8, 8, 32] (a DCGAN layer)', x: [8, 8, 8, 32] },
  { name: 'x [7, 5] (2D)', x: [7, 5] },
];

/** Gradients of a batch-norm loss w.r.t. x (through the moments too), scale and offset. */
function batchNormGrads(c: (typeof batchNormCases)[number]): tf.Tensor[] {
  const channels = c.x[c.x.length - 1];
  const x = tf.tensor(randoms(size(c.x), 21), c.x);
  const scale = tf.tensor(randoms(channels, 22), [channels]);
  const offset = tf.tensor(randoms(channels, 23), [channels]);
  const target = tf.tensor(randoms(size(c.x), 24), c.x);
  const loss = (x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, c.x.map((_, i) => i).slice(0, -1));
    const y = tf.batchNorm(x, mean, variance, offset, scale, 1e-5);
    return tf.sum(tf.mul(tf.tanh(y), target));
  };
  return tf.grads(loss)([x, scale, offset]);
}

async function withGradient(config: tf.GradConfig, backend: 'cpu' | 'wasm', f: () => tf.Tensor[]) {
  tf.registerGradient(config);
  return (await on(backend, f)).outputs;
}

test('the FusedBatchNorm gradient matches tfjs-core\'s bit for bit, on cpu and wasm, and runs no Tile', async (t) => {
  const original = tf.getGradient('FusedBatchNorm');
  assert.ok(original);
  registerBatchNormGradient();
  const mine = tf.getGradient('FusedBatchNorm');
  assert.notEqual(mine.gradFunc, original.gradFunc);
  registerBatchNormGradient(); // idempotent
  assert.equal(tf.getGradient('FusedBatchNorm').gradFunc, mine.gradFunc);
  try {
    for (const c of batchNormCases) {
      await t.test(c.name, async () => {
        for (const backend of ['cpu', 'wasm'] as const) {
          const expected = await withGradient(original, backend, () => batchNormGrads(c));
          const actual = await withGradient(mine, backend, () => batchNormGrads(c));
          assert.equal(actual.length, expected.length);
          for (let i = 0; i < expected.length; i++) {
            assert.deepEqual(actual[i].shape, expected[i].shape);
            assert.ok(expected[i].values.some((v) => v !== 0), `${backend}: gradient ${i} is all zeros`);
            assert.deepEqual(actual[i].values, expected[i].values, `${backend}: gradient ${i} differs`);
          }
        }
      });
    }
    await t.test('the new gradient runs no Tile', async () => {
      assert.ok(await tf.setBackend('wasm'));
      const tiles = async (config: tf.GradConfig) => {
        tf.registerGradient(config);
        const profile = await tf.profile(() => tf.dispose(batchNormGrads(batchNormCases[0])));
        return profile.kernels.filter((k) => k.name === 'Tile').length;
      };
      assert.ok(await tiles(original) > 0, 'tfjs-core\'s gradient was expected to tile');
      assert.equal(await tiles(mine), 0);
    });
  } finally {
    tf.registerGradient(mine);
  }
});
