// `dcgan serve`: exports a run's page into a temp folder and serves it on 127.0.0.1 until Ctrl-C. Browsers will not
// run the page's module script from file://, hence a server; this one serves files under one folder and nothing else.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../util/errors.js';
import { exportWeb, type WebExport } from './web.js';

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

/** Serves the files under `root` (GET and HEAD) on 127.0.0.1; port 0 takes any free port. */
export async function serveFolder(root: string, port: number): Promise<StaticServer> {
  const base = path.resolve(root);
  const server: Server = createServer(async (req, res) => {
    const reply = (status: number, text: string) => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : text + '\n');
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'only GET and HEAD');
    let file: string;
    try {
      file = path.join(base, decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname));
    } catch {
      return reply(400, 'bad path');
    }
    if (file !== base && !file.startsWith(base + path.sep)) return reply(403, 'outside the served folder');
    try {
      let info = await stat(file);
      if (info.isDirectory()) {
        file = path.join(file, 'index.html');
        info = await stat(file);
      }
      res.writeHead(200, {
        'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': info.size,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).on('error', () => res.destroy()).pipe(res);
    } catch {
      reply(404, 'not found');
    }
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
  const actualPort = typeof address === 'object' && address ? address.port : port;
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
  run: string;
  port: number;
}

/**
 * Exports the run into a temp folder and serves it; `onReady` gets the address. Resolves once a SIGINT or SIGTERM
 * (Ctrl-C) has closed the server and removed the folder.
 */
export async function serve(o: ServeOptions, onReady: (url: string, exported: WebExport) => void): Promise<void> {
  const temp = await mkdtemp(path.join(os.tmpdir(), 'dcgan-serve-'));
  try {
    const exported = await exportWeb({ run: o.run, dir: path.join(temp, 'page') });
    const server = await serveFolder(exported.dir, o.port);
    const stopped = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    onReady(server.url, exported);
    await stopped;
    await server.close();
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
