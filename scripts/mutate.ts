// Mutation testing: does the suite notice when the code is wrong? Small mutations (a flipped comparison, + for −, 0 for
// 1, a dropped statement, an off-by-one) are applied one at a time to the source files and the tests that import each
// file are run; a mutant that every test passes "survives". Survivors are either killed by a new test or explained in
// docs/mutation.md.
//
//   npm run mutate                        # the sampled mutants of src/train, src/model, src/metrics, src/data/zip*,
//                                         # src/util/owned.ts, src/generate/limits.ts
//   npm run mutate -- --planted           # the deliberate bugs of scripts/planted-bugs.ts instead
//   npm run mutate -- --list              # the mutants it would run, without running them
//   npm run mutate -- --only src/train/adam.ts --per-file 1000    # every mutant of one file
//   npm run mutate -- --id 'src/train/step.ts:97:12 comparison'   # one mutant again (ids as the report prints them)
//   npm run mutate -- --planted --only src/model/layers.ts --tests test/d2l-fixtures.test.ts   # what one test sees
//   options: --seed N (which mutants are sampled; 1), --per-file N (at most this many a source file; 8),
//            --tests-per-file N (the nearest tests run after the part's own; 3), --tests A,B (these tests instead),
//            --report FILE (JSON results; default in the temp folder)
//
// Everything runs in a copy of the checkout in the temp folder (src/, test/, scripts/ and the config, node_modules
// linked): the working tree is never written, so a killed run cannot leave it dirty; the copy is removed on exit and
// on Ctrl-C, and copies of runs killed outright at the next start. Each test file runs on its own
// (`node --import tsx --test FILE`), the fastest first, and the first failure kills the mutant; a file that takes
// over 4× its unmutated time (at least 60 s) is stopped and counts as a kill (an infinite loop is a detected bug).
// Which test files belong to a source file: its part's own tests (PRIMARY_TESTS), then the nearest of those whose
// imports reach it; tests that run the CLI as a child process only for the two commands (CLI_TESTS).
// Not part of `npm test` or CI.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { PLANTED_BUGS } from './planted-bugs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGETS = ['src/train/', 'src/model/', 'src/metrics/', 'src/data/zip', 'src/data/crop.ts', 'src/data/mirror.ts', 'src/util/rng.ts', 'src/backend/cpu-conv2d-backprop-filter.ts',
  'src/util/owned.ts', 'src/generate/limits.ts', 'src/data/background.ts', 'src/generate/style.ts', 'src/generate/mix.ts'];
const COPY_PREFIX = 'dcgan-mutate-';

interface Options {
  planted: boolean;
  list: boolean;
  seed: number;
  perFile: number;
  testsPerFile: number;
  only: string[];
  ids: string[];
  tests: string[];
  report: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    planted: false, list: false, seed: 1, perFile: 8, testsPerFile: 3, only: [], ids: [], tests: [],
    report: path.join(os.tmpdir(), `dcgan-mutation-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = () => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} takes a whole number`);
      return v;
    };
    if (a === '--planted') o.planted = true;
    else if (a === '--list') o.list = true;
    else if (a === '--seed') o.seed = int();
    else if (a === '--per-file') o.perFile = int();
    else if (a === '--tests-per-file') o.testsPerFile = int();
    else if (a === '--only') o.only.push(value());
    else if (a === '--id') o.ids.push(value());
    else if (a === '--tests') o.tests.push(...value().split(','));
    else if (a === '--report') o.report = path.resolve(value());
    else throw new Error(`unknown option ${a} (see the comment at the top of scripts/mutate.ts)`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// Mutants

export interface Mutant {
  /** stable across runs while the file does not change: "file:line:column operator" */
  id: string;
  file: string;
  line: number;
  operator: string;
  start: number;
  end: number;
  original: string;
  replacement: string;
}

const FLIP: Record<string, string> = {
  '<': '<=', '<=': '<', '>': '>=', '>=': '>', '===': '!==', '!==': '===', '==': '!=', '!=': '==',
};
const ARITHMETIC: Record<string, string> = { '+': '-', '-': '+', '*': '/', '/': '*', '**': '*', '%': '*' };
const COMPOUND: Record<string, string> = { '+=': '-=', '-=': '+=', '*=': '/=', '/=': '*=' };
const LOGICAL: Record<string, string> = { '&&': '||', '||': '&&' };
const MATH_SWAP: Record<string, string> = { floor: 'ceil', ceil: 'floor', min: 'max', max: 'min' };
const RANGE_METHODS = new Set(['subarray', 'slice']);
// Calls whose arguments are only words for people: mutating them tests wording, not behaviour.
const MESSAGE_CALLS = new Set(['log', 'warn', 'error', 'info', 'debug', 'diagnostic', 'toFixed', 'toPrecision', 'padStart', 'padEnd']);

/** Is `node` only part of what the program says (an error message, a log line), or of a type? */
function inMessageOrType(node: ts.Node): boolean {
  for (let n: ts.Node | undefined = node; n; n = n.parent) {
    if (ts.isTypeNode(n) || ts.isImportDeclaration(n) || ts.isExportDeclaration(n) || ts.isTemplateExpression(n)) return true;
    if (ts.isThrowStatement(n) || ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n)) return true;
    if (ts.isNewExpression(n) && /Error$/.test(n.expression.getText())) return true;
    if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && MESSAGE_CALLS.has(n.expression.name.text)) return true;
  }
  return false;
}

