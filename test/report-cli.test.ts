// The new commands as a user runs them (dist/cli.js, rebuilt first when stale: test/cli-run.ts): eval, report, and sample's
// --interpolate and --search, on one tiny run trained with --eval-every.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { tmpDir } from './helpers.js';
import { CLI } from './cli-run.js';

const run = (args: string[], cwd?: string) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', cwd, timeout: 300_000 });
// the decoded-set cache goes to a temp folder, not the checkout's data/
const cacheDir = path.join(os.tmpdir(), `dcgan-report-test-cache-${process.pid}`);
// --no-mirror: 64 images, 4 steps an epoch (pokesprite mirrors by default)
const tiny = ['--limit', '64', '--no-mirror', '--image-size', '16', '--width', '8', '--batch-size', '16', '--backend', 'wasm', '--cache-dir', cacheDir];

let runDir: string;
let out: string;
before(async () => {
  out = await tmpDir();
  runDir = path.join(out, 'run');
  const r = run(['train', ...tiny, '--epochs', '2', '--eval-every', '1', '--eval-n', '32', '--out', runDir]);
  assert.equal(r.status, 0, r.stderr);
});

test('dcgan train --eval-every writes the figures per epoch and plot.png', async () => {
  const metrics = (await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(metrics.length, 2);
  for (const m of metrics) {
    assert.equal(m.eval.n, 32);
    assert.ok(Number.isFinite(m.eval.swd_x1e3['16']) && Number.isFinite(m.eval.swd_x1e3.avg));
    assert.ok(Number.isFinite(m.eval.nn_generated) && Number.isFinite(m.eval.nn_real));
  }
  assert.equal((await sharp(path.join(runDir, 'plot.png')).metadata()).format, 'png');
});

test('dcgan eval prints SWD per level and the nearest-neighbour check, and appends to eval.jsonl', async () => {
  await rm(cacheDir, { recursive: true, force: true }); // the data is decoded again, with progress on stderr
  const r = run(['eval', '--run', runDir, '--n', '32', '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^decoding images 64\/64 \(100%\)/m);
  assert.match(r.stderr, /^data: pokesprite-images: 64 sprites \(16×16×3\)$/m);
  assert.match(r.stdout, /SWD ×10³ \(32 generated vs 32 real images\): 16px \d+\.\d\d; average \d+\.\d\d/);
  assert.match(r.stdout, /nearest training image: generated 0\.\d+, held-out real 0\.\d+ \(ratio/);
  const j = run(['eval', '--run', runDir, '--n', '32', '--json', '--backend', 'wasm']);
  assert.equal(j.status, 0, j.stderr);
  const record = JSON.parse(j.stdout);
  assert.deepEqual([record.epoch, record.step, record.n, record.seed], [2, 8, 32, 0]);
  const lines = (await readFile(path.join(runDir, 'eval.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  // the same seed gives the same figures
  assert.deepEqual(lines[0].swd_x1e3, lines[1].swd_x1e3);
  assert.equal(lines[0].nn_generated, lines[1].nn_generated);
});

test('dcgan report writes a self-contained report.html into the run folder', async () => {
  const r = run(['report', '--run', runDir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /wrote .*report\.html/);
  const html = await readFile(path.join(runDir, 'report.html'), 'utf8');
  const images = [...html.matchAll(/<img [^>]*src="data:image\/png;base64,([^"]+)"/g)];
  assert.equal(images.length, 1 + 1 + 1 + 2); // latest grid, losses, SWD, two epochs
  for (const [, b64] of images) assert.equal((await sharp(Buffer.from(b64, 'base64')).metadata()).format, 'png');
  assert.match(html, /from dcgan eval/);
});

test('dcgan sample --interpolate writes a grid (rows = walks) or an animation', async () => {
  const png = path.join(out, 'walk.png'), gif = path.join(out, 'walk.gif');
  const r = run(['sample', '--run', runDir, '--interpolate', '6', '--n', '3', '--seed', '1', '--out', png, '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height], [6 * 18 + 2, 3 * 18 + 2]);
  const g = run(['sample', '--run', runDir, '--interpolate', '4', '--n', '2', '--seed', '1', '--out', gif, '--backend', 'wasm']);
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stderr, /2 walks of 4 steps .* 6 frames/);
  const anim = await sharp(gif, { animated: true }).metadata();
  assert.deepEqual([anim.format, anim.pages, anim.pageHeight, anim.width], ['gif', 6, 20, 2 * 18 + 2]);
});

test('dcgan sample --search keeps --n of N candidates', async () => {
  const file = path.join(out, 'best.png');
  const r = run(['sample', '--run', runDir, '--search', '30', '--n', '5', '--cols', '5', '--seed', '2', '--out', file, '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /the 5 of 30 candidates D scores highest/);
  const meta = await sharp(file).metadata();
  assert.deepEqual([meta.width, meta.height], [5 * 18 + 2, 18 + 2]);
});

function assertRefused(args: string[], message: RegExp) {
  const r = run(args);
  assert.notEqual(r.status, 0, `exit 0 for ${args.join(' ')}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `more than one line for ${args.join(' ')}:\n${r.stderr}`);
  assert.match(lines[0], message);
}

test('bad input to the new commands: one line, non-zero exit, nothing written', async () => {
  const x = path.join(out, 'x.png');
  assertRefused(['sample', '--run', runDir, '--interpolate', '1', '--out', x, '--backend', 'wasm'], /--interpolate needs at least 2 steps/);
  assertRefused(['sample', '--run', runDir, '--interpolate', '4', '--out', path.join(out, 'x.jpg'), '--backend', 'wasm'], /\.png \(a grid\), \.gif or \.webp/);
  assertRefused(['sample', '--run', runDir, '--search', '4', '--n', '8', '--out', x, '--backend', 'wasm'], /--search 4 draws fewer candidates than the --n 8/);
  assertRefused(['sample', '--run', runDir, '--search', '40', '--interpolate', '4', '--out', x, '--backend', 'wasm'], /do not combine/);
  assertRefused(['eval', '--run', path.join(out, 'nothing'), '--backend', 'wasm'], /no generator in/);
  assertRefused(['eval', '--n', '0'], /--n.*positive integer/);
  assertRefused(['report', '--run', path.join(out, 'nothing')], /not a run folder/);
  assert.equal(existsSync(x), false);
});
