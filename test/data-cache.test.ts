// The decoded-set cache: the file format, damage detection, and the loader reusing it instead of decoding.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { cachePath, readCache, stableStringify, writeCache } from '../src/data/cache.js';
import { loadImageSet, type LoadOptions } from '../src/data/index.js';
import { solid, sprite, tempDir } from './fixtures/data.js';

const set = (count: number, size: number, channels: 1 | 3) => ({
  pixels: Uint8Array.from({ length: count * size * size * channels }, (_, i) => (i * 31) % 256),
  count,
  size,
  channels,
});

test('a cache file round-trips, and is refused when truncated, foreign, or for another key', async (t) => {
  const dir = await tempDir(t);
  const key = { source: 'x', files: 'abc', size: 4 };
  const file = cachePath(dir, 'folder', key, 4, 3);
  assert.match(path.basename(file), /^folder-4x4x3-[0-9a-f]{16}\.u8set$/);
  const s = set(5, 4, 3);
  await writeCache(file, key, s);
  assert.deepEqual(await readdir(dir), [path.basename(file)], 'no temporary file left behind');
  const back = await readCache(file, { size: 4, files: 'abc', source: 'x' });
  assert.ok(back, 'key order does not matter');
  assert.deepEqual(back.pixels, s.pixels);
  assert.deepEqual([back.count, back.size, back.channels], [5, 4, 3]);

  assert.equal(await readCache(file, { ...key, files: 'abd' }), null, 'another key');
  assert.equal(await readCache(path.join(dir, 'missing.u8set'), key), null);
  const full = (await stat(file)).size;
  await truncate(file, full - 1);
  assert.equal(await readCache(file, key), null, 'truncated');
  await writeCache(file, key, s);
  await writeFile(file, Buffer.concat([await readFile(file), Buffer.alloc(1)]));
  assert.equal(await readCache(file, key), null, 'too long');
  await writeFile(file, 'PK\x03\x04 something else entirely');
  assert.equal(await readCache(file, key), null, 'foreign');
  await writeCache(file, key, s);
  const bytes = await readFile(file);
  bytes.writeUInt32LE(99, 8);
  await writeFile(file, bytes);
  assert.equal(await readCache(file, key), null, 'another version');
});

test('stableStringify sorts keys at every depth and drops undefined', () => {
  assert.equal(stableStringify({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } }), '{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
});

async function spriteFolder(dir: string): Promise<string> {
  const root = path.join(dir, 'img');
  await mkdir(root);
  await writeFile(path.join(root, 'a.png'), await sprite());
  await writeFile(path.join(root, 'b.png'), await solid('png', [0, 0, 255]));
  return root;
}

function opts(data: string, cacheDir: string, extra: Partial<LoadOptions> = {}): LoadOptions {
  return { dataset: 'pokesprite', data, cacheDir, size: 8, channels: 3, background: 'white', fit: 'fill', ...extra };
}

const cacheFiles = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith('.u8set')).sort();

test('the second run reads the cache and decodes nothing', async (t) => {
  const dir = await tempDir(t);
  const root = await spriteFolder(dir);
  let decoded = 0;
  const logs: string[] = [];
  const first = await loadImageSet(opts(root, dir, { onProgress: () => decoded++, log: (l) => logs.push(l) }));
  assert.equal(decoded, 2);
  assert.equal((await cacheFiles(dir)).length, 1);

  // Same names, sizes and times, different bytes: a decode now would fail on every file. The cache must answer.
  for (const f of ['a.png', 'b.png']) {
    const p = path.join(root, f);
    const s = await stat(p);
    await writeFile(p, Buffer.alloc(s.size, 0x21));
    await utimes(p, s.atime, s.mtime);
  }
  decoded = 0;
  const second = await loadImageSet(opts(root, dir, { onProgress: () => decoded++, log: (l) => logs.push(l) }));
  assert.equal(decoded, 0);
  assert.deepEqual(second.pixels, first.pixels);
  assert.equal(second.count, 2);
  assert.match(second.description, /\(cached\)$/);
  assert.deepEqual(logs, [], 'nothing to say: no file was skipped');

  // cache: false decodes (and here finds only garbage)
  await assert.rejects(loadImageSet(opts(root, dir, { cache: false })), /none of the 2 image files/);
});

test('changing the background, fit, size, channels or limit makes a new cache; touching a file too', async (t) => {
  const dir = await tempDir(t);
  const root = await spriteFolder(dir);
  let decoded = 0;
  const run = (extra: Partial<LoadOptions>) => loadImageSet(opts(root, dir, { ...extra, onProgress: () => decoded++ }));
  const white = await run({});
  const black = await run({ background: 'black' });
  assert.notDeepEqual(black.pixels, white.pixels);
  await run({ size: 4 });
  await run({ fit: 'contain' });
  await run({ channels: 1 });
  await run({ limit: 1 });
  assert.equal(decoded, 2 + 2 + 2 + 2 + 2 + 1);
  assert.equal((await cacheFiles(dir)).length, 6);
  decoded = 0;
  assert.deepEqual((await run({ background: 'black' })).pixels, black.pixels);
  assert.equal(decoded, 0, 'each is reused');

  const later = new Date(Date.now() + 60_000);
  await utimes(path.join(root, 'b.png'), later, later);
  await run({});
  assert.equal(decoded, 2, 'a modified file means a new decode');
});

test('a damaged cache file is rebuilt, not misread', async (t) => {
  const dir = await tempDir(t);
  const root = await spriteFolder(dir);
  const first = await loadImageSet(opts(root, dir));
  const [name] = await cacheFiles(dir);
  const file = path.join(dir, name);
  await truncate(file, (await stat(file)).size - 10);
  let decoded = 0;
  const again = await loadImageSet(opts(root, dir, { onProgress: () => decoded++ }));
  assert.equal(decoded, 2);
  assert.deepEqual(again.pixels, first.pixels);
  assert.equal((await stat(file)).size > 8 * 8 * 3 * 2, true, 'rewritten whole');
});