function isStringish(checker: ts.TypeChecker, e: ts.Expression): boolean {
  const t = checker.getTypeAtLocation(e);
  return (t.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.Any)) !== 0 ||
    (t.isUnion() && t.types.some((u) => (u.flags & ts.TypeFlags.StringLike) !== 0));
}

/** Every mutant of one file, in source order. */
export function mutantsOf(sf: ts.SourceFile, checker: ts.TypeChecker, file: string): Mutant[] {
  const out: Mutant[] = [];
  const add = (node: ts.Node, operator: string, start: number, end: number, replacement: string) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(start);
    out.push({
      id: `${file}:${line + 1}:${character + 1} ${operator}`, file, line: line + 1, operator, start, end,
      original: sf.text.slice(start, end), replacement,
    });
  };
  const visit = (node: ts.Node): void => {
    if (inMessageOrType(node)) return;
    if (ts.isBinaryExpression(node)) {
      const op = node.operatorToken;
      const text = op.getText(sf);
      const at = op.getStart(sf);
      if (FLIP[text]) add(node, 'comparison', at, op.end, FLIP[text]);
      else if (ARITHMETIC[text] && !(text === '+' && (isStringish(checker, node.left) || isStringish(checker, node.right)))) {
        add(node, 'arithmetic', at, op.end, ARITHMETIC[text]);
      } else if (COMPOUND[text] && !(text === '+=' && isStringish(checker, node.left))) add(node, 'arithmetic', at, op.end, COMPOUND[text]);
      else if (LOGICAL[text]) add(node, 'logical', at, op.end, LOGICAL[text]);
    } else if (ts.isPrefixUnaryExpression(node)) {
      const start = node.getStart(sf);
      if (node.operator === ts.SyntaxKind.ExclamationToken) add(node, 'negation', start, start + 1, '');
      else if (node.operator === ts.SyntaxKind.MinusToken && !ts.isNumericLiteral(node.operand)) add(node, 'negation', start, start + 1, '');
      else if (node.operator === ts.SyntaxKind.PlusPlusToken) add(node, 'arithmetic', start, start + 2, '--');
      else if (node.operator === ts.SyntaxKind.MinusMinusToken) add(node, 'arithmetic', start, start + 2, '++');
    } else if (ts.isPostfixUnaryExpression(node)) {
      const end = node.getEnd();
      if (node.operator === ts.SyntaxKind.PlusPlusToken) add(node, 'arithmetic', end - 2, end, '--');
      else add(node, 'arithmetic', end - 2, end, '++');
    } else if (ts.isNumericLiteral(node)) {
      const v = Number(node.text);
      const start = node.getStart(sf);
      if (v === 0) add(node, 'constant', start, node.end, '1');
      else if (v === 1) add(node, 'constant', start, node.end, '0');
      else if (Number.isInteger(v) && v > 1) add(node, 'off-by-one', start, node.end, String(v + 1));
    } else if (node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword) {
      const start = node.getStart(sf);
      add(node, 'constant', start, node.end, node.kind === ts.SyntaxKind.TrueKeyword ? 'false' : 'true');
    } else if (ts.isPropertyAccessExpression(node) && node.expression.getText(sf) === 'Math' && MATH_SWAP[node.name.text]) {
      add(node, 'math', node.name.getStart(sf), node.name.end, MATH_SWAP[node.name.text]);
    } else if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && RANGE_METHODS.has(node.expression.name.text)) {
      for (const arg of node.arguments) {
        add(arg, 'off-by-one', arg.getStart(sf), arg.end, `(${arg.getText(sf)}) + 1`);
      }
    } else if (ts.isExpressionStatement(node)) {
      add(node, 'statement', node.getStart(sf), node.end, ';');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** mulberry32: the script's own sampling stream, so that it does not lean on the code it mutates. */
function sampler(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Up to `cap` mutants of a file, drawn with a stream seeded by the seed and the file's name (other files do not shift it). */
function sample(mutants: Mutant[], cap: number, seed: number, file: string): Mutant[] {
  if (mutants.length <= cap) return mutants;
  const rand = sampler(seed ^ fnv(file));
  const picked = [...mutants];
  for (let i = picked.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [picked[i], picked[j]] = [picked[j], picked[i]];
  }
  return picked.slice(0, cap).sort((a, b) => a.start - b.start);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
}

const rel = (p: string) => path.relative(ROOT, p).split(path.sep).join('/');

function targetFiles(only: string[]): string[] {
  const all = walk(path.join(ROOT, 'src')).map(rel).filter((f) => f.endsWith('.ts'));
  const wanted = only.length ? only : TARGETS;
  return all.filter((f) => wanted.some((t) => f === t || f.startsWith(t))).sort();
}

// ---------------------------------------------------------------------------------------------------------------
// Which tests belong to which source file

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

/** file → the files it imports (relative imports only, .js mapped back to .ts). */
function importGraph(): Map<string, string[]> {
  const files = [...walk(path.join(ROOT, 'src')), ...walk(path.join(ROOT, 'test'))].filter((f) => f.endsWith('.ts'));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps: string[] = [];
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
      const target = path.resolve(path.dirname(f), m[1]).replace(/\.js$/, '.ts');
      if (existsSync(target)) deps.push(rel(target));
    }
    graph.set(rel(f), deps);
  }
  return graph;
}

