// Two training steps of every step form on a GAN small enough to work out by hand: one pixel, one latent, G(z) = a·z + c
// (plus a2·k for class k when conditional) and D(x) = w·x + b (plus class logits q·x + r). The expected weights, losses
// and D outputs come from the formulas written out below in float64 — the cross-entropies' derivatives, the chain rule
// through G, and each framework's optimizer as its documentation gives it — not from tfjs or from our step. The first
// step's gradients are also checked against numbers worked out on paper (see FIRST_D_GRADIENT).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Recipe } from '../src/model/architecture.js';
import { createOptimizer } from '../src/train/optimizer.js';
import { trainStep, type Batch, type Gan } from '../src/train/step.js';
import { tf, useTestBackend } from './helpers.js';

before(useTestBackend);

// ---- the toy's starting point and data

const START = { w: 0.8, b: -0.1, q: [0.5, -0.4], r: [0.1, 0.2], a: 0.6, a2: -0.3, c: 0.2 };
const LR = 0.05, BETA1 = 0.5, BETA2 = 0.999;
/** two steps, batch 2: real pixels x, noise z (and z₂ where the form draws again), classes of the reals and fakes */
const STEPS = [
  { x: [0.5, -0.3], z: [0.7, -1.2], z2: [0.4, 1.5], k: [1, 0], kf: [0, 1], kf2: [1, 1] },
  { x: [-0.8, 0.9], z: [-0.2, 0.9], z2: [1.1, -0.6], k: [0, 0], kf: [1, 0], kf2: [0, 1] },
];

// ---- the reference, in float64

const sigmoid = (l: number) => 1 / (1 + Math.exp(-l));
const softplus = (l: number) => Math.max(l, 0) + Math.log1p(Math.exp(-Math.abs(l)));
/** sigmoid cross-entropy of logit l against label y: softplus(l) − y·l; its derivative in l is σ(l) − y */
const bce = (l: number, y: number) => softplus(l) - y * l;

interface DParams { w: number; b: number; q: number[]; r: number[] }
interface GParams { a: number; a2: number; c: number }

/**
 * A loss over images xs: Σ weight·[bce(D(x), y) + (conditional) softmax cross-entropy of D's class logits against k],
 * with its gradients in D's parameters and in each image (for G's chain rule).
 */
function dLoss(d: DParams, xs: number[], ys: number[], ks: number[] | undefined, weight: number) {
  const g = { w: 0, b: 0, q: [0, 0], r: [0, 0] };
  const dx: number[] = [];
  let loss = 0;
  xs.forEach((x, i) => {
    const l = d.w * x + d.b;
    loss += weight * bce(l, ys[i]);
    const dl = weight * (sigmoid(l) - ys[i]);
    g.w += dl * x;
    g.b += dl;
    let dxi = dl * d.w;
    if (ks) {
      const s = d.q.map((q, j) => q * x + d.r[j]);
      const top = Math.max(...s);
      const e = s.map((v) => Math.exp(v - top));
      const sum = e[0] + e[1];
      loss += weight * -Math.log(e[ks[i]] / sum);
      for (let j = 0; j < 2; j++) {
        const ds = weight * (e[j] / sum - (j === ks[i] ? 1 : 0));
        g.q[j] += ds * x;
        g.r[j] += ds;
        dxi += ds * d.q[j];
      }
    }
    dx.push(dxi);
  });
  return { loss, g, dx, meanD: xs.reduce((s, x) => s + sigmoid(d.w * x + d.b), 0) / xs.length };
}

const gOut = (p: GParams, z: number[], k: number[] | undefined) => z.map((zi, i) => p.a * zi + (k ? p.a2 * k[i] : 0) + p.c);

