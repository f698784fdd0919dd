// `dcgan bench`: training speed on random data of the model's shape, after a warm-up; no dataset, no disk.
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../backend/index.js';
import { architecture, type ArchName } from '../model/architectures.js';
import { buildGenerator } from '../model/build.js';
import { styleCrossovers } from '../model/stylegan.js';
import { STYLEGAN_STYLE_MIXING } from '../run/options.js';
import { augment, parsePolicy, policyText } from '../train/augment.js';
import { emaBeta, updateAverage } from '../train/ema.js';
import { footprint, memoryProblem } from '../train/memory.js';
import { trainStep } from '../train/step.js';
import { createGan, disposeGan } from '../train/train.js';
import { UsageError } from '../util/errors.js';
import { plural } from '../util/plural.js';
import { Rng } from '../util/rng.js';

export interface BenchOptions {
  arch: ArchName;
  imageSize: number;
  width: number;
  latent: number;
  batchSize: number;
  /** steps per timed window; the result is the median of `windows` windows */
  steps: number;
  windows: number;
  /** untimed steps first: at least `warmup`, and on until `warmupSeconds` have passed */
  warmup: number;
  warmupSeconds: number;
  /** how many kernels to list (0: no profile) */
  topKernels: number;
  /** --augment: DiffAugment's policy as text, applied as a run applies it ('none': not) */
  augment?: string;
  /** --ema: keep the average of G's weights as a run does (0: not) */
  ema?: number;
}

export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
}

