// Every dataset source through the real CLI: `dcgan train` downloads, verifies, caches and trains.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { rangeHandler, serve, solid, sprite, tempDir, zipOf } from './fixtures/data.js';
import { CLI } from './cli-run.js';

const tiny = ['--image-size', '16', '--width', '4', '--batch-size', '8', '--epochs', '1', '--backend', 'wasm'];

/** Runs the CLI without blocking this process (the test's HTTP server must keep answering). */
function cli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI, ...args]);
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** 24 small images in d2l's layout: pokemon/<class>/<n>.png, a few colours and one RGBA sprite per class. */
async function d2lZip(): Promise<Buffer> {
  const entries: Record<string, Buffer> = {};
  const colours: [number, number, number][] = [[200, 30, 30], [30, 160, 40], [40, 60, 200]];
  for (let c = 0; c < 4; c++) {
    for (let i = 0; i < 5; i++) entries[`pokemon/class${c}/${i}.png`] = await solid('png', colours[(c + i) % 3], 20, 20);
    entries[`pokemon/class${c}/sprite.png`] = await sprite(20, 20);
  }
  return zipOf(entries);
}

async function runConfig(out: string) {
  return JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
}

test('--dataset pokemon --url: downloads from a local server, verifies, caches, trains; the next run needs no network', async (t) => {
  const dir = await tempDir(t);
  const zip = await d2lZip();
  const sha1 = createHash('sha1').update(zip).digest('hex');
  const server = await serve(rangeHandler(zip));
  const cache = path.join(dir, 'cache');
  let r;
  try {
    r = await cli(['train', '--dataset', 'pokemon', '--url', `${server.url}/pokemon.zip`, '--sha1', sha1, '--cache-dir', cache, '--out', path.join(dir, 'a'), ...tiny]);
  } finally {
    await server.close();
  }
  assert.equal(r.status, 0, r.stderr);
  assert.ok(server.requests.length >= 1);
  assert.equal(await readFile(path.join(cache, 'downloads', 'pokemon.zip')).then((b) => createHash('sha1').update(b).digest('hex')), sha1);
  const config = await runConfig(path.join(dir, 'a'));
  // d2l's set by default: cropped (the sprites to their visible pixels; the one-colour squares left whole) and mirrored
  assert.deepEqual([config.options.crop, config.options.mirror], ['content', true]);
  assert.equal(config.dataset.count, 48);
  assert.ok(existsSync(path.join(dir, 'a', 'samples', 'epoch-001.png')));
  // the server is gone: the cached set (or the verified zip) is all the second run needs
  const again = await cli(['train', '--dataset', 'pokemon', '--url', `${server.url}/pokemon.zip`, '--sha1', sha1, '--cache-dir', cache, '--out', path.join(dir, 'b'), ...tiny]);
  assert.equal(again.status, 0, again.stderr);
});

test('--dataset pokemon with a wrong hash: one line, non-zero exit, nothing cached, no run folder', async (t) => {
  const dir = await tempDir(t);
  const zip = await d2lZip();
  const server = await serve(rangeHandler(zip));
  const cache = path.join(dir, 'cache');
  let r;
  try {
    r = await cli(['train', '--dataset', 'pokemon', '--url', `${server.url}/pokemon.zip`, '--sha1', '0'.repeat(40), '--cache-dir', cache, '--out', path.join(dir, 'run'), ...tiny]);
  } finally {
    await server.close();
  }
  assert.notEqual(r.status, 0);
  const errors = r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], /SHA-1|sha1|hash/i);
  const downloads = existsSync(path.join(cache, 'downloads')) ? await readdir(path.join(cache, 'downloads')) : [];
  assert.deepEqual(downloads, [], 'a file that failed its hash was kept');
  assert.equal(existsSync(path.join(dir, 'run', 'state.json')), false);
});

