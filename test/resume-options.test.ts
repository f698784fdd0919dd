import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeResumeOptions } from '../src/train/command.js';
import { UsageError } from '../src/util/errors.js';

const saved = { epochs: 20, width: 64, imageSize: 64, logEvery: 25, evalEvery: 2, backend: 'auto', lr: 0.005 };

test('--resume alone keeps every saved value, the changeable ones too', () => {
  const given = { epochs: 20, width: 64, imageSize: 64, logEvery: 10, evalEvery: 0, backend: 'auto', lr: 0.005, resume: true };
  const merged = mergeResumeOptions(saved, given, new Set(['resume']));
  assert.equal(merged.logEvery, 25);
  assert.equal(merged.evalEvery, 2);
  assert.equal(merged.epochs, 20);
});

test('typed flags that may change do change: --epochs, --backend, --log-every', () => {
  const given = { ...saved, epochs: 30, backend: 'wasm', logEvery: 5, resume: true };
  const merged = mergeResumeOptions(saved, given, new Set(['epochs', 'backend', 'logEvery', 'resume']));
  assert.deepEqual([merged.epochs, merged.backend, merged.logEvery], [30, 'wasm', 5]);
});

test('a typed flag that contradicts the run is refused; the same value is fine', () => {
  assert.throws(() => mergeResumeOptions(saved, { ...saved, width: 32 }, new Set(['width'])), (e) => e instanceof UsageError && /--width 32 conflicts/.test(e.message));
  assert.equal(mergeResumeOptions(saved, { ...saved }, new Set(['width'])).width, 64);
});

test('--crop and --mirror on resume: a run from before them goes on with neither; a later one keeps its own', () => {
  // the command line has filled in pokesprite's defaults (content, mirrored) before the merge
  const given = { ...saved, crop: 'content', mirror: true, resume: true };
  const old = mergeResumeOptions({ ...saved }, given, new Set(['resume']));
  assert.deepEqual([old.crop, old.mirror], ['none', false]);
  const plain = mergeResumeOptions({ ...saved, crop: 'none', mirror: false }, given, new Set(['resume']));
  assert.deepEqual([plain.crop, plain.mirror], ['none', false]);
  assert.throws(() => mergeResumeOptions({ ...saved, crop: 'content', mirror: true }, { ...given, mirror: false }, new Set(['mirror'])),
    (e) => e instanceof UsageError && /--mirror false conflicts with the run being resumed \(it has true\)/.test(e.message));
});

test('the CPU backends cap the default batch where a WebAssembly heap runs out (d2l size: 128, measured)', async () => {
  const { batchCap } = await import('../src/train/command.js');
  const { architecture } = await import('../src/model/architectures.js');
  const { activationsPerImageOf } = await import('../src/model/build.js');
  const { initBackend } = await import('../src/backend/index.js');
  const { hooks } = await initBackend('wasm');
  const cap = (imageSize: number, width: number) =>
    batchCap(hooks.activationBudget!, activationsPerImageOf(architecture('d2l'), { imageSize, width, latent: 100, channels: 3, classes: 0 }));
  assert.equal(cap(64, 64), 128); // 256 aborted on wasm, 128 trained
  assert.equal(cap(32, 32), 1024); // the default 256 is left alone
  assert.equal(cap(64, 128), 64);
  assert.equal(batchCap(1000, 10), 64); // a power of two, rounded down
  assert.equal(batchCap(5, 10), 1);
});

test('--threads may change on --resume; left out, the run keeps its own (a run from before --threads takes the default)', () => {
  const withThreads = { ...saved, threads: 2 };
  assert.equal(mergeResumeOptions(withThreads, { ...withThreads, threads: 8, resume: true }, new Set(['threads', 'resume'])).threads, 8);
  assert.equal(mergeResumeOptions(withThreads, { ...withThreads, threads: 8, resume: true }, new Set(['resume'])).threads, 2);
  assert.equal(mergeResumeOptions(saved, { ...saved, threads: 4, resume: true }, new Set(['resume'])).threads, 4);
});
