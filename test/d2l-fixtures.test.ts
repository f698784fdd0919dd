// Our d2l model and training step against d2l's own PyTorch code, number for number, on cpu, wasm and webgpu (in CI
// lavapipe; DCGAN_REQUIRE_WEBGPU=1 makes a missing adapter a failure instead of a skip). The expected values come from
// torch 1.13 on the CPU (scripts/d2l-fixtures.py → test/fixtures/d2l): d2l's net_G/net_D at 16×16, width 8, batch 8,
// initialised as d2l's train() does, two full update_D + update_G steps. Ours starts from the same weights and runs
// trainStep on the same X and Z.
//
// Tolerances, and why:
// - Forward values, gradients, Adam's m, batch norm's moving means: within REL of the tensor's largest element. Both
//   sides sum in float32 (PyTorch's batch-norm statistics in float64), in other orders; batch norm's backward
//   subtracts nearly equal sums, so the error is relative to the tensor's scale, not to each element. Seen: ≤ 3.3e-6 on
//   cpu, wasm and webgpu (lavapipe). A sum-vs-mean reduction is off by 8× (0.875 of the largest element).
// - v = Σ(1−β2)β2^k g²: twice g's relative error, so 2·REL.
// - Losses and mean D outputs (≈ 0.69, 0.5): STAT_REL, a dozen float32 roundings.
// - Updates: Adam maps m and v to m̂/(√v̂ + ε), which is ±1 at the first step however small g is, so a gradient whose
//   rounding error is comparable to itself can move its weight anywhere in ±lr. Each element's update (weight before −
//   weight after, in units of lr) must lie in the range of torch.optim.Adam's update over the box of moments
//   [m ± |Δm|] × [v ± |Δv|], Δ being our moments' actual difference from PyTorch's (checked above), and never beyond
//   the most Adam can move a weight at all (maxUpdate); plus UPDATE_ROUNDING for the float32 arithmetic. Elements with
//   a gradient far above its rounding error get a range of ~1e-6; those near zero get up to the whole ±maxUpdate —
//   "compared by absolute difference on the update". (Here none is wider than 0.01: the test says so if that changes.)
//   The ε-hat (Keras) form moves a weight less by ≈ 31ε/|g| of lr at the first step: beyond UPDATE_ROUNDING wherever
//   |g| < 0.03, most elements of these summed-loss gradients (up to 0.13).
// - Moving variances (≈ 0.9^k, k updates since 1, plus 0.1·the batch variances, ~1e-6 … 6e-3): VAR_ULPS float32 ulps
//   of the value, for the float32 moving average (≤ 1.5 ulp per update, 6 updates for D in two steps). tfjs-layers'
//   biased batch variance is off by 1/(n − 1) of its share: ~200 ulps for G's first batch norm (n = 8·4·4 = 128).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { probeAdapter, shutdownWebgpu } from '../src/backend/webgpu.js';
import type { Adam } from '../src/train/adam.js';
import { disposeGan } from '../src/train/train.js';
import { d2lGan, IMAGE, images, inOurLayout, loadFixture, noise, type OurStep, ourName, runD2lSteps, transpose } from './d2l-fixture.js';
import { webgpuSkip } from './kernel-compare.js';

const REL = 2e-5;
const STAT_REL = 1e-6;
const UPDATE_ROUNDING = 1e-5;
/** tfjs-webgpu's tanh is (1 − e^−2|a|)/(1 + e^−2|a|): its error is absolute, ~1e-7, not relative */
const TANH_ABS = 1e-7;
const VAR_ULPS = 10;

const f = loadFixture();
const { lr, beta1, beta2, eps } = f.manifest.adam;
const BATCH = f.manifest.shape.batch;
const NETS = ['G', 'D'] as const;

/** torch.optim.Adam's update at step t, in units of lr, from the moments after the step: (m/c1)/(√v/√c2 + ε). */
function torchUpdate(m: number, v: number, t: number): number {
  return m / (1 - beta1 ** t) / (Math.sqrt(Math.max(v, 0)) / Math.sqrt(1 - beta2 ** t) + eps);
}

/**
 * The most Adam's step t can move a weight, in units of lr, whatever the gradients: Cauchy–Schwarz on
 * m = (1−β1)Σβ1^k g_k against v = (1−β2)Σβ2^k g_k². 1 at the first step, 1.054 at the second.
 */
function maxUpdate(t: number): number {
  let s = 0;
  for (let k = 0; k < t; k++) s += beta1 ** (2 * k) / beta2 ** k;
  return ((1 - beta1) / (1 - beta1 ** t)) * Math.sqrt((1 - beta2 ** t) / (1 - beta2)) * Math.sqrt(s);
}

/** torchUpdate's range over m ± dm, v ± dv (it grows with m, and |it| shrinks as v grows), within ±maxUpdate. */
function updateRange(m: number, v: number, dm: number, dv: number, t: number): [number, number] {
  const lo = torchUpdate(m - dm, m - dm < 0 ? v - dv : v + dv, t);
  const hi = torchUpdate(m + dm, m + dm > 0 ? v - dv : v + dv, t);
  return [Math.max(lo, -maxUpdate(t)), Math.min(hi, maxUpdate(t))];
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
/** float32's unit in the last place at x */
const ulp = (x: number) => 2 ** (Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -126))) - 23);

