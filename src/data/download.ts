// Fetches one file over HTTP(S) into a verified local copy: resumable, retried, hash-checked before anyone reads it.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DatasetError } from './errors.js';

export interface ExpectedHash {
  algorithm: 'sha1' | 'md5';
  hex: string;
}

export interface DownloadEvent {
  /** the local file's name, for labels */
  file: string;
  url: string;
  /** bytes of the file on disk so far (a resumed download starts above 0) */
  bytes: number;
  /** the whole file's size, when the server says */
  total?: number;
  /** bytes already on disk when this attempt started; speed is (bytes − startBytes) / time */
  startBytes: number;
  state: 'downloading' | 'retrying' | 'verifying' | 'done' | 'failed';
  /** why, for 'retrying' and 'failed' */
  message?: string;
}
export type OnDownload = (e: DownloadEvent) => void;

export interface DownloadOptions {
  url: string;
  /** the verified file's final path; the transfer goes to `${dest}.part` */
  dest: string;
  hash: ExpectedHash;
  /** further attempts after the first, counting only attempts that made no progress (default 4) */
  retries?: number;
  /** the first retry's delay; each further one doubles, up to 8 s (default 500 ms) */
  retryDelayMs?: number;
  /** give up on a connection idle this long (default 30 s) */
  timeoutMs?: number;
  onProgress?: OnDownload;
  /** said after "cannot reach HOST" so the user knows the offline ways out */
  offlineHint?: string;
}

const NAMES = { sha1: 'SHA-1', md5: 'MD5' } as const;
// Connection-level failures: the host is not there, as opposed to a transfer that started and broke.
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'ETIMEDOUT']);
const MAX_REDIRECTS = 5;

/** A failure of one attempt; `retry` says whether another attempt may do better. */
class AttemptError extends Error {
  constructor(message: string, readonly retry: boolean, readonly code?: string) {
    super(message);
  }
}

