import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  laplacianPyramid, normaliseDescriptors, pyrDown, pyrUp, reconstructLaplacian, slicedWasserstein, swd, swdResolutions, type Images,
} from '../src/metrics/swd.js';
import { RowSorter } from '../src/metrics/sort-rows.js';
import { Rng } from '../src/util/rng.js';
import { maxAbsDiff, syntheticImageSet, tf, useTestBackend } from './helpers.js';

before(useTestBackend);

const fast = { nhoodsPerImage: 32, dirRepeats: 2, dirsPerRepeat: 32 };

/** The same images with Gaussian noise of `sigma` grey levels added (clamped to 0–255). */
function withNoise(set: Images, sigma: number, seed = 3): Images {
  const noise = new Rng(seed).normals(set.pixels.length);
  const pixels = new Uint8Array(set.pixels.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.max(0, Math.min(255, Math.round(set.pixels[i] + sigma * noise[i])));
  return { ...set, pixels };
}

function permuted(set: Images, seed: number): Images {
  const order = new Rng(seed).permutation(set.count);
  const bytes = set.size * set.size * set.channels;
  const pixels = new Uint8Array(set.pixels.length);
  order.forEach((k, i) => pixels.set(set.pixels.subarray(k * bytes, (k + 1) * bytes), i * bytes));
  return { ...set, pixels };
}

test('the pyramid levels are ProGAN’s: halving down to 16', () => {
  assert.deepEqual(swdResolutions(64), [64, 32, 16]);
  assert.deepEqual(swdResolutions(32), [32, 16]);
  assert.deepEqual(swdResolutions(16), [16]);
  assert.throws(() => swdResolutions(8), /at least 16×16/);
});

test('pyrDown/pyrUp match cv2 on a constant image, and a Laplacian pyramid reconstructs its images', async () => {
  const flat = tf.fill([1, 8, 8, 1], 10) as tf.Tensor4D;
  // the binomial filter sums to 1 (down) and, over the zero-filled grid, to 1 again (up, ×4)
  assert.ok(maxAbsDiff(await pyrDown(flat).data(), new Float32Array(16).fill(10)) < 1e-4);
  assert.ok(maxAbsDiff(await pyrUp(pyrDown(flat)).data(), new Float32Array(64).fill(10)) < 1e-4);
  const set = syntheticImageSet(4, 32);
  const x = tf.tensor4d(Float32Array.from(set.pixels), [4, 32, 32, 3]);
  const pyramid = laplacianPyramid(x, 2);
  assert.deepEqual(pyramid.map((p) => p.shape), [[4, 32, 32, 3], [4, 16, 16, 3]]);
  const back = reconstructLaplacian(pyramid);
  assert.ok(maxAbsDiff(await back.data(), await x.data()) < 1e-3);
  // the fine level holds detail only: it is far smaller than the image
  const fine = (await pyramid[0].abs().mean().data())[0];
  assert.ok(fine < 20, `mean |fine level| ${fine}`);
  tf.dispose([flat, x, back, ...pyramid]);
});

test('rows sort the same on worker threads as in place', async () => {
  const rowLength = 1 << 17, rows = 9; // over a million values: the threads are used
  const values = new Rng(5).normals(rows * rowLength);
  const expected = values.slice();
  for (let r = 0; r < rows; r++) expected.subarray(r * rowLength, (r + 1) * rowLength).sort();
  const sorter = new RowSorter(3);
  try {
    await sorter.sortRows(values, rowLength);
    await sorter.sortRows(values, rowLength); // the workers are reused
  } finally {
    await sorter.close();
  }
  assert.ok(values.every((v, i) => v === expected[i]));
});

test('per-channel normalisation gives each channel mean 0 and std 1', () => {
  const d = Float32Array.from({ length: 300 }, (_, i) => (i % 3) * 100 + (i % 7) * (i % 3 + 1));
  normaliseDescriptors(d, 3);
  for (let c = 0; c < 3; c++) {
    const v = d.filter((_, i) => i % 3 === c);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
    assert.ok(Math.abs(mean) < 1e-5 && Math.abs(std - 1) < 1e-5, `channel ${c}: mean ${mean}, std ${std}`);
  }
});

test('the sliced distance ignores the order of descriptors and is 0 between equal sets', async () => {
  const dim = 12, rows = 200;
  const a = new Rng(1).normals(rows * dim);
  const b = new Rng(2).normals(rows * dim).map((v) => v * 1.5);
  const shuffled = new Float32Array(a.length);
  new Rng(4).permutation(rows).forEach((k, i) => shuffled.set(a.subarray(k * dim, (k + 1) * dim), i * dim));
  assert.equal(await slicedWasserstein(a, a, dim, new Rng(9), 2, 16), 0);
  assert.equal(await slicedWasserstein(shuffled, a, dim, new Rng(9), 2, 16), 0);
  const ab = await slicedWasserstein(a, b, dim, new Rng(9), 2, 16);
  assert.ok(ab > 0.1, `a vs b ${ab}`);
  assert.equal(await slicedWasserstein(shuffled, b, dim, new Rng(9), 2, 16), ab);
});

test('SWD of a set with itself is 0 and grows with added noise on the band-pass levels and on average', async () => {
  const set = syntheticImageSet(24, 64);
  const o = { seed: 1, nhoodsPerImage: 64, dirRepeats: 2, dirsPerRepeat: 32 };
  const self = await swd(set, set, o);
  assert.deepEqual(self.resolutions, [64, 32, 16]);
  assert.deepEqual(self.levels, [0, 0, 0]);
  const results = [self];
  for (const sigma of [10, 30, 90]) results.push(await swd(withNoise(set, sigma), set, o));
  // 64 and 32 are Laplacian (band-pass) levels; 16 is the low-pass rest, where white noise mostly averages away and
  // the neighbourhood sampling of these few images dominates
  for (const series of [...[0, 1].map((l) => results.map((r) => r.levels[l])), results.map((r) => r.average)]) {
    for (let i = 1; i < series.length; i++) assert.ok(series[i] > series[i - 1], series.map((v) => v.toFixed(1)).join(' → '));
  }
});

test('SWD does not depend on image order, and the same seed gives the same figures', async () => {
  const set = syntheticImageSet(48, 32);
  const other = syntheticImageSet(48, 32, 3, 7);
  const base = await swd(other, set, { seed: 2, ...fast });
  assert.ok(base.average > 1, `two different sets: ${base.average}`);
  assert.deepEqual(await swd(other, set, { seed: 2, ...fast }), base);
  const close = (x: number, y: number) => Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y));
  const shuffled = await swd(permuted(other, 5), permuted(set, 6), { seed: 2, ...fast });
  shuffled.levels.forEach((v, l) => assert.ok(close(v, base.levels[l]), `level ${l}: ${v} vs ${base.levels[l]}`));
  const reorderedSelf = await swd(permuted(set, 5), set, { seed: 2, ...fast });
  assert.ok(reorderedSelf.average < 1e-6, `a set against itself reordered: ${reorderedSelf.average}`);
  const reseeded = await swd(other, set, { seed: 3, ...fast });
  assert.notDeepEqual(reseeded.levels, base.levels);
});

test('SWD refuses sets of different shapes', async () => {
  const a = syntheticImageSet(4, 16), b = syntheticImageSet(5, 16);
  await assert.rejects(swd(a, b, { seed: 0 }), /same shape/);
});
