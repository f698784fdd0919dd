// `dcgan export --web` and `dcgan serve` through the built command line: one-line refusals, `serve --dir`, signals
// (a closed terminal, Ctrl-C during an export) and the temp folders of killed processes. What they may touch, in
// process: test/export-safety.test.ts.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { exportWeb } from '../src/export/web.js';
import { buildGenerator } from '../src/model/build.js';
import { d2l } from '../src/model/d2l.js';
import { mlp } from '../src/model/mlp.js';
import { saveModel } from '../src/model/io.js';
import { deadPid, escapeRegExp, snapshot, tmpDir, useTestBackend } from './helpers.js';

const CLI = path.resolve('dist/cli.js');
const cli = (args: string[], o: { cwd?: string } = {}) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, ...o });

/** Refused: non-zero exit, one line on stderr that matches. */
function assertRefused(r: ReturnType<typeof cli>, message: RegExp) {
  assert.notEqual(r.status, 0, `exit 0:\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `more than one line:\n${r.stderr}`);
  assert.match(lines[0], message);
}

let root: string;
let plainRun: string;
let condRun: string;

before(async () => {
  assert.ok(existsSync(CLI), 'dist/cli.js is missing: run `npm run build` (npm test does it first)');
  await useTestBackend();
  root = await tmpDir();
  plainRun = path.join(root, 'plain-run');
  condRun = path.join(root, 'cond-run');
  const G = buildGenerator(d2l, { imageSize: 16, width: 4, latent: 8, channels: 3, classes: 0 }, 1);
  await saveModel(G, path.join(plainRun, 'generator'));
  G.dispose();
  const C = buildGenerator(mlp, { imageSize: 8, width: 8, latent: 8, channels: 1, classes: 3 }, 1);
  await saveModel(C, path.join(condRun, 'generator'));
  C.dispose();
  await writeFile(path.join(condRun, 'classes.json'), JSON.stringify({ names: ['a', 'b', 'c'] }));
});

test('a re-export over a changed file, or of a run with a linked weights.bin, is one line naming the file', async () => {
  const site = path.join(await tmpDir(), 'site');
  const first = cli(['export', '--web', site, '--run', plainRun]);
  assert.equal(first.status, 0, first.stderr);
  await writeFile(path.join(site, 'lib', 'mine.js'), 'mine');
  assertRefused(cli(['export', '--web', site, '--run', plainRun]),
    new RegExp(`^error: --web ${escapeRegExp(site)}: a previous export, but ${escapeRegExp(path.join(site, 'lib', 'mine.js'))} was not written by dcgan export; move it away first$`));
  const secret = path.join(await tmpDir(), 'secret.txt');
  await writeFile(secret, 'root:x:0:0');
  const linked = path.join(await tmpDir(), 'run');
  await cp(plainRun, linked, { recursive: true });
  await rm(path.join(linked, 'generator', 'weights.bin'));
  await symlink(secret, path.join(linked, 'generator', 'weights.bin'));
  const out = path.join(await tmpDir(), 'site');
  assertRefused(cli(['export', '--web', out, '--run', linked]), /^error: .*generator\/weights\.bin is a symbolic link: dcgan exports only the regular files of a run$/);
  assertRefused(cli(['serve', '--run', linked, '--port', '0']), /^error: .*generator\/weights\.bin is a symbolic link/);
  assert.equal(existsSync(out), false);
});

test('export --web . prints the command that serves the current folder', async () => {
  const here = path.join(await tmpDir(), 'here');
  await mkdir(here);
  const r = cli(['export', '--web', '.', '--run', plainRun], { cwd: here });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /serve the folder over http, e\.g\. node \S+ serve --dir \.\n$/);
});

/** Starts `dcgan serve …`; resolves with its address once printed. */
function startServe(args: string[]): { child: ChildProcess; url: Promise<string>; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'serve', ...args]);
  let stdout = '', stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(stdout.trim());
    });
    child.on('exit', () => reject(new Error(`serve exited: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr, exited };
}

