// What `dcgan export --web` and `dcgan serve` may touch and serve, tried as a hostile user would: a re-export over a
// folder the user changed, symbolic links out of the run, other Host headers, signals, staging folders of killed runs.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, watch } from 'node:fs';
import { cp, lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { localHost, serveFolder } from '../src/export/serve.js';
import { exportWeb } from '../src/export/web.js';
import { buildGenerator } from '../src/model/build.js';
import { d2l } from '../src/model/d2l.js';
import { mlp } from '../src/model/mlp.js';
import { saveModel } from '../src/model/io.js';
import { tmpDir, useTestBackend } from './helpers.js';

const CLI = path.resolve('dist/cli.js');
const cli = (args: string[], o: { cwd?: string } = {}) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, ...o });

/** Refused: non-zero exit, one line on stderr that matches. */
function assertRefused(r: ReturnType<typeof cli>, message: RegExp) {
  assert.notEqual(r.status, 0, `exit 0:\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `more than one line:\n${r.stderr}`);
  assert.match(lines[0], message);
}

/** Every entry under `dir`: files by their bytes' hash, links by their target. Equal before and after: nothing changed. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const name of (await readdir(d)).sort()) {
      const p = path.join(d, name);
      const info = await lstat(p);
      if (info.isSymbolicLink()) out[path.relative(dir, p)] = `link to ${await readlink(p)}`;
      else if (info.isDirectory()) await walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
    }
  };
  await walk(dir);
  return out;
}

/** The pid of a process that has exited (so no process has it, for now). */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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

test('a re-export replaces only what the export wrote: a file added or changed anywhere in the folder refuses it, naming the file', async () => {
  const site = path.join(await tmpDir(), 'site');
  assert.equal(cli(['export', '--web', site, '--run', plainRun]).status, 0);
  const list = JSON.parse(await readFile(path.join(site, '.dcgan-export.json'), 'utf8'));
  const index = await readFile(path.join(site, 'index.html'));
  assert.deepEqual(list.files['index.html'], { size: index.length, sha256: createHash('sha256').update(index).digest('hex') });
  const again = cli(['export', '--web', site, '--run', plainRun]);
  assert.equal(again.status, 0, again.stderr);

  // the cases: files inside the export's own folders, a new folder in one, a hand-edited page, a link
  const plants: [string, RegExp, (d: string) => Promise<void>][] = [
    ['lib/mine.js', /was not written by dcgan export/, (d) => writeFile(path.join(d, 'lib', 'mine.js'), 'mine')],
    ['generator/NOTES.txt', /was not written by dcgan export/, (d) => writeFile(path.join(d, 'generator', 'NOTES.txt'), 'mine')],
    ['js/custom/extra.js', /was not written by dcgan export/, async (d) => {
      await mkdir(path.join(d, 'js', 'custom'));
      await writeFile(path.join(d, 'js', 'custom', 'extra.js'), 'mine');
    }],
    ['index.html', /was changed since dcgan exported it/, (d) => writeFile(path.join(d, 'index.html'), index.toString().replace('<title>', '<title>My '))],
    ['style.css', /was changed since dcgan exported it/, async (d) => writeFile(path.join(d, 'style.css'), (await readFile(path.join(d, 'style.css'))).fill(32, 0, 1))],
    ['lib/link.js', /is a symbolic link, not a file the export wrote/, (d) => symlink(path.join(d, 'index.html'), path.join(d, 'lib', 'link.js'))],
  ];
  for (const [file, why, plant] of plants) {
    const copy = path.join(await tmpDir(), 'site');
    await cp(site, copy, { recursive: true, verbatimSymlinks: true });
    await plant(copy);
    const before = await snapshot(copy);
    assertRefused(cli(['export', '--web', copy, '--run', plainRun]),
      new RegExp(`^error: --web ${escape(copy)}: a previous export, but ${escape(path.join(copy, file))} ${why.source}; move it away first$`));
    assert.deepEqual(await snapshot(copy), before, `${file}: the folder changed`);
    assert.deepEqual((await readdir(path.dirname(copy))).filter((f) => f !== 'site'), [], `${file}: a staging folder was left`);
  }
});

test('a re-export deletes the files of the export it replaces that it does not write again, and the folders they leave empty', async () => {
  const site = path.join(await tmpDir(), 'site');
  await exportWeb({ run: condRun, dir: site });
  assert.ok(existsSync(path.join(site, 'classes.json')));
  await mkdir(path.join(site, 'generator', 'mine')); // an empty folder of the user's: no file of it is deleted, it stays
  await exportWeb({ run: plainRun, dir: site });
  assert.equal(existsSync(path.join(site, 'classes.json')), false, 'the conditional export\'s classes.json was left');
  assert.ok(existsSync(path.join(site, 'generator', 'mine')));
  const list = JSON.parse(await readFile(path.join(site, '.dcgan-export.json'), 'utf8'));
  assert.equal(list.previous, undefined);
  assert.deepEqual(Object.keys(list.files).sort(), (await listFiles(site)).filter((f) => f !== '.dcgan-export.json').sort());
});

async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const at = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, at)));
    else out.push(at);
  }
  return out;
}

test('an export by an earlier dcgan (no list of its files) is not replaced: it cannot tell its files from the user\'s', async () => {
  const site = path.join(await tmpDir(), 'site');
  await exportWeb({ run: plainRun, dir: site });
  await rm(path.join(site, '.dcgan-export.json'));
  const before = await snapshot(site);
  assertRefused(cli(['export', '--web', site, '--run', plainRun]), /--web .*site: an export by an earlier dcgan, which kept no list of its files \(\.dcgan-export\.json\) to tell them from yours: move the folder away/);
  assert.deepEqual(await snapshot(site), before);
});

test('export --web . in an empty current folder writes into it: the folder itself is neither removed nor made again', async () => {
  const here = path.join(await tmpDir(), 'here');
  await mkdir(here);
  const { ino } = await stat(here);
  const r = cli(['export', '--web', '.', '--run', plainRun], { cwd: here });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await stat(here)).ino, ino, 'the folder was made again');
  assert.ok(existsSync(path.join(here, 'index.html')));
  // and again over itself: the export it wrote is replaced in place
  const again = cli(['export', '--web', '.', '--run', plainRun], { cwd: here });
  assert.equal(again.status, 0, again.stderr);
  assert.equal((await stat(here)).ino, ino);
  assert.match(again.stderr, /serve --dir \.\n/);
});

test('the exported folder and its files get the umask\'s permissions, as any file tool\'s output', async () => {
  const dir = await tmpDir();
  for (const [umask, folderMode, fileMode] of [['022', 0o755, 0o644], ['027', 0o750, 0o640], ['002', 0o775, 0o664]] as const) {
    const site = path.join(dir, `site-${umask}`, 'web');
    const r = spawnSync('/bin/sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, CLI, 'export', '--web', site, '--run', plainRun], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const [p, mode] of [[path.dirname(site), folderMode], [site, folderMode], [path.join(site, 'lib'), folderMode], [path.join(site, 'index.html'), fileMode]] as const) {
      assert.equal(((await stat(p)).mode & 0o777).toString(8), mode.toString(8), `${path.relative(dir, p)} under umask ${umask}`);
    }
  }
});

test('a run whose generator files are symbolic links (to /etc/passwd, say) is refused by export and serve in one line', async () => {
  const secret = path.join(await tmpDir(), 'secret.txt');
  await writeFile(secret, 'root:x:0:0');
  const linked = path.join(await tmpDir(), 'run');
  await cp(plainRun, linked, { recursive: true });
  await rm(path.join(linked, 'generator', 'weights.bin'));
  await symlink(secret, path.join(linked, 'generator', 'weights.bin'));
  const out = path.join(await tmpDir(), 'site');
  assertRefused(cli(['export', '--web', out, '--run', linked]), /generator\/weights\.bin is a symbolic link: dcgan exports only the regular files of a run$/);
  assertRefused(cli(['serve', '--run', linked, '--port', '0']), /generator\/weights\.bin is a symbolic link/);
  assert.equal(existsSync(out), false);

  // the folder a link, and classes.json a link
  const folderLinked = path.join(await tmpDir(), 'run');
  await mkdir(folderLinked);
  await symlink(path.join(plainRun, 'generator'), path.join(folderLinked, 'generator'));
  assertRefused(cli(['export', '--web', out, '--run', folderLinked]), /run\/generator is a symbolic link/);
  const classesLinked = path.join(await tmpDir(), 'run');
  await cp(condRun, classesLinked, { recursive: true });
  await rm(path.join(classesLinked, 'classes.json'));
  await symlink(secret, path.join(classesLinked, 'classes.json'));
  assertRefused(cli(['export', '--web', out, '--run', classesLinked]), /classes\.json is a symbolic link/);
  assert.equal(existsSync(out), false);
});

/** GET `urlPath` from the server at `port`, sending `host` as the Host header. */
function get(port: number, urlPath: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serve answers only Host 127.0.0.1, localhost and [::1] with its port: a rebound name gets 403', async () => {
  const site = path.join(await tmpDir(), 'site');
  await exportWeb({ run: plainRun, dir: site });
  const server = await serveFolder(site, 0);
  try {
    const port = Number(new URL(server.url).port);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      assert.equal((await get(port, '/index.html', host)).status, 200, host);
    }
    for (const host of ['evil.example', `evil.example:${port}`, `localhost.evil.example:${port}`, `127.0.0.1:${port + 1}`, `127.0.0.1.evil.example:${port}`]) {
      const r = await get(port, '/index.html', host);
      assert.equal(r.status, 403, host);
      assert.doesNotMatch(r.body, /<html/i, host);
    }
  } finally {
    await server.close();
  }
  assert.equal(localHost(undefined, 80), false);
  assert.equal(localHost('localhost', 80), true);
});

test('serve keeps to its folder: a sibling whose name starts with the folder\'s, links out of it, and files through linked folders are refused', async () => {
  const dir = await tmpDir();
  const site = path.join(dir, 'site');
  await mkdir(site);
  await writeFile(path.join(site, 'index.html'), '<p>page</p>');
  await mkdir(path.join(dir, 'site-secret'));
  await writeFile(path.join(dir, 'site-secret', 'key.txt'), 'the secret');
  await writeFile(path.join(dir, 'secret.txt'), 'the secret');
  await symlink(path.join(dir, 'secret.txt'), path.join(site, 'link.txt'));
  await symlink(path.join(dir, 'site-secret'), path.join(site, 'linked'));
  const server = await serveFolder(site, 0);
  try {
    const port = Number(new URL(server.url).port);
    assert.equal((await get(port, '/')).body, '<p>page</p>');
    // path.join(site, '/../site-secret/key.txt') starts with the served folder's path, but not with it and a slash
    for (const p of ['/..%2fsite-secret%2fkey.txt', '/%2e%2e%2fsite-secret%2fkey.txt', '/..%2f..%2f' + encodeURIComponent(path.join(dir, 'site-secret', 'key.txt').slice(1))]) {
      const r = await get(port, p);
      assert.equal(r.status, 403, `${p}: ${r.status} ${r.body}`);
      assert.doesNotMatch(r.body, /the secret/);
    }
    for (const p of ['/link.txt', '/linked/key.txt']) {
      const r = await get(port, p);
      assert.equal(r.status, 403, `${p}: ${r.status} ${r.body}`);
      assert.doesNotMatch(r.body, /the secret/);
    }
  } finally {
    await server.close();
  }
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
  assert.match(s.stderr(), new RegExp(`serving ${escape(site)} at ${escape(url)}`));
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

test('Ctrl-C during an export leaves no hidden staging folder, and one left by a killed export goes at the next one', async () => {
  const dir = await tmpDir();
  const site = path.join(dir, 'site');
  const stale = path.join(dir, `.site.export-${deadPid()}-0badc0de`);
  await mkdir(path.join(stale, 'lib'), { recursive: true });
  await writeFile(path.join(stale, 'lib', 'tf.min.js'), 'half');
  const alive = path.join(dir, `.site.export-${process.pid}-0badc0de`);
  await mkdir(alive);
  const other = path.join(dir, `.other.export-${deadPid()}-0badc0de`); // another target's: not this export's to judge
  await mkdir(other);
  const r = cli(['export', '--web', site, '--run', plainRun]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((await readdir(dir)).sort(), [path.basename(alive), path.basename(other), 'site'].sort());
  await rm(alive, { recursive: true });
  await rm(other, { recursive: true });

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
