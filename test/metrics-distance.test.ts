import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { CollapseMonitor, dataDiversity } from '../src/metrics/collapse.js';
import { meanPairwiseDistance, nearestDistances } from '../src/metrics/distance.js';
import { Rng } from '../src/util/rng.js';
import { syntheticImageSet, useTestBackend } from './helpers.js';

before(useTestBackend);

/** RMS difference in [0, 1] units, the slow obvious way. */
function rms(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] - b[i]) / 255) ** 2;
  return Math.sqrt(s / a.length);
}

test('nearestDistances agrees with brute force, across reference chunks', async () => {
  const dim = 48, q = 5, r = 23;
  const rng = new Rng(2);
  const bytes = (n: number) => Uint8Array.from({ length: n * dim }, () => Math.floor(rng.uniform() * 256));
  const queries = bytes(q), reference = bytes(r);
  reference.set(queries.subarray(dim, 2 * dim), 17 * dim); // query 1 is also reference 17
  const got = await nearestDistances(queries, q, reference, r, 4);
  for (let i = 0; i < q; i++) {
    let best = Infinity;
    for (let j = 0; j < r; j++) best = Math.min(best, rms(queries.subarray(i * dim, (i + 1) * dim), reference.subarray(j * dim, (j + 1) * dim)));
    assert.ok(Math.abs(got[i] - best) < 1e-3, `query ${i}: ${got[i]} vs ${best}`);
  }
  assert.ok(got[1] < 1e-3, `an image in the reference set is at distance 0, got ${got[1]}`);
});

test('memorised images sit at distance ≈ 0 from the training set, new ones do not', async () => {
  const train = syntheticImageSet(30, 16);
  const fresh = syntheticImageSet(10, 16, 3, 99);
  const bytes = 16 * 16 * 3;
  const copies = train.pixels.slice(3 * bytes, 13 * bytes);
  const mean = (x: Float32Array) => x.reduce((s, v) => s + v, 0) / x.length;
  const memorised = mean(await nearestDistances(copies, 10, train.pixels, 30));
  const real = mean(await nearestDistances(fresh.pixels, 10, train.pixels, 30));
  assert.ok(memorised < 1e-3 && real > 0.02, `memorised ${memorised}, fresh ${real}`);
});

test('mean pairwise distance: 0 for copies, the RMS difference for two images', () => {
  const a = new Uint8Array(12).fill(10), b = new Uint8Array(12).fill(61);
  const two = new Uint8Array([...a, ...b]);
  assert.ok(Math.abs(meanPairwiseDistance(two, 2) - 51 / 255) < 1e-12);
  assert.equal(meanPairwiseDistance(new Uint8Array([...a, ...a, ...a]), 3), 0);
  const set = syntheticImageSet(20, 16);
  assert.ok(dataDiversity(set, 20) > 0.05);
});

test('collapse: D(G(z)) under 0.05 for 200 steps in a row warns once', () => {
  const m = new CollapseMonitor(0.3);
  for (let s = 1; s <= 150; s++) assert.equal(m.step(s, 0.01), undefined);
  assert.equal(m.step(151, 0.2), undefined); // the streak breaks
  for (let s = 152; s < 351; s++) assert.equal(m.step(s, 0.01), undefined, `step ${s}`);
  assert.match(m.step(351, 0.01) ?? '', /D\(G\(z\)\) has stayed under 0.05 for 200 steps \(to step 351\)/);
  for (let s = 352; s < 800; s++) assert.equal(m.step(s, 0.01), undefined, 'only once');
});

test('collapse: diversity that falls far below the data’s warns once; a slow start does not', () => {
  const slow = new CollapseMonitor(0.3);
  for (const [epoch, d] of [[1, 0.01], [2, 0.02], [3, 0.05], [4, 0.2]] as const) assert.equal(slow.diversity(epoch, d), undefined);
  const m = new CollapseMonitor(0.3);
  assert.equal(m.diversity(1, 0.2), undefined);
  assert.equal(m.diversity(2, 0.07), undefined); // under half its best, but not far under the data's
  assert.match(m.diversity(3, 0.02) ?? '', /possible mode collapse: at epoch 3 .* 0\.020 .*down from 0\.200.* 0\.300/);
  assert.equal(m.diversity(4, 0.01), undefined, 'only once');
});

test('the data’s diversity is the mean pairwise distance of the sampled images, all of them when the set is small', () => {
  // 5 flat greys 0, 51, 102, 153, 204: pairs differ by 51·k for k = 1…4, found 4, 3, 2, 1 times: (4·1 + 3·2 + 2·3 + 1·4)·51/255 / 10
  const greys = [153, 0, 204, 51, 102];
  const pixels = new Uint8Array(5 * 12);
  greys.forEach((g, i) => pixels.fill(g, i * 12, (i + 1) * 12));
  const set = { pixels, count: 5, size: 2, channels: 3 as const, description: 'greys' };
  assert.ok(Math.abs(dataDiversity(set) - (20 * 0.2) / 10) < 1e-12, `${dataDiversity(set)}`);
  // two of them, whichever they are, differ by a multiple of 0.2
  const two = dataDiversity(set, 2);
  assert.ok(two > 0 && Math.abs(two / 0.2 - Math.round(two / 0.2)) < 1e-9, `${two}`);
  assert.ok(Number.isNaN(dataDiversity({ ...set, count: 1 })));
});

test('collapse: D(G(z)) at exactly the limit does not count as low', () => {
  const m = new CollapseMonitor(0.3, { dgz: 0.05, dgzSteps: 3, diversityRatio: 0.2, diversityFall: 0.5 });
  for (let s = 1; s <= 10; s++) assert.equal(m.step(s, 0.05), undefined);
  assert.equal(m.step(11, 0.049), undefined);
  assert.equal(m.step(12, 0.049), undefined);
  assert.match(m.step(13, 0.049) ?? '', /for 3 steps \(to step 13\)/);
});

test('collapse: a WGAN-GP critic\'s low scores for fakes are no collapse; its diversity is still watched', () => {
  const limits = { dgz: 0.05, dgzSteps: 3, diversityRatio: 0.2, diversityFall: 0.5 };
  const critic = new CollapseMonitor(0.3, limits, true);
  for (let s = 1; s <= 10; s++) assert.equal(critic.step(s, 0.001), undefined);
  assert.equal(critic.diversity(1, 0.2), undefined);
  assert.match(critic.diversity(2, 0.01) ?? '', /possible mode collapse: at epoch 2/);
});

test('nearest distances need a query and a reference image, of one size', async () => {
  const one = new Uint8Array(12);
  await assert.rejects(nearestDistances(new Uint8Array(0), 0, one, 1), /at least one query and one reference image/);
  await assert.rejects(nearestDistances(one, 1, new Uint8Array(0), 0), /at least one query and one reference image/);
  await assert.rejects(nearestDistances(one, 1, new Uint8Array(24), 1), /differ in size/);
  assert.throws(() => meanPairwiseDistance(one, 1), /at least two images/);
});