/** For each test file, the source files it reaches and how many imports away. */
function reach(graph: Map<string, string[]>): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const t of graph.keys()) {
    if (!t.endsWith('.test.ts')) continue;
    const dist = new Map<string, number>([[t, 0]]);
    const queue = [t];
    while (queue.length) {
      const f = queue.shift()!;
      for (const d of graph.get(f) ?? []) {
        if (!dist.has(d)) {
          dist.set(d, dist.get(f)! + 1);
          queue.push(d);
        }
      }
    }
    out.set(t, dist);
  }
  return out;
}

// The backends' kernel tests compare a kernel against tfjs's own on the same model: they reach the model and the
// step, but run our code on both sides, so they cannot see a bug there (and they are slow).
const KERNEL_TESTS = /^(backend-|wasm-|webgpu-)/;
// Tests that run the CLI as a child process (through test/cli-run.ts) reach the sources only through it, so the import
// graph cannot tell which they exercise; they are slow besides. They run for the commands, which only they reach
// (in the copy from the sources, through tsx: DCGAN_TEST_CLI=src).
const CLI_RUNNER = 'test/cli-run.ts';
// Tests that start the built dist/cli.js themselves (and a browser, for the web export): the copy has no build.
const BUILT_CLI_TESTS = /^(export-web|cli-export|cli-run-folder|cli-threads|cli-stop)\.test\.ts$/;
const CLI_TESTS: Record<string, string[]> = {
  'src/train/command.ts': ['test/cli.test.ts', 'test/cli-presets.test.ts'],
  'src/metrics/command.ts': ['test/report-cli.test.ts'],
  // where the built code finds its files once installed from the tarball: only the package test installs it (it
  // builds dist/ in the copy itself)
  'src/export/web.ts': ['test/package.test.ts'],
  // the page's script, which no test imports: the browser test exports it and runs it in Chromium (building dist/ in
  // the copy first, for the CLI it compares with)
  'src/export/page/app.ts': ['test/export-web.test.ts'],
  // `import 'dcgan/layers'`, a package export, not a relative import: the README's snippet runs it from the checkout and
  // from the installed tarball
  'src/layers.ts': ['test/export-web.test.ts', 'test/package.test.ts'],
  // a shell script, which no test imports: its test runs it
  'scripts/install-lavapipe.sh': ['test/install-lavapipe.test.ts'],
};