/** G's loss, bce(D(G(z)), 1), and its gradients in G's parameters by the chain rule through G(z). */
function gLoss(d: DParams, p: GParams, z: number[], k: number[] | undefined, weight: number) {
  const { loss, dx } = dLoss(d, gOut(p, z, k), z.map(() => 1), k, weight);
  const g = { a: 0, a2: 0, c: 0 };
  dx.forEach((dfi, i) => {
    g.a += dfi * z[i];
    g.a2 += k ? dfi * k[i] : 0;
    g.c += dfi;
  });
  return { loss, g };
}

type Form = 'torch-adam' | 'keras-adam' | 'torch-rmsprop' | 'keras-rmsprop';

/**
 * One optimizer over named scalars, as each framework documents it (torch.optim.Adam/RMSprop; keras.optimizers.Adam/
 * RMSprop). ε and RMSprop's ρ are each framework's defaults: torch 1e-8 and α = 0.99, Keras 1e-7 and ρ = 0.9.
 */
class Optimizer {
  t = 0;
  m = new Map<string, number>();
  v = new Map<string, number>();
  constructor(readonly form: Form) {}

  update(params: Record<string, number>, grads: Record<string, number>): void {
    this.t++;
    const t = this.t;
    for (const [name, g] of Object.entries(grads)) {
      const m = BETA1 * (this.m.get(name) ?? 0) + (1 - BETA1) * g;
      this.m.set(name, m);
      let step: number;
      if (this.form === 'torch-adam' || this.form === 'keras-adam') {
        const v = BETA2 * (this.v.get(name) ?? 0) + (1 - BETA2) * g * g;
        this.v.set(name, v);
        step = this.form === 'torch-adam'
          ? LR * (m / (1 - BETA1 ** t)) / (Math.sqrt(v / (1 - BETA2 ** t)) + 1e-8)
          : LR * Math.sqrt(1 - BETA2 ** t) / (1 - BETA1 ** t) * m / (Math.sqrt(v) + 1e-7);
      } else {
        const rho = this.form === 'torch-rmsprop' ? 0.99 : 0.9;
        const v = rho * (this.v.get(name) ?? 0) + (1 - rho) * g * g;
        this.v.set(name, v);
        step = this.form === 'torch-rmsprop' ? LR * g / (Math.sqrt(v) + 1e-8) : LR * g / Math.sqrt(v + 1e-7);
      }
      params[name] -= step;
    }
  }
}

/** D's and G's parameters as flat named scalars, as the optimizers see them */
const flatD = (d: DParams) => ({ w: d.w, b: d.b, q0: d.q[0], q1: d.q[1], r0: d.r[0], r1: d.r[1] });
const unflatD = (f: Record<string, number>): DParams => ({ w: f.w, b: f.b, q: [f.q0, f.q1], r: [f.r0, f.r1] });
const flatGradD = (g: { w: number; b: number; q: number[]; r: number[] }, conditional: boolean): Record<string, number> =>
  conditional ? { w: g.w, b: g.b, q0: g.q[0], q1: g.q[1], r0: g.r[0], r1: g.r[1] } : { w: g.w, b: g.b };

interface Expected { d: DParams; g: GParams; stats: number[][] }

