// How far the discriminator's first-step gradients on each tfjs backend are from a float64 computation of the same
// thing, at d2l's size by default, on sprites (whose many equal background pixels are what float32 running sums
// handle worst).
//   npx tsx scripts/compare-d-gradients.ts [--image-size 64] [--width 64] [--batch 64] [--threads N]
//       [--runs wasm,wasm-tfjs-sums,cpu] [--python /usr/bin/python3]
// Runs: `wasm` as dcgan runs it; `wasm-tfjs-sums` with batch norm as tfjs's ops (tf.moments, tf.batchNorm) instead of
// our fused kernel, and tfjs-backend-wasm's own Sum and Mean instead of ours; `cpu`,
// the cpu backend (pure JavaScript: about 20 minutes at 64×64, width 64, batch 64 on one core). The references come from
// PyTorch (scripts/torch_d_gradients.py) on the same weights and batches: float64 (the truth, to float32's eyes),
// float32 (what float32 rounding alone does), and float32 with batch norm written out as separate ops, as tfjs's layers
// compute it. Each cell is max |g − g64| / max |g64| over one variable's gradient.
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/backend/index.js';
import { unregisterWasmReductions } from '../src/backend/wasm-reductions.js';
import { registerWasmTrainingBatchNorm, unregisterWasmTrainingBatchNorm } from '../src/backend/wasm-training-batch-norm.js';
import { loadImageSet } from '../src/data/index.js';
import { buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { d2l } from '../src/model/d2l.js';
import { batchTensor } from '../src/train/train.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const imageSize = Number(arg('image-size', '64'));
const width = Number(arg('width', '64'));
const batch = Number(arg('batch', '64'));
const threads = Number(arg('threads', String(os.availableParallelism())));
const runs = arg('runs', 'wasm,wasm-tfjs-sums').split(',');
const python = arg('python', '/usr/bin/python3');
const shape = { imageSize, width, latent: 100, channels: 3 as const, classes: 0 };

const data = await loadImageSet({ dataset: 'pokesprite', size: imageSize, channels: 3, background: 'white', fit: 'fill', limit: batch, cache: false });
await initBackend('wasm', { threads });
const real = (await batchTensor(data, Array.from({ length: batch }, (_, i) => i)).data()) as Float32Array;
// The fake batch is an input here, not under test: G at its seeded start, run once, and the same numbers go everywhere.
const G = buildGenerator(d2l, shape, 1);
const fake = (await (G.apply(tf.randomNormal([batch, 100], 0, 1, 'float32', 3), { training: true }) as tf.Tensor).data()) as Float32Array;
G.dispose();

interface Variable { name: string; shape: number[]; kind: 'conv' | 'gamma' | 'beta'; stride: number; initial: Float32Array }
let variables: Variable[] = [];
const grads = new Map<string, Float64Array[]>(); // run → one array per variable

for (const run of runs) {
  const backend = run.startsWith('wasm') ? 'wasm' : run;
  if (!['wasm', 'cpu', 'webgpu'].includes(backend)) throw new Error(`unknown run ${run}`);
  const info = await initBackend(backend as 'wasm', { threads });
  if (run === 'wasm-tfjs-sums') {
    unregisterWasmReductions();
    unregisterWasmTrainingBatchNorm();
  }
  const D = buildDiscriminator(d2l, shape, 1);
  const weights = D.trainableWeights.map((w) => w.read() as tf.Variable);
  if (variables.length === 0) {
    variables = await Promise.all(D.trainableWeights.map(async (w, i) => {
      const name = w.originalName.replace(/^discriminator\//, '');
      return {
        name, shape: w.shape as number[], stride: name.startsWith('d_out') ? 1 : 2, initial: (await weights[i].data()) as Float32Array,
        kind: name.endsWith('kernel') ? 'conv' as const : name.endsWith('gamma') ? 'gamma' as const : 'beta' as const,
      };
    }));
  }
  const t0 = performance.now();
  const X = tf.tensor4d(real, [batch, imageSize, imageSize, 3]);
  const F = tf.tensor4d(fake, [batch, imageSize, imageSize, 3]);
  const bce = (logits: tf.Tensor, label: 0 | 1) =>
    tf.losses.sigmoidCrossEntropy(label ? tf.onesLike(logits) : tf.zerosLike(logits), logits);
  const { value, grads: g } = tf.variableGrads(() => bce(D.apply(X, { training: true }) as tf.Tensor, 1)
    .add(bce(D.apply(F, { training: true }) as tf.Tensor, 0)).div(2) as tf.Scalar, weights);
  grads.set(run, await Promise.all(weights.map(async (w) => Float64Array.from(await g[w.name].data()))));
  console.log(`${run.padEnd(15)} ${info.device}: loss ${(await value.data())[0].toFixed(9)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  tf.dispose([X, F, value, ...Object.values(g)]);
  D.dispose();
  if (run === 'wasm-tfjs-sums') {
    (await import('../src/backend/wasm-reductions.js')).registerWasmReductions();
    registerWasmTrainingBatchNorm();
  }
}

// PyTorch, on the same weights and batches
const dir = await mkdtemp(path.join(os.tmpdir(), 'dcgan-d-grads-'));
try {
  const f32 = (name: string, values: Float32Array) => writeFile(path.join(dir, `${name}.f32`), Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  await f32('real', real);
  await f32('fake', fake);
  for (const v of variables) await f32(v.name.replace('/', '_'), v.initial);
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({
    batch, imageSize, channels: 3,
    weights: variables.map((v) => ({ name: v.name, file: v.name.replace('/', '_'), shape: v.shape, kind: v.kind, stride: v.stride })),
  }));
  const script = fileURLToPath(new URL('./torch_d_gradients.py', import.meta.url));
  for (const dtype of ['float64', 'float32', 'float32-unfused']) {
    process.stdout.write(execFileSync(python, [script, dir, dtype], { encoding: 'utf8' }));
    grads.set(`torch-${dtype}`, await Promise.all(variables.map(async (v) => {
      const bytes = await readFile(path.join(dir, `grad-${dtype}-${v.name.replace('/', '_')}.f64`));
      return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    })));
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const reference = grads.get('torch-float64')!;
const columns = [...grads.keys()].filter((k) => k !== 'torch-float64');
const relMax = (a: Float64Array, ref: Float64Array) => {
  let d = 0, m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(a[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return d / m;
};
console.log(`\nD's gradients, ${imageSize}×${imageSize}, width ${width}, batch ${batch}: max |g − g_float64| / max |g_float64| per variable`);
const cell = (c: string) => Math.max(16, c.length + 2);
console.log(`${'variable'.padEnd(16)}${columns.map((c) => c.padStart(cell(c))).join('')}`);
const worst = new Map(columns.map((c) => [c, 0]));
variables.forEach((v, i) => {
  const cells = columns.map((c) => {
    const e = relMax(grads.get(c)![i], reference[i]);
    worst.set(c, Math.max(worst.get(c)!, e));
    return e.toExponential(2).padStart(cell(c));
  });
  console.log(`${v.name.padEnd(16)}${cells.join('')}`);
});
console.log(`${'worst'.padEnd(16)}${columns.map((c) => worst.get(c)!.toExponential(2).padStart(cell(c))).join('')}`);
if (grads.has('cpu') && grads.has('wasm')) {
  const vsCpu = variables.map((_, i) => relMax(grads.get('wasm')![i], grads.get('cpu')![i]));
  console.log(`wasm against cpu: max |g_wasm − g_cpu| / max |g_cpu| is at most ${Math.max(...vsCpu).toExponential(2)} (${variables.map((v, i) => `${v.name} ${vsCpu[i].toExponential(1)}`).join(', ')})`);
}
