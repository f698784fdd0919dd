// `--dataset mnist-10k`: the mnist package's 10,000 digits, offline, labelled, interleaved by class, checked against
// the package's own files and against MNIST's first training image as printed in the MNIST literature.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { DatasetError } from '../src/data/errors.js';
import { loadImageSet, requireClasses, type LoadOptions } from '../src/data/index.js';
import { mnistPackageRoot } from '../src/data/mnist-10k.js';
import { tempDir } from './fixtures/data.js';

function opts(cacheDir: string, extra: Partial<LoadOptions> = {}): LoadOptions {
  return { dataset: 'mnist-10k', cacheDir, size: 28, channels: 1, background: 'white', fit: 'fill', cache: false, ...extra };
}

/** Digit d's images straight from the package's JSON, as bytes: the test's own reading of the files. */
function packageDigit(d: number): Uint8Array {
  const { data } = JSON.parse(readFileSync(path.join(mnistPackageRoot(), 'src', 'digits', `${d}.json`), 'utf8')) as { data: number[] };
  return Uint8Array.from(data, (v) => Math.round(v * 255));
}

// counted from the package's files (data.length / 784); they sum to the 10,000 its README promises
const PER_DIGIT = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

test('mnist-10k: 10,000 grey 28×28 digits, labelled 0–9, loaded without touching the network', async (t) => {
  const dir = await tempDir(t);
  const attempts: string[] = [];
  const connect = net.Socket.prototype.connect;
  const fetch = globalThis.fetch;
  net.Socket.prototype.connect = function (...args: unknown[]) {
    attempts.push(JSON.stringify(args[0]));
    throw new Error('no network in this test');
  } as typeof connect;
  globalThis.fetch = (async (input: unknown) => {
    attempts.push(String(input));
    throw new Error('no network in this test');
  }) as typeof fetch;
  let set;
  try {
    set = await loadImageSet(opts(dir));
  } finally {
    net.Socket.prototype.connect = connect;
    globalThis.fetch = fetch;
  }
  assert.deepEqual(attempts, []);
  assert.equal(set.count, 10_000);
  assert.deepEqual([set.size, set.channels, set.pixels.length], [28, 1, 10_000 * 784]);
  assert.deepEqual(set.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.equal(set.labels?.length, 10_000);
  const counts = Array(10).fill(0);
  for (const l of set.labels!) counts[l]++;
  assert.deepEqual(counts, PER_DIGIT);
  assert.deepEqual(PER_DIGIT.map((_, d) => packageDigit(d).length / 784), PER_DIGIT);
  assert.match(set.description, /^mnist-10k \(the mnist package\): 10000 digits$/);
});

test('mnist-10k is interleaved: 0 1 … 9, 0 1 … 9, …; a digit that runs out is passed over', async (t) => {
  const dir = await tempDir(t);
  const set = await loadImageSet(opts(dir));
  const labels = set.labels!;
  assert.deepEqual([...labels.subarray(0, 20)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // 863 fives: the 864th round, from position 8630, has no 5
  assert.deepEqual([...labels.subarray(8630, 8640)], [0, 1, 2, 3, 4, 6, 7, 8, 9, 0]);
  assert.equal(labels[9999], 1, 'the ones, the most numerous, finish last');
  // position 10·k + d (k below 863) is digit d's image k, byte for byte as the package has it
  const image = (i: number) => set.pixels.subarray(i * 784, (i + 1) * 784);
  for (const [d, k] of [[0, 0], [7, 3], [9, 862], [3, 500]]) {
    assert.deepEqual(image(10 * k + d), packageDigit(d).subarray(k * 784, (k + 1) * 784), `digit ${d}, image ${k}`);
  }
});

test("mnist-10k's first 5 is MNIST's first training image: upright, row-major, ink bright on black", async (t) => {
  const dir = await tempDir(t);
  const set = await loadImageSet(opts(dir, { limit: 10 }));
  const five = set.pixels.subarray(5 * 784, 6 * 784);
  const row = (r: number) => [...five.subarray(r * 28, (r + 1) * 28)];
  // rows 5 and 6 of train-images-idx3-ubyte's image 0, as printed in many MNIST tutorials
  assert.deepEqual(row(5), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 18, 18, 18, 126, 136, 175, 26, 166, 255, 247, 127, 0, 0, 0, 0]);
  assert.deepEqual(row(6), [0, 0, 0, 0, 0, 0, 0, 0, 30, 36, 94, 154, 170, 253, 253, 253, 253, 253, 225, 172, 253, 242, 195, 64, 0, 0, 0, 0]);
  assert.deepEqual(row(0), Array(28).fill(0), 'the top row is paper');
});

test('mnist-10k --limit 64 holds every digit; other sizes and RGB keep the labels; the cache keeps them too', async (t) => {
  const dir = await tempDir(t);
  const small = await loadImageSet(opts(dir, { limit: 64 }));
  const counts = Array(10).fill(0);
  for (const l of small.labels!) counts[l]++;
  assert.deepEqual(counts, [7, 7, 7, 7, 6, 6, 6, 6, 6, 6]);
  assert.deepEqual(requireClasses(small, '--dataset mnist-10k').classNames.length, 10);

  const big = await loadImageSet(opts(dir, { limit: 20, size: 64, channels: 3, cache: true }));
  assert.deepEqual([big.count, big.pixels.length], [20, 20 * 64 * 64 * 3]);
  assert.deepEqual(big.labels, small.labels!.subarray(0, 20));
  const o = (32 * 64 + 32) * 3; // a centre pixel: grey, the same in all three channels
  assert.equal(big.pixels[o], big.pixels[o + 1]);
  assert.equal(big.pixels[o], big.pixels[o + 2]);
  const again = await loadImageSet(opts(dir, { limit: 20, size: 64, channels: 3, cache: true }));
  assert.match(again.description, /\(cached\)$/);
  assert.deepEqual(again.labels, big.labels);
  assert.deepEqual(again.pixels, big.pixels);
});

test('mnist-10k takes no --data, --url or --sha1', async (t) => {
  const dir = await tempDir(t);
  const refused = (extra: Partial<LoadOptions>, pattern: RegExp) =>
    assert.rejects(loadImageSet(opts(dir, extra)), (err: Error) => err instanceof DatasetError && pattern.test(err.message) && !err.message.includes('\n'));
  await refused({ data: dir }, /^--dataset mnist-10k comes with the mnist package and takes no --data \(for your own IDX files: --dataset mnist --data DIR\)$/);
  await refused({ url: 'http://x/' }, /^--dataset mnist-10k downloads nothing, so --url does not apply/);
  await refused({ sha1: 'a'.repeat(40) }, /^--dataset mnist-10k downloads nothing, so --sha1 does not apply/);
});