test('a cache folder that cannot be written is not fatal', async (t) => {
  const dir = await tempDir(t);
  const root = await spriteFolder(dir);
  const blocker = path.join(dir, 'blocked');
  await writeFile(blocker, 'a file where the cache folder should be');
  const logs: string[] = [];
  const result = await loadImageSet(opts(root, blocker, { log: (l) => logs.push(l) }));
  assert.equal(result.count, 2);
  assert.match(logs[0], /^could not cache the decoded images in /);
});

test('labels and class names round-trip through the cache file; damaged or out-of-range labels are refused', async (t) => {
  const dir = await tempDir(t);
  const key = { source: 'x' };
  const file = cachePath(dir, 'folder', key, 4, 1);
  const labelled = { ...set(3, 4, 1), labels: Uint16Array.from([2, 0, 700]), classNames: ['a', 'b', 'c', ...Array.from({ length: 718 }, (_, i) => `p${i}`)] };
  await writeCache(file, key, labelled);
  // the layout, read by hand: the pixels, then one little-endian u16 per image
  const bytes = await readFile(file);
  assert.equal(bytes.readUInt32LE(8), 2, 'format version 2');
  assert.deepEqual([bytes.readUInt16LE(bytes.length - 6), bytes.readUInt16LE(bytes.length - 4), bytes.readUInt16LE(bytes.length - 2)], [2, 0, 700]);
  const back = await readCache(file, key);
  assert.ok(back);
  assert.deepEqual(back.pixels, labelled.pixels);
  assert.deepEqual(back.labels, Uint16Array.from([2, 0, 700]));
  assert.equal(back.classNames?.length, 721);
  assert.equal(back.classNames?.[2], 'c');
  assert.equal(back.whyNoLabels, undefined);

  await truncate(file, bytes.length - 1);
  assert.equal(await readCache(file, key), null, 'a label cut short');
  const outOfRange = Buffer.from(bytes);
  outOfRange.writeUInt16LE(721, bytes.length - 2);
  await writeFile(file, outOfRange);
  assert.equal(await readCache(file, key), null, 'a label past the class names');

  const unlabelled = { ...set(3, 4, 1), whyNoLabels: 'its images lie directly in x' };
  await writeCache(file, key, unlabelled);
  const plain = await readCache(file, key);
  assert.ok(plain);
  assert.equal(plain.labels, undefined);
  assert.equal(plain.whyNoLabels, 'its images lie directly in x');
  const head = await readFile(file);
  const pixelsAt = Math.ceil((16 + head.readUInt32LE(12)) / 8) * 8;
  assert.equal(head.length, pixelsAt + 3 * 16, 'no label bytes after the pixels');
});

test('a version-1 cache file (before labels) is not misread', async (t) => {
  const dir = await tempDir(t);
  const key = { source: 'x' };
  const file = cachePath(dir, 'folder', key, 4, 3);
  await writeCache(file, key, set(2, 4, 3));
  const bytes = await readFile(file);
  bytes.writeUInt32LE(1, 8);
  await writeFile(file, bytes);
  assert.equal(await readCache(file, key), null);
});

async function classFolders(dir: string): Promise<string> {
  const root = path.join(dir, 'classes');
  for (const [name, colour] of [['b/x.png', [0, 255, 0]], ['a/y.png', [255, 0, 0]], ['a/z.png', [255, 0, 0]]] as const) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), await solid('png', [...colour] as [number, number, number]));
  }
  return root;
}

test('a cached set gives back its labels and class names', async (t) => {
  const dir = await tempDir(t);
  const root = await classFolders(dir);
  const first = await loadImageSet(opts(root, dir));
  // sorted paths a/y, a/z, b/x: classes a, b
  assert.deepEqual(first.labels, Uint16Array.from([0, 0, 1]));
  assert.deepEqual(first.classNames, ['a', 'b']);
  let decoded = 0;
  const second = await loadImageSet(opts(root, dir, { onProgress: () => decoded++ }));
  assert.equal(decoded, 0);
  assert.match(second.description, /\(cached\)$/);
  assert.deepEqual(second.labels, first.labels);
  assert.deepEqual(second.classNames, first.classNames);
  assert.deepEqual(second.pixels, first.pixels);

  // a set without classes keeps its reason through the cache
  const flat = await loadImageSet(opts(path.join(root, 'a'), dir));
  const flatAgain = await loadImageSet(opts(path.join(root, 'a'), dir));
  assert.match(flatAgain.description, /\(cached\)$/);
  assert.equal(flatAgain.labels, undefined);
  assert.ok(flat.whyNoLabels);
  assert.equal(flatAgain.whyNoLabels, flat.whyNoLabels);
});

test('a new class folder beyond --limit makes a new cache: the class names changed, the kept files did not', async (t) => {
  const dir = await tempDir(t);
  const root = await classFolders(dir);
  const before = await loadImageSet(opts(root, dir, { limit: 2 }));
  assert.deepEqual(before.classNames, ['a', 'b']);
  await mkdir(path.join(root, 'c'));
  await writeFile(path.join(root, 'c', 'w.png'), await solid('png', [0, 0, 255]));
  let decoded = 0;
  const after = await loadImageSet(opts(root, dir, { limit: 2, onProgress: () => decoded++ }));
  assert.equal(decoded, 2);
  assert.deepEqual(after.classNames, ['a', 'b', 'c']);
  assert.deepEqual(after.labels, Uint16Array.from([0, 0]));
});
