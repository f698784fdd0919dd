// The package as a user gets it: `npm pack`, then `npm i <tarball>` into an empty folder, and the installed `dcgan`
// trains, samples and exports there. Only the dependencies come with it (npm never installs a dependency's
// devDependencies), so a run that works proves that nothing at run time needs a devDependency or a file of the repo
// that the tarball leaves out. The install reads the npm cache first (`npm ci` filled it) and goes to the registry only
// for what the cache lacks; about 15–20 s on the 2-core VM.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildIfStale } from './cli-run.js';
import { readmeSnippet, tmpDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  devDependencies: Record<string, string>;
};

// npm as the test runner was started with (`npm test` sets npm_execpath), else the one on PATH.
const npmCli = process.env.npm_execpath?.endsWith('.js') ? [process.execPath, process.env.npm_execpath] : ['npm'];
// Children get no npm_* variables: under `npm test` those carry this project's settings, which would steer the
// install below into the checkout. Node's own folder goes first on PATH, so `dcgan` (#!/usr/bin/env node) runs on the
// Node that runs the tests.
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;

function run(command: string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync(command[0], command.slice(1), { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.error) throw result.error;
  return result;
}

function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  const result = run([...npmCli, ...args], cwd);
  assert.equal(result.status, 0, `npm ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
  return result;
}

interface Packed {
  filename: string;
  files: { path: string }[];
}

let tarball = '';
let files: string[] = [];
let app = '';

before(async () => {
  await buildIfStale(); // dist/ as the sources are now (npm test has built it already)
  const out = await tmpDir('dcgan-pack-');
  // --ignore-scripts: dist/ is built; `npm pack` would otherwise run `prepare` (the build) again
  const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', out], ROOT).stdout) as Packed[];
  tarball = path.join(out, packed[0].filename);
  files = packed[0].files.map((f) => f.path).sort();

  app = await tmpDir('dcgan-install-');
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'dcgan-install-test', private: true }) + '\n');
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);
});

test('the tarball holds dist/, README, LICENSE and package.json, and nothing else of the repo', () => {
  assert.equal(path.basename(tarball), `${manifest.name}-${manifest.version}.tgz`);
  const others = files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f));
  assert.deepEqual(others, []);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/cli.js', 'dist/api.js', 'dist/api.d.ts', 'dist/layers.js', 'dist/layers.d.ts', 'dist/export/page/index.html', 'dist/export/page/style.css']) {
    assert.ok(files.includes(f), `${f} is not in the tarball`);
  }
  // declarations (.d.ts) are for `import ... from 'dcgan'`; sources are not shipped
  assert.deepEqual(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), [], 'TypeScript sources in the tarball');
});

test('the install brings no devDependency that holds code', () => {
  // @types/* hold only types (tfjs's own dependencies bring @types/node along)
  for (const dev of Object.keys(manifest.devDependencies).filter((name) => !name.startsWith('@types/'))) {
    assert.ok(!existsSync(path.join(app, 'node_modules', dev)), `${dev} (a devDependency) was installed`);
  }
  assert.ok(existsSync(path.join(app, 'node_modules', '.bin', 'dcgan')), 'no node_modules/.bin/dcgan');
});

test('the installed dcgan trains, samples and exports the web page in the empty folder', async () => {
  const dcgan = path.join(app, 'node_modules', '.bin', 'dcgan');
  const train = run([dcgan, 'train', '--limit', '32', '--image-size', '16', '--width', '8', '--batch-size', '16',
    '--epochs', '1', '--out', 'run'], app);
  assert.equal(train.status, 0, train.stderr);
  for (const f of ['config.json', 'state.json', 'generator/model.json', 'generator/weights.bin', 'samples/epoch-001.png']) {
    assert.ok(existsSync(path.join(app, 'run', f)), `run/${f} was not written`);
  }

  const sample = run([dcgan, 'sample', '--run', 'run', '--out', 'grid.png'], app);
  assert.equal(sample.status, 0, sample.stderr);
  const png = await readFile(path.join(app, 'grid.png'));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'grid.png is not a PNG');

  // the page's HTML and CSS are files beside the code, read at run time: the tarball must carry them
  const exported = run([dcgan, 'export', '--web', 'site', '--run', 'run'], app);
  assert.equal(exported.status, 0, exported.stderr);
  assert.deepEqual(await readFile(path.join(app, 'site', 'style.css')), await readFile(path.join(ROOT, 'src/export/page/style.css')));
  assert.match(await readFile(path.join(app, 'site', 'index.html'), 'utf8'), /<html/i);

  // the library entry (package.json "exports"): the installed package's generator draws what `sample` drew
  const script = "import { loadGenerator } from 'dcgan'; const G = await loadGenerator('run'); const im = await G.draw(3, 2); console.log(im.count, im.size, im.channels, im.pixels.length);";
  const lib = run([process.execPath, '--input-type=module', '-e', script], app);
  assert.equal(lib.status, 0, lib.stderr);
  assert.equal(lib.stdout.trim(), `2 16 3 ${2 * 16 * 16 * 3}`);
});

test("the README's Node snippet, with `import 'dcgan/layers'`, loads the installed dcgan's StyleGAN generator in the user's tfjs", async () => {
  // the user's `@tensorflow/tfjs` is the one npm installed beside dcgan: the layers must be registered with it
  const dcgan = path.join(app, 'node_modules', '.bin', 'dcgan');
  const train = run([dcgan, 'train', '--arch', 'stylegan', '--image-size', '8', '--width', '4', '--latent', '8', '--limit', '16',
    '--batch-size', '16', '--epochs', '1', '--out', 'style-run'], app);
  assert.equal(train.status, 0, train.stderr);
  const snippet = (await readmeSnippet('js', 'tf.io.fromMemory')).replace(/'checkpoints\/[^']+\/generator'/, "'style-run/generator'");
  assert.ok(snippet.includes("import 'dcgan/layers';") && snippet.includes('style-run/generator'), snippet);
  const r = run([process.execPath, '--input-type=module', '-e', snippet], app);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\[ 4, 8, 8, 3 \]/);
});

test('installed globally (npm i -g), `dcgan` is on the PATH and trains in an empty folder', async () => {
  // --prefix: a private "global" folder, as `npm i -g` uses /usr/local (its bin/ is what the shell finds)
  const prefix = await tmpDir('dcgan-global-');
  npm(['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], prefix);
  const bin = process.platform === 'win32' ? prefix : path.join(prefix, 'bin');
  const work = await tmpDir('dcgan-global-run-');
  const pathEnv = `${bin}${path.delimiter}${env.PATH}`;
  const train = spawnSync('dcgan', ['train', '--limit', '32', '--image-size', '16', '--width', '8', '--batch-size', '16', '--epochs', '1', '--out', 'run'],
    { cwd: work, env: { ...env, PATH: pathEnv }, encoding: 'utf8', shell: process.platform === 'win32' });
  assert.equal(train.status, 0, `${train.error ?? ''}${train.stderr}`);
  assert.ok(existsSync(path.join(work, 'run', 'generator', 'model.json')), 'run/generator/model.json was not written');
});
