// Image files under a folder, recursively, in a stable order, with what identifies their contents for the cache.
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isIgnoredPath, isImageName } from './filter.js';

export interface FileEntry {
  path: string;
  /** relative to the root, with '/' separators on every platform */
  rel: string;
  size: number;
  mtimeMs: number;
}

/**
 * Every image file under `root`, sorted by relative path (plain code-unit order, the same on every machine).
 * Dot-files, dot-folders and `__MACOSX` are skipped; symbolic links to files are followed, to folders not
 * (a link cycle would never end).
 */
export async function listImageFiles(root: string): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  const walk = async (dir: string, relDir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const d of entries) {
      const rel = relDir ? `${relDir}/${d.name}` : d.name;
      if (isIgnoredPath(d.name)) continue;
      const full = path.join(dir, d.name);
      if (d.isDirectory()) {
        await walk(full, rel);
        continue;
      }
      if (!isImageName(d.name) || !(d.isFile() || d.isSymbolicLink())) continue;
      let s;
      try {
        s = await stat(full);
      } catch {
        continue; // a dangling link
      }
      if (s.isFile()) out.push({ path: full, rel, size: s.size, mtimeMs: s.mtimeMs });
    }
  };
  await walk(root, '');
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** A digest of the files' names, sizes and modification times (not their bytes): the cache key of a folder. */
export function filesIdentity(files: FileEntry[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.rel}\t${f.size}\t${Math.round(f.mtimeMs)}\n`);
  return h.digest('hex');
}
