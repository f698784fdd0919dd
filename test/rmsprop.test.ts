import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Adam } from '../src/train/adam.js';
import { Rmsprop, type RmspropOptions } from '../src/train/rmsprop.js';
import { tf, useTestBackend } from './helpers.js';

before(useTestBackend);

const lr = 0.01;
// Gradients small enough that ε matters, where the two forms part: v = (1−ρ)·g² is 1e-9 (keras, ρ 0.9) against ε 1e-7.
const GRADS = [1e-4, -3e-4];

async function twoSteps(options: Omit<RmspropOptions, 'lr'>): Promise<{ w: number[]; v: number; step: number }> {
  const w = tf.variable(tf.scalar(0));
  const rmsprop = new Rmsprop({ lr, ...options }, [w]);
  const seen: number[] = [];
  for (const g of GRADS) {
    const grad = tf.scalar(g);
    rmsprop.apply({ [w.name]: grad });
    grad.dispose();
    seen.push((await w.data())[0]);
  }
  const out = { w: seen, v: (await rmsprop.v[0].data())[0], step: rmsprop.step };
  rmsprop.dispose();
  w.dispose();
  return out;
}

const close = (actual: number[], expected: number[]) => actual.forEach((a, i) =>
  assert.ok(Math.abs(a - expected[i]) <= 1e-5 * Math.abs(expected[i]), `step ${i + 1}: ${a}, expected ${expected[i]}`));

test("keras form (keras.optimizers.RMSprop, ρ 0.9, ε 1e-7): v = ρ·v + (1−ρ)·g², w −= lr·g/√(v + ε)", async () => {
  // by hand: v₁ = 0.1·1e-8 = 1e-9, w₁ = −0.01·1e-4/√(1.01e-7) = −3.1466e-3;
  //          v₂ = 0.9·1e-9 + 0.1·9e-8 = 9.9e-9, w₂ = w₁ + 0.01·3e-4/√(1.099e-7) = −3.1466e-3 + 9.0495e-3 = 5.9029e-3
  const got = await twoSteps({ rho: 0.9, epsilon: 1e-7, form: 'keras' });
  close(got.w, [-0.01 * 1e-4 / Math.sqrt(1.01e-7), -0.01 * 1e-4 / Math.sqrt(1.01e-7) + 0.01 * 3e-4 / Math.sqrt(1.099e-7)]);
  assert.ok(Math.abs(got.w[1] - 5.9029e-3) < 1e-7, `${got.w[1]}`);
  assert.ok(Math.abs(got.v - 9.9e-9) < 1e-14, `v ${got.v}`);
  assert.equal(got.step, 2);
});

test("torch form (torch.optim.RMSprop, α 0.99, ε 1e-8): v = α·v + (1−α)·g², w −= lr·g/(√v + ε)", async () => {
  // by hand: v₁ = 0.01·1e-8 = 1e-10, w₁ = −0.01·1e-4/(1e-5 + 1e-8) = −0.0999001;
  //          v₂ = 0.99·1e-10 + 0.01·9e-8 = 9.99e-10, w₂ = w₁ + 0.01·3e-4/(√9.99e-10 + 1e-8) = −0.0999001 + 0.0948865
  const got = await twoSteps({ rho: 0.99, epsilon: 1e-8, form: 'torch' });
  close(got.w, [-0.01 * 1e-4 / (1e-5 + 1e-8), -0.01 * 1e-4 / (1e-5 + 1e-8) + 0.01 * 3e-4 / (Math.sqrt(9.99e-10) + 1e-8)]);
  assert.ok(Math.abs(got.w[1] - (-0.0999001 + 0.0948865)) < 1e-6, `${got.w[1]}`);
  const keras = await twoSteps({ rho: 0.99, epsilon: 1e-8, form: 'keras' });
  assert.ok(Math.abs(keras.w[0] - got.w[0]) > 0.01, 'the forms should differ this close to ε');
});

test('a restored state continues exactly as the uninterrupted optimizer', async () => {
  const run = async (restore: boolean) => {
    const w = tf.variable(tf.scalar(1));
    const opt = new Rmsprop({ lr, rho: 0.9, epsilon: 1e-7, form: 'keras' }, [w]);
    opt.apply({ [w.name]: tf.scalar(0.5) });
    if (restore) {
      const saved = { step: opt.step, v: await opt.v[0].data() as Float32Array };
      opt.restore(0, [new Float32Array([0])]); // as a fresh optimizer would be
      opt.restore(saved.step, [saved.v]);
    }
    opt.apply({ [w.name]: tf.scalar(-0.25) });
    const out = { w: (await w.data())[0], step: opt.step };
    opt.dispose();
    w.dispose();
    return out;
  };
  assert.deepEqual(await run(true), await run(false));
  const w = tf.variable(tf.scalar(0));
  const opt = new Rmsprop({ lr, rho: 0.9, epsilon: 1e-7, form: 'keras' }, [w]);
  assert.throws(() => opt.restore(1, []), /optimizer state has 0 variables, the model has 1/);
  opt.dispose();
  w.dispose();
});

test('the optimizers hold their slots and nothing else: none left after dispose, none added by a restore', () => {
  const w = tf.variable(tf.zeros([3]));
  for (const make of [
    () => new Rmsprop({ lr, rho: 0.9, epsilon: 1e-7, form: 'keras' }, [w]),
    () => new Adam({ lr, beta1: 0.5, beta2: 0.999, epsilon: 1e-8, form: 'torch' }, [w]),
  ]) {
    const before = tf.memory().numTensors;
    const opt = make();
    const grad = tf.ones([3]);
    opt.apply({ [w.name]: grad });
    grad.dispose();
    const held = tf.memory().numTensors;
    assert.equal(held - before, opt.stateTensors().length, `${opt.kind}: a tensor per slot`);
    opt.restore(3, opt.stateTensors().map((t) => new Float32Array(t.size).fill(0.5)));
    assert.equal(tf.memory().numTensors, held, `${opt.kind}: restore left tensors behind`);
    opt.dispose();
    assert.equal(tf.memory().numTensors, before, `${opt.kind} left tensors behind`);
  }
  w.dispose();
});
