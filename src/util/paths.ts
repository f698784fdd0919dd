// Where output can go, said before any work starts and in words: "is a file", "is read-only", "does not exist",
// rather than the system's ENOENT on a mkdir or a temp file's name.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** A file system error's code in words ("no space left on the device"); the code itself when it has none. */
export function fsReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'the disk quota is used up';
    case 'EROFS':
      return 'the file system is read-only';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'ENOENT':
      return 'it does not exist';
    case 'EISDIR':
      return 'it is a folder';
    default:
      return e?.code ?? String((err as Error)?.message ?? err);
  }
}

/** The closest existing path at or above `p`, and whether it is a folder. */
function nearestExisting(p: string): { path: string; isDirectory: boolean } {
  for (let at = path.resolve(p); ; at = path.dirname(at)) {
    try {
      return { path: at, isDirectory: statSync(at).isDirectory() };
    } catch {
      if (path.dirname(at) === at) return { path: at, isDirectory: true };
    }
  }
}

function writable(dir: string): string | undefined {
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EROFS' ? `${dir} is on a read-only file system` : `${dir} is not writable (${fsReason(err)})`;
  }
}

/** Why the folder `dir` cannot be created or written in, or undefined when it can (missing parents are created). */
export function folderProblem(dir: string): string | undefined {
  const at = nearestExisting(dir);
  if (!at.isDirectory) return at.path === path.resolve(dir) ? `${dir} is a file, not a folder` : `${at.path} is a file, not a folder`;
  return writable(at.path);
}

/** Why the file `file` cannot be written, or undefined when it can: its folder must exist. */
export function outputFileProblem(file: string): string | undefined {
  const resolved = path.resolve(file);
  try {
    if (statSync(resolved).isDirectory()) return `${file} is a folder`;
  } catch {
    // a new file: its folder decides
  }
  const dir = path.dirname(resolved);
  const at = nearestExisting(dir);
  if (at.path !== dir) return at.isDirectory ? `the folder ${path.dirname(file)} does not exist` : `${at.path} is a file, not a folder`;
  if (!at.isDirectory) return `${at.path} is a file, not a folder`;
  return writable(dir);
}

/** Gives a file system error the path it happened at, when the system left it out (a failed write names none). */
export function withPath(err: unknown, file: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && !e.path) e.path = file;
  return err;
}
