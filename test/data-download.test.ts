// Downloads against a local server on 127.0.0.1: progress, hash checks, resume, servers that misbehave, no network.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ensureDownloaded, type DownloadEvent } from '../src/data/download.js';
import { DatasetError } from '../src/data/errors.js';
import { downloadReporter } from '../src/data/progress.js';
import { closedPort, rangeHandler, serve, tempDir } from './fixtures/data.js';

// 300 KB of varied bytes: several chunks on the wire, so progress and cuts have room to happen
const BODY = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
const SHA1 = createHash('sha1').update(BODY).digest('hex');
const FAST = { retries: 3, retryDelayMs: 5, timeoutMs: 2000 };

const exists = (f: string) => access(f).then(() => true, () => false);

test('downloads, reports progress and verifies the SHA-1', async (t) => {
  const dir = await tempDir(t);
  const server = await serve(rangeHandler(BODY));
  t.after(server.close);
  const events: DownloadEvent[] = [];
  const dest = path.join(dir, 'downloads', 'set.zip');
  const got = await ensureDownloaded({ url: `${server.url}/set.zip`, dest, hash: { algorithm: 'sha1', hex: SHA1 }, onProgress: (e) => events.push({ ...e }), ...FAST });
  assert.equal(got, dest);
  assert.deepEqual(await readFile(dest), BODY);
  assert.equal(await exists(`${dest}.part`), false);
  const data = events.filter((e) => e.state === 'downloading');
  assert.ok(data.length >= 2, 'several progress events');
  assert.equal(data[0].bytes, 0);
  assert.equal(data.at(-1)!.bytes, BODY.length);
  assert.ok(data.every((e) => e.total === BODY.length && e.file === 'set.zip'));
  assert.ok(data.every((e, i) => i === 0 || e.bytes >= data[i - 1].bytes), 'bytes never go back');
  assert.deepEqual(events.slice(-2).map((e) => e.state), ['verifying', 'done']);
});

test('a good file already there is used without the network', async (t) => {
  const dir = await tempDir(t);
  const dest = path.join(dir, 'set.zip');
  await writeFile(dest, BODY);
  const port = await closedPort();
  const events: DownloadEvent[] = [];
  await ensureDownloaded({ url: `http://127.0.0.1:${port}/set.zip`, dest, hash: { algorithm: 'sha1', hex: SHA1.toUpperCase() }, onProgress: (e) => events.push(e), ...FAST });
  assert.equal(events.length, 0);
});

test('a wrong SHA-1 deletes the download, keeps the file that was there, and says so in one line', async (t) => {
  const dir = await tempDir(t);
  const server = await serve(rangeHandler(BODY));
  t.after(server.close);
  const dest = path.join(dir, 'set.zip');
  await writeFile(dest, 'an older file');
  const wrong = 'f'.repeat(40);
  await assert.rejects(
    ensureDownloaded({ url: `${server.url}/set.zip`, dest, hash: { algorithm: 'sha1', hex: wrong }, ...FAST }),
    (err: Error) => {
      assert.ok(err instanceof DatasetError);
      assert.match(err.message, /failed its SHA-1 check \(expected f{40}, got [0-9a-f]{40}\); the download was deleted/);
      assert.ok(err.message.includes(SHA1));
      assert.match(err.message, /--sha1/);
      assert.ok(!err.message.includes('\n'));
      return true;
    },
  );
  assert.equal(await exists(`${dest}.part`), false);
  assert.equal(await readFile(dest, 'utf8'), 'an older file');
  assert.equal(server.requests.length, 1, 'a hash mismatch is not retried');
});

test('a connection cut mid-transfer resumes with a Range request', async (t) => {
  const dir = await tempDir(t);
  let first = true;
  const good = rangeHandler(BODY);
  const server = await serve((req, res) => {
    if (!first) return good(req, res);
    first = false;
    res.writeHead(200, { 'content-length': BODY.length });
    res.write(BODY.subarray(0, 150_000), () => setTimeout(() => res.socket?.destroy(), 50));
  });
  t.after(server.close);
  const events: DownloadEvent[] = [];
  const dest = path.join(dir, 'set.zip');
  await ensureDownloaded({ url: `${server.url}/set.zip`, dest, hash: { algorithm: 'sha1', hex: SHA1 }, onProgress: (e) => events.push({ ...e }), ...FAST });
  assert.deepEqual(await readFile(dest), BODY);
  assert.equal(server.requests.length, 2);
  assert.equal(server.requests[0].range, undefined);
  const m = /^bytes=(\d+)-$/.exec(server.requests[1].range ?? '');
  assert.ok(m && Number(m[1]) > 0 && Number(m[1]) <= 150_000, `resumed from the bytes kept: ${server.requests[1].range}`);
  const resumed = events.find((e) => e.state === 'downloading' && e.startBytes > 0);
  assert.equal(resumed?.startBytes, Number(m![1]));
  assert.ok(events.some((e) => e.state === 'retrying'));
});

