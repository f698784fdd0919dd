// The real command line, as a user runs it (dist/cli.js, rebuilt first when stale: test/cli-run.ts).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { tmpDir } from './helpers.js';
import { CLI } from './cli-run.js';

const run = (args: string[], cwd?: string) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', cwd, timeout: 300_000 });
// the decoded-set cache goes to a temp folder, not the checkout's data/
const cacheDir = path.join(os.tmpdir(), `dcgan-cli-test-cache-${process.pid}`);
const tiny = ['--limit', '64', '--image-size', '16', '--width', '8', '--batch-size', '16', '--backend', 'wasm', '--cache-dir', cacheDir];

let runDir: string;
before(async () => {
  runDir = path.join(await tmpDir(), 'run');
});

test('dcgan train (tiny) writes a self-describing run folder', async () => {
  // d2l's γ, β ~ N(0, 0.02) leave an untrained generator one grey for every z; a high lr makes its 4 steps show, so
  // that `dcgan sample` below draws different images for different seeds
  const r = run(['train', ...tiny, '--epochs', '1', '--lr', '0.05', '--out', runDir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /backend: wasm/);
  assert.match(r.stderr, /epoch 1\/1: loss_D/);
  // pokesprite's defaults: each sprite cut to its Pokémon, and mirrored
  assert.match(r.stderr, /^data: pokesprite-images: 64 sprites, and their mirror images: 128 in all \(16×16×3\)$/m);
  // the last line says how to go on, as a command to paste
  // (started as `node dist/cli.js`, or through tsx with DCGAN_TEST_CLI=src: the command repeats how it was started)
  const quoted = runDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(r.stderr.trim().split('\n').at(-1) ?? '', new RegExp(`^done: 1 epoch in ${quoted}; sample with: node (\\S+ )*\\S*cli\\.[jt]s sample --run ${quoted} --n 21 --out grid\\.png$`));
  for (const f of ['config.json', 'metrics.jsonl', 'steps.jsonl', 'state.json', 'fixed-noise.bin', 'generator/model.json',
    'generator/weights.bin', 'discriminator/model.json', 'discriminator/weights.bin', 'optimizer/optimizer.json', 'optimizer/slots.bin']) {
    assert.ok(existsSync(path.join(runDir, f)), `${f} missing`);
  }
  const config = JSON.parse(await readFile(path.join(runDir, 'config.json'), 'utf8'));
  assert.equal(config.options.imageSize, 16);
  assert.equal(config.options.batchSize, 16);
  assert.equal(config.backend, 'wasm');
  assert.equal(config.versions.tfjs, '4.22.0');
  assert.equal(config.dataset.count, 128);
  assert.deepEqual([config.options.crop, config.options.mirror], ['content', true]);
  const metrics = (await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(metrics.length, 1);
  for (const k of ['epoch', 'step', 'loss_D', 'loss_G', 'D_x', 'D_G_z', 'images_per_s', 'seconds']) assert.ok(Number.isFinite(metrics[0][k]), k);
  assert.equal(metrics[0].step, 8);
  const grid = await sharp(path.join(runDir, 'samples/epoch-001.png')).metadata();
  assert.deepEqual([grid.width, grid.height], [7 * 18 + 2, 3 * 18 + 2]); // 3×7 tiles of 16 px, 2 px apart
  assert.deepEqual(await readdir(path.join(runDir, 'samples')), ['epoch-001.png']);
});

test('dcgan sample writes a grid of the asked size; the same seed gives the same bytes', async () => {
  const dir = await tmpDir();
  const a = path.join(dir, 'a.png'), b = path.join(dir, 'b.png'), c = path.join(dir, 'c.png');
  for (const [out, seed] of [[a, '4'], [b, '4'], [c, '5']]) {
    const r = run(['sample', '--run', runDir, '--n', '21', '--out', out, '--seed', seed, '--backend', 'wasm']);
    assert.equal(r.status, 0, r.stderr);
  }
  const meta = await sharp(a).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [128, 56, 3]);
  assert.deepEqual(await readFile(a), await readFile(b));
  assert.notDeepEqual(await readFile(a), await readFile(c));
  const r = run(['sample', '--run', runDir, '--n', '5', '--cols', '5', '--out', c, '--seed', '1', '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  const m = await sharp(c).metadata();
  assert.deepEqual([m.width, m.height], [5 * 18 + 2, 18 + 2]);
});

test('dcgan sample without --run takes the latest run under ./checkpoints', async () => {
  const cwd = await tmpDir();
  const r1 = run(['train', ...tiny, '--epochs', '1'], cwd);
  assert.equal(r1.status, 0, r1.stderr);
  assert.ok(existsSync(path.join(cwd, 'checkpoints/pokesprite-16/generator/model.json')));
  const r2 = run(['sample', '--n', '3', '--out', 'g.png', '--seed', '2', '--backend', 'wasm'], cwd);
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stderr, /checkpoints[/\\]pokesprite-16/);
  assert.ok(existsSync(path.join(cwd, 'g.png')));
});

/** Bad input: non-zero exit, exactly one line on stderr, nothing written. */
function assertRefused(args: string[], message: RegExp, cwd?: string) {
  const r = run(args, cwd);
  assert.notEqual(r.status, 0, `exit 0 for ${args.join(' ')}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `more than one line for ${args.join(' ')}:\n${r.stderr}`);
  assert.match(lines[0], message);
}

test('bad input: one clear line, non-zero exit, nothing written', async () => {
  const dir = await tmpDir();
  const out = path.join(dir, 'new-run');
  assertRefused(['frobnicate'], /unknown command 'frobnicate'/);
  assertRefused(['train', '--frobnicate', '--out', out], /unknown option '--frobnicate'/);
  assertRefused(['train', '--image-size', '48', '--out', out], /--image-size 48: --arch d2l builds 16, 32, 64 or 128 pixels/);
  assertRefused(['train', '--batch-size', '0', '--out', out], /--batch-size.*positive integer/);
  assertRefused(['train', '--lr', '-1', '--out', out], /--lr.*> 0/);
  assertRefused(['train', '--beta1', '1', '--out', out], /--beta1.*\[0, 1\)/);
  assertRefused(['train', '--backend', 'quantum', '--out', out], /--backend.*quantum/);
  assertRefused(['train', '--resume', '--out', out], /nothing to resume in .*new-run: the folder does not exist/);
  assert.equal(existsSync(out), false, 'a refused command created the run folder');
  await mkdir(path.join(dir, 'empty'));
  assertRefused(['sample', '--run', path.join(dir, 'empty'), '--out', path.join(dir, 'x.png'), '--backend', 'wasm'], /no generator in/);
  assert.equal(existsSync(path.join(dir, 'x.png')), false);
  assertRefused(['sample', '--n', '0'], /--n.*positive integer/);
  // found only once the data is loaded: the error is still the one line that says so, after the data's lines
  const few = run(['train', ...tiny, '--limit', '4', '--out', path.join(dir, 'few')]); // 4 sprites, mirrored: 8
  assert.notEqual(few.status, 0);
  assert.equal(few.stderr.trim().split('\n').at(-1), 'error: --batch-size 16 is more than the 8 images of the data: pass a --batch-size of at most 8 or a larger --limit');
  assert.equal(existsSync(path.join(dir, 'few')), false, 'a refused train left a run folder');
});

test('an existing run is neither overwritten without --resume nor changed by a conflicting flag', async () => {
  const before = await readFile(path.join(runDir, 'generator/weights.bin'));
  const mtime = (await stat(path.join(runDir, 'state.json'))).mtimeMs;
  assertRefused(['train', ...tiny, '--epochs', '1', '--out', runDir], /already holds a run \(config\.json, .*\); pass --resume to continue it, or --out NEW_DIR/);
  assertRefused(['train', '--resume', '--width', '16', '--epochs', '3', '--out', runDir, '--backend', 'wasm'], /--width 16 conflicts with the run being resumed/);
  assertRefused(['train', '--resume', '--epochs', '1', '--out', runDir, '--backend', 'wasm'], /already trained 1 epoch;/);
  assert.deepEqual(await readFile(path.join(runDir, 'generator/weights.bin')), before);
  assert.equal((await stat(path.join(runDir, 'state.json'))).mtimeMs, mtime);
});

/** Every file under `dir` and its content: equal before and after, nothing changed. */
async function readAll(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[path.relative(dir, path.join(e.parentPath ?? e.path, e.name))] = await readFile(path.join(e.parentPath ?? e.path, e.name), 'utf8');
  }
  return out;
}

test('a folder is a run when its config.json says so: a web app\'s config.json, state.json and samples/ are left alone', async () => {
  const dir = path.join(await tmpDir(), 'web-app');
  await mkdir(path.join(dir, 'samples'), { recursive: true });
  await writeFile(path.join(dir, 'config.json'), '{"name":"my-web-app"}');
  await writeFile(path.join(dir, 'state.json'), '{"step":1}');
  await writeFile(path.join(dir, 'samples', 'voice.wav'), 'RIFF');
  const before = await readAll(dir);
  for (const extra of [[], ['--overwrite']]) {
    assertRefused(['train', ...tiny, '--epochs', '1', '--out', dir, ...extra],
      /^error: --out .*web-app holds config\.json, but its config\.json is not a run's \(no "options"\): it is not a dcgan run, and dcgan replaces only its own files\. Pass another --out/);
  }
  assertRefused(['train', '--resume', '--epochs', '2', '--out', dir], /nothing to resume in .*web-app: it is not a dcgan run \(its config\.json is not a run's \(no "options"\); it holds config\.json, samples\/, state\.json\)/);
  assert.deepEqual(await readAll(dir), before);

  // no config.json at all: a stray steps.jsonl or state.json is someone's, not a run's
  const stray = path.join(await tmpDir(), 'stray');
  await mkdir(stray);
  await writeFile(path.join(stray, 'state.json'), '{"mine":true}');
  assertRefused(['train', ...tiny, '--epochs', '1', '--out', stray, '--overwrite'], /--out .*stray holds state\.json, but it has no config\.json: it is not a dcgan run/);
  assertRefused(['train', '--resume', '--epochs', '1', '--out', stray], /nothing to resume in .*stray: it is not a dcgan run \(it has no config\.json; it holds state\.json\)/);
  assert.equal(await readFile(path.join(stray, 'state.json'), 'utf8'), '{"mine":true}');
});

test('on wasm a new run\'s default batch is capped to what a WebAssembly heap holds, and says so', async () => {
  // d2l at 64×64 defaults to batch 256; wasm takes 128 (measured). 8 images stop it right after, before any write.
  const out = path.join(await tmpDir(), 'capped');
  const r = run(['train', '--image-size', '64', '--limit', '4', '--backend', 'wasm', '--cache-dir', cacheDir, '--out', out]);
  assert.notEqual(r.status, 0, r.stderr);
  assert.match(r.stderr, /^batch size 128 instead of the default 256: on wasm a batch that large does not fit a WebAssembly heap \(4 GB\); --batch-size chooses$/m);
  assert.match(r.stderr.trim().split('\n').at(-1) ?? '', /^error: --batch-size 128 is more than the 8 images of the data/);
  assert.equal(existsSync(out), false);
  // --backend auto says which backends it passed over and why (here at least tfjs-node, which is not installed)
  const auto = run(['train', '--image-size', '16', '--limit', '8', '--backend', 'auto', '--cache-dir', cacheDir, '--out', out]);
  assert.match(auto.stderr, /^backend: .*\n(  \(skipped \w+: .+\)\n)*  \(skipped tensorflow: .+\)\n/m);
  assert.equal(existsSync(out), false);
});

test('Ctrl-C finishes the step, saves a checkpoint, says how to resume, exits non-zero; --resume completes the run', async () => {
  const out = path.join(await tmpDir(), 'run');
  const child = spawn(process.execPath, [...CLI, 'train', ...tiny, '--epochs', '3', '--out', out, '--log-every', '1']);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      // plain progress lines (stderr is a pipe): interrupt during epoch 1
      if (/epoch 1\/3 1\/8/.test(stderr) && !child.killed) {
        child.kill('SIGINT');
        resolve();
      }
    });
  });
  const code = await exited;
  assert.equal(code, 130, stderr);
  // the resume command starts dcgan as this test did: node and the path of dist/cli.js (src/cli.ts through tsx with
  // DCGAN_TEST_CLI=src)
  assert.match(stderr, /resume with: node (\S+ )*\S*(dist\/cli\.js|src\/cli\.ts) train --out \S+ --resume --epochs 3\n/);
  const state = JSON.parse(await readFile(path.join(out, 'state.json'), 'utf8'));
  assert.ok(state.step >= 1 && state.step < 24, `stopped at step ${state.step}`);
  // where it stopped, as the checkpoint holds it
  const where = state.stepInEpoch ? `${state.stepInEpoch} step${state.stepInEpoch === 1 ? '' : 's'} into epoch ${state.epoch + 1}` : `the end of epoch ${state.epoch}`;
  assert.ok(stderr.includes(`\nstopped at step ${state.step}, ${where}; checkpoint in ${out}\n`), stderr);
  const r = run(['train', '--resume', '--epochs', '3', '--out', out, '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /resuming/);
  const final = JSON.parse(await readFile(path.join(out, 'state.json'), 'utf8'));
  assert.deepEqual([final.epoch, final.step], [3, 24]); // 128 images (64 sprites mirrored): 8 steps an epoch
  assert.deepEqual(await readdir(path.join(out, 'samples')), ['epoch-001.png', 'epoch-002.png', 'epoch-003.png']);
});

test('dcgan info --json reports every backend, and which one auto picks', () => {
  const r = run(['info', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.tfjs, '4.22.0');
  const backends = report.backends as { name: string; starts: boolean; reason?: string; device?: string }[];
  assert.deepEqual(backends.map((b) => b.name), ['tensorflow', 'webgpu', 'wasm', 'cpu']);
  assert.ok(backends.find((b) => b.name === 'wasm')!.starts);
  // tfjs-node-gpu is never a dependency: its row must say why it does not start
  const tensorflow = backends.find((b) => b.name === 'tensorflow')!;
  assert.ok(tensorflow.starts || /not installed/.test(tensorflow.reason ?? ''), JSON.stringify(tensorflow));
  assert.ok(typeof report.auto === 'object' && report.auto !== null);
  // wasm as train runs it: --threads defaults to every core, at most 8 (README)
  const threads = Math.min(os.availableParallelism(), 8);
  const wasm = new RegExp(`^wasm \\(simd, ${threads} threads?\\b`);
  assert.match(backends.find((b) => b.name === 'wasm')!.device ?? '', wasm);
  if (report.auto.name === 'wasm') assert.match(report.auto.device, wasm);
});

test('dcgan info --threads 1: wasm as `train --threads 1` runs it', () => {
  const r = run(['info', '--json', '--threads', '1']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.backends.find((b: { name: string }) => b.name === 'wasm').device, 'wasm (simd, 1 thread)');
});
