// Can WGAN-GP's gradient penalty be trained on each backend? Its loss holds ∇ₓD(x̂), so D's update needs the gradient
// of a gradient: every kernel on the path from D's weights through D's input gradient must itself have a gradient,
// and a correct one. The penalty's gradient tfjs computes is compared here with central differences of the penalty.
//
// D's LeakyReLUs make the penalty piecewise smooth in the weights: a difference whose step moves any LeakyReLU input
// across zero measures a jump, not a slope. Such weights are found (the sign of every LeakyReLU input at w ± h against
// w's) and left out; the rest must agree, and most weights must be comparable.
//
// What this found (tfjs 4.22, this repo's kernels): see each test. Without src/backend/leaky-relu-grad.ts's second-order
// gradients no D with LeakyReLU gets a penalty gradient on any backend ("gradient function not found for Greater" on
// cpu and webgpu, "… for DcganLeakyReluGrad" on wasm); averagePooling2d (AvgPoolGrad) and resizeNearestNeighbor
// (ResizeNearestNeighborGrad) have no second-order gradient either, which is why ProGAN's D averages down by reshape
// and mean. Ops whose gradient is written with their own output (Tanh, Sigmoid, Exp, Pow, Elu, Softmax, Max, …) give
// silently WRONG second-order gradients: tfjs records the saved output's copy before the op itself, so the gradient
// through it is dropped (the tanh test shows it); no D here uses them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { initBackend } from '../src/backend/index.js';
import { probeAdapter, shutdownWebgpu } from '../src/backend/webgpu.js';
import type { ModelShape } from '../src/model/architecture.js';
import { architecture } from '../src/model/architectures.js';
import { buildDiscriminator } from '../src/model/build.js';
import { progan } from '../src/model/progan.js';
import { webgpuSkip } from './kernel-compare.js';
import { tf, unshrinkBatchNorm } from './helpers.js';

/** Σ over the batch of (‖∇ₓD(x)‖ − 1)²: WGAN-GP's penalty (Gulrajani et al.; loss.py's gradient_penalty), at x. */
function penalty(D: tf.LayersModel, x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const g = tf.grad((image: tf.Tensor) => tf.sum(D.apply(image, { training: true }) as tf.Tensor))(x);
    return tf.sum(tf.square(tf.sub(tf.sqrt(tf.sum(tf.square(g), [1, 2, 3])), 1))) as tf.Scalar;
  });
}

interface Comparison {
  compared: number;
  skipped: number;
  /** the largest |tfjs − differences| over the tolerance */
  worst: number;
  where: string;
}

/**
 * tfjs's gradient of the penalty against central differences (step h), on every `stride`-th weight of each variable.
 * Values are read with data(), not dataSync(): WebGPU in Node reads asynchronously only.
 */
async function compare(D: tf.LayersModel, x: tf.Tensor4D, stride: number, h: number): Promise<Comparison> {
  const variables = D.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const { grads } = tf.variableGrads(() => penalty(D, x), variables);
  const leakyInputs = D.layers.filter((l) => l.getClassName() === 'LeakyReLU').map((l) => l.input as tf.SymbolicTensor);
  const probe = tf.model({ inputs: D.inputs, outputs: leakyInputs });
  const signs = async () => {
    const outputs = [probe.apply(x, { training: true })].flat() as tf.Tensor[];
    const values = await Promise.all(outputs.map((t) => t.data()));
    tf.dispose(outputs);
    return values.flatMap((v) => Array.from(v, (u) => u > 0));
  };
  const base = await signs();
  let compared = 0;
  let skipped = 0;
  let worst = 0;
  let where = '';
  for (const v of variables) {
    const analytic = grads[v.name] ? await grads[v.name].data() : new Float32Array(v.size); // no gradient: the penalty does not depend on it
    const original = (await v.data()).slice() as Float32Array;
    const at = async (i: number, d: number) => {
      const moved = original.slice();
      moved[i] += d;
      tf.tidy(() => v.assign(tf.tensor(moved, v.shape)));
      const value = penalty(D, x);
      const result = { value: (await value.data())[0], kinked: (await signs()).some((s, k) => s !== base[k]) };
      value.dispose();
      return result;
    };
    for (let i = 0; i < original.length; i += stride) {
      const [up, down] = [await at(i, h), await at(i, -h)];
      if (up.kinked || down.kinked) {
        skipped++;
        continue;
      }
      compared++;
      const difference = (up.value - down.value) / (2 * h);
      // float32 rounding of the penalty (~1e-7 of it) over 2h, and the O(h²) of the difference itself
      const tolerance = 2e-3 * Math.max(1, Math.abs(up.value)) + 1e-2 * Math.abs(difference);
      const off = Math.abs(analytic[i] - difference) / tolerance;
      if (off > worst) [worst, where] = [off, `${v.name}[${i}]: tfjs ${analytic[i]}, differences ${difference}`];
    }
    tf.tidy(() => v.assign(tf.tensor(original, v.shape)));
  }
  tf.dispose(Object.values(grads));
  return { compared, skipped, worst, where };
}

