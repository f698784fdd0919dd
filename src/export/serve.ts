// `dcgan serve`: exports a run's page into a temp folder and serves it on 127.0.0.1 until Ctrl-C. Browsers will not
// run the page's module script from file://, hence a server; this one serves files under one folder and nothing else.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readFile, realpath, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../util/errors.js';
import { removeOnExit, removeStale } from '../util/signals.js';
import { exportWeb, FILE_LIST, type WebExport } from './web.js';
import type { GeneratorChoice } from '../run/layout.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm', // instantiateStreaming insists on it
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The Host headers this server answers: its own loopback names, with or without the port. A page on another site that
 * resolves its own name to 127.0.0.1 (DNS rebinding) sends its name, and is refused.
 */
export function localHost(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const h = host.toLowerCase();
  return ['127.0.0.1', 'localhost', '[::1]'].some((name) => h === name || h === `${name}:${port}`);
}

/**
 * The file a request path names under `base`, or why it is not served: outside the folder, reached through a symbolic
 * link (the file itself or a folder on the way), or not a regular file.
 */
async function servedFile(base: string, realBase: string, urlPath: string): Promise<{ file: string } | { status: number; why: string }> {
  let file = path.join(base, urlPath);
  if (file !== base && !file.startsWith(base + path.sep)) return { status: 403, why: 'outside the served folder' };
  let info = await lstat(file).catch(() => undefined);
  if (info?.isDirectory()) {
    file = path.join(file, 'index.html');
    info = await lstat(file).catch(() => undefined);
  }
  if (!info) return { status: 404, why: 'not found' };
  if (info.isSymbolicLink()) return { status: 403, why: 'a symbolic link: only regular files are served' };
  if (!info.isFile()) return { status: 404, why: 'not found' };
  // a folder on the way that is a link leads out of the served folder
  const folder = await realpath(path.dirname(file)).catch(() => undefined);
  if (folder !== path.join(realBase, path.relative(base, path.dirname(file)))) return { status: 403, why: 'reached through a symbolic link: not served' };
  return { file };
}

/** Serves the regular files under `root` (GET and HEAD) on 127.0.0.1; port 0 takes any free port. */
export async function serveFolder(root: string, port: number): Promise<StaticServer> {
  const base = path.resolve(root);
  const realBase = await realpath(base);
  let actualPort = port;
  const server: Server = createServer(async (req, res) => {
    const reply = (status: number, text: string) => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : text + '\n');
    };
    if (!localHost(req.headers.host, actualPort)) return reply(403, `Host ${req.headers.host ?? '(none)'}: this server answers only 127.0.0.1, localhost and [::1]`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'only GET and HEAD');
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return reply(400, 'bad path');
    }
    const found = await servedFile(base, realBase, urlPath);
    if (!('file' in found)) return reply(found.status, found.why);
    let fh;
    try {
      // O_NOFOLLOW: a file swapped for a link since it was looked at is not followed either
      fh = await open(found.file, constants.O_RDONLY | constants.O_NOFOLLOW);
      const info = await fh.stat();
      if (!info.isFile()) throw new Error('not a regular file');
      res.writeHead(200, {
        'Content-Type': CONTENT_TYPES[path.extname(found.file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': info.size,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      });
    } catch {
      await fh?.close();
      return reply(404, 'not found');
    }
    if (req.method === 'HEAD') {
      await fh.close();
      return res.end();
    }
    fh.createReadStream().on('error', () => res.destroy()).pipe(res);
  });
  if (port > 65535) throw new UsageError(`--port ${port}: a port is at most 65535`);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new UsageError(`--port ${port}: already in use (pass another, or 0 for any free port)`));
      else if (err.code === 'EACCES') reject(new UsageError(`--port ${port}: not allowed here (pass one above 1023, or 0 for any free port)`));
      else reject(err);
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${actualPort}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface ServeOptions {
  /** a run: exported into a temp folder first */
  run?: string;
  /** with run: --raw, --best (which of its generators) */
  generator?: GeneratorChoice;
  /** or a folder `dcgan export --web` wrote, served as it is */
  dir?: string;
  port: number;
}

/** Temp folders of serve --run: dcgan-serve-<pid>-<random>, so that one left by a killed serve is found and removed. */
const TEMP_NAME = /^dcgan-serve-(\d+)-[0-9a-f]+$/;

/** A folder dcgan export --web wrote; refused in one line otherwise. */
async function checkExported(dir: string): Promise<void> {
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`--dir ${dir}: ${info ? 'not a folder' : 'no such folder'} (export a run there first: dcgan export --web ${dir})`);
  const marked = await readFile(path.join(dir, FILE_LIST), 'utf8').then((t) => JSON.parse(t).generatedBy, () => undefined);
  const manifest = await readFile(path.join(dir, 'export.json'), 'utf8').then((t) => JSON.parse(t).generatedBy, () => undefined);
  if (!marked && !manifest) throw new UsageError(`--dir ${dir}: not a folder dcgan export --web wrote (it has no export.json)`);
}

/**
 * Serves an exported folder, or exports the run into a temp folder and serves that; `onReady` gets the address and
 * the folder. Resolves once a SIGINT, SIGTERM or SIGHUP (Ctrl-C, a closed terminal) has closed the server; the temp
 * folder is removed whichever way the process ends (and, if it was killed outright, by the next serve).
 */
export async function serve(o: ServeOptions, onReady: (url: string, folder: string, exported?: WebExport) => void): Promise<void> {
  // listened for from the start: a Ctrl-C during the export still removes the temp folder
  let stopping = false;
  let resolveStopped = () => {};
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const stop = () => {
    stopping = true;
    resolveStopped();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, stop);
  let temp: string | undefined;
  let cancelCleanup = () => {};
  try {
    let folder: string;
    let exported: WebExport | undefined;
    if (o.dir !== undefined) {
      await checkExported(o.dir);
      folder = o.dir;
    } else {
      removeStale(os.tmpdir(), TEMP_NAME);
      temp = path.join(os.tmpdir(), `dcgan-serve-${process.pid}-${randomBytes(4).toString('hex')}`);
      cancelCleanup = removeOnExit(temp); // before it exists: a signal right after the mkdir still removes it
      await mkdir(temp, { mode: 0o700 });
      exported = await exportWeb({ run: o.run!, dir: path.join(temp, 'page'), generator: o.generator });
      folder = exported.dir;
    }
    if (stopping) return;
    const server = await serveFolder(folder, o.port);
    onReady(server.url, folder, exported);
    await stopped;
    await server.close();
  } finally {
    for (const sig of signals) process.off(sig, stop);
    cancelCleanup();
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}