/** The reference: both steps of a form, as its source writes them (see Recipe.step in src/model/architecture.ts). */
function reference(step: Recipe['step'], reduction: Recipe['reduction'], form: Form, conditional: boolean, steps = STEPS): Expected {
  let d: DParams = { w: START.w, b: START.b, q: [...START.q], r: [...START.r] };
  const g: GParams = { a: START.a, a2: START.a2, c: START.c };
  const optD = new Optimizer(form), optG = new Optimizer(form);
  const stats: number[][] = [];
  const cls = (k: number[]) => (conditional ? k : undefined);
  const updateD = (grads: { w: number; b: number; q: number[]; r: number[] }) => {
    const f = flatD(d);
    optD.update(f, flatGradD(grads, conditional));
    d = unflatD(f);
  };
  const updateG = (grads: { a: number; a2: number; c: number }) => {
    optG.update(g as unknown as Record<string, number>, conditional ? grads : { a: grads.a, c: grads.c });
  };
  for (const s of steps) {
    const n = s.x.length;
    const per = reduction === 'sum' ? 1 : 1 / n; // each term's weight: summed, or averaged over its batch
    const fake = gOut(g, s.z, cls(s.kf));
    let lossD: number, dx: number, dgz: number;
    if (step === 'd2l' || step === 'pytorch-examples') {
      // d2l: (ℓ(D(x), 1) + ℓ(D(G(z)), 0)) / 2; pytorch/examples: errD_real + errD_fake
      const real = dLoss(d, s.x, [1, 1], cls(s.k), per);
      const fakes = dLoss(d, fake, [0, 0], cls(s.kf), per);
      const half = step === 'd2l' ? 0.5 : 1;
      lossD = half * (real.loss + fakes.loss);
      [dx, dgz] = [real.meanD, fakes.meanD];
      updateD({ w: half * (real.g.w + fakes.g.w), b: half * (real.g.b + fakes.g.b),
        q: [0, 1].map((j) => half * (real.g.q[j] + fakes.g.q[j])), r: [0, 1].map((j) => half * (real.g.r[j] + fakes.g.r[j])) });
    } else if (step === 'hands-on') {
      // one batch [G(z), x] labelled [0, 0, 1, 1], averaged over all 2n
      const both = dLoss(d, [...fake, ...s.x], [0, 0, 1, 1], conditional ? [...s.kf, ...s.k] : undefined, reduction === 'sum' ? 1 : 1 / (2 * n));
      lossD = both.loss;
      dgz = dLoss(d, fake, [0, 0], undefined, 1).meanD;
      dx = dLoss(d, s.x, [1, 1], undefined, 1).meanD;
      updateD(both.g);
    } else {
      // keras-gan: D.train_on_batch(x, 1) then D.train_on_batch(G(z), 0): two updates, the loss their mean
      const real = dLoss(d, s.x, [1, 1], cls(s.k), per);
      dx = real.meanD;
      updateD(real.g);
      const fakes = dLoss(d, fake, [0, 0], cls(s.kf), per);
      dgz = fakes.meanD;
      updateD(fakes.g);
      lossD = (real.loss + fakes.loss) / 2;
    }
    // G against the D just updated: on the same z (d2l, pytorch-examples) or a second draw (the Keras recipes)
    const second = step === 'hands-on' || step === 'keras-gan';
    const lg = gLoss(d, g, second ? s.z2 : s.z, cls(second ? s.kf2 : s.kf), per);
    updateG(lg.g);
    const perExample = reduction === 'sum' ? 1 / n : 1;
    stats.push([lossD * perExample, lg.loss * perExample, dx, dgz]);
  }
  return { d, g, stats };
}

// ---- the same toy in tfjs, trained by our step

function toyGan(step: Recipe['step'], reduction: Recipe['reduction'], form: Form, conditional: boolean): Gan {
  const z = tf.input({ shape: [1], name: 'z' });
  const k = tf.input({ shape: [1], name: 'k' });
  const gIn = conditional ? tf.layers.concatenate().apply([z, k]) as tf.SymbolicTensor : z;
  const gDense = tf.layers.dense({ units: 1, name: 'g' });
  const pixel = tf.layers.reshape({ targetShape: [1, 1, 1] }).apply(gDense.apply(gIn)) as tf.SymbolicTensor;
  const G = tf.model({ inputs: conditional ? [z, k] : z, outputs: pixel });
  gDense.setWeights([tf.tensor2d(conditional ? [START.a, START.a2] : [START.a], [conditional ? 2 : 1, 1]), tf.tensor1d([START.c])]);

  const x = tf.input({ shape: [1, 1, 1], name: 'x' });
  const flat = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const dDense = tf.layers.dense({ units: 1, name: 'd' });
  const logit = dDense.apply(flat) as tf.SymbolicTensor;
  const classHead = tf.layers.dense({ units: 2, name: 'd_class' });
  const D = tf.model({ inputs: x, outputs: conditional ? [logit, classHead.apply(flat) as tf.SymbolicTensor] : logit });
  dDense.setWeights([tf.tensor2d([START.w], [1, 1]), tf.tensor1d([START.b])]);
  if (conditional) classHead.setWeights([tf.tensor2d(START.q, [1, 2]), tf.tensor1d(START.r)]);

  const [framework, optimizer] = form.split('-') as ['torch' | 'keras', Recipe['optimizer']];
  const recipe = { framework: framework === 'torch' ? 'pytorch' as const : 'keras' as const, optimizer };
  const vars = (m: tf.LayersModel) => m.trainableWeights.map((w) => w.read() as tf.Variable);
  const settings = { lr: LR, beta1: BETA1, beta2: BETA2 };
  return { G, D, optG: createOptimizer(recipe, settings, vars(G)), optD: createOptimizer(recipe, settings, vars(D)), recipe: { step, reduction } };
}

