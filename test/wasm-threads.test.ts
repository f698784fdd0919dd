// The wasm backend on several threads (tfjs-backend-wasm's threaded build, started by src/backend/wasm-threads.ts).
// What a step computes is compared with the single-threaded build's, byte for byte: XNNPACK splits a convolution's
// outputs between the threads, never the sums that make one output, so the thread count must not change a bit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { initBackend } from '../src/backend/index.js';
import { parallelMin, setParallelMin } from '../src/backend/wasm-heap-workers.js';

// Small tensors split between the worker threads too (the default leaves tensors under half a million floats on the calling
// thread): this file is about the split.
setParallelMin(1 << 16);
const PARALLEL_MIN = parallelMin();
import { MAX_WASM_THREADS, POOL_SPIN_ITERATIONS, shortenPoolSpin } from '../src/backend/wasm-threads.js';
import { trainStep } from '../src/train/step.js';
import { batchTensor, createGan, disposeGan } from '../src/train/train.js';
import { Rng } from '../src/util/rng.js';
import { syntheticImageSet, tf } from './helpers.js';
import { randoms } from './kernel-compare.js';

const options = { arch: 'd2l' as const, model: { imageSize: 32, width: 8, latent: 16, channels: 3 as const, classes: 0 }, seed: 5, lr: 0.005, beta1: 0.5, beta2: 0.999 };

/**
 * Three training steps from the same start on `threads` threads: the losses and every weight afterwards, as bytes.
 * Batch 32 makes the first batch norm's input ([32, 16, 16, 8]) and G's last two input gradients PARALLEL_MIN or more,
 * so our JavaScript kernels split their work between threads too.
 */
async function threeSteps(threads: number): Promise<{ device: string; bytes: Buffer }> {
  const { device } = await initBackend('wasm', { threads });
  const gan = createGan(options);
  const data = syntheticImageSet(32, 32);
  const rng = new Rng(4);
  const parts: Float32Array[] = [];
  for (let step = 0; step < 3; step++) {
    const X = batchTensor(data, Array.from({ length: 32 }, (_, i) => (i + step * 5) % 32));
    const Z = tf.tensor2d(rng.normals(32 * 16), [32, 16]);
    const stats = trainStep(gan, { X, Z });
    parts.push((await stats.data()) as Float32Array);
    tf.dispose([X, Z, stats]);
  }
  for (const w of [...gan.G.getWeights(), ...gan.D.getWeights()]) parts.push((await w.data()) as Float32Array);
  disposeGan(gan);
  return { device, bytes: Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))) };
}

test('the device line and BackendInfo say how many threads the wasm backend has', async () => {
  const two = await initBackend('wasm', { threads: 2 });
  assert.equal(two.device, 'wasm (simd, 2 threads)');
  assert.equal(two.threads, 2);
  const one = await initBackend('wasm', { threads: 1 });
  assert.equal(one.device, 'wasm (simd, 1 thread)');
  assert.equal(one.threads, 1);
  const many = await initBackend('wasm', { threads: MAX_WASM_THREADS + 4 });
  assert.equal(many.device, `wasm (simd, ${MAX_WASM_THREADS} threads: the most it takes)`);
  assert.equal(many.threads, MAX_WASM_THREADS);
});

test('left out, the thread count stays as it was', async () => {
  await initBackend('wasm', { threads: 2 });
  assert.equal((await initBackend('wasm')).device, 'wasm (simd, 2 threads)');
  await initBackend('wasm', { threads: 1 });
  assert.equal((await initBackend('wasm')).device, 'wasm (simd, 1 thread)');
});

test('training steps give the same bytes on 1, 2 and 3 threads', async () => {
  // (two runs on the same thread count: test/cli-threads.test.ts)
  const one = await threeSteps(1);
  const two = await threeSteps(2);
  const three = await threeSteps(3);
  assert.deepEqual([one.device, two.device, three.device], ['wasm (simd, 1 thread)', 'wasm (simd, 2 threads)', 'wasm (simd, 3 threads)']);
  assert.ok(one.bytes.equals(two.bytes), '1 and 2 threads differ');
  assert.ok(one.bytes.equals(three.bytes), '1 and 3 threads differ');
});

test('sums and means split between worker threads are the cpu backend\'s, bit for bit', async () => {
  const shape = [64, 16, 16, 33]; // 33 channels: shares of unequal width
  const xs = randoms(64 * 16 * 16 * 33, 11).map((v, i) => v * 10 ** ((i % 7) - 3));
  assert.ok(xs.length >= PARALLEL_MIN);
  const f = () => {
    const x = tf.tensor(xs, shape);
    return [tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1, 2]), tf.sum(x, [1, 2, 3]), tf.mean(x, 3), tf.mean(x, [0, 1])];
  };
  const read = async () => {
    const outs = tf.tidy(f);
    const values = await Promise.all(outs.map((t) => t.data()));
    tf.dispose(outs);
    return values;
  };
  await initBackend('cpu');
  const cpu = await read();
  for (const threads of [2, 3]) {
    await initBackend('wasm', { threads });
    assert.deepEqual(await read(), cpu, `${threads} threads`);
  }
});

test('a thread count that is not a positive integer is refused', async () => {
  const { registerWasmThreads } = await import('../src/backend/wasm-threads.js');
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => registerWasmThreads(bad), /positive integer/);
});

test('a process on several threads ends by itself when its work is done', () => {
  // Emscripten keeps a reference on each worker that runs a pthread; ours lets go of them, or Node would wait forever.
  const script = `
    const { initBackend } = await import(${JSON.stringify(path.resolve('src/backend/index.ts'))});
    const tf = await import('@tensorflow/tfjs');
    const info = await initBackend('wasm', { threads: 2 });
    const y = tf.conv2d(tf.ones([2, 16, 16, 8]), tf.ones([3, 3, 8, 8]), 1, 'same');
    console.log(info.device, (await y.data())[0]);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, 'still running after 60 s');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'wasm (simd, 2 threads) 32'); // 2×2 corner: 4 taps × 8 channels of ones
});

test('the pool\'s spin-wait is shortened at its one site in the installed threaded build, and nowhere else', async () => {
  const { readFileSync } = await import('node:fs');
  const { createRequire } = await import('node:module');
  const file = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.wasm');
  const original = new Uint8Array(readFileSync(file));
  const { binary, patched } = shortenPoolSpin(original);
  assert.ok(patched, 'pthreadpool\'s spin-wait was not found in this tfjs-backend-wasm (another version?)');
  assert.ok(WebAssembly.validate(binary as BufferSource));
  const changed = [...binary.keys()].filter((i) => binary[i] !== original[i]);
  assert.equal(changed.length, 3);
  // i32.const 1000000 (0x41 c0 84 3d) became i32.const POOL_SPIN_ITERATIONS, as a three-byte LEB128
  const at = changed[0] - 1;
  assert.deepEqual([...original.subarray(at, at + 4)], [0x41, 0xc0, 0x84, 0x3d]);
  const leb = binary.subarray(at + 1, at + 4);
  assert.equal((leb[0] & 0x7f) | ((leb[1] & 0x7f) << 7) | (leb[2] << 14), POOL_SPIN_ITERATIONS);
  assert.equal(POOL_SPIN_ITERATIONS % 5, 0, 'the loop counts down by 5');
  // a binary without the site, or with it twice, is left as it is
  assert.equal(shortenPoolSpin(original.subarray(0, at)).patched, false);
  const twice = new Uint8Array(2 * original.length);
  twice.set(original);
  twice.set(original, original.length);
  assert.equal(shortenPoolSpin(twice).patched, false);
});