test('a server that ignores Range (200 instead of 206) restarts the file cleanly', async (t) => {
  const dir = await tempDir(t);
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': BODY.length });
    res.end(BODY);
  });
  t.after(server.close);
  const dest = path.join(dir, 'set.zip');
  // a leftover partial file whose bytes are not the start of BODY: appending to it would fail the hash
  await writeFile(`${dest}.part`, Buffer.alloc(1000, 0xee));
  await ensureDownloaded({ url: `${server.url}/set.zip`, dest, hash: { algorithm: 'sha1', hex: SHA1 }, ...FAST });
  assert.equal(server.requests[0].range, 'bytes=1000-');
  assert.deepEqual(await readFile(dest), BODY);
});

test('a whole .part left by an interrupted run is checked, not fetched again (the server answers 416)', async (t) => {
  const dir = await tempDir(t);
  const server = await serve(rangeHandler(BODY));
  t.after(server.close);
  const dest = path.join(dir, 'set.zip');
  await writeFile(`${dest}.part`, BODY);
  await ensureDownloaded({ url: `${server.url}/set.zip`, dest, hash: { algorithm: 'sha1', hex: SHA1 }, ...FAST });
  assert.deepEqual(server.requests.map((r) => r.range), [`bytes=${BODY.length}-`]);
  assert.deepEqual(await readFile(dest), BODY);
  // a longer .part than the file (it changed on the server) starts over
  const other = path.join(dir, 'other.zip');
  await writeFile(`${other}.part`, Buffer.concat([BODY, BODY]));
  await ensureDownloaded({ url: `${server.url}/set.zip`, dest: other, hash: { algorithm: 'sha1', hex: SHA1 }, ...FAST });
  assert.deepEqual(server.requests.slice(1).map((r) => r.range), [`bytes=${2 * BODY.length}-`, undefined]);
  assert.deepEqual(await readFile(other), BODY);
});

test('a 404 fails at once with the status, not retried', async (t) => {
  const dir = await tempDir(t);
  const server = await serve((_req, res) => res.writeHead(404).end('no'));
  t.after(server.close);
  await assert.rejects(
    ensureDownloaded({ url: `${server.url}/gone.zip`, dest: path.join(dir, 'gone.zip'), hash: { algorithm: 'sha1', hex: SHA1 }, ...FAST }),
    (err: Error) => err instanceof DatasetError && /HTTP 404/.test(err.message) && !/unreachable/.test(err.message),
  );
  assert.equal(server.requests.length, 1);
});

test('server errors are retried with backoff until one succeeds', async (t) => {
  const dir = await tempDir(t);
  const good = rangeHandler(BODY);
  let n = 0;
  const server = await serve((req, res) => (++n <= 2 ? res.writeHead(503).end() : good(req, res)));
  t.after(server.close);
  const events: DownloadEvent[] = [];
  const dest = path.join(dir, 'set.zip');
  await ensureDownloaded({ url: `${server.url}/set.zip`, dest, hash: { algorithm: 'sha1', hex: SHA1 }, onProgress: (e) => events.push(e), ...FAST });
  assert.equal(server.requests.length, 3);
  const retries = events.filter((e) => e.state === 'retrying').map((e) => e.message);
  assert.equal(retries.length, 2);
  assert.match(retries[0]!, /HTTP 503.*retrying in 5 ms/);
  assert.match(retries[1]!, /retrying in 10 ms/, 'the delay doubles');
  assert.deepEqual(await readFile(dest), BODY);
});

test('gives up after the retries with the last error', async (t) => {
  const dir = await tempDir(t);
  const server = await serve((_req, res) => res.writeHead(503).end());
  t.after(server.close);
  await assert.rejects(
    ensureDownloaded({ url: `${server.url}/set.zip`, dest: path.join(dir, 'set.zip'), hash: { algorithm: 'sha1', hex: SHA1 }, ...FAST, retries: 2 }),
    /cannot download set\.zip from http:\/\/127\.0\.0\.1:\d+\/set\.zip after 3 tries: HTTP 503/,
  );
  assert.equal(server.requests.length, 3);
});

