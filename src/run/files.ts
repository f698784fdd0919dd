// Reading and writing the run folder's file kinds: JSON written atomically, JSONL appended a batch at a time and cut
// back after a crash, raw float32 arrays.
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/fs.js';
import { withPath } from '../util/paths.js';

/** A run file that is missing, cut short or not what it should be; the message starts with the file's path. */
export class RunFileError extends Error {
  constructor(readonly file: string, what: string) {
    super(`${file}: ${what}`);
  }
}

/** A JSON file's value; a file that does not parse is named, with why, never quoted. */
export async function parseJsonFile<T>(file: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunFileError(file, code === 'ENOENT' ? 'it is missing' : `it cannot be read (${code ?? (err as Error).message})`);
  }
  if (!text.trim()) throw new RunFileError(file, 'it is empty');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    const cut = /end of (JSON )?input|Unterminated/i.test((err as Error).message);
    throw new RunFileError(file, cut ? 'it is not valid JSON: it ends too early (cut short)' : 'it is not valid JSON (damaged, or not the file dcgan wrote)');
  }
}

export async function readJson<T>(file: string): Promise<T> {
  return parseJsonFile<T>(file);
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Appends records as lines, in one write. */
export async function appendJsonl(file: string, records: object | object[]): Promise<void> {
  const lines = (Array.isArray(records) ? records : [records]).map((r) => JSON.stringify(r) + '\n');
  if (!lines.length) return;
  try {
    await appendFile(file, lines.join(''));
  } catch (err) {
    throw withPath(err, file);
  }
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
  if (kept.length !== lines.length) await writeFileAtomic(file, kept.map((l) => l + '\n').join(''));
}

export async function writeFloats(file: string, values: Float32Array): Promise<void> {
  await writeFileAtomic(file, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** A float32 array file; `expected` (a count of floats) is checked, and the file named when it does not match. */
export async function readFloats(file: string, expected?: { count: number; what: string }): Promise<Float32Array> {
  let b: Buffer;
  try {
    b = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunFileError(file, code === 'ENOENT' ? 'it is missing' : `it cannot be read (${code})`);
  }
  if (expected && b.byteLength !== 4 * expected.count) {
    throw new RunFileError(file, `it has ${b.byteLength} bytes where ${expected.what} take ${4 * expected.count} (${b.byteLength < 4 * expected.count ? 'cut short' : 'too long'})`);
  }
  if (b.byteLength % 4) throw new RunFileError(file, `it has ${b.byteLength} bytes, not a whole number of float32 values`);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
