// Which kernels of a training step gain from more threads: runs `dcgan bench --backend wasm` on 1 thread and on N with
// every kernel timed (scripts/kernel-timer.mjs), and prints per kernel the milliseconds a step on each, the speed-up,
// and 2·t_N − t_1 ("serial": what a kernel costs beyond a perfect split, for N = 2), largest first.
//   npx tsx scripts/kernel-scaling.ts [--threads 2] [--image-size 32] [--width 32] [--batch-size 64] [--windows 5] [--top 30]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const threads = arg('threads', '2'), size = arg('image-size', '32'), width = arg('width', '32'), batch = arg('batch-size', '64');
const windows = arg('windows', '5'), steps = arg('steps', '5'), warmup = arg('warmup', '2'), top = Number(arg('top', '30'));
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dir = mkdtempSync(path.join(os.tmpdir(), 'kernel-scaling-'));

function timed(n: string): { line: string; times: Map<string, [number, number]> } {
  const out = path.join(dir, `${n}.json`);
  const line = execFileSync(process.execPath, ['--import', 'tsx', '--import', path.join(root, 'scripts/kernel-timer.mjs'),
    path.join(root, 'src/cli.ts'), 'bench', '--backend', 'wasm', '--threads', n, '--image-size', size, '--width', width,
    '--batch-size', batch, '--windows', windows, '--steps', steps, '--warmup', warmup, '--warmup-seconds', '0'], // steps counted below
  { cwd: root, encoding: 'utf8', env: { ...process.env, KERNEL_TIMES_OUT: out } }).split('\n')[0];
  return { line, times: new Map(JSON.parse(readFileSync(out, 'utf8'))) };
}

try {
  const one = timed('1'), many = timed(threads);
  console.log(one.line);
  console.log(many.line);
  // the same steps run on both (warm-up, windows, the profiled step), so totals compare directly
  const stepsRun = Number(warmup) + Number(windows) * Number(steps);
  const rows = [...one.times].map(([key, [t1, calls]]) => {
    const tn = many.times.get(key)?.[0] ?? 0;
    return { key, t1: t1 / stepsRun, tn: tn / stepsRun, calls: calls / stepsRun };
  });
  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((s, r) => s + f(r), 0);
  const [all1, allN] = [sum((r) => r.t1), sum((r) => r.tn)];
  console.log(`\nkernels, ms a step: 1 thread ${all1.toFixed(1)}, ${threads} threads ${allN.toFixed(1)} (${(all1 / allN).toFixed(2)}×)`);
  console.log(`  ${'1 thr'.padStart(7)} ${`${threads} thr`.padStart(7)} ${'×'.padStart(5)} ${'serial'.padStart(7)} ${'calls'.padStart(5)}  kernel`);
  rows.sort((a, b) => (2 * b.tn - b.t1) - (2 * a.tn - a.t1));
  for (const r of rows.slice(0, top)) {
    console.log(`  ${r.t1.toFixed(2).padStart(7)} ${r.tn.toFixed(2).padStart(7)} ${(r.t1 / r.tn).toFixed(2).padStart(5)} ` +
      `${(2 * r.tn - r.t1).toFixed(2).padStart(7)} ${r.calls.toFixed(0).padStart(5)}  ${r.key}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
