// The run folder as a hostile or a new user treats it, through the built CLI: damaged and missing files, a second run
// into a used folder, changed data, killed runs, a full disk, odd paths. Whatever fails must say which file and why,
// change nothing, and never suggest a command that destroys work.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, cp, mkdir, readFile, readdir, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { LOCK_FILE } from '../src/run/lock.js';
import { snapshot, tmpDir } from './helpers.js';

const CLI = path.resolve('dist/cli.js');
const cacheDir = path.join(os.tmpdir(), `dcgan-run-folder-test-cache-${process.pid}`);
// --no-mirror: 64 images, 4 steps an epoch (pokesprite mirrors by default)
// --ema 0: the damaged files below are G's own (generator/), which sample reads where a run keeps no average
const tiny = ['--limit', '64', '--no-mirror', '--ema', '0', '--image-size', '16', '--width', '8', '--batch-size', '16', '--backend', 'wasm', '--cache-dir', cacheDir];
const run = (args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, ...o });

/** Refused: non-zero exit, one line on stderr that matches. */
function assertRefused(r: ReturnType<typeof run>, message: RegExp) {
  assert.notEqual(r.status, 0, `exit 0:\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `more than one line:\n${r.stderr}`);
  assert.match(lines[0], message);
  // a library's words are not an answer
  assert.doesNotMatch(lines[0], /should have \d+ values|Cannot read properties|Unexpected token|ENOENT|\.tmp\b|at position \d+/);
}

let base: string; // a whole tiny run: 1 epoch, 4 steps
before(async () => {
  assert.ok(existsSync(CLI), 'dist/cli.js is missing: run `npm run build` (npm test does it first)');
  base = path.join(await tmpDir(), 'base');
  const r = run(['train', ...tiny, '--epochs', '1', '--out', base]);
  assert.equal(r.status, 0, r.stderr);
});

async function copyOfBase(): Promise<string> {
  const dir = path.join(await tmpDir(), 'run');
  await cp(base, dir, { recursive: true });
  return dir;
}

test('--resume with a checkpoint part missing: refused naming it, nothing changed, no advice that overwrites', async () => {
  const out = await copyOfBase();
  await rm(path.join(out, 'optimizer'), { recursive: true });
  const before = await snapshot(out, LOCK_FILE);
  const r = run(['train', '--resume', '--epochs', '2', '--out', out]);
  assertRefused(r, /nothing to resume in .*: its checkpoint is incomplete \(optimizer\/ missing; it holds config\.json, .*\)\. Nothing was changed; .*--out NEW_DIR$/);
  assert.doesNotMatch(r.stderr, /without --resume/);
  assert.deepEqual(await snapshot(out, LOCK_FILE), before);
});

test('a new run into a folder that holds a run is refused; --overwrite deletes the run\'s files and nothing else', async () => {
  const out = await copyOfBase();
  await rm(path.join(out, 'optimizer'), { recursive: true });
  await writeFile(path.join(out, 'eval.jsonl'), '{"epoch":9,"step":99}\n');
  await writeFile(path.join(out, 'samples', 'epoch-009.png'), 'stale');
  await writeFile(path.join(out, 'notes.txt'), 'the user\'s own file');
  const before = await snapshot(out, LOCK_FILE);
  const r = run(['train', ...tiny, '--epochs', '1', '--out', out]);
  assertRefused(r, /already holds a run \(config\.json, .*\); its checkpoint is incomplete \(optimizer\/ missing\)\. Pass --out NEW_DIR for a new run \(--overwrite deletes its files and starts over\)$/);
  assert.deepEqual(await snapshot(out, LOCK_FILE), before);

  const o = run(['train', ...tiny, '--epochs', '1', '--out', out, '--overwrite']);
  assert.equal(o.status, 0, o.stderr);
  assert.match(o.stderr, /--overwrite: deleting config\.json, .*eval\.jsonl/);
  assert.equal(existsSync(path.join(out, 'eval.jsonl')), false);
  assert.deepEqual(await readdir(path.join(out, 'samples')), ['epoch-001.png']);
  assert.equal(await readFile(path.join(out, 'notes.txt'), 'utf8'), 'the user\'s own file');
  const steps = (await readFile(path.join(out, 'steps.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, [1, 2, 3, 4]);
  assertRefused(run(['train', '--resume', '--overwrite', '--out', out]), /--resume and --overwrite do not combine/);
});

// README: --overwrite "deletes that run's files, nothing else in the folder" — inside the run's own folders too
for (const [name, plant] of [
  ['samples/my-favourite.png', (d: string) => writeFile(path.join(d, 'samples', 'my-favourite.png'), 'mine')],
  ['generator/README.md', (d: string) => writeFile(path.join(d, 'generator', 'README.md'), 'mine')],
  ['discriminator/notes', (d: string) => mkdir(path.join(d, 'discriminator', 'notes'))],
  ['optimizer/slots.bin.bak', (d: string) => writeFile(path.join(d, 'optimizer', 'slots.bin.bak'), 'mine')],
  ['samples/epoch-007.png', (d: string) => symlink(path.join(d, 'notes.txt'), path.join(d, 'samples', 'epoch-007.png'))],
] as const) {
  test(`--overwrite over a run holding ${name}, which dcgan did not write: refused naming it, nothing deleted`, async () => {
    const out = await copyOfBase();
    await writeFile(path.join(out, 'notes.txt'), 'the user\'s own file');
    await plant(out);
    const before = await snapshot(out, LOCK_FILE);
    const r = run(['train', ...tiny, '--epochs', '1', '--out', out, '--overwrite']);
    assertRefused(r, new RegExp(`^error: ${out.replace(/[/.]/g, '\\$&')}/${name.replace(/[/.]/g, '\\$&')}: .*nothing was deleted: move it away first$`));
    assert.deepEqual(await snapshot(out, LOCK_FILE), before);
  });
}

test('a run that diverged before its first checkpoint: --resume says what works, and the same command with a lower --lr starts it again', async () => {
  const out = path.join(await tmpDir(), 'run');
  const diverged = run(['train', ...tiny, '--epochs', '1', '--lr', '1e9', '--out', out]);
  assert.equal(diverged.status, 1, diverged.stderr);
  assert.match(diverged.stderr.trim().split('\n').at(-1)!, /No checkpoint was saved; try a lower --lr \(this run's is 1e\+9\) in the same command: it starts the run again$/);
  assert.equal(existsSync(path.join(out, 'state.json')), false);
  await writeFile(path.join(out, 'notes.txt'), 'mine');
  const before = await snapshot(out, LOCK_FILE);
  assertRefused(run(['train', '--resume', '--epochs', '1', '--out', out]),
    /^error: nothing to resume in .*: its run saved no checkpoint \(it holds config\.json, .*\)\. Nothing was changed; start it again without --resume \(its files are replaced\): .* train --out \S+ and the options you want$/);
  assert.deepEqual(await snapshot(out, LOCK_FILE), before);

  const again = run(['train', ...tiny, '--epochs', '1', '--lr', '0.002', '--out', out]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /the run there saved no checkpoint, so it starts again: deleting config\.json, /);
  assert.equal(JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8')).options.lr, 0.002);
  const steps = (await readFile(path.join(out, 'steps.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, [1, 2, 3, 4]);
  assert.equal(JSON.parse(await readFile(path.join(out, 'state.json'), 'utf8')).step, 4);
  assert.equal(await readFile(path.join(out, 'notes.txt'), 'utf8'), 'mine');
});

// What a damaged file does to each command: the error names the file and what is wrong, and nothing is written.
const damages: { name: string; damage: (dir: string) => Promise<void>; message: RegExp; commands: ('resume' | 'sample' | 'eval' | 'report')[] }[] = [
  {
    name: 'generator/weights.bin cut in half',
    damage: async (d) => truncate(path.join(d, 'generator/weights.bin'), (await stat(path.join(d, 'generator/weights.bin'))).size / 2),
    message: /generator\/weights\.bin: it has \d+ bytes where model\.json describes \d+ \(cut short/,
    commands: ['resume', 'sample', 'eval'],
  },
  {
    name: 'discriminator/weights.bin with bytes appended',
    damage: (d) => appendFile(path.join(d, 'discriminator/weights.bin'), Buffer.alloc(12)),
    message: /discriminator\/weights\.bin: it has \d+ bytes where model\.json describes \d+ \(too long/,
    commands: ['resume'],
  },
  {
    name: 'generator/model.json cut short',
    damage: async (d) => truncate(path.join(d, 'generator/model.json'), 100),
    message: /generator\/model\.json: it is not valid JSON: it ends too early/,
    commands: ['resume', 'sample', 'eval'],
  },
  {
    name: 'generator/model.json holding null',
    damage: (d) => writeFile(path.join(d, 'generator/model.json'), 'null'),
    message: /generator\/model\.json: it is not a tfjs model/,
    commands: ['resume', 'sample'],
  },
  {
    name: 'generator/weights.bin holding NaN',
    damage: async (d) => {
      const file = path.join(d, 'generator/weights.bin');
      const bytes = await readFile(file);
      bytes.writeFloatLE(NaN, 0);
      await writeFile(file, bytes);
    },
    message: /(holds NaN or infinite values|hold NaN or infinite values)/,
    commands: ['resume', 'sample'],
  },
  {
    name: 'optimizer/slots.bin cut short',
    damage: (d) => truncate(path.join(d, 'optimizer/slots.bin'), 1000),
    message: /optimizer\/slots\.bin: it has 1000 bytes where optimizer\.json describes \d+ \(cut short\)/,
    commands: ['resume'],
  },
  {
    name: 'optimizer/optimizer.json not JSON',
    damage: (d) => writeFile(path.join(d, 'optimizer/optimizer.json'), '\x00\x01garbage'),
    message: /optimizer\/optimizer\.json: it is not valid JSON \(damaged/,
    commands: ['resume'],
  },
  {
    name: 'state.json not JSON',
    damage: (d) => writeFile(path.join(d, 'state.json'), '{"epoch": 1, "step":'),
    message: /state\.json: it is not valid JSON: it ends too early/,
    commands: ['resume', 'eval', 'report'],
  },
  {
    name: 'state.json with a step that is not a number',
    damage: async (d) => writeFile(path.join(d, 'state.json'), JSON.stringify({ ...JSON.parse(await readFile(path.join(d, 'state.json'), 'utf8')), step: 'x' })),
    message: /state\.json: "step" is "x", not a whole number/,
    commands: ['resume', 'report'],
  },
  {
    name: 'state.json with a step of 1e15 (the optimizer says 4)',
    damage: async (d) => writeFile(path.join(d, 'state.json'), JSON.stringify({ ...JSON.parse(await readFile(path.join(d, 'state.json'), 'utf8')), step: 1e15 })),
    message: /state\.json: "step" is 1000000000000000, but optimizer\/optimizer\.json has the generator's optimizer at step 4 \(damaged, or from another checkpoint\)/,
    commands: ['resume'],
  },
  {
    name: 'state.json with more epochs than steps',
    damage: async (d) => writeFile(path.join(d, 'state.json'), JSON.stringify({ ...JSON.parse(await readFile(path.join(d, 'state.json'), 'utf8')), epoch: 9 })),
    message: /state\.json: "step" 4 is fewer than the 9 epochs and 0 steps it says were trained/,
    commands: ['resume', 'report'],
  },
  {
    name: 'fixed-noise.bin cut short',
    damage: (d) => truncate(path.join(d, 'fixed-noise.bin'), 400),
    message: /fixed-noise\.bin: it has 400 bytes where 21 latents of 100 floats take 8400 \(cut short\)/,
    commands: ['resume'],
  },
  {
    name: 'config.json not JSON',
    damage: (d) => writeFile(path.join(d, 'config.json'), 'options: {}'),
    message: /config\.json: it is not valid JSON \(damaged/,
    commands: ['resume', 'eval', 'report'],
  },
  {
    name: 'config.json holding null',
    damage: (d) => writeFile(path.join(d, 'config.json'), 'null'),
    message: /config\.json: it is not a run configuration/,
    commands: ['resume', 'eval', 'report'],
  },
];

for (const { name, damage, message, commands } of damages) {
  test(`${name}: ${commands.join(', ')} name the file, say what is wrong, and change nothing`, async () => {
    const out = await copyOfBase();
    await damage(out);
    const before = await snapshot(out, LOCK_FILE);
    const png = path.join(await tmpDir(), 'g.png');
    for (const command of commands) {
      const args = {
        resume: ['train', '--resume', '--epochs', '2', '--out', out],
        sample: ['sample', '--run', out, '--n', '2', '--out', png, '--seed', '1', '--backend', 'wasm'],
        eval: ['eval', '--run', out, '--n', '16', '--backend', 'wasm'],
        report: ['report', '--run', out],
      }[command];
      const r = run(args);
      assertRefused(r, message);
      assert.ok(r.stderr.includes(out), `${command}: the message does not name the file's path:\n${r.stderr}`);
      assert.deepEqual(await snapshot(out, LOCK_FILE), before, `${command} changed the run folder`);
    }
    assert.equal(existsSync(png), false);
  });
}

