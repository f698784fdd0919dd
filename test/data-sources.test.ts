// The named datasets end to end: pokemon from a local server in d2l's layout, pokesprite from the package,
// and the flags that feed loadImageSet.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import type { DownloadEvent } from '../src/data/download.js';
import { DatasetError } from '../src/data/errors.js';
import { loadImageSet, type LoadOptions } from '../src/data/index.js';
import { datasetDefaults } from '../src/data/catalog.js';
import { addDatasetOptions, datasetOptionsFrom, naturalChannels, parseSize } from '../src/data/options.js';
import { POKEMON_SHA1, POKEMON_URL_ENV } from '../src/data/pokemon.js';
import { closedPort, rangeHandler, serve, solid, sprite, tempDir, zipOf } from './fixtures/data.js';

const exists = (f: string) => access(f).then(() => true, () => false);

/** d2l's layout: pokemon/<class>/<n>.png, here 3 classes of 4 tiny sprites, plus the folder entries. */
async function pokemonZip(): Promise<Buffer> {
  const files: Record<string, Buffer | string> = { 'pokemon/': '' };
  const colours: [number, number, number][] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
  for (let c = 0; c < 3; c++) {
    files[`pokemon/${c + 1}/`] = '';
    for (let n = 0; n < 4; n++) files[`pokemon/${c + 1}/${n}.png`] = n === 0 ? await sprite() : await solid('png', colours[c]);
  }
  return zipOf(files);
}

function pokemon(cacheDir: string, extra: Partial<LoadOptions> = {}): LoadOptions {
  return { dataset: 'pokemon', cacheDir, size: 8, channels: 3, background: 'white', fit: 'fill', network: { retries: 1, retryDelayMs: 1 }, ...extra };
}

const cacheFiles = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith('.u8set'));

test('pokemon: downloads from a local server, verifies, caches; the next run needs neither server nor zip', async (t) => {
  const dir = await tempDir(t);
  const zip = await pokemonZip();
  const sha1 = createHash('sha1').update(zip).digest('hex');
  const server = await serve(rangeHandler(zip));
  const events: DownloadEvent[] = [];
  let decoded = 0;
  const url = `${server.url}/pokemon.zip`;
  const first = await loadImageSet(pokemon(dir, { url, sha1, onDownload: (e) => events.push(e), onProgress: () => decoded++ }));
  assert.equal(first.count, 12);
  assert.equal(first.pixels.length, 12 * 8 * 8 * 3);
  assert.equal(first.description, 'pokemon (d2l pokemon.zip): 12 sprites');
  assert.deepEqual([...first.pixels.subarray(0, 3)], [255, 255, 255], 'the first sprite (pokemon/1/0.png) has a white corner');
  assert.equal(decoded, 12);
  assert.equal(events.at(-1)?.state, 'done');
  assert.ok(await exists(path.join(dir, 'downloads', 'pokemon.zip')));
  assert.equal((await cacheFiles(dir)).length, 1);

  // a good downloaded zip is never fetched again: another size decodes from it with the server gone
  await server.close();
  const small = await loadImageSet(pokemon(dir, { url, sha1, size: 4 }));
  assert.equal(small.count, 12);
  assert.equal(server.requests.length, 1);

  // and a cached set needs not even the zip
  await rm(path.join(dir, 'downloads'), { recursive: true });
  decoded = 0;
  const again = await loadImageSet(pokemon(dir, { url, sha1, onProgress: () => decoded++ }));
  assert.equal(decoded, 0);
  assert.deepEqual(again.pixels, first.pixels);
});

test('pokemon: the default SHA-1 refuses another file, deletes it, and caches nothing', async (t) => {
  const dir = await tempDir(t);
  const server = await serve(rangeHandler(await pokemonZip()));
  t.after(server.close);
  await assert.rejects(loadImageSet(pokemon(dir, { url: `${server.url}/pokemon.zip` })), (err: Error) => {
    assert.ok(err instanceof DatasetError);
    assert.match(err.message, new RegExp(`^pokemon\\.zip from http://127\\.0\\.0\\.1:\\d+/pokemon\\.zip failed its SHA-1 check \\(expected ${POKEMON_SHA1}, got [0-9a-f]{40}\\); the download was deleted`));
    return true;
  });
  assert.deepEqual(await readdir(path.join(dir, 'downloads')), []);
  assert.deepEqual(await cacheFiles(dir), []);
});

