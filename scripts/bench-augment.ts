// What DiffAugment adds to a training step: d2l's step on random data (as `dcgan bench`), without and with every
// image D sees augmented — D's input wrapped, so the real and the fake images of D's update and the fake ones of G's
// update pass through augment, G's with its gradient, as the training step would have it — timed in alternating
// windows, so that a busy machine slows both alike. Also augment alone on a batch, forward and forward + gradient.
// Each figure is the median over the windows of wall time and of this process's CPU time (all its threads): on a shared
// machine the CPU time is the steadier; on one thread it is the work done.
//   node --import tsx scripts/bench-augment.ts [--backend wasm] [--threads N] [--batch 64] [--width 32] [--sizes 32,64]
//     [--policy color,translation,cutout] [--compute host|tensors] [--rounds 7] [--steps 5]
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { trainStep } from '../src/train/step.js';
import { applyAugmentation, defaultCompute, drawAugmentation, parsePolicy, type AugmentCompute } from '../src/train/augment.js';
import { createGan, disposeGan } from '../src/train/train.js';
import { Rng } from '../src/util/rng.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const backend = await initBackend(arg('backend', 'wasm') as BackendName, { threads: Number(arg('threads', String(os.availableParallelism()))) });
const batch = Number(arg('batch', '64'));
const width = Number(arg('width', '32'));
const policy = parsePolicy(arg('policy', 'color,translation,cutout'));
const compute = arg('compute', defaultCompute()) as AugmentCompute;
const rounds = Number(arg('rounds', '7'));
const perWindow = Number(arg('steps', '5'));
console.log(`${backend.device}; d2l, width ${width}, batch ${batch}; --augment ${policy.join(',')} (${compute}); ` +
  `load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall and CPU milliseconds per call of f over `count` calls; the last result is read, so that the work is done. */
async function window(f: () => tf.Tensor, count: number): Promise<[number, number]> {
  const [start, cpu] = [performance.now(), process.cpuUsage()];
  for (let i = 0; i < count; i++) {
    const t = f();
    if (i === count - 1) await t.data();
    t.dispose();
  }
  const used = process.cpuUsage(cpu);
  return [(performance.now() - start) / count, (used.user + used.system) / 1000 / count];
}

for (const size of arg('sizes', '32,64').split(',').map(Number)) {
  const model = { imageSize: size, width, latent: 100, channels: 3 as const, classes: 0 };
  const gan = createGan({ arch: 'd2l', model, seed: 0, lr: 0.0002, beta1: 0.5, beta2: 0.999 });
  const rng = new Rng(1);
  const X = tf.tidy(() => tf.tensor4d(rng.normals(batch * size * size * 3), [batch, size, size, 3]).tanh());
  const Z = tf.tensor2d(rng.normals(batch * 100), [batch, 100]);
  const w = tf.randomUniform(X.shape, -1, 1);
  const augmented = (x: tf.Tensor) => applyAugmentation(x as tf.Tensor4D, drawAugmentation(policy, batch, size, size, rng), undefined, compute);
  // D's input wrapped: what the training step will do
  let augmenting = false;
  const apply = gan.D.apply.bind(gan.D);
  gan.D.apply = ((inputs: tf.Tensor, kwargs) => apply(augmenting ? augmented(inputs) : inputs, kwargs)) as typeof gan.D.apply;
  const plain = () => ((augmenting = false), trainStep(gan, { X, Z }));
  const withAugment = () => ((augmenting = true), trainStep(gan, { X, Z }));
  const forward = () => augmented(X);
  const gradient = () => tf.grad((x: tf.Tensor) => augmented(x).mul(w).sum())(X);
  const gradientAlone = () => tf.grad((x: tf.Tensor) => x.mul(w).sum())(X);
  const all = { plain, withAugment, forward, gradient, gradientAlone };
  for (let i = 0; i < 10; i++) Object.values(all).forEach((f) => f().dispose()); // warm-up
  const times: Record<string, [number, number][]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of Object.entries(all)) (times[name] ??= []).push(await window(f, name === 'plain' || name === 'withAugment' ? perWindow : 4 * perWindow));
  }
  for (const [kind, k] of [['wall', 0], ['cpu', 1]] as const) {
    const m = Object.fromEntries(Object.entries(times).map(([name, v]) => [name, median(v.map((t) => t[k]))]));
    const added = m.withAugment - m.plain;
    console.log(`${size}×${size}, ${kind}: step ${m.plain.toFixed(1)} ms, with augment ${m.withAugment.toFixed(1)} ms: ` +
      `+${added.toFixed(1)} ms (${((100 * added) / m.plain).toFixed(1)} %); augment alone: forward ${m.forward.toFixed(2)} ms, ` +
      `forward + gradient ${(m.gradient - m.gradientAlone).toFixed(2)} ms (beyond the same loss's without it)`);
  }
  tf.dispose([X, Z, w]);
  disposeGan(gan);
}