test('an unreachable host is named as such, with the offline hint', async (t) => {
  const dir = await tempDir(t);
  const port = await closedPort();
  await assert.rejects(
    ensureDownloaded({
      url: `http://127.0.0.1:${port}/set.zip`,
      dest: path.join(dir, 'set.zip'),
      hash: { algorithm: 'sha1', hex: SHA1 },
      offlineHint: 'use --dataset pokesprite',
      ...FAST,
      retries: 1,
    }),
    (err: Error) => err instanceof DatasetError && err.message === `cannot download set.zip: 127.0.0.1:${port} is unreachable (ECONNREFUSED); use --dataset pokesprite`,
  );
});

test('a stalled transfer times out and resumes', async (t) => {
  const dir = await tempDir(t);
  const good = rangeHandler(BODY);
  let first = true;
  const server = await serve((req, res) => {
    if (!first) return good(req, res);
    first = false;
    res.writeHead(200, { 'content-length': BODY.length });
    res.write(BODY.subarray(0, 100_000)); // and then nothing
  });
  t.after(server.close);
  const dest = path.join(dir, 'set.zip');
  await ensureDownloaded({ url: `${server.url}/set.zip`, dest, hash: { algorithm: 'sha1', hex: SHA1 }, ...FAST, timeoutMs: 300 });
  assert.equal(server.requests.length, 2);
  assert.match(server.requests[1].range ?? '', /^bytes=[1-9]\d*-$/);
  assert.deepEqual(await readFile(dest), BODY);
});

test('redirects are followed, and an MD5 can be the check', async (t) => {
  const dir = await tempDir(t);
  const good = rangeHandler(BODY);
  const server = await serve((req, res) => (req.url === '/old' ? res.writeHead(302, { location: '/new' }).end() : good(req, res)));
  t.after(server.close);
  const md5 = createHash('md5').update(BODY).digest('hex');
  const dest = path.join(dir, 'f.gz');
  await ensureDownloaded({ url: `${server.url}/old`, dest, hash: { algorithm: 'md5', hex: md5 }, ...FAST });
  assert.deepEqual(server.requests.map((r) => r.url), ['/old', '/new']);
  assert.deepEqual(await readFile(dest), BODY);
});

test('the plain reporter writes a line per 10 % with size, speed and ETA', () => {
  const lines: string[] = [];
  let clock = 0;
  const report = downloadReporter({ write: (s: string) => lines.push(s), isTTY: false }, () => clock);
  const base = { file: 'pokemon.zip', url: 'http://x/pokemon.zip', total: 10 * 1024 * 1024, startBytes: 0 };
  for (let mb = 0; mb <= 10; mb++) {
    clock = mb * 1000;
    for (const frac of [0, 0.5]) report({ ...base, state: 'downloading', bytes: Math.min(10, mb + frac) * 1024 * 1024 });
  }
  report({ ...base, state: 'verifying', bytes: base.total });
  report({ ...base, state: 'done', bytes: base.total });
  const out = lines.join('');
  assert.ok(out.startsWith('downloading pokemon.zip from http://x/pokemon.zip (10.0 MiB)\n'), out);
  assert.equal((out.match(/^pokemon\.zip: \d+% /gm) ?? []).length, 10, out);
  assert.match(out, /^pokemon\.zip: 50% of 10\.0 MiB, 1\.00 MiB\/s, ETA 5s$/m);
  assert.match(out, /^pokemon\.zip: downloaded and verified \(10\.0 MiB\)$/m);
});

test('the terminal reporter draws a cli-progress bar and stops it', () => {
  let out = '';
  const stream = { write: (s: string) => ((out += s), true), isTTY: true, columns: 100, on: () => stream, removeListener: () => stream };
  const report = downloadReporter(stream as never);
  const base = { file: 'pokemon.zip', url: 'http://x/p.zip', total: 2048, startBytes: 0 };
  report({ ...base, state: 'downloading', bytes: 0 });
  report({ ...base, state: 'downloading', bytes: 2048 });
  report({ ...base, state: 'done', bytes: 2048 });
  assert.match(out, /pokemon\.zip \[.*\] 100% \| 2\.00 KiB\/2\.00 KiB \| [\d.]+ [KMG]?i?B\/s \| ETA 0s/);
});