test(`pokemon: $${POKEMON_URL_ENV} points at a mirror; --limit decodes only the first N`, async (t) => {
  const dir = await tempDir(t);
  const zip = await pokemonZip();
  const server = await serve(rangeHandler(zip));
  t.after(server.close);
  const saved = process.env[POKEMON_URL_ENV];
  process.env[POKEMON_URL_ENV] = `${server.url}/mirror/pokemon.zip`;
  t.after(() => {
    if (saved === undefined) delete process.env[POKEMON_URL_ENV];
    else process.env[POKEMON_URL_ENV] = saved;
  });
  let total = 0;
  const onProgress = (_d: number, n: number) => (total = n);
  const set = await loadImageSet(pokemon(dir, { sha1: createHash('sha1').update(zip).digest('hex'), limit: 5, onProgress }));
  assert.equal(set.count, 5);
  assert.equal(total, 5);
  assert.equal(server.requests[0].url, '/mirror/pokemon.zip');
  // the limited set is cached under its own key: the full set is not mistaken for it, nor it for the full set
  const full = await loadImageSet(pokemon(dir, { sha1: createHash('sha1').update(zip).digest('hex'), onProgress }));
  assert.equal(full.count, 12);
  assert.equal(total, 12, 'decoded, not read from the limited cache');
  assert.equal(server.requests.length, 1);
});

test('pokemon: an unreachable server says so and suggests the offline sources', async (t) => {
  const dir = await tempDir(t);
  const port = await closedPort();
  await assert.rejects(loadImageSet(pokemon(dir, { url: `http://127.0.0.1:${port}/pokemon.zip` })), (err: Error) => {
    assert.ok(err instanceof DatasetError);
    assert.equal(
      err.message,
      `cannot download pokemon.zip: 127.0.0.1:${port} is unreachable (ECONNREFUSED); train offline with --dataset pokesprite, or --data PATH for a folder or .zip of images`,
    );
    return true;
  });
});

test('pokemon: --data reads a local copy of the zip; a bad --sha1 is refused', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'pokemon.zip');
  await writeFile(file, await pokemonZip());
  const set = await loadImageSet(pokemon(dir, { data: file }));
  assert.equal(set.count, 12);
  await assert.rejects(loadImageSet(pokemon(dir, { sha1: 'abc' })), /^DatasetError: --sha1 abc is not a SHA-1/);
});

test('pokesprite: the package sprites, first N in sorted order', async (t) => {
  const dir = await tempDir(t);
  const set = await loadImageSet({ dataset: 'pokesprite', cacheDir: dir, size: 16, channels: 3, background: 'white', fit: 'fill', limit: 3 });
  assert.equal(set.count, 3);
  assert.equal(set.pixels.length, 3 * 16 * 16 * 3);
  assert.deepEqual([...set.pixels.subarray(0, 3)], [255, 255, 255], 'box sprites have transparent corners: white');
});

test('bad sizes, channels and limits are refused before any work', async () => {
  const base: LoadOptions = { dataset: 'pokesprite', size: 8, channels: 3, background: 'white', fit: 'fill', cacheDir: '/nonexistent' };
  await assert.rejects(loadImageSet({ ...base, size: 0 }), DatasetError);
  await assert.rejects(loadImageSet({ ...base, channels: 2 as 1 }), DatasetError);
  await assert.rejects(loadImageSet({ ...base, limit: 0 }), /--limit must be a positive integer/);
  await assert.rejects(loadImageSet({ ...base, fit: 'cover' as 'fill' }), /--fit must be fill or contain/);
});

test('a background colour sharp cannot read is named, not reported as undecodable images', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'a.png'), await solid('png', [1, 2, 3]));
  await assert.rejects(
    loadImageSet({ dataset: 'pokesprite', data: dir, cacheDir: dir, size: 8, channels: 3, background: 'whte', fit: 'fill' }),
    /^DatasetError: --background whte is not a colour \(try white, black, #808080 or rgb\(128,128,128\)\)$/,
  );
});

function parse(args: string[]): Record<string, unknown> {
  const cmd = addDatasetOptions(new Command('train').exitOverride().configureOutput({ writeErr: () => {} }));
  cmd.parse(args, { from: 'user' });
  return cmd.opts();
}

