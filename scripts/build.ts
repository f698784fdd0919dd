// Builds dist/, everything the package runs: tsc's output, the files beside the code that are not TypeScript (the
// exported web page's HTML and CSS, which src/export/web.ts reads next to itself), and dist/cli.js made executable.
//   npm run build      (also run by `npm ci`, `npm pack` and `npm test`; test/cli-run.ts runs it when dist/ is stale)
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** The files under src/ that the built code reads at run time, as paths under src/ (copied to the same path under dist/). */
export const ASSETS = ['export/page/index.html', 'export/page/style.css'];

/** Runs tsc and copies the assets; throws with tsc's output when it fails. */
export function build(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tsc failed:\n${result.stdout}${result.stderr}`);
  for (const asset of ASSETS) {
    mkdirSync(path.dirname(path.join(root, 'dist', asset)), { recursive: true });
    copyFileSync(path.join(root, 'src', asset), path.join(root, 'dist', asset));
  }
  chmodSync(path.join(root, 'dist', 'cli.js'), 0o755);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    build();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