/** Collects every mismatch, so that one run shows all that is off (and by how much) rather than the first. */
class Comparison {
  failures: string[] = [];
  /** the largest |difference| / tolerance per kind of value */
  worst = new Map<string, number>();

  check(kind: string, what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: (i: number) => number,
    [actualIs, expectedIs] = ['ours', 'PyTorch']): void {
    assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
    let bad = 0;
    let worst = { i: -1, ratio: 0 };
    for (let i = 0; i < expected.length; i++) {
      const d = Math.abs(actual[i] - expected[i]);
      const ratio = d === 0 ? 0 : Number.isNaN(d) ? Infinity : d / tol(i);
      if (ratio > 1) bad++;
      if (ratio > worst.ratio) worst = { i, ratio };
    }
    this.worst.set(kind, Math.max(this.worst.get(kind) ?? 0, worst.ratio));
    if (bad) {
      const i = worst.i;
      this.failures.push(`${what}: ${bad} of ${expected.length} off; worst [${i}] ${actualIs} ${actual[i]}, ${expectedIs} ${expected[i]}, ` +
        `|diff| ${Math.abs(actual[i] - expected[i]).toExponential(2)} = ${worst.ratio.toPrecision(3)}× the tolerance`);
    }
  }

  summary(): string {
    return [...this.worst].map(([k, r]) => `${k} ${r.toPrecision(2)}`).join(', ');
  }
}

function compareSteps(ours: OurStep[], c: Comparison): { loose: number; elements: number } {
  let loose = 0; // update comparisons whose range is wider than 1% of lr: the gradient was lost in rounding
  let elements = 0;
  const weightTolerance = new Map<string, Float64Array>(); // accumulated over the steps
  f.manifest.steps.forEach((expected, s) => {
    const o = ours[s];
    const step = `step ${s + 1}`;
    for (const k of ['loss_D', 'loss_G', 'D_x', 'D_G_z'] as const) {
      c.check('stats', `${step} ${k}`, [o.stats[k]], [expected[k]], () => STAT_REL * Math.abs(expected[k]));
    }
    // reported per example; d2l's summed loss is that times the batch size
    c.check('stats', `${step} loss_D summed`, [o.stats.loss_D * BATCH], [expected.loss_D_sum], () => STAT_REL * expected.loss_D_sum);
    c.check('stats', `${step} loss_G summed`, [o.stats.loss_G * BATCH], [expected.loss_G_sum], () => STAT_REL * expected.loss_G_sum);
    for (const net of NETS) {
      assert.equal(o.adamStep[net], expected.adam_step[net], `${step}: ${net}'s Adam step count`);
      const t = expected.adam_step[net];
      for (const p of f.manifest.parameters[net]) {
        const name = ourName(net, p).name;
        const torch = (what: string) => inOurLayout(f, `step${s}.${net}.${what}${p}`, net, p);
        const [g, m, v, w] = [torch('grad.'), torch('exp_avg.'), torch('exp_avg_sq.'), torch('')];
        const wBefore = inOurLayout(f, s === 0 ? `initial.${net}.${p}` : `step${s - 1}.${net}.${p}`, net, p);
        const ourBefore = s === 0 ? wBefore : ours[s - 1].weights.get(name)!;
        const [og, om, ov, ow] = [o.grads.get(name)!, o.m.get(name)!, o.v.get(name)!, o.weights.get(name)!];
        const [gMax, mMax, vMax] = [maxAbs(g), maxAbs(m), maxAbs(v)];
        c.check('gradients', `${step} ${net} gradient of ${name}`, og, g, () => REL * gMax);
        c.check('moments', `${step} ${net} Adam m of ${name}`, om, m, () => REL * mMax);
        c.check('moments', `${step} ${net} Adam v of ${name}`, ov, v, () => 2 * REL * vMax);

        const acc = weightTolerance.get(name) ?? new Float64Array(w.length);
        weightTolerance.set(name, acc);
        const ourUpdate = new Float64Array(w.length);
        const torchUpdateSeen = new Float64Array(w.length);
        const formula = new Float64Array(w.length);
        const nearest = new Float64Array(w.length); // the point of PyTorch's range nearest to our update
        for (let i = 0; i < w.length; i++) {
          ourUpdate[i] = (ourBefore[i] - ow[i]) / lr;
          torchUpdateSeen[i] = (wBefore[i] - w[i]) / lr;
          formula[i] = torchUpdate(m[i], v[i], t);
          const [lo, hi] = updateRange(m[i], v[i], Math.abs(om[i] - m[i]), Math.abs(ov[i] - v[i]), t);
          nearest[i] = Math.min(Math.max(ourUpdate[i], lo), hi);
          if (hi - lo > 0.01) loose++;
          elements++;
          // |ours − PyTorch's| ≤ |ours − range| + |range − formula| + |formula − PyTorch's|, in each step
          acc[i] += lr * (UPDATE_ROUNDING + Math.max(hi - formula[i], formula[i] - lo) + UPDATE_ROUNDING);
        }
        // the formula is torch.optim.Adam's: PyTorch's own update agrees with it
        c.check('updates', `${step} ${net} PyTorch's own update of ${name} (units of lr)`, torchUpdateSeen, formula,
          () => UPDATE_ROUNDING, ['PyTorch', 'torch.optim.Adam\'s formula']);
        c.check('updates', `${step} ${net} update of ${name} (units of lr)`, ourUpdate, nearest, () => UPDATE_ROUNDING,
          ['ours', 'the nearest in PyTorch\'s range']);
        c.check('weights', `${step} ${net} ${name}`, ow, w, (i) => acc[i]);
      }
      for (const b of f.manifest.buffers[net]) {
        const name = ourName(net, b).name;
        const expectedStat = f.torch(`step${s}.${net}.${b}`).values;
        const ourStat = o.weights.get(name)!;
        if (b.endsWith('running_var')) {
          c.check('moving variance', `${step} ${net} ${name}`, ourStat, expectedStat, (i) => VAR_ULPS * ulp(expectedStat[i]));
        } else {
          const scale = maxAbs(expectedStat);
          c.check('moving mean', `${step} ${net} ${name}`, ourStat, expectedStat, () => REL * scale);
        }
      }
    }
  });
  return { loose, elements };
}

