// How the CLI tests start the command line: `node dist/cli.js`, as a user runs it. dist/ is rebuilt first when any source
// file is newer than its output (once per test process, under a lock that test files running side by side share),
// so running one test file after an edit never tests stale code; under `npm test`, which builds first, this only
// looks at file times. DCGAN_TEST_CLI=src runs src/cli.ts through tsx instead, with no build (scripts/mutate.ts
// does, in its copy of the checkout).
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ASSETS, build } from '../scripts/build.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');
const LOCK = path.join(DIST, '.build-lock');
const require = createRequire(import.meta.url);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

const mtime = (file: string) => (existsSync(file) ? statSync(file).mtimeMs : -Infinity);

/** The first source file or asset (or tsconfig.json) newer than its output, or undefined when dist/ is current. */
export function staleSource(): string | undefined {
  const config = mtime(path.join(ROOT, 'tsconfig.json'));
  for (const file of [...sources(SRC), ...ASSETS.map((asset) => path.join(SRC, asset))]) {
    const built = mtime(path.join(DIST, path.relative(SRC, file)).replace(/\.ts$/, '.js'));
    if (built < mtime(file) || built < config) return path.relative(ROOT, file);
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds dist/ (scripts/build.ts) if it is stale; another test process building meanwhile is waited for rather than raced. */
export async function buildIfStale(): Promise<void> {
  if (!staleSource()) return;
  mkdirSync(DIST, { recursive: true });
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // a lock older than any build is one whose process died
      if (Date.now() - mtime(LOCK) > 3 * 60_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited 5 minutes for ${LOCK} (another build) to go`);
      await sleep(200);
    }
  }
  try {
    const stale = staleSource(); // another process may have built while this one waited
    if (!stale) return;
    try {
      build();
    } catch (err) {
      throw new Error(`dist/ is older than ${stale}, and building it failed: ${(err as Error).message}`);
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** What goes before the CLI's own arguments: `spawn(process.execPath, [...CLI, 'train', …])`. */
export async function cliPrefix(): Promise<string[]> {
  if (process.env.DCGAN_TEST_CLI === 'src') {
    return ['--import', pathToFileURL(require.resolve('tsx')).href, path.join(SRC, 'cli.ts')];
  }
  await buildIfStale();
  return [path.join(DIST, 'cli.js')];
}

export const CLI = await cliPrefix();
