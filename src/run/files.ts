// Reading and writing the run folder's file kinds: JSON written atomically, JSONL appended a batch at a time and cut
// back after a crash, raw float32 arrays.
import { existsSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/fs.js';

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Appends records as lines, in one write. */
export async function appendJsonl(file: string, records: object | object[]): Promise<void> {
  const lines = (Array.isArray(records) ? records : [records]).map((r) => JSON.stringify(r) + '\n');
  if (lines.length) await appendFile(file, lines.join(''));
}

/** The records of a JSONL file ([] when it does not exist); a half-written last line (a crash mid-append) is skipped. */
export async function readJsonl<T>(file: string): Promise<T[]> {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // skipped: see above
    }
  }
  return out;
}

/**
 * Drops the lines a crashed run wrote after its last checkpoint, so a resumed run's logs continue without repeats.
 * `keep` decides per record.
 */
export async function truncateJsonl(file: string, keep: (record: Record<string, number>) => boolean): Promise<void> {
  if (!existsSync(file)) return;
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim());
  const kept = lines.filter((l) => {
    try {
      return keep(JSON.parse(l));
    } catch {
      return false; // a half-written last line
    }
  });
  if (kept.length !== lines.length) await writeFile(file, kept.map((l) => l + '\n').join(''));
}

export async function writeFloats(file: string, values: Float32Array): Promise<void> {
  await writeFileAtomic(file, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

export async function readFloats(file: string): Promise<Float32Array> {
  const b = await readFile(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
