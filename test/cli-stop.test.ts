// Stopping a run from outside: Ctrl-C and SIGTERM, as a user sends them to the built CLI.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { tmpDir } from './helpers.js';

const CLI = path.resolve('dist/cli.js');
const cacheDir = path.join(os.tmpdir(), `dcgan-cli-stop-cache-${process.pid}`);
// 20 steps an epoch (--no-mirror: pokesprite mirrors by default) of about 0.7 s each on wasm (2-core VM): slow enough to tell "after this step" from "at the end of
// the epoch", where the only loss read of a --log-every 1000 run happens
const slow = ['--limit', '1280', '--no-mirror', '--image-size', '32', '--width', '32', '--batch-size', '64', '--backend', 'wasm', '--cache-dir', cacheDir];

before(() => assert.ok(existsSync(CLI), 'dist/cli.js is missing: run `npm run build` (npm test does it first)'));

/** Starts `train`, sends `signals` once the progress line of step `atStep` has been printed; resolves on exit. */
function trainAndSignal(args: string[], atStep: RegExp, signals: NodeJS.Signals[]): Promise<{ code: number | null; stderr: string; seenStep: number }> {
  const child = spawn(process.execPath, [CLI, 'train', ...args]);
  let stderr = '';
  let seenStep = -1;
  return new Promise((resolve) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const m = atStep.exec(stderr);
      if (m && seenStep < 0) {
        seenStep = Number(m[1]);
        for (const s of signals) child.kill(s);
      }
    });
    child.on('exit', (code) => resolve({ code, stderr, seenStep }));
  });
}

test('Ctrl-C stops after the step under way, not at the next loss read', async () => {
  const out = path.join(await tmpDir(), 'run');
  const r = await trainAndSignal([...slow, '--epochs', '1', '--log-every', '1000', '--out', out], /epoch 1\/1 (\d+)\/20/, ['SIGINT']);
  assert.equal(r.code, 130, r.stderr);
  const state = JSON.parse(await readFile(path.join(out, 'state.json'), 'utf8'));
  // before the fix the signal was only seen at the epoch's end: step 20
  assert.ok(state.step >= r.seenStep && state.step <= r.seenStep + 3, `signalled after step ${r.seenStep}, stopped at step ${state.step}`);
  assert.match(r.stderr, /SIGINT: stopping after this step/);
  // the steps it trained are in the log even though no read was due
  const steps = (await readFile(path.join(out, 'steps.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, Array.from({ length: state.step }, (_, i) => i + 1));
});

test('SIGTERM stops the same way and exits 143', async () => {
  const out = path.join(await tmpDir(), 'run');
  const r = await trainAndSignal([...slow, '--epochs', '1', '--log-every', '1000', '--out', out], /epoch 1\/1 (\d+)\/20/, ['SIGTERM']);
  assert.equal(r.code, 143, r.stderr);
  const state = JSON.parse(await readFile(path.join(out, 'state.json'), 'utf8'));
  assert.ok(state.step <= r.seenStep + 3, `signalled after step ${r.seenStep}, stopped at step ${state.step}`);
});

test('SIGHUP (the terminal closed) stops the same way, saving the epoch under way, and exits 129', async () => {
  const out = path.join(await tmpDir(), 'run');
  const r = await trainAndSignal([...slow, '--epochs', '1', '--log-every', '1000', '--out', out], /epoch 1\/1 (\d+)\/20/, ['SIGHUP']);
  assert.equal(r.code, 129, r.stderr);
  assert.match(r.stderr, /SIGHUP: stopping after this step and saving a checkpoint/);
  const state = JSON.parse(await readFile(path.join(out, 'state.json'), 'utf8'));
  assert.ok(state.step >= r.seenStep && state.step <= r.seenStep + 3, `signalled after step ${r.seenStep}, stopped at step ${state.step}`);
  assert.equal(state.stepInEpoch, state.step, 'the steps of the epoch under way were not saved');
});

test('two Ctrl-Cs at once: the run quits, and the folder still holds one whole checkpoint that resumes', async () => {
  const out = path.join(await tmpDir(), 'run');
  const tiny = ['--limit', '64', '--no-mirror', '--image-size', '16', '--width', '8', '--batch-size', '16', '--backend', 'wasm', '--cache-dir', cacheDir];
  // the first epoch completes (a checkpoint at step 4); then two signals during epoch 2
  const r = await trainAndSignal([...tiny, '--epochs', '3', '--out', out], /epoch 2\/3 (\d+)\/4/, ['SIGINT', 'SIGINT']);
  assert.ok(r.code === 130, `exit ${r.code}\n${r.stderr}`);
  const resumed = spawnSync(process.execPath, [CLI, 'train', '--resume', '--epochs', '3', '--out', out, '--backend', 'wasm', '--cache-dir', cacheDir], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  const state = JSON.parse(await readFile(path.join(out, 'state.json'), 'utf8'));
  assert.deepEqual([state.epoch, state.step], [3, 12]);
});
