// Temp folders that must not outlive the process: removed when it ends, however it ends (normally, process.exit,
// Ctrl-C, SIGTERM, a closed terminal), and — for a process killed outright, which runs no code — by the next one, which
// finds the dead process's id in the folder's name.
import { readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const cleanups = new Set<() => void>();

function runCleanups(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // at exit there is no one left to tell; the next start removes what is left (removeStale)
    }
  }
}

/**
 * A stop signal with no other listener: clean up and end as the signal would have (exit 128 + its number). Where the
 * command handles the signal itself (serve stops its server first), that handler decides, and cleanup runs at exit.
 */
function onStopSignal(sig: NodeJS.Signals): void {
  if (process.listenerCount(sig) > 1) return;
  runCleanups();
  process.exit(128 + (os.constants.signals[sig] ?? 0));
}

let installed = false;

/** Runs `cleanup` (synchronous) when the process ends, whichever way; the function returned cancels it. */
export function onExit(cleanup: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', runCleanups);
    for (const sig of STOP_SIGNALS) process.on(sig, onStopSignal);
  }
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

/** Removes the folder `dir` when the process ends; the function returned cancels that (the folder was moved, or kept). */
export function removeOnExit(dir: string): () => void {
  return onExit(() => rmSync(dir, { recursive: true, force: true }));
}

/** Whether a process with this pid runs on this machine (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the folders in `parent` that `name` matches (its first group: the pid of the process that made it) whose
 * process is gone: temp folders of a process killed outright. Those of live processes, and everything else, stay.
 */
export function removeStale(parent: string, name: RegExp): string[] {
  const removed: string[] = [];
  let entries;
  try {
    entries = readdirSync(parent, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const e of entries) {
    const pid = Number(name.exec(e.name)?.[1]);
    if (!e.isDirectory() || !Number.isSafeInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    rmSync(path.join(parent, e.name), { recursive: true, force: true });
    removed.push(e.name);
  }
  return removed;
}

/** After SIGHUP the terminal is gone: writing to it fails (EIO), and that must not kill a process that is saving. */
export function quietClosedTerminal(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}
