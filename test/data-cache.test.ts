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