async function ours(step: Recipe['step'], reduction: Recipe['reduction'], form: Form, conditional: boolean) {
  const gan = toyGan(step, reduction, form, conditional);
  const stats: number[][] = [];
  for (const s of STEPS) {
    const pixels = (v: number[]) => tf.tensor4d(v, [v.length, 1, 1, 1]);
    const column = (v: number[]) => tf.tensor2d(v, [v.length, 1]);
    const batch: Batch = {
      X: pixels(s.x), Z: column(s.z), Z2: column(s.z2),
      ...(conditional ? { labels: tf.tensor1d(s.k, 'int32'), fakeLabels: tf.tensor1d(s.kf, 'int32'), fakeLabels2: tf.tensor1d(s.kf2, 'int32') } : {}),
    };
    const out = trainStep(gan, batch);
    stats.push(Array.from(await out.data()));
    tf.dispose([out, ...Object.values(batch)]);
  }
  const weight = async (model: tf.LayersModel, layer: string, i: number) => Array.from(await model.getLayer(layer).getWeights()[i].data());
  const [gk, [c]] = [await weight(gan.G, 'g', 0), await weight(gan.G, 'g', 1)];
  const [[w], [b]] = [await weight(gan.D, 'd', 0), await weight(gan.D, 'd', 1)];
  const [q, r] = conditional ? [await weight(gan.D, 'd_class', 0), await weight(gan.D, 'd_class', 1)] : [START.q, START.r];
  const steps = [gan.optD.step, gan.optG.step];
  gan.G.dispose();
  gan.D.dispose();
  gan.optG.dispose();
  gan.optD.dispose();
  return { d: { w, b, q, r }, g: { a: gk[0], a2: gk[1] ?? START.a2, c }, stats, steps };
}

/** |ours − expected| within 1e-5 of the expected's scale (float32 arithmetic over a dozen operations) */
function near(actual: number, expected: number, what: string, scale = Math.max(1, Math.abs(expected))) {
  assert.ok(Math.abs(actual - expected) <= 1e-5 * scale, `${what}: ours ${actual}, expected ${expected}`);
}

// ---- the worked first step, by hand, as an anchor for the reference above

