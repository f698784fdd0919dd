// One trainer per run folder: the lock file (two `dcgan train` into one --out: test/cli-run-folder.test.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { LOCK_FILE, lockRun, RunLockedError } from '../src/run/lock.js';
import { tmpDir } from './helpers.js';

/** The pid of a process that has exited (so no process has it, for now). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('a second lock on a folder is refused naming the process that holds it; released, it can be taken again', async () => {
  const dir = path.join(await tmpDir(), 'run');
  const lock = await lockRun(dir);
  const owner = JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8'));
  assert.equal(owner.pid, process.pid);
  assert.equal(owner.host, os.hostname());
  await assert.rejects(lockRun(dir), (err: Error) => err instanceof RunLockedError && err.message.includes(`process ${process.pid}`));
  await lock.release();
  assert.equal(existsSync(path.join(dir, LOCK_FILE)), false);
  const again = await lockRun(dir);
  await again.release();
});

test('two trainers starting together: exactly one gets the lock', async () => {
  const dir = path.join(await tmpDir(), 'run');
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => lockRun(dir)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) if (r.status === 'fulfilled') await r.value.release();
});

test('a lock left by a process that is gone is stale and taken over; one from another machine is not', async () => {
  const dir = await tmpDir();
  await writeFile(path.join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: os.hostname(), started: 'earlier', token: 'x' }));
  const lock = await lockRun(dir);
  assert.equal(JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  await lock.release();
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith(LOCK_FILE)), []);

  await writeFile(path.join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'another-host', started: 'earlier', token: 'y' }));
  await assert.rejects(lockRun(dir), /process 1 on another-host .*delete .*train\.lock/);
});

test('a lock that created the folder removes it again when the run wrote nothing', async () => {
  const base = await tmpDir();
  const dir = path.join(base, 'a', 'b');
  const lock = await lockRun(dir);
  await lock.release();
  assert.equal(existsSync(path.join(base, 'a')), false);
});

test('an empty or torn lock is a trainer starting while it is fresh (refused), and stale once a minute old (taken over)', async () => {
  for (const torn of ['', '{"pid": 12']) {
    const dir = await tmpDir();
    const file = path.join(dir, LOCK_FILE);
    // just created: the trainer that made it has not written its name yet
    await writeFile(file, torn);
    await assert.rejects(lockRun(dir), (err: Error) => err instanceof RunLockedError && /a trainer that is starting/.test(err.message));
    assert.equal(await readFile(file, 'utf8'), torn, 'a fresh lock was changed');
    // two minutes old: no starting trainer takes that long to write a line, so it was left by a crash
    const old = new Date(Date.now() - 120_000);
    await utimes(file, old, old);
    const lock = await lockRun(dir);
    assert.equal(JSON.parse(await readFile(file, 'utf8')).pid, process.pid);
    await lock.release();
  }
});
