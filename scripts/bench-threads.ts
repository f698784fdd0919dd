// `dcgan bench --backend wasm` on 1 thread and on N, side by side in one run, and the speed-up; optionally PyTorch on
// the CPU with the same thread counts.
//   npx tsx scripts/bench-threads.ts [--threads N] [--rounds 3] [--image-size 32] [--width 32] [--batch-size 64]
//       [--steps 10] [--windows 3] [--warmup 3] [--warmup-seconds 10] [--torch PATH/torch_dcgan.py] [--python /usr/bin/python3]
// (the step, window and warm-up defaults are `dcgan bench`'s)
// Rounds alternate 1 thread and N threads, so that load from other processes falls on both alike; each round is one
// `dcgan bench` (its own median of --windows windows), and the medians over the rounds are compared. Before every round
// the load average is printed, and what the machine gives right now: how much more work N independent worker threads
// do than one in the same time (N× on N free cores; no program can scale better than that). On a shared machine, repeat
// when the load is above the core count or that figure is well under N. --torch runs
// scripts/torch_dcgan_cpu.py (d2l's model from that file, 64×64 only) at the same size in each round too.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const threads = Number(arg('threads', String(os.availableParallelism())));
const rounds = Number(arg('rounds', '3'));
const size = arg('image-size', '32'), width = arg('width', '32'), batch = arg('batch-size', '64');
const steps = arg('steps', '10'), windows = arg('windows', '3'), warmup = arg('warmup', '3'), warmupSeconds = arg('warmup-seconds', '10');
const torch = args.includes('--torch') ? arg('torch', '') : undefined;
const python = arg('python', '/usr/bin/python3');
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// A fixed amount of arithmetic per worker, about 0.1 s on one free core.
const SPIN = `const { parentPort } = require('node:worker_threads');
parentPort.once('message', () => {
  const a = new Float64Array(4096).fill(1.0001);
  let s = 0;
  for (let r = 0; r < 20000; r++) for (let i = 0; i < 4096; i++) s += a[i] * a[(i * 7) & 4095];
  parentPort.postMessage(s);
});`;

/** How much more work n independent workers get done than one, in the same time (best of three tries each). */
async function machineScaling(n: number): Promise<number> {
  const time = async (k: number) => {
    let best = Infinity;
    for (let t = 0; t < 3; t++) {
      const workers = Array.from({ length: k }, () => new Worker(SPIN, { eval: true }));
      await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
      const t0 = performance.now();
      await Promise.all(workers.map((w) => new Promise((resolve) => { w.once('message', resolve); w.postMessage(0); })));
      best = Math.min(best, performance.now() - t0);
      await Promise.all(workers.map((w) => w.terminate()));
    }
    return best;
  };
  return (n * (await time(1))) / (await time(n));
}

function dcganBench(n: number): { imagesPerSecond: number; device: string; warmupSteps: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli.ts'), 'bench', '--backend', 'wasm',
    '--threads', String(n), '--image-size', size, '--width', width, '--batch-size', batch,
    '--steps', steps, '--windows', windows, '--warmup', warmup, '--warmup-seconds', warmupSeconds, '--top', '0', '--json'],
  { encoding: 'utf8', cwd: root });
  return JSON.parse(out) as { imagesPerSecond: number; device: string; warmupSteps: number };
}

function torchBench(n: number): number {
  const out = execFileSync(python, [path.join(root, 'scripts/torch_dcgan_cpu.py'), torch!, size, width, batch, String(n), steps, windows],
    { encoding: 'utf8' });
  process.stdout.write(`    ${out}`);
  return Number(/([\d.]+) img\/s/.exec(out)![1]);
}

console.log(`${os.cpus()[0]?.model ?? 'CPU'}, ${os.availableParallelism()} cores; ${size}×${size}, width ${width}, batch ${batch}; ` +
  `${rounds} rounds of 1 and ${threads} threads`);
const results = new Map<string, number[]>();
const add = (key: string, v: number) => results.set(key, [...(results.get(key) ?? []), v]);
for (let r = 0; r < rounds; r++) {
  const scaling = await machineScaling(threads);
  console.log(`round ${r + 1}  the machine now: ${threads} independent workers do ${scaling.toFixed(2)}× the work of one; load ${load()}`);
  for (const n of [1, threads]) {
    const before = load();
    const { imagesPerSecond, device, warmupSteps } = dcganBench(n);
    add(`dcgan ${n}`, imagesPerSecond);
    console.log(`round ${r + 1}  ${device.padEnd(24)} ${imagesPerSecond.toFixed(1).padStart(8)} img/s   ` +
      `(after ${warmupSteps} warm-up steps; load before: ${before})`);
    if (torch !== undefined) add(`torch ${n}`, torchBench(n));
  }
}
const ratio = median(results.get(`dcgan ${threads}`)!) / median(results.get('dcgan 1')!);
console.log(`\nmedian img/s: 1 thread ${median(results.get('dcgan 1')!).toFixed(1)}, ${threads} threads ` +
  `${median(results.get(`dcgan ${threads}`)!).toFixed(1)}: ${ratio.toFixed(2)}× (load now: ${load()})`);
if (torch !== undefined) {
  for (const n of [1, threads]) {
    const d = median(results.get(`dcgan ${n}`)!), t = median(results.get(`torch ${n}`)!);
    console.log(`${n} thread${n === 1 ? '' : 's'}: dcgan wasm ${d.toFixed(1)} img/s, PyTorch CPU ${t.toFixed(1)} img/s: dcgan / PyTorch ${(d / t).toFixed(2)}×`);
  }
}