test('the reference agrees with the first step worked on paper (d2l, summed loss, torch Adam)', () => {
  // D(x) logits: 0.8·0.5 − 0.1 = 0.3, 0.8·(−0.3) − 0.1 = −0.34; G(z) = 0.6·0.7 + 0.2 = 0.62, 0.6·(−1.2) + 0.2 = −0.52;
  // D(G(z)) logits: 0.8·0.62 − 0.1 = 0.396, 0.8·(−0.52) − 0.1 = −0.516.
  // ∂loss_D/∂w = ½[Σ (σ(l) − 1)·x over the reals + Σ σ(l)·G(z) over the fakes]
  //            = ½[(0.574443 − 1)·0.5 + (0.415809 − 1)·(−0.3) + 0.597726·0.62 + 0.373788·(−0.52)]
  //            = ½[−0.212779 + 0.175257 + 0.370590 − 0.194370] = 0.069349
  // ∂loss_D/∂b = ½[(0.574443 − 1) + (0.415809 − 1) + 0.597726 + 0.373788] = −0.019117
  // loss_D = ½[softplus(−0.3) + softplus(0.34) + softplus(0.396) + softplus(−0.516)] (bce(l, 1) = softplus(−l),
  //        bce(l, 0) = softplus(l)) = ½[0.554355 + 0.877528 + 0.910622 + 0.468066] = 1.405286, per example 0.702643
  // Adam's first step is lr·g/(|g| + ε) (m̂ = g, √v̂ = |g|), lr·sign(g) but for ε/|g| of it: w = 0.8 − 0.05 = 0.75,
  // b = −0.1 + 0.05 = −0.05.
  const d = { w: 0.8, b: -0.1, q: [0, 0], r: [0, 0] };
  const real = dLoss(d, [0.5, -0.3], [1, 1], undefined, 0.5);
  const fake = dLoss(d, [0.62, -0.52], [0, 0], undefined, 0.5);
  assert.ok(Math.abs(real.g.w + fake.g.w - 0.069349) < 1e-6, `${real.g.w + fake.g.w}`);
  assert.ok(Math.abs(real.g.b + fake.g.b + 0.019117) < 1e-6, `${real.g.b + fake.g.b}`);
  const first = reference('d2l', 'sum', 'torch-adam', false, STEPS.slice(0, 1));
  assert.ok(Math.abs(first.stats[0][0] - 0.702643) < 1e-6, `loss_D ${first.stats[0][0]}`);
  assert.ok(Math.abs(first.d.w - 0.75) < 1e-7 && Math.abs(first.d.b + 0.05) < 1e-7, JSON.stringify(first.d)); // ε/|g| of lr off
});

// ---- each form, with its source's optimizer, then every optimizer on the d2l form

const CASES: [Recipe['step'], Recipe['reduction'], Form][] = [
  ['d2l', 'sum', 'torch-adam'],
  ['pytorch-examples', 'mean', 'torch-adam'],
  ['hands-on', 'mean', 'keras-rmsprop'],
  ['keras-gan', 'mean', 'keras-adam'],
  ['d2l', 'sum', 'keras-adam'],
  ['d2l', 'sum', 'torch-rmsprop'],
  ['d2l', 'sum', 'keras-rmsprop'],
  ['pytorch-examples', 'sum', 'torch-adam'],
];

for (const conditional of [false, true]) {
  describe(conditional ? 'conditional (a class head on D, the class into G)' : 'unconditional', () => {
    for (const [step, reduction, form] of CASES) {
      test(`${step}, ${reduction} of the losses, ${form}: two steps match the worked formulas`, async () => {
        const expected = reference(step, reduction, form, conditional);
        const got = await ours(step, reduction, form, conditional);
        expected.stats.forEach((row, s) => row.forEach((v, i) =>
          near(got.stats[s][i], v, `step ${s + 1} ${['loss_D', 'loss_G', 'D(x)', 'D(G(z))'][i]}`)));
        // the updates are about ±lr each: compare them, not the weights, at the scale of lr
        const moved = (what: string, actual: number, start: number, exp: number) => near(actual - start, exp - start, what, LR);
        moved('D w', got.d.w, START.w, expected.d.w);
        moved('D b', got.d.b, START.b, expected.d.b);
        moved('G a', got.g.a, START.a, expected.g.a);
        moved('G c', got.g.c, START.c, expected.g.c);
        if (conditional) {
          [0, 1].forEach((j) => moved(`D q${j}`, got.d.q[j], START.q[j], expected.d.q[j]));
          [0, 1].forEach((j) => moved(`D r${j}`, got.d.r[j], START.r[j], expected.d.r[j]));
          moved('G a2', got.g.a2, START.a2, expected.g.a2);
        }
        assert.deepEqual(got.steps, step === 'keras-gan' ? [4, 2] : [2, 2], 'optimizer steps of D and G');
      });
    }
  });
}