// The tests written against each part's behaviour, run first (the import graph alone ranks them poorly: the d2l
// fixture test reaches layers.ts five imports away, through the trainer).
const PRIMARY_TESTS: [prefix: string, tests: string[]][] = [
  ['src/train/train.ts', ['test/train-batches.test.ts', 'test/resume.test.ts', 'test/report-html.test.ts', 'test/api.test.ts', 'test/progan-grow.test.ts', 'test/style-mixing.test.ts']],
  ['src/train/grow.ts', ['test/growing-eta.test.ts', 'test/progan-grow.test.ts']],
  ['src/train/step.ts', ['test/wgan-gp.test.ts', 'test/style-mixing.test.ts']],
  ['src/train/augment.ts', ['test/augment.test.ts']],
  ['src/train/ema.ts', ['test/ema.test.ts']],
  ['src/train/', ['test/step-worked.test.ts', 'test/d2l-fixtures.test.ts', 'test/adam.test.ts', 'test/rmsprop.test.ts']],
  ['src/model/io.ts', ['test/checkpoint.test.ts']],
  ['src/model/progan-layers.ts', ['test/progan-layers.test.ts', 'test/gradient-penalty.test.ts']],
  ['src/model/stylegan-layers.ts', ['test/stylegan-layers.test.ts']],
  ['src/model/progan.ts', ['test/progan.test.ts']],
  ['src/model/stylegan.ts', ['test/stylegan.test.ts']],
  ['src/model/style-models.ts', ['test/stylegan.test.ts', 'test/generate-style.test.ts']],
  ['src/model/tricks.ts', ['test/tricks.test.ts']],
  ['src/model/step-seed.ts', ['test/stylegan-layers.test.ts', 'test/model.test.ts']],
  ['src/model/', ['test/presets.test.ts', 'test/d2l-fixtures.test.ts', 'test/batch-norm.test.ts', 'test/tricks.test.ts']],
  ['src/metrics/', ['test/metrics-swd.test.ts', 'test/metrics-evaluate.test.ts', 'test/metrics-distance.test.ts']],
  ['src/data/zip', ['test/data-zip.test.ts', 'test/data-local.test.ts']],
  ['src/data/crop.ts', ['test/data-crop.test.ts']],
  ['src/data/mirror.ts', ['test/data-mirror.test.ts']],
  ['src/data/background.ts', ['test/augment-train.test.ts']],
  ['src/util/rng.ts', ['test/rng.test.ts', 'test/train-batches.test.ts']],
  ['src/backend/info.ts', ['test/backend-info.test.ts']],
  ['src/backend/cpu-conv2d-backprop-filter.ts', ['test/cpu-conv2d-backprop-filter.test.ts']],
  ['src/util/owned.ts', ['test/owned.test.ts', 'test/checkpoint.test.ts']],
  ['src/generate/limits.ts', ['test/generate-limits.test.ts']],
  ['src/generate/style.ts', ['test/generate-style.test.ts']],
  ['src/generate/mix.ts', ['test/generate-style.test.ts']],
  ['src/api.ts', ['test/api.test.ts']],
];

/**
 * The test files of a source file: its part's primary tests that reach it, then those that reach it nearest first and,
 * among equally near ones, the most focused (the fewest files reached) first; at most `cap` of the latter.
 */
function testsFor(file: string, reached: Map<string, Map<string, number>>, cap: number): string[] {
  const reaches = (t: string) => reached.get(t)?.has(file) ?? false;
  const primary = PRIMARY_TESTS.filter(([prefix]) => file.startsWith(prefix)).flatMap(([, tests]) => tests).filter(reaches);
  const nearest = [...reached]
    .filter(([t, d]) => d.has(file) && !KERNEL_TESTS.test(path.basename(t)) && !BUILT_CLI_TESTS.test(path.basename(t)) && !d.has(CLI_RUNNER) && !primary.includes(t))
    .sort(([a, da], [b, db]) => da.get(file)! - db.get(file)! || da.size - db.size || a.localeCompare(b))
    .slice(0, cap)
    .map(([t]) => t);
  return [...new Set([...primary, ...nearest, ...(CLI_TESTS[file] ?? [])])];
}