test('--data: a folder and a zip of mixed formats train', async (t) => {
  const dir = await tempDir(t);
  const folder = path.join(dir, 'images');
  await mkdir(path.join(folder, 'sub'), { recursive: true });
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 4; i++) {
    files[`a${i}.png`] = await solid('png', [200, 10 * i, 10], 12, 12);
    files[`sub/b${i}.jpg`] = await solid('jpeg', [10, 200, 10 * i], 12, 12);
    files[`c${i}.webp`] = await solid('webp', [10 * i, 10, 200], 12, 12);
    files[`sub/d${i}.png`] = await sprite(12, 12);
  }
  for (const [name, data] of Object.entries(files)) await writeFile(path.join(folder, name), data);
  await writeFile(path.join(folder, 'notes.txt'), 'not an image');
  const fromFolder = await cli(['train', '--data', folder, '--cache-dir', path.join(dir, 'cache'), '--out', path.join(dir, 'f'), ...tiny]);
  assert.equal(fromFolder.status, 0, fromFolder.stderr);
  assert.equal((await runConfig(path.join(dir, 'f'))).dataset.count, 32); // mirrored, as --dataset pokesprite is

  const zipFile = path.join(dir, 'images.zip');
  await writeFile(zipFile, zipOf({ ...files, '__MACOSX/._a0.png': 'resource fork' }));
  const fromZip = await cli(['train', '--data', zipFile, '--cache-dir', path.join(dir, 'cache'), '--out', path.join(dir, 'z'), ...tiny]);
  assert.equal(fromZip.status, 0, fromZip.stderr);
  assert.equal((await runConfig(path.join(dir, 'z'))).dataset.count, 32);
});

/** An IDX image file (magic 2051): n images of 28×28, image k all of level 8·k, gzipped. */
function idxImages(n: number): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(2051, 0);
  header.writeUInt32BE(n, 4);
  header.writeUInt32BE(28, 8);
  header.writeUInt32BE(28, 12);
  const pixels = Buffer.alloc(n * 28 * 28);
  for (let k = 0; k < n; k++) pixels.fill(8 * k, k * 784, (k + 1) * 784);
  return gzipSync(Buffer.concat([header, pixels]));
}

for (const dataset of ['mnist', 'fashion-mnist']) {
  test(`--dataset ${dataset} --data DIR: grey IDX images train a 1-channel model`, async (t) => {
    const dir = await tempDir(t);
    await writeFile(path.join(dir, 'train-images-idx3-ubyte.gz'), idxImages(16));
    const out = path.join(dir, 'run');
    const r = await cli(['train', '--dataset', dataset, '--data', dir, '--cache-dir', path.join(dir, 'cache'), '--out', out, ...tiny]);
    assert.equal(r.status, 0, r.stderr);
    const config = await runConfig(out);
    assert.equal(config.options.channels, 1);
    assert.deepEqual([config.options.crop, config.options.mirror], ['none', false]);
    assert.equal(config.dataset.count, 16);
    const G = JSON.parse(await readFile(path.join(out, 'generator', 'model.json'), 'utf8'));
    assert.match(JSON.stringify(G.modelTopology), /"filters":1,/); // the output layer makes one channel
  });
}

test('--dataset mnist-10k: trains offline on grey digits by default; --data with it is one error line', async (t) => {
  const dir = await tempDir(t);
  const out = path.join(dir, 'run');
  const r = await cli(['train', '--dataset', 'mnist-10k', '--limit', '20', '--cache-dir', path.join(dir, 'cache'), '--out', out, ...tiny]);
  assert.equal(r.status, 0, r.stderr);
  const config = await runConfig(out);
  assert.equal(config.options.channels, 1);
  assert.deepEqual([config.options.crop, config.options.mirror], ['none', false]);
  assert.equal(config.dataset.count, 20);

  // the dataset's defaults give way to the flags
  const flipped = path.join(dir, 'flipped');
  const f = await cli(['train', '--dataset', 'mnist-10k', '--limit', '8', '--crop', 'content', '--mirror', '--cache-dir', path.join(dir, 'cache'), '--out', flipped, ...tiny]);
  assert.equal(f.status, 0, f.stderr);
  const fc = await runConfig(flipped);
  assert.deepEqual([fc.options.crop, fc.options.mirror, fc.dataset.count], ['content', true, 16]);

  const bad = await cli(['train', '--dataset', 'mnist-10k', '--data', dir, '--cache-dir', path.join(dir, 'cache'), '--out', path.join(dir, 'bad'), ...tiny]);
  assert.notEqual(bad.status, 0);
  const errors = bad.stderr.trim().split('\n').filter((l) => l.startsWith('error:'));
  assert.deepEqual(errors, ['error: --dataset mnist-10k comes with the mnist package and takes no --data (for your own IDX files: --dataset mnist --data DIR)'], bad.stderr);
  assert.equal(existsSync(path.join(dir, 'bad')), false);
});