export interface BenchResult {
  arch: string;
  augment: string;
  ema: number;
  backend: string;
  device: string;
  imageSize: number;
  width: number;
  latent: number;
  batchSize: number;
  msPerStep: number;
  imagesPerSecond: number;
  windowsMsPerStep: number[];
  /** the untimed steps run first, and how long they took */
  warmupSteps: number;
  warmupSeconds: number;
  /** per-kernel time of one profiled step, largest first; absent where the backend cannot time kernels */
  kernels?: KernelTime[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function bench(o: BenchOptions, backend: BackendInfo): Promise<BenchResult> {
  const model = { imageSize: o.imageSize, width: o.width, latent: o.latent, channels: 3 as const, classes: 0 };
  // the same estimate as train's, before anything is allocated: an absurd --batch-size is one line
  const tooBig = memoryProblem(backend.hooks, backend.name, footprint(architecture(o.arch), model), o.batchSize, `${o.imageSize}×${o.imageSize}, width ${o.width}`);
  if (tooBig) throw new UsageError(tooBig);
  // stylegan trains with style mixing by default: timed as it trains
  const styleMixing = o.arch === 'stylegan' ? STYLEGAN_STYLE_MIXING : 0;
  const gan = createGan({ arch: o.arch, model, seed: 0, lr: 0.0002, beta1: 0.5, beta2: 0.999, styleMixing });
  const rng = new Rng(1);
  const policy = parsePolicy(o.augment ?? 'none');
  if (policy.length) gan.augment = (images) => augment(images, policy, rng);
  const Gema = o.ema ? buildGenerator(architecture(o.arch), model, 0) : undefined;
  // past the ramp-up: the β of a run's later steps (the update costs the same whatever β is)
  const beta = o.ema ? emaBeta(o.ema, o.batchSize, Number.MAX_SAFE_INTEGER) : 0;
  const X = tf.tidy(() => tf.tensor4d(rng.normals(o.batchSize * o.imageSize ** 2 * 3), [o.batchSize, o.imageSize, o.imageSize, 3]).tanh());
  const zs = [0, 1, 2, 3].map(() => tf.tensor2d(rng.normals(o.batchSize * o.latent), [o.batchSize, o.latent]));
  const styles = (i: number) => gan.styleMixing && { Z: zs[(i + 2) % zs.length] as tf.Tensor2D, crossovers: styleCrossovers(rng, o.batchSize, gan.styleMixing.layers, styleMixing) };
  // One read per window: the device works through the queued steps as it would in training (losses read every N steps).
  const steps = async (n: number) => {
    let last: tf.Tensor | undefined;
    for (let i = 0; i < n; i++) {
      last?.dispose();
      last = trainStep(gan, { X: X as tf.Tensor4D, Z: zs[i % zs.length] as tf.Tensor2D, Z2: zs[(i + 1) % zs.length] as tf.Tensor2D, styles: styles(i) });
      if (Gema) updateAverage(gan.G, Gema, beta, false); // the default --ema-statistics standing: weights only
    }
    await last?.data();
    last?.dispose();
  };
  try {
    // A backend reaches its speed after a while, not after a set number of steps (wasm on 2 threads of the 2-core VM,
    // d2l at 32 px: 174, 157, 162, 155, 152, 149, 147 ms a step over the first 70 steps, 141–148 from then on; on one
    // thread 290 for the first 10, then 252–260), so the warm-up is also timed.
    const warmupStart = performance.now();
    await steps(o.warmup);
    let warmupSteps = o.warmup;
    for (; performance.now() - warmupStart < 1000 * o.warmupSeconds; warmupSteps++) await steps(1);
    const warmupSeconds = (performance.now() - warmupStart) / 1000;
    const windows: number[] = [];
    for (let w = 0; w < o.windows; w++) {
      const t0 = performance.now();
      await steps(o.steps);
      windows.push((performance.now() - t0) / o.steps);
    }
    const msPerStep = median(windows);
    const result: BenchResult = {
      arch: o.arch, augment: policyText(policy), ema: o.ema ?? 0, backend: backend.name, device: backend.device, imageSize: o.imageSize, width: o.width, latent: o.latent,
      batchSize: o.batchSize, msPerStep, imagesPerSecond: (1000 * o.batchSize) / msPerStep, windowsMsPerStep: windows,
      warmupSteps, warmupSeconds,
    };
    if (o.topKernels > 0) result.kernels = await profileKernels(() => steps(1), o.topKernels);
    return result;
  } finally {
    tf.dispose([X, ...zs]);
    disposeGan(gan);
    Gema?.dispose();
  }
}

/** Kernel times of one step, summed per kernel name and input shapes. */
async function profileKernels(step: () => Promise<void>, top: number): Promise<KernelTime[] | undefined> {
  const info = await tf.profile(step);
  const byKernel = new Map<string, KernelTime>();
  for (const k of info.kernels) {
    if (k.name.endsWith('__op')) continue; // tf.profile lists a fused op and the kernel it runs: count the kernel once
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : NaN;
    if (!Number.isFinite(ms)) return undefined; // the backend cannot time kernels (e.g. webgpu without timestamp queries)
    const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join(' ')}`;
    const entry = byKernel.get(key) ?? { kernel: key, ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls += 1;
    byKernel.set(key, entry);
  }
  return [...byKernel.values()].sort((a, b) => b.ms - a.ms).slice(0, top);
}

export function formatBench(r: BenchResult): string {
  const lines = [
    `${r.device}: ${r.imageSize}×${r.imageSize}, width ${r.width}, batch ${r.batchSize}` +
      `${r.augment !== 'none' ? `, --augment ${r.augment}` : ''}${r.ema ? `, --ema ${r.ema}` : ''}: ` +
      `${r.imagesPerSecond.toFixed(1)} img/s, ${r.msPerStep.toFixed(1)} ms/step ` +
      `(median of ${plural(r.windowsMsPerStep.length, 'window')}: ${r.windowsMsPerStep.map((x) => x.toFixed(1)).join(', ')} ms; ` +
      `after ${plural(r.warmupSteps, 'warm-up step')}, ${r.warmupSeconds.toFixed(1)} s)`,
  ];
  if (r.kernels) {
    lines.push('top kernels of one step:');
    for (const k of r.kernels) lines.push(`  ${k.ms.toFixed(1).padStart(9)} ms  ${String(k.calls).padStart(3)}×  ${k.kernel}`);
  }
  return lines.join('\n');
}
