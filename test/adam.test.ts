import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Adam, type AdamOptions } from '../src/train/adam.js';
import { tf, useTestBackend } from './helpers.js';

before(useTestBackend);

const lr = 0.1;
const [beta1, beta2, epsilon] = [0.5, 0.999, 1e-8];
// Gradients small enough that ε matters, where the two forms part: 2e-7, then −1e-6.
const GRADS = [2e-7, -1e-6];

async function twoSteps(form: AdamOptions['form']): Promise<number[]> {
  const w = tf.variable(tf.scalar(0));
  const adam = new Adam({ lr, beta1, beta2, epsilon, form }, [w]);
  const seen: number[] = [];
  for (const g of GRADS) {
    const grad = tf.scalar(g);
    adam.apply({ [w.name]: grad });
    grad.dispose();
    seen.push((await w.data())[0]);
  }
  adam.dispose();
  w.dispose();
  return seen;
}

/** The moments after each step, from their definitions: m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g². */
function moments(): { m: number; v: number; t: number }[] {
  let [m, v] = [0, 0];
  return GRADS.map((g, i) => {
    m = beta1 * m + (1 - beta1) * g;
    v = beta2 * v + (1 - beta2) * g * g;
    return { m, v, t: i + 1 };
  });
}

const close = (actual: number[], expected: number[]) => actual.forEach((a, i) =>
  assert.ok(Math.abs(a - expected[i]) <= 1e-6 * Math.abs(expected[i]), `step ${i + 1}: ${a}, expected ${expected[i]}`));

test("torch form (torch.optim.Adam's documented update): w −= lr·m̂/(√v̂ + ε)", async () => {
  let w = 0;
  const expected = moments().map(({ m, v, t }) => (w -= (lr * (m / (1 - beta1 ** t))) / (Math.sqrt(v / (1 - beta2 ** t)) + epsilon)));
  // the first step by hand: m̂ = g, √v̂ = |g|, so −0.1·2e-7/(2e-7 + 1e-8) = −0.1·2/2.1
  assert.ok(Math.abs(expected[0] + 0.1 * (2 / 2.1)) < 1e-12);
  close(await twoSteps('torch'), expected);
});

test("keras form (Keras' Adam, Kingma & Ba's ε-hat): w −= lr·√(1−β2^t)/(1−β1^t)·m/(√v + ε)", async () => {
  let w = 0;
  const expected = moments().map(({ m, v, t }) => (w -= ((lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t)) * (m / (Math.sqrt(v) + epsilon))));
  // the first step by hand: −0.1·2e-7/(2e-7 + 1e-8/√0.001) — ε is 31.6 times larger here
  assert.ok(Math.abs(expected[0] + (0.1 * 2e-7) / (2e-7 + 1e-8 / Math.sqrt(0.001))) < 1e-12);
  const seen = await twoSteps('keras');
  close(seen, expected);
  const torch = await twoSteps('torch');
  assert.ok(Math.abs(seen[0] - torch[0]) > 0.05, 'the forms should differ this close to ε');
});

test('on wasm the one-kernel update gives the bytes of tfjs\'s ops, both forms, over three steps', async () => {
  const { initBackend } = await import('../src/backend/index.js');
  const { registerWasmElementwise, unregisterWasmElementwise } = await import('../src/backend/wasm-elementwise.js');
  const { randoms } = await import('./kernel-compare.js');
  const { ADAM_UPDATE } = await import('../src/backend/adam-update.js');
  await initBackend('wasm', { threads: 2 });
  const shape = [4, 4, 5, 7]; // 560 values: vectors of four and a tail
  const n = 560;
  // ordinary gradients, tiny ones where ε matters, zeros, and huge ones
  const grads = [1, 2, 3].map((s) => randoms(n, s).map((x, i) => (i % 11 === 0 ? 0 : i % 13 === 0 ? x * 1e30 : x * 10 ** ((i % 9) - 8))));
  const run = async (form: AdamOptions['form']) => {
    // weights as small as the updates, so that every bit of an update shows in w (w − u rounds u's last bits away when
    // |w| ≫ |u|): half start at 0, half at ±1e-4
    const w = tf.variable(tf.tensor(randoms(n, 9).map((x, i) => (i % 2 ? 0 : x * 1e-4)), shape));
    const adam = new Adam({ lr: 0.0002, beta1: 0.5, beta2: 0.999, epsilon: 1e-8, form }, [w]);
    for (const g of grads) tf.tidy(() => adam.apply({ [w.name]: tf.tensor(g, shape) }));
    const out = [w, ...adam.stateTensors()].map((t) => Array.from(new Uint32Array(t.dataSync().buffer.slice(0))));
    adam.dispose();
    w.dispose();
    return out;
  };
  try {
    for (const form of ['torch', 'keras'] as const) {
      assert.ok(tf.getKernel(ADAM_UPDATE, 'wasm'), 'the kernel is registered');
      const ours = await run(form);
      unregisterWasmElementwise();
      const theirs = await run(form);
      registerWasmElementwise();
      assert.deepEqual(ours, theirs, `${form}: weights, m and v`);
    }
  } finally {
    registerWasmElementwise();
    await useTestBackend();
  }
});
