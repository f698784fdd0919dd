import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** A package's version from its package.json, found along Node's search path (so "exports" cannot hide it). */
export function packageVersion(name: string, from: string = import.meta.url): string {
  const require = createRequire(from);
  for (const dir of require.resolve.paths(name) ?? []) {
    const file = join(dir, name, 'package.json');
    if (!existsSync(file)) continue;
    try {
      return String((JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown version');
    } catch {
      return 'unreadable package.json';
    }
  }
  return 'not installed';
}
