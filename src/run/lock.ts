// One trainer per run folder. Two trainers in one folder would interleave their records and leave whichever
// checkpoint was written last, so `train` takes a lock file before it writes anything and a second one is refused.
// The file is created with O_EXCL ('wx'): of two trainers that start together exactly one gets it. It names the
// process that holds it; a lock whose process is gone (killed, machine rebooted) is stale and is taken over.
import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { mkdir, readFile, rename, rmdir, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { processAlive } from '../util/signals.js';

export const LOCK_FILE = 'train.lock';

interface LockOwner {
  pid: number;
  host: string;
  started: string;
  /** tells this process's lock from another's with a reused pid */
  token: string;
}

/** A run folder held by another live trainer. */
export class RunLockedError extends Error {}

export interface RunLock {
  readonly file: string;
  /** removes the lock (if it is still ours) and the folders the lock created, if they are still empty */
  release(): Promise<void>;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string') return o as LockOwner;
  } catch {
    // empty or torn: see staleness below
  }
  return undefined;
}

/** Why the lock is not stale, for the refusal; undefined when it is stale and may be taken over. */
function heldBy(file: string, text: string): string | undefined {
  const owner = parseOwner(text);
  if (!owner) {
    // created and not yet written (a trainer starting right now), or left torn by a crash long ago
    const age = Date.now() - statSync(file).mtimeMs;
    return age < 60_000 ? 'a trainer that is starting' : undefined;
  }
  if (owner.host !== os.hostname()) {
    return `process ${owner.pid} on ${owner.host} (since ${owner.started}; if no dcgan runs there any more, delete ${file})`;
  }
  if (!processAlive(owner.pid)) return undefined;
  return `process ${owner.pid} (since ${owner.started}; if that is not a dcgan trainer, delete ${file})`;
}

/**
 * Takes the run folder `dir` for this process, creating it (and missing parents) if needed. Throws RunLockedError
 * naming the holder when another live trainer holds it. The lock is also removed when the process exits through
 * process.exit (a second Ctrl-C).
 */
export async function lockRun(dir: string): Promise<RunLock> {
  const firstCreated = await mkdir(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  const content = JSON.stringify(owner) + '\n';
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, content, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (attempt >= 3) throw new RunLockedError(`${dir} is in use: its lock ${file} came back each time it was found stale`);
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue; // released meanwhile: try again
    }
    const holder = heldBy(file, text);
    if (holder) throw new RunLockedError(`${dir} is in use: another trainer holds it, ${holder}`);
    await breakStaleLock(file, text);
  }

  const ours = () => {
    try {
      return parseOwner(readFileSync(file, 'utf8'))?.token === owner.token;
    } catch {
      return false;
    }
  };
  const onExit = () => {
    if (ours()) unlinkSync(file);
  };
  process.on('exit', onExit);
  return {
    file,
    async release() {
      process.off('exit', onExit);
      if (ours()) await unlink(file);
      // a run that wrote nothing leaves no empty folders behind
      if (firstCreated) {
        for (let d = dir; ; d = path.dirname(d)) {
          try {
            await rmdir(d);
          } catch {
            break; // not empty
          }
          if (path.resolve(d) === path.resolve(firstCreated)) break;
        }
      }
    },
  };
}

/**
 * Removes a stale lock, unless another trainer replaced it meanwhile: it is moved aside first (one rename wins), and
 * put back if what was moved is not the stale lock that was judged.
 */
async function breakStaleLock(file: string, staleText: string): Promise<void> {
  const aside = `${file}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(file, aside);
  } catch {
    return; // another trainer moved it first
  }
  const moved = await readFile(aside, 'utf8').catch(() => '');
  if (moved !== staleText && !existsSync(file)) await rename(aside, file).catch(() => {});
  await unlink(aside).catch(() => {});
}
