// `--mirror`: the set doubled, image count/2 + i the left–right mirror image of image i, with i's label, checked pixel
// by pixel against hand-made asymmetric images.
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { loadImageSet, type LoadOptions } from '../src/data/index.js';
import { mirrorImages } from '../src/data/mirror.js';
import { tempDir } from './fixtures/data.js';

test('mirrorImages: each row of each image reversed, pixel by pixel, into the second half', () => {
  // two 3×3 RGB images, pixel (x, y) of image k = [k, x, y] + 10; then room for two more
  const px = new Uint8Array(4 * 27);
  for (let k = 0; k < 2; k++) for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) px.set([k + 10, x + 10, y + 10], ((k * 3 + y) * 3 + x) * 3);
  mirrorImages(px, 2, 3, 3);
  // image 2 + k, pixel (x, y) = image k, pixel (2 − x, y)
  const mirror = [
    [[10, 12, 10], [10, 11, 10], [10, 10, 10]], [[10, 12, 11], [10, 11, 11], [10, 10, 11]], [[10, 12, 12], [10, 11, 12], [10, 10, 12]],
    [[11, 12, 10], [11, 11, 10], [11, 10, 10]], [[11, 12, 11], [11, 11, 11], [11, 10, 11]], [[11, 12, 12], [11, 11, 12], [11, 10, 12]],
  ].flat(2);
  assert.deepEqual([...px.subarray(54)], mirror);
  assert.deepEqual([...px.subarray(0, 6)], [10, 10, 10, 10, 11, 10], 'the originals stay');

  // grey: 1 channel, a 2×2 image [[1, 2], [3, 4]] → [[2, 1], [4, 3]]
  const grey = Uint8Array.from([1, 2, 3, 4, 0, 0, 0, 0]);
  mirrorImages(grey, 1, 2, 1);
  assert.deepEqual([...grey], [1, 2, 3, 4, 2, 1, 4, 3]);
  assert.throws(() => mirrorImages(new Uint8Array(7), 1, 2, 1), /room for/);
  assert.throws(() => mirrorImages(new Uint8Array(5 * 4), 3, 2, 1), /room for 5 images, not 6/);
  // more room than needed: only the slot after the originals is written
  const roomy = Uint8Array.from([1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
  mirrorImages(roomy, 1, 2, 1);
  assert.deepEqual([...roomy], [1, 2, 3, 4, 2, 1, 4, 3, 0, 0, 0, 0]);
});

/** An 8×8 RGB image: colour (x, y) = [30·x, 30·y, 40·k]; nothing in it is symmetric. */
function asymmetric(k: number): Promise<Buffer> {
  const raw = Buffer.alloc(8 * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) raw.set([30 * x, 30 * y, 40 * k], (y * 8 + x) * 3);
  return sharp(raw, { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer();
}

function opts(data: string, cacheDir: string, extra: Partial<LoadOptions> = {}): LoadOptions {
  return { dataset: 'pokesprite', data, cacheDir, size: 8, channels: 3, background: 'white', fit: 'fill', ...extra };
}

function pixel(set: { pixels: Uint8Array; size: number; channels: number }, i: number, x: number, y: number): number[] {
  const o = ((i * set.size + y) * set.size + x) * set.channels;
  return [...set.pixels.subarray(o, o + set.channels)];
}

test('--mirror doubles the set: image n + i is image i flipped left–right, with its label; the cache holds the originals', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'classes');
  for (const [k, name] of [[0, 'cat/a.png'], [1, 'cat/b.png'], [2, 'dog/c.png']] as const) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), await asymmetric(k));
  }
  let decoded = 0;
  const load = (extra: Partial<LoadOptions>) => loadImageSet(opts(root, dir, { ...extra, onProgress: () => decoded++ }));
  const check = (set: Awaited<ReturnType<typeof loadImageSet>>) => {
    assert.equal(set.count, 6);
    assert.equal(set.pixels.length, 6 * 8 * 8 * 3);
    assert.equal(set.mirrored, true);
    for (let k = 0; k < 3; k++) {
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) {
          assert.deepEqual(pixel(set, k, x, y), [30 * x, 30 * y, 40 * k], `image ${k} (${x}, ${y})`);
          assert.deepEqual(pixel(set, 3 + k, x, y), [30 * (7 - x), 30 * y, 40 * k], `mirror ${k} (${x}, ${y})`);
        }
      }
    }
    assert.deepEqual(set.labels, Uint16Array.from([0, 0, 1, 0, 0, 1]));
    assert.deepEqual(set.classNames, ['cat', 'dog']);
  };
  const first = await load({ mirror: true }); // decoded, cached
  assert.equal(decoded, 3);
  check(first);
  assert.match(first.description, /^.*: 3 images, and their mirror images: 6 in all$/);
  decoded = 0;
  const cached = await load({ mirror: true }); // read from the cache, mirrored again
  assert.equal(decoded, 0);
  check(cached);
  assert.match(cached.description, /3 images \(cached\), and their mirror images: 6 in all$/);

  // without --mirror: the same cache file, the originals only
  const plain = await load({});
  assert.equal(decoded, 0);
  assert.equal(plain.count, 3);
  assert.equal(plain.mirrored, undefined);
  assert.deepEqual(plain.pixels, first.pixels.subarray(0, 3 * 192));
  assert.deepEqual(plain.labels, Uint16Array.from([0, 0, 1]));
  assert.equal((await readdir(dir)).filter((f) => f.endsWith('.u8set')).length, 1);

  // --limit N takes the first N source images, then mirrors them
  const one = await load({ mirror: true, limit: 1 });
  assert.equal(one.count, 2);
  assert.deepEqual(pixel(one, 1, 0, 5), [30 * 7, 30 * 5, 0]);
  assert.deepEqual(one.labels, Uint16Array.from([0, 0]));
});

test('--mirror on grey images and without classes: one channel flipped, no labels invented', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'flat');
  await mkdir(root);
  await writeFile(path.join(root, 'a.png'), await asymmetric(0));
  const set = await loadImageSet(opts(root, dir, { channels: 1, mirror: true, cache: false }));
  assert.equal(set.count, 2);
  assert.equal(set.labels, undefined);
  assert.ok(set.whyNoLabels);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) assert.deepEqual(pixel(set, 1, x, y), pixel(set, 0, 7 - x, y));
  // the grey of (0, 0), black, and of (7, 0), red 210: not equal, so the flip is seen
  assert.notDeepEqual(pixel(set, 0, 0, 0), pixel(set, 0, 7, 0));
});