// ---------------------------------------------------------------------------------------------------------------
// The copy, and running tests in it

let copy: string | undefined;
let running: ChildProcess | undefined;

function removeCopy(): void {
  if (running?.pid) {
    try {
      process.kill(-running.pid, 'SIGKILL');
    } catch { /* already gone */ }
  }
  if (copy) rmSync(copy, { recursive: true, force: true });
  copy = undefined;
}

/** Removes copies left by runs that were killed outright (their pid is in the folder's name). */
function removeStaleCopies(): void {
  for (const name of readdirSync(os.tmpdir())) {
    const m = new RegExp(`^${COPY_PREFIX}(\\d+)-`).exec(name);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    if (!alive) rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

function makeCopy(): string {
  removeStaleCopies();
  const dir = mkdtempSync(path.join(os.tmpdir(), `${COPY_PREFIX}${process.pid}-`));
  for (const part of ['src', 'test', 'scripts', 'package.json', 'tsconfig.json', 'tsconfig.test.json', 'README.md', 'LICENSE']) {
    cpSync(path.join(ROOT, part), path.join(dir, part), { recursive: true });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

interface RunResult {
  ok: boolean;
  timedOut: boolean;
  ms: number;
  output: string;
}

function runTest(cwd: string, testFile: string, timeoutMs: number): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=dot', testFile], {
      cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DCGAN_TEST_CLI: 'src', NODE_OPTIONS: '' },
    });
    running = child;
    let output = '';
    const keep = (c: Buffer) => {
      output = (output + c.toString()).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch { /* gone */ }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      running = undefined;
      resolve({ ok: code === 0 && !timedOut, timedOut, ms: performance.now() - started, output });
    });
  });
}

type Status = 'killed' | 'timeout' | 'survived';

interface Outcome {
  id: string;
  file: string;
  line: number;
  operator: string;
  original: string;
  replacement: string;
  status: Status;
  by?: string;
  tests: string[];
  seconds: number;
  name?: string;
}

