// Which generator `export --web` (and serve, which exports first) ships: the average of G's weights where the run keeps
// one (what sample draws and the grids show), G itself with --raw, the best epoch's with --best — each byte for byte
// the run's own folder, and the page's export.json says which. In process, without the CLI, so that mutation testing
// runs it (serve --dir's refusal of --raw is in cli-run-folder.test.ts).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { exportWeb } from '../src/export/web.js';
import { train, type TrainOptions } from '../src/train/train.js';
import { syntheticImageSet, tmpDir, useTestBackend } from './helpers.js';

const backend = { name: 'wasm' as const, device: 'test', skipped: [], hooks: {} };
let run = '';

// one hook: the backend first, then the run (Node 22's runner started a second top-level hook before the first had
// finished: "Backend 'wasm' has not yet been initialized")
before(async () => {
  await useTestBackend();
  run = await tmpDir();
  const o: TrainOptions = {
    out: run, resume: false, epochs: 2, batchSize: 8, lr: 0.002, beta1: 0.5, beta2: 0.999, seed: 4, ema: 0.05, keepBest: 'loss-g',
    arch: 'd2l', model: { imageSize: 16, width: 8, latent: 16, channels: 3, classes: 0 }, logEvery: 3, gridImages: 6, gridColumns: 3,
  };
  await train(o, syntheticImageSet(32, 16), backend, { log: () => {} });
});

const bytes = (...parts: string[]) => readFile(path.join(...parts));

for (const [name, choice, folder, what] of [
  ['the average (default)', {}, 'generator-ema', "the average of G's weights"],
  ['--raw: G', { raw: true }, 'generator', 'G'],
  ['--best: the best epoch\'s average', { best: true }, 'best/generator-ema', "the average of G's weights, best epoch"],
  ['--best --raw: the best epoch\'s G', { best: true, raw: true }, 'best/generator', 'G, best epoch'],
] as const) {
  test(`export --web ships ${name}`, async () => {
    const dir = path.join(await tmpDir(), 'page');
    const r = await exportWeb({ run, dir, generator: choice });
    assert.equal(r.generator, what);
    assert.deepEqual(await bytes(dir, 'generator', 'weights.bin'), await bytes(run, folder, 'weights.bin'));
    assert.deepEqual(await bytes(dir, 'generator', 'model.json'), await bytes(run, folder, 'model.json'));
    assert.equal(JSON.parse((await bytes(dir, 'export.json')).toString()).generator, what);
  });
}

test('the average and G differ here (else the tests above could not tell them apart)', async () => {
  assert.notDeepEqual(await bytes(run, 'generator-ema', 'weights.bin'), await bytes(run, 'generator', 'weights.bin'));
});
