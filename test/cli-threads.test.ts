// `--threads` on the real command line (the built dist/cli.js; `npm test` builds first): runs are reproducible for a
// given thread count and, since the thread count changes no result, across thread counts and resumes too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { tmpDir } from './helpers.js';

const CLI = path.resolve('dist/cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
const cacheDir = path.join(os.tmpdir(), `dcgan-cli-threads-cache-${process.pid}`);
const tiny = ['--limit', '48', '--image-size', '16', '--width', '8', '--batch-size', '16', '--backend', 'wasm', '--cache-dir', cacheDir];

/** What a checkpoint holds (both networks with batch-norm statistics, both Adam states, the state), and the samples. */
async function runBytes(dir: string, epochs: number): Promise<Record<string, Buffer>> {
  const files = ['generator/weights.bin', 'discriminator/weights.bin', 'optimizer/slots.bin', 'state.json', `samples/epoch-00${epochs}.png`];
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f, await readFile(path.join(dir, f))] as const)));
}

function assertSameBytes(a: Record<string, Buffer>, b: Record<string, Buffer>, what: string): void {
  for (const f of Object.keys(a)) assert.ok(a[f].equals(b[f]), `${f} differs: ${what}`);
}

const train = (out: string, threads: string, epochs: number, ...more: string[]) => {
  const r = run(['train', ...tiny, '--epochs', String(epochs), '--out', out, '--threads', threads, ...more]);
  assert.equal(r.status, 0, r.stderr);
  return r;
};

let twoThreads: string;
before(async () => {
  assert.ok(existsSync(CLI), 'dist/cli.js is missing: run `npm run build` (npm test does it first)');
  twoThreads = path.join(await tmpDir(), 'run');
  const r = train(twoThreads, '2', 2);
  assert.match(r.stderr, /^backend: wasm \(simd, 2 threads\)$/m);
});

test('two runs on 2 threads give the same bytes; the run records its threads', async () => {
  const again = path.join(await tmpDir(), 'run');
  train(again, '2', 2);
  assertSameBytes(await runBytes(twoThreads, 2), await runBytes(again, 2), 'two runs on 2 threads');
  const config = JSON.parse(await readFile(path.join(twoThreads, 'config.json'), 'utf8'));
  assert.equal(config.options.threads, 2);
  assert.equal(config.threads, 2);
  assert.equal(config.device, 'wasm (simd, 2 threads)');
});

test('--threads may change on --resume, and the bytes do not: 1 thread, then 3, gives what 2 give', async () => {
  const resumed = path.join(await tmpDir(), 'run');
  assert.match(train(resumed, '1', 1).stderr, /^backend: wasm \(simd, 1 thread\)$/m);
  const r = train(resumed, '3', 2, '--resume');
  assert.match(r.stderr, /^backend: wasm \(simd, 3 threads\)$/m);
  assertSameBytes(await runBytes(twoThreads, 2), await runBytes(resumed, 2), '1 thread, then resumed on 3');
  const config = JSON.parse(await readFile(path.join(resumed, 'config.json'), 'utf8'));
  assert.deepEqual([config.threads, config.resumes.map((x: { threads: number }) => x.threads)], [1, [3]]);
});

test('--threads must be a positive integer: one line naming the flag, nothing written', async () => {
  for (const bad of ['0', '-2', '1.5', 'many']) {
    const out = path.join(await tmpDir(), 'run');
    const r = run(['train', ...tiny, '--out', out, '--threads', bad]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr.trim(), /^error: option '--threads <n>' argument '.*' is invalid\. must be a positive integer\.$/);
    assert.ok(!existsSync(out), `${out} was written`);
  }
});

test('sample, eval and bench take --threads too', () => {
  const grid = path.join(os.tmpdir(), `dcgan-threads-${process.pid}.png`);
  const sample = run(['sample', '--run', twoThreads, '--n', '4', '--out', grid, '--seed', '1', '--backend', 'wasm', '--threads', '2']);
  assert.equal(sample.status, 0, sample.stderr);
  assert.match(sample.stderr, /wasm \(simd, 2 threads\)\)$/m);
  const evaluated = run(['eval', '--run', twoThreads, '--n', '16', '--backend', 'wasm', '--threads', '2', '--json']);
  assert.equal(evaluated.status, 0, evaluated.stderr);
  assert.match(evaluated.stderr, /wasm \(simd, 2 threads\)\)$/m);
  const bench = run(['bench', '--backend', 'wasm', '--threads', '2', '--image-size', '16', '--width', '8', '--batch-size', '8',
    '--steps', '1', '--windows', '1', '--warmup', '1', '--warmup-seconds', '0', '--top', '0', '--json']);
  assert.equal(bench.status, 0, bench.stderr);
  assert.equal(JSON.parse(bench.stdout).device, 'wasm (simd, 2 threads)');
});