test('serve --dir serves an exported folder as it is; a folder that is not an export is refused', async (t) => {
  const site = path.join(await tmpDir(), 'site');
  await exportWeb({ run: plainRun, dir: site });
  const before = await snapshot(site);
  const s = startServe(['--dir', site, '--port', '0']);
  t.after(() => s.child.kill('SIGKILL'));
  const url = await s.url;
  while (!s.stderr().includes('\n')) await new Promise((resolve) => setTimeout(resolve, 20)); // its line follows the address
  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.equal(await page.text(), await readFile(path.join(site, 'index.html'), 'utf8'));
  assert.match(s.stderr(), new RegExp(`serving ${escapeRegExp(site)} at ${escapeRegExp(url)}`));
  s.child.kill('SIGINT');
  assert.equal(await s.exited, 0, s.stderr());
  assert.deepEqual(await snapshot(site), before, 'serve --dir changed the export');

  const plain = await tmpDir();
  await writeFile(path.join(plain, 'index.html'), 'mine');
  assertRefused(cli(['serve', '--dir', plain, '--port', '0']), /--dir .*: not a folder dcgan export --web wrote \(it has no export\.json\)/);
  assertRefused(cli(['serve', '--dir', path.join(plain, 'nothing'), '--port', '0']), /--dir .*nothing: no such folder/);
  assertRefused(cli(['serve', '--dir', site, '--run', plainRun]), /--dir and --run do not combine/);
});

test('serve --run: a closed terminal (SIGHUP) stops it like Ctrl-C, removing its temp folder; one left by a killed serve goes at the next start', async (t) => {
  const stale = path.join(os.tmpdir(), `dcgan-serve-${deadPid()}-0badc0de`);
  await mkdir(path.join(stale, 'page'), { recursive: true });
  await writeFile(path.join(stale, 'page', 'index.html'), 'left behind');
  const alive = path.join(os.tmpdir(), `dcgan-serve-${process.pid}-0badc0de`); // a live process's: not touched
  await mkdir(alive, { recursive: true });
  t.after(() => rm(alive, { recursive: true, force: true }));

  const s = startServe(['--run', plainRun, '--port', '0']);
  t.after(() => s.child.kill('SIGKILL'));
  await s.url;
  while (!s.stderr().includes('\n')) await new Promise((resolve) => setTimeout(resolve, 20)); // its line follows the address
  const folder = s.stderr().match(/serving .* from (\S+) at/)?.[1];
  assert.ok(folder && existsSync(folder), s.stderr());
  assert.equal(existsSync(stale), false, 'the temp folder of a killed serve was left');
  assert.ok(existsSync(alive), 'the temp folder of a live process was removed');
  s.child.kill('SIGHUP');
  assert.equal(await s.exited, 0, s.stderr());
  assert.equal(existsSync(path.dirname(folder)), false, 'the temp folder is left behind');
});

test('Ctrl-C, SIGTERM or SIGHUP during an export leaves no hidden staging folder', async () => {
  const dir = await tmpDir();
  // stop the export while its staging folder exists: frozen (SIGSTOP) as soon as it appears, then Ctrl-C
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    const target = path.join(dir, `site-${sig}`);
    let caught = false;
    for (let attempt = 0; attempt < 5 && !caught; attempt++) {
      await rm(target, { recursive: true, force: true });
      const child = spawn(process.execPath, [CLI, 'export', '--web', target, '--run', plainRun]);
      const watcher = watch(dir, (_, name) => {
        if (!caught && String(name).startsWith(`.site-${sig}.export-`)) {
          caught = true;
          child.kill('SIGSTOP');
          child.kill(sig);
          child.kill('SIGCONT');
        }
      });
      const exit = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      watcher.close();
      if (caught) assert.equal(exit, code, `${sig}: exit ${exit}`);
    }
    assert.ok(caught, `${sig}: the export never showed its staging folder`);
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('.')), [], `${sig}: a staging folder was left`);
  }
});