export async function hashFile(file: string, algorithm: ExpectedHash['algorithm']): Promise<string> {
  const h = createHash(algorithm);
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

/**
 * Makes `dest` hold the file with the expected hash and returns its path. A good file already there is used as is
 * (no network); otherwise the file is fetched, resuming a `.part` left by an earlier run, and only renamed over `dest`
 * once its hash matches, so a failed or wrong download never replaces what was there.
 */
export async function ensureDownloaded(o: DownloadOptions): Promise<string> {
  const file = path.basename(o.dest);
  const want = o.hash.hex.toLowerCase();
  if ((await sizeOf(o.dest)) !== undefined && (await hashFile(o.dest, o.hash.algorithm)) === want) return o.dest;

  try {
    await mkdir(path.dirname(o.dest), { recursive: true });
  } catch (err) {
    throw new DatasetError(`cannot create the download folder ${path.dirname(o.dest)}: ${(err as Error).message}`);
  }
  const part = `${o.dest}.part`;
  const retries = o.retries ?? 4;
  const baseDelay = o.retryDelayMs ?? 500;
  const emit = (e: Omit<DownloadEvent, 'file' | 'url'>) => o.onProgress?.({ file, url: o.url, ...e });

  let failures = 0;
  let attempts = 0;
  // Progress resets the failure count, so this bounds a server that keeps cutting (or misreporting) a transfer.
  const maxAttempts = Math.max(100, 4 * (retries + 1));
  for (;;) {
    attempts++;
    const before = (await sizeOf(part)) ?? 0;
    try {
      await attempt(o, part, emit);
      break;
    } catch (err) {
      const e = toAttemptError(err);
      const after = (await sizeOf(part)) ?? 0;
      // A transfer cut after moving forward is worth resuming at once; only stalls count against the budget.
      failures = after > before ? 1 : failures + 1;
      if (!e.retry || failures > retries || attempts >= maxAttempts) {
        emit({ bytes: after, startBytes: before, state: 'failed', message: e.message });
        throw finalError(o, e, attempts);
      }
      const delay = Math.min(baseDelay * 2 ** (failures - 1), 8000);
      emit({ bytes: after, startBytes: before, state: 'retrying', message: `${e.message}; retrying in ${formatDelay(delay)}` });
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  const bytes = (await sizeOf(part)) ?? 0;
  emit({ bytes, total: bytes, startBytes: bytes, state: 'verifying' });
  const got = await hashFile(part, o.hash.algorithm);
  if (got !== want) {
    await rm(part, { force: true });
    emit({ bytes, total: bytes, startBytes: bytes, state: 'failed', message: 'hash mismatch' });
    throw new DatasetError(
      `${file} from ${o.url} failed its ${NAMES[o.hash.algorithm]} check (expected ${want}, got ${got}); ` +
        `the download was deleted${o.hash.algorithm === 'sha1' ? ' (pass --sha1 to accept a mirror that serves a different file)' : ''}`,
    );
  }
  await rename(part, o.dest);
  emit({ bytes, total: bytes, startBytes: bytes, state: 'done' });
  return o.dest;
}

function toAttemptError(err: unknown): AttemptError {
  if (err instanceof AttemptError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e instanceof DatasetError) return new AttemptError(e.message, false);
  // Anything else is the network or the stream breaking: worth another try.
  return new AttemptError(e?.message ?? String(err), true, e?.code);
}

function finalError(o: DownloadOptions, e: AttemptError, attempts: number): DatasetError {
  const file = path.basename(o.dest);
  if (e.code && UNREACHABLE.has(e.code)) {
    const host = safeHost(o.url);
    return new DatasetError(
      `cannot download ${file}: ${host} is unreachable (${e.code})` +
        (o.offlineHint ? `; ${o.offlineHint}` : '; check the network connection'),
    );
  }
  const tries = attempts > 1 ? ` after ${attempts} tries` : '';
  const resume = e.retry ? '; the partial file is kept and the next run resumes it' : '';
  return new DatasetError(`cannot download ${file} from ${o.url}${tries}: ${e.message}${resume}`);
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms % 1000 ? 1 : 0)} s`;
}

/** One request (plus redirects) appending to or restarting the .part file; resolves when the body ended complete. */
async function attempt(o: DownloadOptions, part: string, emit: (e: Omit<DownloadEvent, 'file' | 'url'>) => void): Promise<void> {
  const offset = (await sizeOf(part)) ?? 0;
  const res = await request(o.url, offset, o.timeoutMs ?? 30_000);
  let start: number;
  let total: number | undefined;
  if (res.statusCode === 206 && offset > 0) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
    if (!m || Number(m[1]) !== offset) {
      res.destroy();
      await rm(part, { force: true });
      throw new AttemptError(`the server resumed at the wrong place (${res.headers['content-range'] ?? 'no Content-Range'})`, true);
    }
    start = offset;
    total = m[3] === '*' ? undefined : Number(m[3]);
  } else if (res.statusCode === 200) {
    // A 200 to a Range request means the server ignored it: the body is the whole file, so start the file over.
    start = 0;
    const len = Number(res.headers['content-length']);
    total = res.headers['content-length'] !== undefined && Number.isFinite(len) ? len : undefined;
  } else if (res.statusCode === 416) {
    res.resume();
    // Nothing left to send: the .part is whole (an earlier run stopped before checking it). The hash decides.
    if (res.headers['content-range'] === `bytes */${offset}`) return;
    // Otherwise what we hold is not a prefix the server recognises (the file changed): start over.
    await rm(part, { force: true });
    throw new AttemptError('the server refused to resume (HTTP 416); starting over', true);
  } else {
    res.resume();
    const status = res.statusCode ?? 0;
    const retry = status >= 500 || status === 408 || status === 429;
    throw new AttemptError(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, retry);
  }

  let bytes = start;
  emit({ bytes, total, startBytes: start, state: 'downloading' });
  await pipeline(
    res,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        bytes += chunk.length;
        emit({ bytes, total, startBytes: start, state: 'downloading' });
        yield chunk;
      }
    },
    createWriteStream(part, { flags: start > 0 ? 'a' : 'w' }),
  );
  if (total !== undefined && bytes !== total) {
    throw new AttemptError(`the connection closed at ${bytes} of ${total} bytes`, true);
  }
}

/** GET with an optional Range, following redirects; resolves with the final response's headers in hand. */
function request(url: string, offset: number, timeoutMs: number, redirects = 0): Promise<http.IncomingMessage> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.reject(new DatasetError(`not a valid URL: ${url}`));
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return Promise.reject(new DatasetError(`only http:// and https:// URLs can be downloaded, not ${url}`));
  }
  const client = u.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { 'user-agent': 'dcgan', 'accept-encoding': 'identity' };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  return new Promise((resolve, reject) => {
    // agent: false — one connection per attempt, so a cut connection is never reused and nothing lingers after.
    const req = client.get(u, { headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) return reject(new AttemptError(`too many redirects from ${url}`, false));
        const next = new URL(res.headers.location, u).toString();
        return resolve(request(next, offset, timeoutMs, redirects + 1));
      }
      resolve(res);
    });
    let responded = false;
    req.on('response', () => (responded = true));
    req.setTimeout(timeoutMs, () => {
      // Silence before any response means the host cannot be reached; silence mid-body is a stalled transfer.
      const err: NodeJS.ErrnoException = new Error(
        responded ? `the transfer stalled for ${formatDelay(timeoutMs)}` : `no answer in ${formatDelay(timeoutMs)}`,
      );
      err.code = responded ? 'ESTALLED' : 'ETIMEDOUT';
      req.destroy(err);
    });
    req.on('error', reject);
  });
}
