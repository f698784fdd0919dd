// What `dcgan export --web` and `dcgan serve` may touch and serve, tried as a hostile user would: a re-export over a
// folder the user changed, symbolic links out of the run, other Host headers, staging folders of killed exports. In
// process (the command line's side, signals and one-line refusals: test/cli-export.test.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
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
import { deadPid, escapeRegExp, snapshot, tmpDir, useTestBackend } from './helpers.js';

/** A copy of the plain run whose generator/weights.bin is a symbolic link to `target`. */
async function linkedRun(target: string): Promise<string> {
  const linked = path.join(await tmpDir(), 'run');
  await cp(plainRun, linked, { recursive: true });
  await rm(path.join(linked, 'generator', 'weights.bin'));
  await symlink(target, path.join(linked, 'generator', 'weights.bin'));
  return linked;
}

let root: string;
let plainRun: string;
let condRun: string;

before(async () => {
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
  await exportWeb({ run: plainRun, dir: site });
  const list = JSON.parse(await readFile(path.join(site, '.dcgan-export.json'), 'utf8'));
  const index = await readFile(path.join(site, 'index.html'));
  assert.deepEqual(list.files['index.html'], { size: index.length, sha256: createHash('sha256').update(index).digest('hex') });
  await exportWeb({ run: plainRun, dir: site }); // over its own, unchanged: replaced

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
    await assert.rejects(exportWeb({ run: plainRun, dir: copy }),
      new RegExp(`^Error: --web ${escapeRegExp(copy)}: a previous export, but ${escapeRegExp(path.join(copy, file))} ${why.source}; move it away first$`));
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
  await assert.rejects(exportWeb({ run: plainRun, dir: site }), /--web .*site: an export by an earlier dcgan, which kept no list of its files \(\.dcgan-export\.json\) to tell them from yours: move the folder away/);
  assert.deepEqual(await snapshot(site), before);
});

test('export --web . in an empty current folder writes into it: the folder itself is neither removed nor made again', async () => {
  const here = path.join(await tmpDir(), 'here');
  await mkdir(here);
  const { ino } = await stat(here);
  const was = process.cwd();
  process.chdir(here);
  try {
    await exportWeb({ run: plainRun, dir: '.' });
    assert.equal((await stat(here)).ino, ino, 'the folder was made again');
    assert.ok(existsSync(path.join(here, 'index.html')));
    await exportWeb({ run: plainRun, dir: '.' }); // and over itself: replaced in place
    assert.equal((await stat(here)).ino, ino);
  } finally {
    process.chdir(was);
  }
  assert.deepEqual((await readdir(path.dirname(here))).filter((f) => f.startsWith('.')), [], 'a staging folder was left');
});

test('the exported folder and its files get the umask\'s permissions, as any file tool\'s output', async () => {
  const dir = await tmpDir();
  for (const [umask, folderMode, fileMode] of [[0o022, 0o755, 0o644], [0o027, 0o750, 0o640], [0o002, 0o775, 0o664]] as const) {
    const site = path.join(dir, `site-${umask.toString(8)}`, 'web');
    const was = process.umask(umask);
    try {
      await exportWeb({ run: plainRun, dir: site });
    } finally {
      process.umask(was);
    }
    for (const [p, mode] of [[path.dirname(site), folderMode], [site, folderMode], [path.join(site, 'lib'), folderMode], [path.join(site, 'index.html'), fileMode]] as const) {
      assert.equal(((await stat(p)).mode & 0o777).toString(8), mode.toString(8), `${path.relative(dir, p)} under umask ${umask.toString(8)}`);
    }
  }
});

test('a run whose generator files are symbolic links (to /etc/passwd, say) is not exported: the link is named', async () => {
  const secret = path.join(await tmpDir(), 'secret.txt');
  await writeFile(secret, 'root:x:0:0');
  const out = path.join(await tmpDir(), 'site');
  const linked = await linkedRun(secret);
  await assert.rejects(exportWeb({ run: linked, dir: out }), /generator\/weights\.bin is a symbolic link: dcgan exports only the regular files of a run$/);
  // the folder a link, and classes.json a link
  const folderLinked = path.join(await tmpDir(), 'run');
  await mkdir(folderLinked);
  await symlink(path.join(plainRun, 'generator'), path.join(folderLinked, 'generator'));
  await assert.rejects(exportWeb({ run: folderLinked, dir: out }), /run\/generator is a symbolic link/);
  const classesLinked = path.join(await tmpDir(), 'run');
  await cp(condRun, classesLinked, { recursive: true });
  await rm(path.join(classesLinked, 'classes.json'));
  await symlink(secret, path.join(classesLinked, 'classes.json'));
  await assert.rejects(exportWeb({ run: classesLinked, dir: out }), /classes\.json is a symbolic link/);
  assert.equal(existsSync(out), false);
});

test('a staging folder left by a killed export is removed by the next export to that folder; a live one\'s, or another folder\'s, stays', async () => {
  const dir = await tmpDir();
  const stale = path.join(dir, `.site.export-${deadPid()}-0badc0de`);
  await mkdir(path.join(stale, 'lib'), { recursive: true });
  await writeFile(path.join(stale, 'lib', 'tf.min.js'), 'half');
  const alive = path.join(dir, `.site.export-${process.ppid}-0badc0de`); // a live process's (the test runner's)
  await mkdir(alive);
  const other = path.join(dir, `.other.export-${deadPid()}-0badc0de`); // another target's: not this export's to judge
  await mkdir(other);
  await exportWeb({ run: plainRun, dir: path.join(dir, 'site') });
  assert.deepEqual((await readdir(dir)).sort(), [path.basename(alive), path.basename(other), 'site'].sort());
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

test('an export into a folder stages inside it: one left there by a killed export is removed by the next, and is not taken for the user\'s', async () => {
  for (const previous of [false, true]) {
    const site = path.join(await tmpDir(), 'site');
    await mkdir(site);
    if (previous) await exportWeb({ run: plainRun, dir: site });
    const stale = path.join(site, `.dcgan-export-${deadPid()}-0badc0de`);
    await mkdir(path.join(stale, 'lib'), { recursive: true });
    await writeFile(path.join(stale, 'lib', 'tf.min.js'), 'half');
    await exportWeb({ run: plainRun, dir: site });
    assert.equal(existsSync(stale), false);
    assert.deepEqual((await readdir(site)).filter((f) => f.startsWith('.')), ['.dcgan-export.json']);
  }
});

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