test('the dataset flags: defaults, parsing, and the LoadOptions they make', () => {
  const d = datasetOptionsFrom(parse([]), 64, 3, undefined);
  assert.equal(d.dataset, 'pokesprite');
  assert.equal(d.background, 'white');
  assert.equal(d.fit, 'fill');
  assert.equal(d.cacheDir, 'data');
  assert.equal(d.cache, true);
  assert.equal(d.data, undefined);
  assert.deepEqual(d.zipLimits, { maxEntries: 250_000, maxEntrySize: 64 * 1024 ** 2, maxTotalSize: 4 * 1024 ** 3, maxRatio: 100 });
  assert.equal(typeof d.onDownload, 'function');
  assert.equal(typeof d.log, 'function');

  const o = parse(['--dataset', 'pokemon', '--url', 'http://127.0.0.1:1/p.zip', '--sha1', 'ab'.repeat(20), '--cache-dir', '/tmp/c',
    '--no-cache', '--zip-max-entries', '10', '--zip-max-entry-size', '1.5M', '--zip-max-total-size', '2g', '--zip-max-ratio', '500',
    '--background', 'black', '--fit', 'contain']);
  const l = datasetOptionsFrom(o, 32, 1, 64);
  assert.equal(l.dataset, 'pokemon');
  assert.equal(l.url, 'http://127.0.0.1:1/p.zip');
  assert.equal(l.sha1, 'ab'.repeat(20));
  assert.equal(l.cacheDir, '/tmp/c');
  assert.equal(l.cache, false);
  assert.deepEqual(l.zipLimits, { maxEntries: 10, maxEntrySize: 1.5 * 1024 ** 2, maxTotalSize: 2 * 1024 ** 3, maxRatio: 500 });
  assert.deepEqual([l.background, l.fit, l.size, l.channels, l.limit], ['black', 'contain', 32, 1, 64]);
  assert.equal(datasetOptionsFrom(parse(['--data', 'x.zip']), 8, 3, undefined).data, 'x.zip');

  assert.throws(() => parse(['--dataset', 'cifar']), /invalid/i);
  assert.throws(() => parse(['--zip-max-entries', '0']), /positive integer/);
  assert.throws(() => parse(['--zip-max-entry-size', 'lots']), /size such as/);
});

test('naturalChannels: grey for the MNISTs, RGB otherwise; parseSize units', () => {
  assert.equal(naturalChannels(parse(['--dataset', 'mnist'])), 1);
  assert.equal(naturalChannels(parse(['--dataset', 'fashion-mnist'])), 1);
  assert.equal(naturalChannels(parse(['--dataset', 'pokemon'])), 3);
  assert.equal(naturalChannels(parse([])), 3);
  assert.equal(parseSize('512k'), 512 * 1024);
  assert.equal(parseSize('64M'), 64 * 1024 ** 2);
  assert.equal(parseSize('4GiB'), 4 * 1024 ** 3);
  assert.equal(parseSize('1000'), 1000);
});

test('--crop and --mirror: unset unless given (the dataset decides), and a run recorded without them had neither', () => {
  const unset = parse([]);
  assert.equal(unset.crop, undefined);
  assert.equal(unset.mirror, undefined);
  const legacy = datasetOptionsFrom(unset, 32, 3, undefined);
  assert.deepEqual([legacy.crop, legacy.mirror], ['none', false]);
  const given = datasetOptionsFrom(parse(['--crop', 'content', '--mirror']), 32, 3, undefined);
  assert.deepEqual([given.crop, given.mirror], ['content', true]);
  const off = parse(['--crop', 'none', '--no-mirror']);
  assert.deepEqual([off.crop, off.mirror], ['none', false]);
  assert.throws(() => parse(['--crop', 'tight']), /invalid/i);
});

test('datasetDefaults: sprites cropped and mirrored; digits and clothes as their references have them', () => {
  assert.deepEqual(datasetDefaults('pokesprite'), { crop: 'content', mirror: true });
  assert.deepEqual(datasetDefaults('pokemon'), { crop: 'content', mirror: true });
  assert.deepEqual(datasetDefaults('mnist'), { crop: 'none', mirror: false });
  assert.deepEqual(datasetDefaults('mnist-10k'), { crop: 'none', mirror: false });
  assert.deepEqual(datasetDefaults('fashion-mnist'), { crop: 'none', mirror: false });
});