const webgpu = await webgpuSkip(probeAdapter);

after(async () => {
  await shutdownWebgpu();
});

for (const backend of ['cpu', 'wasm', 'webgpu'] as const) {
  describe(`d2l in PyTorch vs ours on ${backend}`, { skip: backend === 'webgpu' ? webgpu : false }, () => {
    before(async () => {
      await initBackend(backend);
      assert.equal(tf.getBackend(), backend);
    });

    test('the settings are d2l’s: batch norm’s momentum and ε, Adam’s ε, the summed loss', () => {
      const gan = d2lGan(f);
      try {
        for (const model of [gan.G, gan.D]) {
          for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
            const config = layer.getConfig();
            assert.ok(Math.abs(1 - (config.momentum as number) - f.manifest.batch_norm.momentum) < 1e-12, layer.name);
            assert.equal(config.epsilon, f.manifest.batch_norm.eps, layer.name);
          }
        }
        const [optG, optD] = [gan.optG as Adam, gan.optD as Adam];
        assert.deepEqual([optG.kind, optD.kind], ['adam', 'adam']);
        assert.equal(optD.options.epsilon, eps);
        assert.deepEqual([optG.options.form, optD.options.form], ['torch', 'torch']);
        assert.equal(gan.recipe.reduction, f.manifest.loss_reduction);
        assert.equal(gan.recipe.step, 'd2l');
      } finally {
        disposeGan(gan);
      }
    });

    test('forward: G(z) and D’s logits in training mode, from the same weights (the layouts map)', async (t) => {
      const gan = d2lGan(f);
      const c = new Comparison();
      const [fake, realY, fakeY] = tf.tidy(() => {
        const fakeX = gan.G.apply(noise(f, 'Z.0'), { training: true }) as tf.Tensor;
        return [fakeX, gan.D.apply(images(f, 'X.0'), { training: true }) as tf.Tensor,
          gan.D.apply(fakeX, { training: true }) as tf.Tensor];
      });
      const { shape, values } = f.torch('step0.fake_X');
      const expectedFake = transpose(values, shape, IMAGE).values;
      const fakeMax = maxAbs(expectedFake);
      c.check('forward', 'G(z)', await fake.data(), expectedFake, () => REL * fakeMax + TANH_ABS);
      for (const [name, y, array] of [['D(x) logits', realY, 'step0.real_Y'], ['D(G(z)) logits', fakeY, 'step0.fake_Y']] as const) {
        const expected = f.torch(array).values;
        const scale = maxAbs(expected);
        c.check('forward', name, await y.data(), expected, () => REL * scale);
      }
      tf.dispose([fake, realY, fakeY]);
      disposeGan(gan);
      t.diagnostic(`worst |diff| / tolerance: ${c.summary()}`);
      assert.deepEqual(c.failures, []);
    });

    test('two training steps: losses, D outputs, gradients, Adam moments and steps, weights, batch-norm statistics', async (t) => {
      const ours = await runD2lSteps(f);
      const c = new Comparison();
      const { loose, elements } = compareSteps(ours, c);
      t.diagnostic(`worst |diff| / tolerance: ${c.summary()}; ${loose} of ${elements} updates compared loosely (range > 0.01 lr)`);
      assert.deepEqual(c.failures, []);
      // the update comparison proves something only where the gradients stand above their rounding
      assert.ok(loose <= elements / 100, `${loose} of ${elements} updates were compared loosely`);
    });
  });
}