async function runMutant(cwd: string, m: Pick<Mutant, 'file' | 'start' | 'end' | 'replacement'>, tests: string[],
  baseline: Map<string, number>): Promise<{ status: Status; by?: string }> {
  const target = path.join(cwd, m.file);
  const original = readFileSync(target, 'utf8');
  writeFileSync(target, original.slice(0, m.start) + m.replacement + original.slice(m.end));
  try {
    for (const t of tests) {
      const r = await runTest(cwd, t, Math.max(60_000, 4 * (baseline.get(t) ?? 30_000)));
      if (r.timedOut) return { status: 'timeout', by: t };
      if (!r.ok) return { status: 'killed', by: t };
    }
    return { status: 'survived' };
  } finally {
    writeFileSync(target, original);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const graph = importGraph();
  const reached = reach(graph);

  // What to run: [mutant, its tests]
  let jobs: { m: Mutant & { name?: string }; tests: string[] }[];
  if (o.planted) {
    jobs = PLANTED_BUGS.filter((b) => !o.only.length || o.only.some((f) => b.file.startsWith(f))).map((b) => {
      const text = readFileSync(path.join(ROOT, b.file), 'utf8');
      const start = text.indexOf(b.find);
      if (start < 0 || text.indexOf(b.find, start + 1) >= 0) {
        throw new Error(`planted bug "${b.name}": its text is ${start < 0 ? 'not' : 'more than once'} in ${b.file} (the code moved: update scripts/planted-bugs.ts)`);
      }
      const line = text.slice(0, start).split('\n').length;
      const m = { id: `${b.file}:${line} planted`, file: b.file, line, operator: 'planted', start, end: start + b.find.length,
        original: b.find, replacement: b.replace, name: b.name };
      return { m, tests: testsFor(b.file, reached, Infinity) }; // the planted bugs face every in-process test
    });
  } else {
    const files = targetFiles(o.only);
    const program = ts.createProgram(files.map((f) => path.join(ROOT, f)), { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, noEmit: true });
    const checker = program.getTypeChecker();
    jobs = [];
    let sites = 0;
    for (const f of files) {
      const all = mutantsOf(program.getSourceFile(path.join(ROOT, f))!, checker, f);
      sites += all.length;
      const chosen = o.ids.length ? all.filter((m) => o.ids.includes(m.id)) : sample(all, o.perFile, o.seed, f);
      const tests = testsFor(f, reached, o.testsPerFile);
      for (const m of chosen) jobs.push({ m, tests });
    }
    process.stderr.write(`${sites} mutation sites in ${files.length} files; ${jobs.length} mutants chosen (seed ${o.seed}, at most ${o.perFile} a file)\n`);
    if (o.ids.length && jobs.length < o.ids.length) {
      const found = new Set(jobs.map((j) => j.m.id));
      process.stderr.write(`no such mutant (has the file changed?): ${o.ids.filter((id) => !found.has(id)).join(', ')}\n`);
    }
  }
  if (o.tests.length) for (const j of jobs) j.tests = o.tests;
  if (o.list) {
    for (const { m, tests } of jobs) console.log(`${m.id}: ${JSON.stringify(m.original)} → ${JSON.stringify(m.replacement)}  [${tests.join(' ')}]`);
    return;
  }

  const started = performance.now();
  const stop = () => {
    removeCopy();
    process.exit(130);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('exit', removeCopy);
  copy = makeCopy();

  // The unmutated tests must pass, and their times bound each mutant's.
  const baseline = new Map<string, number>();
  const needed = [...new Set(jobs.flatMap((j) => j.tests))].sort();
  process.stderr.write(`baseline: ${needed.length} test files unmutated\n`);
  for (const t of needed) {
    const r = await runTest(copy, t, 600_000);
    if (!r.ok) throw new Error(`${t} fails without any mutation; fix that first:\n${r.output}`);
    baseline.set(t, r.ms);
    process.stderr.write(`  ${t} ${seconds(r.ms)}\n`);
  }
  // fastest first: most mutants die in the first file that looks
  for (const j of jobs) j.tests = [...j.tests].sort((a, b) => baseline.get(a)! - baseline.get(b)!);

  const outcomes: Outcome[] = [];
  for (const [i, { m, tests }] of jobs.entries()) {
    const t0 = performance.now();
    const { status, by } = tests.length ? await runMutant(copy, m, tests, baseline) : { status: 'survived' as const, by: undefined };
    const took = performance.now() - t0;
    outcomes.push({ id: m.id, file: m.file, line: m.line, operator: m.operator, original: m.original, replacement: m.replacement,
      status, by, tests, seconds: took / 1000, ...(m.name ? { name: m.name } : {}) });
    const what = m.name ?? `${JSON.stringify(m.original)} → ${JSON.stringify(m.replacement)}`;
    process.stderr.write(`[${i + 1}/${jobs.length}] ${m.id}: ${what}: ${status}${by ? ` by ${by}` : ''}${tests.length ? '' : ' (no test reaches this file)'} (${seconds(took)})\n`);
  }

  const total = performance.now() - started;
  const detected = outcomes.filter((x) => x.status !== 'survived').length;
  const perFile = new Map<string, { n: number; detected: number }>();
  for (const x of outcomes) {
    const s = perFile.get(x.file) ?? { n: 0, detected: 0 };
    s.n++;
    if (x.status !== 'survived') s.detected++;
    perFile.set(x.file, s);
  }
  console.log(`\n${o.planted ? 'planted bugs' : 'mutants'}: ${outcomes.length}, detected ${detected} ` +
    `(${outcomes.filter((x) => x.status === 'timeout').length} by timeout), survived ${outcomes.length - detected}; ` +
    `score ${(100 * detected / Math.max(1, outcomes.length)).toFixed(1)}%; ${(total / 60000).toFixed(1)} min`);
  for (const [f, s] of perFile) console.log(`  ${f.padEnd(32)} ${s.detected}/${s.n}`);
  const survivors = outcomes.filter((x) => x.status === 'survived');
  if (survivors.length) {
    console.log('\nsurvivors:');
    for (const x of survivors) console.log(`  ${x.id}: ${x.name ?? `${JSON.stringify(x.original)} → ${JSON.stringify(x.replacement)}`}  [${x.tests.join(' ')}]`);
  }
  writeFileSync(o.report, JSON.stringify({ seed: o.seed, perFile: o.perFile, minutes: total / 60000, outcomes }, null, 2) + '\n');
  console.log(`\nreport: ${o.report}`);
}

await main();
