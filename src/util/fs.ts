import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes via a temp file in the same folder, flushed, then renamed: readers see the old file or the new, never half.
 * Several chunks are written one after another, so a large array need not be copied into one buffer first.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array | Uint8Array[]): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const chunks = typeof data === 'string' ? [Buffer.from(data)] : Array.isArray(data) ? data : [data];
  try {
    const fh = await open(tmp, 'w');
    try {
      for (const chunk of chunks) {
        // write() takes at most 2 GiB a call
        for (let done = 0; done < chunk.length; ) {
          const { bytesWritten } = await fh.write(chunk, done, Math.min(chunk.length - done, 256 * 1024 * 1024));
          done += bytesWritten;
        }
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    // the temp file is ours, not the user's: errors name the file they asked for
    const e = err as NodeJS.ErrnoException;
    if (typeof e?.message === 'string') e.message = e.message.split(tmp).join(file);
    if (e && typeof e === 'object') e.path = file;
    throw err;
  }
}