const webgpu = await webgpuSkip(probeAdapter);

after(async () => {
  await shutdownWebgpu();
});

// ProGAN's D at 8×8, width 2: equalized 1×1 and 3×3 convolutions, LeakyReLU, the box downscale, Karras et al.'s
// minibatch stddev (one group of 4), flatten, equalized dense layers
const PROGAN: ModelShape = { imageSize: 8, width: 2, latent: 4, channels: 3, classes: 0 };
// d2l's D at 16×16, width 2: stride-2 convolutions (this repo's conv2d backprop kernels on wasm and webgpu), batch norm
// in training (one fused kernel on wasm), LeakyReLU, the 4×4 logit convolution; with the book's minibatch stddev
const D2L: ModelShape = { imageSize: 16, width: 2, latent: 4, channels: 3, classes: 0, tricks: { minibatchStddev: {} } };

for (const backend of ['cpu', 'wasm', 'webgpu'] as const) {
  describe(`the gradient penalty's gradient on ${backend}`, { skip: backend === 'webgpu' ? webgpu : false }, () => {
    before(async () => {
      await initBackend(backend);
      assert.equal(tf.getBackend(), backend);
    });

    test('ProGAN\'s D: tfjs\'s second-order gradient agrees with the differences', async () => {
      const D = buildDiscriminator(progan, PROGAN, 1);
      const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const r = await compare(D, x, 7, 1e-3);
      assert.ok(r.compared >= 3 * r.skipped && r.compared >= 40, `only ${r.compared} weights comparable, ${r.skipped} across a kink`);
      assert.ok(r.worst <= 1, r.where);
      D.dispose();
    });

    test('d2l\'s D with batch norm: agrees on cpu and webgpu; refused on wasm (its fused batch norm has no second-order gradient)', async () => {
      const D = buildDiscriminator(architecture('d2l'), D2L, 1);
      unshrinkBatchNorm(D); // γ = 1, β = 0: d2l's N(0, 0.02) γ would leave ∇ₓD ≈ 0 and the penalty ≈ its constant
      const x = tf.randomNormal([4, 16, 16, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
      if (backend === 'wasm') {
        await assert.rejects(compare(D, x, 4, 2e-4), /gradient function not found for DcganTrainingBatchNormGrad/);
      } else {
        // batch norm ties every unit to every weight before it: a smaller step, to cross fewer kinks
        const r = await compare(D, x, 4, 2e-4);
        assert.ok(r.compared >= 2 * r.skipped && r.compared >= 40, `only ${r.compared} weights comparable, ${r.skipped} across a kink`);
        assert.ok(r.worst <= 1, r.where);
      }
      D.dispose();
    });

    test('tanh, which saves its output for its gradient: tfjs 4.22\'s second-order gradient is wrong', async () => {
      // D(x) = Σ tanh(x·w): ∂/∂w of Σ (∂D/∂x)² = ∂/∂w Σ ((1 − tanh²(xw))·w)², by hand
      const w = tf.variable(tf.tensor1d([0.7, -1.3]));
      const x = tf.tensor1d([0.4, 0.9]);
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.grad((xx: tf.Tensor) => tf.sum(tf.tanh(tf.mul(xx, w))))(x))) as tf.Scalar, [w]);
      const exact = [0.7, -1.3].map((wi, i) => {
        const xi = [0.4, 0.9][i];
        const s = 1 - Math.tanh(xi * wi) ** 2; //   d/dw [(s·w)²] = 2·s·w·(s + w·ds/dw), ds/dw = −2·tanh·s·x
        return 2 * s * wi * (s + wi * (-2 * Math.tanh(xi * wi) * s * xi));
      });
      const got = Array.from(await grads[w.name].data());
      assert.ok(got.some((g, i) => Math.abs(g - exact[i]) > 0.05), `tfjs now gets tanh's second order right (${got} vs ${exact}): README and this file can say so`);
      w.dispose();
    });
  });
}
