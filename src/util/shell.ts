// Commands printed for people to paste back into a shell: started the way they started dcgan, paths quoted.
import path from 'node:path';

/** An argument as a POSIX shell reads it back unchanged: bare when it is safe, else in single quotes. */
export function shellQuote(arg: string | number): string {
  const s = String(arg);
  if (/^[A-Za-z0-9_/.:=@%+,-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface Invocation {
  env: Record<string, string | undefined>;
  /** process.argv: node, then the script as it was started */
  argv: readonly string[];
  execArgv: readonly string[];
  cwd: string;
}

const current = (): Invocation => ({ env: process.env, argv: process.argv, execArgv: process.execArgv, cwd: process.cwd() });

/**
 * How this process was started, as the start of a command: `npx dcgan` under npx or through the local package's bin
 * (node_modules/.bin, as npm scripts run it), `node dist/cli.js` when the script was run with node (the path relative
 * to here when inside), `dcgan` when it was found on the PATH (a global install) and otherwise.
 */
export function invocation(i: Invocation = current()): string {
  const script = i.argv[1] ?? '';
  if (i.env.npm_command === 'exec' || /[/\\]node_modules[/\\]\.bin[/\\]/.test(script)) return 'npx dcgan';
  // our own cli.js run with node; any other script (a test, a program using dcgan's modules) gets the plain name
  if (/^cli\.[cm]?[jt]s$/.test(path.basename(script)) && !/[/\\]node_modules[/\\]/.test(script)) {
    const relative = path.relative(i.cwd, script);
    const shown = relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : script;
    return ['node', ...i.execArgv, shown].map(shellQuote).join(' ');
  }
  return 'dcgan';
}

/** `<how dcgan was started> <args…>`, each argument quoted as the shell needs. */
export function commandLine(...args: (string | number)[]): string {
  return [invocation(), ...args.map(shellQuote)].join(' ');
}
