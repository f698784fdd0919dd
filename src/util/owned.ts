// What dcgan may delete in a folder: the files and folders it writes, by exact name (or name pattern), and nothing
// else. A table of owned names is walked against the disk before anything is deleted: a file inside an owned folder
// that the table does not name, a symbolic link, or a folder where a file belongs is foreign, and the delete is refused
// naming it — before the first file goes.
import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/** An owned file (a name or a pattern of names), or an owned folder and what it holds in turn. */
export type Owned = { file: string | RegExp } | { folder: string; holds: readonly Owned[] };

export const ownedFile = (name: string | RegExp): Owned => ({ file: name });
export const ownedFolder = (name: string, ...holds: Owned[]): Owned => ({ folder: name, holds });

/** A path under the scanned folder that is not ours, and why (for the one-line refusal). */
export interface Foreign {
  /** relative to the scanned folder, with '/' */
  path: string;
  why: string;
}

export interface OwnedScan {
  /** owned files and folders present, relative, each folder after everything in it (the order to delete them in) */
  owned: string[];
  /** the first foreign entry inside an owned folder, or an owned name of the wrong kind */
  foreign?: Foreign;
}

// writeFileAtomic's temp files beside an owned file: .config.json.1a2b3c4d.tmp
const TEMP_FILE = /^\.(.+)\.[0-9a-f]{8}\.tmp$/;

const matches = (pattern: string | RegExp, name: string) => (typeof pattern === 'string' ? pattern === name : pattern.test(name));

function partFor(table: readonly Owned[], name: string): Owned | undefined {
  const direct = table.find((p) => ('file' in p ? matches(p.file, name) : p.folder === name));
  if (direct) return direct;
  const temp = TEMP_FILE.exec(name);
  return temp ? table.find((p) => 'file' in p && matches(p.file, temp[1])) : undefined;
}

/**
 * Walks `dir` against `table`. At the top level, names the table does not know are left out (the folder may hold the
 * user's files beside ours, and those are never touched); inside an owned folder every entry must be owned.
 */
export async function scanOwned(dir: string, table: readonly Owned[]): Promise<OwnedScan> {
  const owned: string[] = [];
  const walk = async (at: string, parts: readonly Owned[], top: boolean): Promise<Foreign | undefined> => {
    for (const entry of (await readdir(path.join(dir, at), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = at ? `${at}/${entry.name}` : entry.name;
      const part = partFor(parts, entry.name);
      if (!part) {
        if (top) continue;
        return { path: rel, why: 'dcgan did not write it' };
      }
      if (entry.isSymbolicLink()) return { path: rel, why: 'it is a symbolic link, not a file dcgan wrote' };
      if ('file' in part) {
        if (!entry.isFile()) return { path: rel, why: entry.isDirectory() ? 'it is a folder where dcgan writes a file' : 'it is not a regular file' };
        owned.push(rel);
      } else {
        if (!entry.isDirectory()) return { path: rel, why: 'it is a file where dcgan writes a folder' };
        const inner = await walk(rel, part.holds, false);
        if (inner) return inner;
        owned.push(rel);
      }
    }
    return undefined;
  };
  const foreign = await walk('', table, true);
  return foreign ? { owned: [], foreign } : { owned };
}

/** A delete refused because of a foreign entry; the message names its full path. */
export class ForeignFileError extends Error {
  constructor(readonly file: string, why: string, what: string) {
    super(`${file}: ${why}; ${what}`);
  }
}

/**
 * Deletes what `scanOwned` found owned in `dir`, after scanning again: a foreign entry refuses the whole delete before
 * anything goes (`refusal` says what was not done). Folders are removed only once empty (rmdir), so a file that
 * appeared meanwhile stays, and so does its folder. Returns the top-level names deleted.
 */
export async function deleteOwned(dir: string, table: readonly Owned[], refusal: string): Promise<string[]> {
  const scan = await scanOwned(dir, table);
  if (scan.foreign) throw new ForeignFileError(path.join(dir, scan.foreign.path), scan.foreign.why, refusal);
  for (const rel of scan.owned) {
    const p = path.join(dir, rel);
    if ((await lstat(p)).isDirectory()) await rmdir(p);
    else await unlink(p);
  }
  return scan.owned.filter((rel) => !rel.includes('/'));
}
