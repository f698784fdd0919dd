// What DiffAugment costs beside a training step, on one backend: d2l's step (random data, as `dcgan bench`) and
// augment on a batch of the same shape — forward alone, as D's update uses it on the real and the fake images, and
// forward + gradient, as G's update does — timed in alternating windows, so that a busy machine slows all alike.
// A step with augmentation runs it about twice forward and once with its gradient.
//   node --import tsx scripts/bench-augment.ts [--backend wasm] [--threads N] [--batch 64] [--width 32] [--sizes 32,64]
//     [--policy color,translation,cutout] [--compute host|tensors] [--rounds 5] [--steps 5]
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { trainStep } from '../src/train/step.js';
import { augment, defaultCompute, drawAugmentation, applyAugmentation, parsePolicy, type AugmentCompute } from '../src/train/augment.js';
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
const rounds = Number(arg('rounds', '5'));
const perWindow = Number(arg('steps', '5'));
console.log(`${backend.device}, d2l width ${width}, batch ${batch}, --augment ${policy.join(',')} (${compute}), load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Milliseconds per call of f, over `count` calls; the last result is read, so that the work is done. */
async function window(f: () => tf.Tensor, count: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t = f();
    if (i === count - 1) await t.data();
    t.dispose();
  }
  return (performance.now() - start) / count;
}

for (const size of arg('sizes', '32,64').split(',').map(Number)) {
  const model = { imageSize: size, width, latent: 100, channels: 3 as const, classes: 0 };
  const gan = createGan({ arch: 'd2l', model, seed: 0, lr: 0.0002, beta1: 0.5, beta2: 0.999 });
  const rng = new Rng(1);
  const X = tf.tidy(() => tf.tensor4d(rng.normals(batch * size * size * 3), [batch, size, size, 3]).tanh());
  const Z = tf.tensor2d(rng.normals(batch * 100), [batch, 100]);
  const w = tf.randomUniform(X.shape, -1, 1);
  const step = () => trainStep(gan, { X, Z });
  const forward = () => augment(X, policy, rng);
  const gradient = () => tf.grad((x: tf.Tensor) => applyAugmentation(x as tf.Tensor4D, drawAugmentation(policy, batch, size, size, rng), undefined, compute).mul(w).sum())(X);
  const forwardAs = () => applyAugmentation(X, drawAugmentation(policy, batch, size, size, rng), undefined, compute);
  for (let i = 0; i < 10; i++) [step, forwardAs, gradient].forEach((f) => f().dispose()); // warm-up
  const times = { step: [] as number[], forward: [] as number[], gradient: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    times.step.push(await window(step, perWindow));
    times.forward.push(await window(compute === defaultCompute() ? forward : forwardAs, perWindow * 4));
    times.gradient.push(await window(gradient, perWindow * 4));
  }
  const [s, f, g] = [median(times.step), median(times.forward), median(times.gradient)];
  const perStep = 2 * f + g;
  console.log(`${size}×${size}: step ${s.toFixed(1)} ms; augment forward ${f.toFixed(2)} ms, forward + gradient ${g.toFixed(2)} ms; ` +
    `2 forward + 1 with gradient ${perStep.toFixed(2)} ms = ${((100 * perStep) / s).toFixed(1)} % of the step`);
  tf.dispose([X, Z, w]);
  disposeGan(gan);
}
