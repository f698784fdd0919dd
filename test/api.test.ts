// dcgan as a library (src/api.ts): README's example, type-checked against the built declarations and run as a user's
// script would be (importing 'dcgan'); the options' rules are the flags'; a signal stops a run as Ctrl-C does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadGenerator, sample, train, UsageError } from '../src/api.js';
import { readState } from '../src/run/checkpoint.js';
import { buildIfStale } from './cli-run.js';
import { tmpDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** The ```ts block of README's "Use it from code". */
function readmeExample(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use it from code'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, "README's Use it from code has no ts block");
  return m[1];
}

test("README's example type-checks against dist/'s declarations and runs, importing 'dcgan'", async () => {
  await buildIfStale();
  const dir = await tmpDir();
  // a project that has dcgan installed: node_modules/dcgan is this package (its package.json's exports)
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(ROOT, path.join(dir, 'node_modules', 'dcgan'), 'dir');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(path.join(dir, 'example.ts'), readmeExample());
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    files: ['example.ts'],
  }));
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', dir], { encoding: 'utf8', cwd: dir });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  // the example has no type annotations: it runs as JavaScript too
  writeFileSync(path.join(dir, 'example.mjs'), readmeExample());
  const r = spawnSync(process.execPath, ['example.mjs'], { encoding: 'utf8', cwd: dir, timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^epoch 1: loss_G \d+\.\d{3}, grid .*samples\/epoch-001\.png$/m);
  assert.match(r.stdout, /^done at step 8 on /m); // 64 sprites mirrored (pokesprite's default): 128, 4 steps of 32 an epoch, 2 epochs
  assert.match(r.stdout, /^4 images of 16×16×3$/m);
  assert.ok(existsSync(path.join(dir, 'checkpoints/from-code/generator/model.json')));
});

test('options are checked by the flags\' rules, before any work; an unknown one is named', async () => {
  const out = path.join(await tmpDir(), 'run');
  await assert.rejects(train({ lr: -1, out }), (e: Error) => e instanceof UsageError && e.message === '--lr -1: must be a number > 0');
  await assert.rejects(train({ batchsize: 8, out } as never), (e: Error) => e instanceof UsageError && /unknown option "batchsize"/.test(e.message));
  await assert.rejects(train({ arch: 'vgg' as never, out }), (e: Error) => e instanceof UsageError && /--arch "vgg": not one of d2l, /.test(e.message));
  await assert.rejects(train({ keepBest: 'swd', out }), (e: Error) => e instanceof UsageError && /--keep-best swd needs --eval-every/.test(e.message));
  assert.equal(existsSync(out), false);
});

test('an AbortSignal stops a run as Ctrl-C does: the step under way, a checkpoint, and it resumes', async () => {
  const out = path.join(await tmpDir(), 'run');
  const stop = new AbortController();
  const steps: number[] = [];
  const settings = { dataset: 'mnist-10k', limit: 64, imageSize: 16, width: 4, batchSize: 8, epochs: 2, backend: 'wasm', out, cacheDir: path.join(out, '..', 'cache') } as const;
  const run = await train(settings, { signal: stop.signal, onStep: (e) => { steps.push(e.step); if (e.step === 3) stop.abort(); } });
  assert.deepEqual(steps, [1, 2, 3]);
  assert.equal(run.interrupted, true);
  assert.deepEqual([run.state.step, (await readState(out)).step], [3, 3]);
  assert.match(run.resumeCommand, /train --out .* --resume --epochs 2$/);
  // the progress each step reports (what the bar shows): images per second and the time left, against the wall clock
  const started = performance.now();
  const events: { step: number; batch: number; epoch: number; at: number; imagesPerSecond: number; runSecondsLeft: number; epochSecondsLeft: number }[] = [];
  const resumed = await train({ ...settings, resume: true }, { onStep: (e) => events.push({ ...e, at: performance.now() }) });
  assert.equal(resumed.interrupted, false);
  assert.equal(resumed.state.step, 16); // 64 digits (not mirrored), 8 steps of 8 an epoch, 2 epochs
  assert.deepEqual(events.map((e) => e.step), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  events.forEach((e, i) => {
    const wallPerStep = (e.at - started) / 1000 / (i + 1); // includes loading: an upper bound on a step's time
    const left = 16 - e.step;
    assert.deepEqual([e.epoch, e.batch], [Math.ceil(e.step / 8), (e.step - 1) % 8 + 1]);
    assert.ok(e.imagesPerSecond > 0 && Number.isFinite(e.imagesPerSecond), `step ${e.step}: ${e.imagesPerSecond} img/s`);
    // this epoch's images trained by this call (epoch 1 resumed after its 3rd batch) over at least the time they took
    const trained = 8 * (e.step <= 8 ? e.step - 3 : e.step - 8);
    assert.ok(e.imagesPerSecond >= 0.5 * trained / ((e.at - started) / 1000), `step ${e.step}: ${e.imagesPerSecond} img/s is too low`);
    assert.ok(e.runSecondsLeft >= 0 && e.runSecondsLeft <= left * wallPerStep + 1e-9, `step ${e.step}: ${e.runSecondsLeft} s left for ${left} steps of at most ${wallPerStep} s`);
    assert.ok(e.epochSecondsLeft <= e.runSecondsLeft, `step ${e.step}: the epoch ends after the run`);
  });
  assert.equal(events.at(-1)!.runSecondsLeft, 0);
});

test('truncation through the library: ψ 0 draws w̄\'s image for every seed, ψ 1 the plain one; a d2l run refuses it in one line', async () => {
  const dir = await tmpDir();
  const common = { dataset: 'mnist-10k', limit: 16, batchSize: 8, epochs: 1, backend: 'wasm', cacheDir: path.join(dir, 'cache') } as const;
  const styled = path.join(dir, 'stylegan');
  await train({ ...common, arch: 'stylegan', imageSize: 8, width: 2, latent: 8, out: styled });
  const pixels = async (truncation?: number) => {
    const G = await loadGenerator(styled, { truncation, backend: 'wasm' });
    const images = await G.draw(3, 4);
    G.dispose();
    return Array.from({ length: 4 }, (_, i) => Buffer.from(images.pixels.subarray(i * 64, (i + 1) * 64)).toString('hex'));
  };
  // the library's other checks, each one line before any work
  await assert.rejects(loadGenerator(styled, { threads: 0 }), (e: Error) => e instanceof UsageError && /^--threads 0: /.test(e.message));
  const G = await loadGenerator(styled, { backend: 'wasm' });
  await assert.rejects(G.draw(1, 0), (e: Error) => e instanceof UsageError && e.message === 'n 0: must be a positive integer');
  await assert.rejects(G.draw(1, 1.5), (e: Error) => e instanceof UsageError && e.message === 'n 1.5: must be a positive integer');
  G.dispose();
  const zero = await pixels(0);
  assert.equal(new Set(zero).size, 1, 'ψ 0: four seeds, one image');
  const plain = await pixels();
  assert.equal(new Set(plain).size, 4, 'no truncation: four images');
  assert.deepEqual(await pixels(1), plain);
  const grid = path.join(dir, 'grid.png');
  await sample({ run: styled, out: grid, n: 4, cols: 2, seed: 3, truncation: 0, backend: 'wasm' });
  assert.ok(existsSync(grid));
  await assert.rejects(sample({ run: styled, out: grid, truncation: 1.5 }), (e: Error) => e instanceof UsageError && e.message === '--truncation 1.5: must be a number from 0 to 1');
  const plainRun = path.join(dir, 'd2l');
  await train({ ...common, imageSize: 16, width: 4, out: plainRun });
  await assert.rejects(loadGenerator(plainRun, { truncation: 0.7, backend: 'wasm' }), (e: Error) => e instanceof UsageError && /^--truncation 0\.7: the generator of .* has no mapping network/.test(e.message));
});

test("the library's sample: 21 images and a random seed unless told; a conditional run's classes by index, checked", async () => {
  const dir = await tmpDir();
  const run = path.join(dir, 'run');
  await train({ dataset: 'mnist-10k', limit: 20, conditional: true, imageSize: 16, width: 2, batchSize: 10, epochs: 1, backend: 'wasm', out: run, cacheDir: path.join(dir, 'cache') });
  const told = await sample({ run, out: path.join(dir, 'a.png'), n: 21, seed: 4, backend: 'wasm' });
  const untold = await sample({ run, out: path.join(dir, 'b.png'), backend: 'wasm' });
  assert.deepEqual([untold.width, untold.height], [told.width, told.height]); // README: --n 21 by default
  // a seed drawn from [0, 2³¹), as the command draws it: under 62 once in 35 million
  assert.ok(Number.isSafeInteger(untold.seed) && untold.seed >= 62 && untold.seed < 2 ** 31, `seed ${untold.seed}`);
  const G = await loadGenerator(run, { backend: 'wasm' });
  assert.equal(G.classes.length, 10);
  assert.equal((await G.draw(1, 2, () => 0)).count, 2); // class 0 is a class
  assert.equal((await G.draw(1, 2, () => 9)).count, 2);
  for (const bad of [-1, 10, 0.5]) {
    await assert.rejects(G.draw(1, 2, () => bad), (e: Error) => e instanceof UsageError && e.message === 'a class must be an index from 0 to 9');
  }
  G.dispose();
});