test('a resume on changed data is refused naming the flag that allows it; with the flag it goes on and says so', async () => {
  const dir = await tmpDir();
  const images = path.join(dir, 'images');
  await mkdir(images);
  for (let i = 0; i < 32; i++) {
    const colour = { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 53) % 256 };
    await sharp({ create: { width: 20, height: 20, channels: 3, background: colour } }).png().toFile(path.join(images, `${i}.png`));
  }
  const out = path.join(dir, 'run');
  const args = ['--data', images, '--no-mirror', '--image-size', '16', '--width', '8', '--batch-size', '8', '--backend', 'wasm', '--cache-dir', path.join(dir, 'cache')];
  const first = run(['train', ...args, '--epochs', '1', '--out', out]);
  assert.equal(first.status, 0, first.stderr);
  const recorded = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8')).dataset;
  assert.equal(recorded.count, 32);
  assert.match(recorded.fingerprint, /^[0-9a-f]{16}$/);

  for (let i = 20; i < 32; i++) await rm(path.join(images, `${i}.png`));
  const before = await snapshot(out, LOCK_FILE);
  const r = run(['train', '--resume', '--epochs', '2', '--out', out]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr.trim().split('\n').at(-1)!, /the data is not what .* trained on: it had 32 images, now 20\. Nothing was changed; restore the data, or pass --allow-changed-data/);
  assert.deepEqual(await snapshot(out, LOCK_FILE), before);

  // the same number of images, other pixels
  await rm(images, { recursive: true });
  await mkdir(images);
  for (let i = 0; i < 32; i++) {
    await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: i, g: 255 - i, b: 128 } } }).png().toFile(path.join(images, `${i}.png`));
  }
  const other = run(['train', '--resume', '--epochs', '2', '--out', out]);
  assert.match(other.stderr.trim().split('\n').at(-1)!, /the same number of images \(32\), but other pixels/);
  assert.deepEqual(await snapshot(out, LOCK_FILE), before);

  const allowed = run(['train', '--resume', '--epochs', '2', '--out', out, '--allow-changed-data']);
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.match(allowed.stderr, /warning: resuming on other data than the run trained on/);
  const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
  assert.notEqual(config.dataset.fingerprint, recorded.fingerprint);
  assert.equal(config.resumes.at(-1).dataset.fingerprint, config.dataset.fingerprint);
  assert.equal(config.options.allowChangedData, undefined, 'a per-invocation flag became one of the run\'s options');
});

