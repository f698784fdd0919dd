// Will a step of this model at this batch size fit the backend's memory? Asked before any data is decoded, so that a
// --batch-size or --width far beyond it is refused with the estimate, not with an abort minutes later.
import type { BackendHooks } from '../backend/index.js';
import type { Architecture, ModelShape } from '../model/architecture.js';
import { buildDiscriminator, buildGenerator, layerOutputSizes } from '../model/build.js';

export interface Footprint {
  /** floats of activation per image: every layer output of G and D (as activationsPerImage in model/build.ts) */
  perImage: number;
  /** the largest single layer output, per image */
  largestPerImage: number;
  /** trainable and non-trainable weights of both networks */
  parameters: number;
  /** the largest single weight tensor */
  largestParameter: number;
}

/** Per layer output and per weight, the floats of G and D built at `shape` (tiny widths only: see footprint). */
function measure(arch: Architecture, shape: ModelShape): { outputs: number[]; weights: number[] } {
  const G = buildGenerator(arch, shape, 0);
  const D = buildDiscriminator(arch, shape, 0);
  try {
    const weights = [...G.weights, ...D.weights].map((w) => w.shape.reduce<number>((p, d) => p * (d ?? 1), 1));
    return { outputs: layerOutputSizes(G, D), weights };
  } finally {
    G.dispose();
    D.dispose();
  }
}

const PROBE_WIDTHS = [4, 8, 12, 16];

/**
 * The footprint of an architecture at a shape, without building it at that width: a model 64 times too wide would
 * take the memory this is meant to spare (and abort the wasm heap while its weights are drawn). Layer outputs grow
 * linearly with the width and weights quadratically (channels in × channels out), so both are measured on four tiny
 * models and extrapolated; an architecture whose sizes do not follow that is built at the real width instead.
 */
export function footprint(arch: Architecture, shape: ModelShape): Footprint {
  const probes = PROBE_WIDTHS.map((width) => measure(arch, { ...shape, width }));
  const extrapolate = (pick: (m: { outputs: number[]; weights: number[] }) => number[], degree: 1 | 2): number[] | undefined => {
    const series = probes.map(pick);
    if (series.some((s) => s.length !== series[0].length)) return undefined;
    const x = PROBE_WIDTHS;
    const out: number[] = [];
    for (let i = 0; i < series[0].length; i++) {
      const y = series.map((s) => s[i]);
      // Newton's divided differences on equally spaced widths: the polynomial through the first degree+1 points
      const d1 = (y[1] - y[0]) / (x[1] - x[0]);
      const d2 = ((y[2] - y[1]) / (x[2] - x[1]) - d1) / (x[2] - x[0]);
      const at = (w: number) => y[0] + d1 * (w - x[0]) + (degree === 2 ? d2 * (w - x[0]) * (w - x[1]) : 0);
      // the remaining points must lie on it, else the assumption is wrong for this architecture
      for (let k = degree + 1; k < x.length; k++) if (Math.abs(at(x[k]) - y[k]) > 1e-6 * Math.max(1, y[k])) return undefined;
      out.push(Math.round(at(shape.width)));
    }
    return out;
  };
  const outputs = extrapolate((m) => m.outputs, 1);
  const weights = extrapolate((m) => m.weights, 2);
  const real = !outputs || !weights ? measure(arch, shape) : undefined;
  const o = outputs ?? real!.outputs;
  const w = weights ?? real!.weights;
  const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
  return { perImage: sum(o), largestPerImage: Math.max(...o), parameters: sum(w), largestParameter: Math.max(0, ...w) };
}

const GB = 1024 ** 3;
const gb = (bytes: number) =>
  bytes < GB ? `${Math.round(bytes / 1024 ** 2)} MB` : `${(bytes / GB).toFixed(bytes < 10 * GB ? 1 : 0)} GB`;
const count = (n: number) => n.toLocaleString('en-US');
/** What training keeps per parameter: the weight, its gradient and Adam's two moments, float32 each. */
const BYTES_PER_PARAMETER = 16;
/** A WebAssembly heap stops at 4 GB; the weights may take at most half of it, the rest is the step's. */
const WASM_HEAP = 4 * GB;
/** More memory than any single GPU has (the largest hold 192 GB). */
const GPU_MEMORY_CEILING = 192 * GB;

const powerOfTwoAtMost = (n: number) => 2 ** Math.floor(Math.log2(n));

/**
 * Why a step of this model at this batch size cannot fit the backend's memory, with the estimate it rests on; undefined
 * when it may fit. wasm and cpu: the activations against the budget measured for a WebAssembly heap (refused from
 * twice it, the size measured to abort), and the weights against half the heap. webgpu: the largest single tensor
 * against the adapter's buffer limit, and everything against the memory of the largest GPUs.
 */
export function memoryProblem(hooks: BackendHooks, backend: string, f: Footprint, batchSize: number, model: string): string | undefined {
  const floats = f.perImage * batchSize;
  const activations = `${count(f.perImage)} activation floats per image (every layer output of G and D at ${model}) × ${batchSize} = ${gb(4 * floats)}`;
  const weights = `${count(f.parameters)} parameters × ${BYTES_PER_PARAMETER} bytes (weight, gradient, Adam's m and v) = ${gb(BYTES_PER_PARAMETER * f.parameters)}`;
  if (hooks.activationBudget) {
    if (BYTES_PER_PARAMETER * f.parameters > WASM_HEAP / 2) {
      return `${model} does not fit in memory on ${backend}: ${weights}, more than half of a WebAssembly heap (4 GB); try a smaller --width`;
    }
    if (floats >= 2 * hooks.activationBudget) {
      const fits = Math.floor(hooks.activationBudget / f.perImage);
      const advice = fits >= 1 ? `try --batch-size ${powerOfTwoAtMost(fits)}` : 'even one image is too many: try a smaller --width or --image-size';
      return `--batch-size ${batchSize} does not fit in memory on ${backend}: a step holds ${activations}, and a WebAssembly heap ` +
        `(4 GB) holds steps of about ${count(hooks.activationBudget)} activation floats (measured: d2l's 64×64 model trains at batch 128, aborts at 256); ${advice}`;
    }
  }
  if (hooks.maxTensorBytes) {
    const limit = `this adapter's largest buffer (the smaller of maxBufferSize and maxStorageBufferBindingSize) is ${gb(hooks.maxTensorBytes)}`;
    if (4 * f.largestParameter > hooks.maxTensorBytes) {
      return `${model} does not fit the GPU: its largest weight holds ${count(f.largestParameter)} floats (${gb(4 * f.largestParameter)}) and ${limit}; try a smaller --width`;
    }
    const largest = 4 * f.largestPerImage * batchSize;
    if (largest > hooks.maxTensorBytes) {
      const fits = Math.floor(hooks.maxTensorBytes / (4 * f.largestPerImage));
      const advice = fits >= 1 ? `try --batch-size ${powerOfTwoAtMost(fits)}` : 'try a smaller --width or --image-size';
      return `--batch-size ${batchSize} does not fit the GPU: the largest activation (${count(f.largestPerImage)} floats per image at ${model}) ` +
        `takes ${gb(largest)} for the batch, and ${limit}; ${advice}`;
    }
    const total = 2 * 4 * floats + BYTES_PER_PARAMETER * f.parameters;
    if (total > GPU_MEMORY_CEILING) {
      return `--batch-size ${batchSize} does not fit the GPU: a step holds ${activations}, twice that with their gradients, and ${weights}: ` +
        `${gb(total)}, more than any GPU's memory; try a smaller --batch-size or --width`;
    }
  }
  return undefined;
}
