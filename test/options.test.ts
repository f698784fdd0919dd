// One table of train's options (src/run/options.ts): the flags are built from it, and config.json is checked by the
// same rules on load. The rules themselves come from the flags' documented ranges (README): a value the command line
// refuses is refused from a stored config too, and the message names the file and key, not a flag nobody typed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { keysWith, storedOptionsProblem, TRAIN_OPTIONS, trainOption, withDatasetDefaults } from '../src/run/options.js';
import { readConfig } from '../src/run/runs.js';
import { optionKey, storedValueProblem } from '../src/util/option-spec.js';
import { CLI } from './cli-run.js';
import { tmpDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = (args: string[], env: NodeJS.ProcessEnv = process.env, extra: string[] = []) =>
  spawnSync(process.execPath, [...extra, ...CLI, ...args], { encoding: 'utf8', timeout: 300_000, env });

test('optionKey: the key commander gives a flag', () => {
  assert.equal(optionKey({ flag: '--batch-size <n>' }), 'batchSize');
  assert.equal(optionKey({ flag: '--no-cache' }), 'cache');
  assert.equal(optionKey({ flag: '--zip-max-entry-size <size>' }), 'zipMaxEntrySize');
  assert.equal(optionKey({ flag: '--beta1 <x>' }), 'beta1');
});

// README: --lr > 0, --beta1/--beta2 in [0, 1), --seed a whole number ≥ 0, --batch-size a positive integer,
// --channels 1 or 3, --arch one of the presets, --conditional a switch, --fit fill or contain
const REFUSED: [string, unknown][] = [
  ['lr', -0.5], ['lr', 0], ['lr', 'fast'], ['beta1', 2], ['beta1', 1], ['beta2', -0.1],
  ['seed', 1.5], ['seed', -1], ['batchSize', 0], ['batchSize', 1e21], ['batchSize', 2.5], ['epochs', 1e300],
  ['channels', 2], ['arch', 'vgg'], ['conditional', 'yes'], ['fit', 'cover'], ['dataset', 'cifar'], ['width', null],
  ['background', 7], ['evalEvery', -1], ['zipMaxRatio', 0],
];
const ACCEPTED: [string, unknown][] = [
  ['lr', 0.005], ['lr', 2e-4], ['beta1', 0], ['beta1', 0.5], ['beta2', 0.999], ['seed', 0], ['batchSize', 256],
  ['channels', 1], ['channels', 3], ['arch', 'dcgan28'], ['conditional', true], ['fit', 'contain'], ['dataset', 'mnist-10k'],
  ['background', 'white'], ['evalEvery', 0], ['zipMaxEntrySize', 64 * 2 ** 20], ['cache', false],
];

test('a stored option is checked by its flag\'s rule: what the flag refuses, the config cannot hold', () => {
  for (const [key, value] of REFUSED) {
    const spec = trainOption(key);
    assert.ok(spec, key);
    assert.ok(storedValueProblem(spec, value), `${key} = ${JSON.stringify(value)} passed`);
    const problem = storedOptionsProblem({ imageSize: 64, epochs: 1, [key]: value });
    assert.match(problem ?? '', new RegExp(`^"options\\.${key}" is `), `${key} = ${JSON.stringify(value)}`);
  }
  for (const [key, value] of ACCEPTED) {
    assert.equal(storedValueProblem(trainOption(key)!, value), undefined, `${key} = ${JSON.stringify(value)} refused`);
  }
  // keys this version does not know are a newer version's, not damage
  assert.equal(storedOptionsProblem({ imageSize: 64, epochs: 1, someFutureFlag: 'x' }), undefined);
});

test('the same values typed as flags are refused by the command line (the rules are one)', () => {
  for (const [flag, value] of [['--lr', '-0.5'], ['--beta1', '2'], ['--seed', '1.5'], ['--channels', '2'], ['--arch', 'vgg'], ['--fit', 'cover']]) {
    const r = run(['train', flag, value, '--limit', '1']);
    assert.notEqual(r.status, 0, `${flag} ${value}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(flag), r.stderr);
  }
});

test('resume rules: what may change, what is this invocation only', () => {
  assert.deepEqual([...keysWith('invocation')].sort(), ['allowChangedData', 'overwrite', 'resume']);
  for (const k of ['epochs', 'backend', 'threads', 'logEvery', 'evalEvery', 'evalN', 'out']) assert.ok(keysWith('may-change').has(k), k);
  for (const k of ['lr', 'arch', 'batchSize', 'seed', 'dataset', 'fit', 'imageSize']) assert.equal(trainOption(k)?.resume, 'run', k);
  // every flag of the table is one commander knows under the same key (no two rows share a key)
  assert.equal(new Set(TRAIN_OPTIONS.map(optionKey)).size, TRAIN_OPTIONS.length);
});

let runDir: string;
const cacheDir = path.join(os.tmpdir(), `dcgan-options-test-cache-${process.pid}`);
before(async () => {
  runDir = path.join(await tmpDir(), 'run');
  const r = run(['train', '--limit', '32', '--image-size', '16', '--width', '8', '--batch-size', '16', '--epochs', '1',
    '--backend', 'cpu', '--cache-dir', cacheDir, '--out', runDir]);
  assert.equal(r.status, 0, r.stderr);
});

test('a tampered config.json: one line naming the file and key, on resume and for eval; nothing changes', async () => {
  const file = path.join(runDir, 'config.json');
  const original = readFileSync(file, 'utf8');
  const cases: [string, unknown, RegExp][] = [
    ['lr', -0.5, /"options\.lr" is -0\.5: must be a number > 0/],
    ['beta1', 2, /"options\.beta1" is 2: must be a number in \[0, 1\)/],
    ['arch', 'dcgan28', /"options\.imageSize" is 16: --arch dcgan28 builds 28 pixels/],
  ];
  for (const [key, value, expected] of cases) {
    const tampered = JSON.parse(original);
    tampered.options[key] = value;
    const copy = path.join(await tmpDir(), 'run');
    cpSync(runDir, copy, { recursive: true });
    writeFileSync(path.join(copy, 'config.json'), JSON.stringify(tampered));
    const before = readFileSync(path.join(copy, 'state.json'), 'utf8');
    for (const args of [['train', '--out', copy, '--resume', '--epochs', '2', '--backend', 'cpu'], ['eval', '--run', copy, '--n', '8', '--backend', 'cpu']]) {
      const r = run(args);
      assert.notEqual(r.status, 0, `${key}: ${args[0]} went through`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0].includes(path.join(copy, 'config.json')), lines[0]);
      assert.match(lines[0], expected);
      assert.doesNotMatch(lines[0], /--image-size 16/); // no flag the user never typed
    }
    assert.equal(readFileSync(path.join(copy, 'state.json'), 'utf8'), before);
  }
  assert.equal((await readConfig(runDir)).options.lr, 0.005); // the untouched one reads
});

test('--help, --version and a mistyped flag answer without loading TensorFlow.js or sharp', () => {
  // a loader hook that fails the process if either is imported
  const hook = pathToFileURL(path.join(ROOT, 'test/fixtures/refuse-heavy-imports.mjs')).href;
  const extra = ['--import', hook];
  const help = run(['--help'], process.env, extra);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: dcgan/);
  const trainHelp = run(['train', '--help'], process.env, extra);
  assert.equal(trainHelp.status, 0, trainHelp.stderr);
  assert.match(trainHelp.stdout, /--batch-size <n>/);
  assert.match(trainHelp.stdout, /d2l \(DCGAN \(Radford et al\.\)/);
  const version = run(['--version'], process.env, extra);
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  const typo = run(['train', '--epoch', '3'], process.env, extra);
  assert.notEqual(typo.status, 0);
  // commander's suggestion kept, on the one line
  assert.equal(typo.stderr.trim(), "error: unknown option '--epoch' (Did you mean --epochs?)");
  // and the hook does refuse: a command that needs TensorFlow.js fails under it
  const info = run(['info'], process.env, extra);
  assert.notEqual(info.status, 0);
  assert.match(info.stderr, /refused import of @tensorflow\/tfjs/);
});

test('flags that need each other: one line naming them, before any work', () => {
  const cases: [string[], RegExp][] = [
    [['--keep-best', 'swd'], /^error: --keep-best swd needs --eval-every K/],
    [['--early-stop', '5'], /^error: --early-stop 5 needs --keep-best loss-g or swd/],
    [['--keep-best', 'swd', '--eval-every', '4', '--early-stop', '2'], /^error: --early-stop 2 is shorter than --eval-every 4/],
    [['--augment', 'rotate'], /--augment <policy>' argument 'rotate' is invalid\. unknown operation 'rotate'; the operations are color, translation, cutout/],
    [['--augment', 'cutout,cutout'], /cutout is named twice/],
  ];
  for (const [args, expected] of cases) {
    const out = path.join(os.tmpdir(), `dcgan-options-never-${process.pid}`);
    const r = run(['train', ...args, '--limit', '16', '--image-size', '16', '--width', '4', '--batch-size', '8', '--backend', 'cpu', '--cache-dir', cacheDir, '--out', out]);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), expected);
    assert.equal(existsSync(out), false, `${args.join(' ')} wrote ${out}`);
  }
});

test('sample and eval: --raw and --best pick the generator, and say which', async () => {
  const dir = path.join(await tmpDir(), 'run');
  const r = run(['train', '--limit', '32', '--image-size', '16', '--width', '8', '--batch-size', '16', '--epochs', '2', '--ema', '1',
    '--keep-best', 'loss-g', '--backend', 'cpu', '--cache-dir', cacheDir, '--out', dir]);
  assert.equal(r.status, 0, r.stderr);
  const grid = (args: string[]) => {
    const out = path.join(dir, `${args.join('') || 'default'}.png`);
    const s = run(['sample', '--run', dir, '--seed', '3', '--out', out, '--backend', 'cpu', ...args]);
    assert.equal(s.status, 0, s.stderr);
    return { bytes: readFileSync(out), line: s.stderr.trim() };
  };
  const average = grid([]), raw = grid(['--raw']), best = grid(['--best']);
  assert.match(average.line, /\(the average of G's weights\)/);
  assert.match(raw.line, /\(G\)/);
  assert.match(best.line, /\(the average of G's weights, best epoch\)/);
  assert.ok(!average.bytes.equals(raw.bytes));
  const none = run(['sample', '--run', runDir, '--best', '--out', path.join(dir, 'x.png'), '--backend', 'cpu']);
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /no best generator in .*train with --keep-best/);
});

test("ProGAN's tricks as flags: recorded as built (the architecture's unless given), refused where they cannot apply", async () => {
  const dir = path.join(await tmpDir(), 'run');
  const tiny = ['--limit', '32', '--image-size', '16', '--width', '4', '--batch-size', '16', '--epochs', '1', '--backend', 'cpu', '--cache-dir', cacheDir];
  const r = run(['train', ...tiny, '--minibatch-stddev', '4', '--equalized-lr', '--pixel-norm', '--out', dir]);
  assert.equal(r.status, 0, r.stderr);
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.deepEqual([config.options.minibatchStddev, config.options.equalizedLr, config.options.pixelNorm], ['4', true, true]);
  const layers = JSON.parse(readFileSync(path.join(dir, 'generator/model.json'), 'utf8')).modelTopology.config.layers.map((l: { class_name: string }) => l.class_name);
  assert.ok(layers.includes('PixelNorm') && layers.some((c: string) => c.startsWith('Equalized')), layers.join(' '));
  const dLayers = JSON.parse(readFileSync(path.join(dir, 'discriminator/model.json'), 'utf8')).modelTopology.config.layers.map((l: { class_name: string }) => l.class_name);
  assert.ok(dLayers.includes('MinibatchStddev'), dLayers.join(' '));
  // d2l without the flags: its source's layers, and config.json says so
  const plain = path.join(await tmpDir(), 'run');
  assert.equal(run(['train', ...tiny, '--out', plain]).status, 0);
  const plainConfig = JSON.parse(readFileSync(path.join(plain, 'config.json'), 'utf8'));
  assert.deepEqual([plainConfig.options.minibatchStddev, plainConfig.options.equalizedLr, plainConfig.options.pixelNorm], ['off', false, false]);
  // the fully connected GAN has no convolutions to equalise or feature maps to append to
  const mlp = run(['train', '--arch', 'mlp', '--pixel-norm', ...tiny, '--out', path.join(await tmpDir(), 'run')]);
  assert.notEqual(mlp.status, 0);
  assert.match(mlp.stderr.trim(), /^error: --pixel-norm: --arch mlp takes none of ProGAN's tricks/);
  const bad = run(['train', '--minibatch-stddev', '1', ...tiny, '--out', path.join(await tmpDir(), 'run')]);
  assert.match(bad.stderr, /--minibatch-stddev <mode>' argument '1' is invalid\. must be off, book, or a group size of at least 2/);
});

test("the dataset's defaults (docs/image-quality.md's choice): sprites augmented, filled white, averaged; mnist-10k translated; given values win", () => {
  const pick = (o: Record<string, unknown>) => {
    const d = withDatasetDefaults(o);
    return [d.crop, d.mirror, d.augment, d.augmentFill, d.ema];
  };
  assert.deepEqual(pick({}), ['content', true, 'translation,cutout', 'background', 10]); // no --dataset: pokesprite
  assert.deepEqual(pick({ dataset: 'pokesprite' }), ['content', true, 'translation,cutout', 'background', 10]);
  assert.deepEqual(pick({ dataset: 'pokemon' }), ['content', true, 'translation,cutout', 'background', 10]);
  assert.deepEqual(pick({ dataset: 'mnist-10k' }), ['none', false, 'translation', 'background', 0]);
  assert.deepEqual(pick({ dataset: 'mnist' }), ['none', false, 'none', 'zero', 0]);
  assert.deepEqual(pick({ dataset: 'fashion-mnist' }), ['none', false, 'none', 'zero', 0]);
  // d2l exactly, as the issue spells it
  assert.deepEqual(pick({ crop: 'none', mirror: false, augment: 'none', ema: 0 }), ['none', false, 'none', 'background', 0]);
  assert.deepEqual(pick({ dataset: 'mnist-10k', augment: 'color', augmentFill: 'zero', ema: 5 }), ['none', false, 'color', 'zero', 5]);
});