test('after a kill (SIGKILL, no goodbye) the resumed run\'s records continue the checkpoint\'s without repeats', async () => {
  const out = path.join(await tmpDir(), 'run');
  const child = spawn(process.execPath, [CLI, 'train', ...tiny, '--epochs', '3', '--log-every', '1', '--out', out]);
  let stderr = '';
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.stderr.on('data', (c) => {
    stderr += c;
    if (/epoch 2\/3 2\/4/.test(stderr)) child.kill('SIGKILL');
  });
  await exited;
  // what the killed run left after its checkpoint at the end of epoch 1: steps 5 and 6, a lock
  assert.equal(JSON.parse(await readFile(path.join(out, 'state.json'), 'utf8')).step, 4);
  assert.ok(existsSync(path.join(out, 'train.lock')), 'the killed run left no lock (it should, to test the takeover)');
  const r = run(['train', '--resume', '--epochs', '3', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  // the progress of the resumed epoch counts from its start, and gives the run's ETA beside the epoch's
  assert.match(r.stderr, /resuming .* at epoch 2, step 4\nepoch 2\/3 1\/4 \(25%\) \| ETA \d+s, run \d+s \| /);
  const epochs = (await readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).epoch);
  assert.deepEqual(epochs, [1, 2, 3]);
  const steps = (await readFile(path.join(out, 'steps.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, Array.from({ length: 12 }, (_, i) => i + 1));
  assert.equal(existsSync(path.join(out, 'train.lock')), false);
});

test('--out that is a file, or under one, is refused before any image is decoded', async () => {
  const dir = await tmpDir();
  const file = path.join(dir, 'file');
  await writeFile(file, 'x');
  assertRefused(run(['train', ...tiny, '--out', file]), /^error: --out .*file: .*file is a file, not a folder$/);
  assertRefused(run(['train', ...tiny, '--out', path.join(file, 'run')]), /^error: --out .*: .*file is a file, not a folder$/);
  assert.equal(await readFile(file, 'utf8'), 'x');
});

test('sample: .jpg and .webp are written as such, other extensions refused, a missing folder said as such', async () => {
  const dir = await tmpDir();
  for (const [name, magic] of [['g.jpg', 'ffd8ff'], ['g.jpeg', 'ffd8ff'], ['g.webp', '52494646'], ['g.png', '89504e47']] as const) {
    const r = run(['sample', '--run', base, '--n', '3', '--out', path.join(dir, name), '--seed', '1', '--backend', 'wasm']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await readFile(path.join(dir, name))).subarray(0, magic.length / 2).toString('hex'), magic, name);
  }
  const meta = await sharp(path.join(dir, 'g.jpg')).metadata();
  assert.equal(meta.format, 'jpeg');
  assertRefused(run(['sample', '--run', base, '--out', path.join(dir, 'g.bmp'), '--backend', 'wasm']), /--out .*g\.bmp: a grid is written as \.png, \.jpg \(or \.jpeg\) or \.webp, not \.bmp/);
  assertRefused(run(['sample', '--run', base, '--out', path.join(dir, 'grid'), '--backend', 'wasm']), /the name has no extension/);
  assertRefused(run(['sample', '--run', base, '--out', path.join(dir, 'no', 'such', 'g.png'), '--backend', 'wasm']), /--out .*g\.png: the folder .*no\/such does not exist/);
  assertRefused(run(['sample', '--run', base, '--out', dir, '--backend', 'wasm']), /is a folder|a grid is written as/);
  assert.deepEqual((await readdir(dir)).sort(), ['g.jpeg', 'g.jpg', 'g.png', 'g.webp']);
});

test('a --batch-size far beyond memory is refused up front with the estimate, and nothing is written', async () => {
  const out = path.join(await tmpDir(), 'run');
  assertRefused(run(['train', '--image-size', '64', '--width', '64', '--batch-size', '4096', '--backend', 'wasm', '--out', out]),
    /--batch-size 4096 does not fit in memory on wasm: a step holds 774,346 activation floats per image .* try --batch-size 128$/);
  assertRefused(run(['train', '--width', '4096', '--backend', 'wasm', '--out', out]), /width 4096 does not fit in memory on wasm: .* parameters/);
  assert.equal(existsSync(out), false);
});

test('absurd sizes are refused before any work, one line naming the flag and its limit; long sampling shows its progress', async () => {
  const dir = await tmpDir();
  const png = path.join(dir, 'g.png');
  const cases: [string[], RegExp][] = [
    [['sample', '--n', '1000000000'], /^error: --n 1000000000: 1,000,000,000 images, and a grid holds at most 10,000 \(it is kept in memory whole\)/],
    [['sample', '--n', '10001'], /^error: --n 10001: 10,001 images, and a grid holds at most 10,000/],
    [['sample', '--search', '1000000000'], /^error: --search 1000000000: at most 100,000 candidates/],
    [['sample', '--interpolate', '1000000', '--n', '1'], /^error: --interpolate 1000000 --n 1: 1,000,000 images \(1000000 steps × 1 walk\), and a grid holds at most 10,000/],
    [['sample', '--interpolate', '101', '--n', '100', '--out', path.join(dir, 'w.gif')], /^error: --interpolate 101 --n 100: 10,100 images \(101 steps × 100 walks\)/],
    // 16 px tiles, 2 apart: 7000 images in 7 columns are 1000 rows, 1000 · 18 + 2 = 18002 px tall; WebP stops at 16383
    [['sample', '--n', '7000', '--out', path.join(dir, 'g.webp')], /^error: --out .*g\.webp: 7000 images of 16 px in 7 columns make a 128×18002 image, and \.webp holds at most 16383 pixels a side; pass fewer images, more --cols, or a \.png$/],
  ];
  for (const [args, message] of cases) {
    const started = performance.now();
    const r = run([...args, '--run', base, '--backend', 'wasm', ...(args.includes('--out') ? [] : ['--out', png])]);
    assertRefused(r, message);
    assert.equal(r.status, 2, args.join(' '));
    assert.ok(performance.now() - started < 20_000, `${args.join(' ')}: ${Math.round(performance.now() - started)} ms before the refusal`);
  }
  assertRefused(run(['bench', '--batch-size', '1000000000', '--backend', 'cpu']), /^error: --batch-size 1000000000 does not fit in memory on cpu: .*try --batch-size 128$/);
  assert.deepEqual(await readdir(dir), []);

  const long = run(['sample', '--run', base, '--n', '3000', '--out', png, '--seed', '1', '--backend', 'wasm']);
  assert.equal(long.status, 0, long.stderr);
  // not a terminal: a plain line every tenth of the way
  const lines = long.stderr.trim().split('\n');
  assert.match(lines[0], /^generating 256\/3000 \(8%\) \| [\d.]+ s$/);
  assert.match(lines.at(-2)!, /^generating 3000\/3000 \(100%\) \| [\d.]+ s$/);
  assert.match(lines.at(-1)!, /g\.png: 3000 images from /);
});

test('a --batch-size larger than the data is refused once the data is read, before anything is written', async () => {
  const out = path.join(await tmpDir(), 'run');
  const r = run(['train', ...tiny, '--limit', '12', '--out', out]);
  assert.notEqual(r.status, 0, r.stderr);
  const last = r.stderr.trim().split('\n').at(-1) ?? '';
  assert.match(last, /^error: --batch-size 16 is more than the 12 images of the data: pass a --batch-size of at most 12 or a larger --limit$/);
  assert.equal(existsSync(out), false, 'the run folder was created');
});

test('printed commands can be pasted: a run folder with spaces and quotes, resumed by running the printed line in a shell', async () => {
  const dir = await tmpDir();
  const out = path.join(dir, "Bob's runs", 'first run');
  const child = spawn(process.execPath, [CLI, 'train', ...tiny, '--epochs', '2', '--log-every', '1', '--out', out]);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.stderr.on('data', (c) => {
    stderr += c;
    if (/epoch 1\/2 2\/4/.test(stderr) && !child.killed) child.kill('SIGINT');
  });
  assert.equal(await exited, 130, stderr);
  const printed = /resume with: (.*)\n/.exec(stderr)?.[1];
  assert.ok(printed, stderr);
  assert.match(printed, /^node \S*dist\/cli\.js train --out '.*Bob'\\''s runs\/first run' --resume --epochs 2$/);
  const resumed = spawnSync('/bin/sh', ['-c', printed], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  const sampleLine = /sample with: (.*)\n/.exec(resumed.stderr)?.[1];
  assert.ok(sampleLine, resumed.stderr);
  // run where it was printed (the path to dist/cli.js is relative to here); a later --out wins over the printed one
  const sampled = spawnSync('/bin/sh', ['-c', `${sampleLine} --backend wasm --out ${path.join(dir, 'grid.png')}`], { encoding: 'utf8' });
  assert.equal(sampled.status, 0, sampled.stderr);
  assert.ok(existsSync(path.join(dir, 'grid.png')));
  // under npx the same commands start with `npx dcgan`
  const npx = run(['train', '--resume', '--epochs', '1', '--out', out], { env: { ...process.env, npm_command: 'exec' } });
  assert.match(npx.stderr, /already trained 2 epochs/);
  const noRun = run(['sample', '--out', 'x.png'], { cwd: dir, env: { ...process.env, npm_command: 'exec' } });
  assert.match(noRun.stderr, /train first: npx dcgan train/);
});

test('--backend auto on a machine whose only WebGPU adapter is software shows none of Dawn\'s warnings', async () => {
  const png = path.join(await tmpDir(), 'g.png');
  const r = run(['sample', '--run', base, '--n', '1', '--out', png, '--seed', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /artificially reduced|Warning:/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

/** Mounts a small tmpfs at a new folder; undefined where this process may not (not root, no mount). */
function smallDisk(dir: string, size: string): boolean {
  if (os.platform() !== 'linux' || process.getuid?.() !== 0) return false;
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0;
}

test('a full disk: the error names the path and says the previous checkpoint is intact; freed, the run resumes', async (t) => {
  const disk = path.join(await tmpDir(), 'disk');
  await mkdir(disk);
  if (!smallDisk(disk, '2m')) {
    t.skip('needs a 2 MB tmpfs (root on Linux) to fill');
    return;
  }
  try {
    const out = path.join(disk, 'run');
    const first = run(['train', ...tiny, '--epochs', '1', '--out', out]);
    assert.equal(first.status, 0, first.stderr);
    // fill the disk but for 32 KB: enough for the lock, config.json and logs, not for a checkpoint
    const free = Number(spawnSync('df', ['-k', '--output=avail', disk], { encoding: 'utf8' }).stdout.trim().split('\n').pop());
    await writeFile(path.join(disk, 'filler'), Buffer.alloc((free - 32) * 1024));
    const before = JSON.parse(await readFile(path.join(out, 'state.json'), 'utf8'));
    const r = run(['train', '--resume', '--epochs', '3', '--out', out]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr.trim().split('\n').at(-1)!, new RegExp(`^error: no space left on the device while writing ${out.replace(/[/.]/g, '\\$&')}\\S*\\. The previous checkpoint \\(step 4, the end of epoch 1\\) in .* is intact; free some space, then resume with: .* --resume --epochs 3$`));
    assert.deepEqual(JSON.parse(await readFile(path.join(out, 'state.json'), 'utf8')), before);
    await rm(path.join(disk, 'filler'));
    const again = run(['train', '--resume', '--epochs', '3', '--out', out]);
    assert.equal(again.status, 0, again.stderr);
    const epochs = (await readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).epoch);
    assert.deepEqual(epochs, [1, 2, 3]);
  } finally {
    spawnSync('umount', [disk]);
  }
});

test('a read-only folder is said as such, for train --out and sample --out, and nothing is decoded', async (t) => {
  const disk = path.join(await tmpDir(), 'ro');
  await mkdir(disk);
  if (!smallDisk(disk, '1m')) {
    t.skip('needs a tmpfs mount (root on Linux)');
    return;
  }
  try {
    assert.equal(spawnSync('mount', ['-o', 'remount,ro', disk]).status, 0);
    assertRefused(run(['train', ...tiny, '--out', path.join(disk, 'runs', 'a')]), /^error: --out .*: .*ro is on a read-only file system$/);
    assertRefused(run(['sample', '--run', base, '--out', path.join(disk, 'g.png'), '--backend', 'wasm']), /^error: --out .*g\.png: .*ro is on a read-only file system$/);
  } finally {
    spawnSync('umount', [disk]);
  }
});

test('dcgan train into a folder another trainer is using is refused before it writes anything; so is --resume', async () => {
  const out = path.join(await tmpDir(), 'run');
  // 40 steps an epoch (--no-mirror: pokesprite mirrors by default), 5 epochs: alive long enough for the three refusals below
  const slow = ['--limit', '640', '--no-mirror', '--image-size', '16', '--width', '8', '--batch-size', '16', '--backend', 'wasm', '--cache-dir', cacheDir];
  const first = spawn(process.execPath, [CLI, 'train', ...slow, '--epochs', '5', '--out', out]);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => first.on('exit', resolve));
  await new Promise<void>((resolve) => first.stderr.on('data', (c) => {
    stderr += c;
    if (/epoch 1\/5 \d+\/40/.test(stderr)) resolve();
  }));
  // the first trainer writes config.json once, at its start: a refused second one must not touch it
  const config = await readFile(path.join(out, 'config.json'));
  for (const args of [[...slow, '--epochs', '1'], [...slow, '--epochs', '1', '--overwrite'], ['--resume', '--epochs', '3']]) {
    const r = spawnSync(process.execPath, [CLI, 'train', ...args, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`is in use: another trainer holds it, process ${first.pid}`));
  }
  assert.deepEqual(await readFile(path.join(out, 'config.json')), config, 'config.json was rewritten');
  first.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.equal(existsSync(path.join(out, LOCK_FILE)), false, 'the lock outlived its trainer');
  // the first run resumes from its own checkpoint (to the end of the epoch it stopped in)
  const { epoch } = JSON.parse(await readFile(path.join(out, 'state.json'), 'utf8'));
  const resumed = spawnSync(process.execPath, [CLI, 'train', '--resume', '--epochs', String(epoch + 1), '--out', out], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
});

test('serve --dir serves an export as written: --raw and --best with it are refused in one line', () => {
  for (const flag of ['--raw', '--best']) {
    const r = run(['serve', '--dir', 'nowhere', flag]);
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr.trim(), `error: --dir and ${flag} do not combine: --dir serves an export as it was written (export it again with ${flag})`);
  }
});
