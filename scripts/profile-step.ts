// Profiles one DCGAN training step, kernel by kernel.
//   npx tsx scripts/profile-step.ts [backend=wasm] [imageSize=32] [width=32] [batch=64] [runs=5] [threads=1] [arch=d2l]
// Builds the GAN the trainer builds (with the architecture's learning rate and step), warms it up with two steps, then times `runs` plain steps (wall clock, results
// read back) and profiles `runs` more with tf.profile. Kernels are aggregated by name and input shapes; each row
// shows the median over the profiled steps of that group's total time in one step. Timings on a shared machine are
// noisy: compare medians, and run it more than once.
// For before/after comparisons: ORIGINAL_BACKPROP_INPUT=1 puts tfjs-backend-wasm's own Conv2DBackpropInput back,
// ORIGINAL_BATCHNORM_GRAD=1 tfjs-core's FusedBatchNorm gradient (the one that tiles), ORIGINAL_CPU_BACKPROP_FILTER=1
// tfjs-backend-cpu's own Conv2DBackpropFilter.
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, initBackend, type BackendName } from '../src/backend/index.js';
import { unregisterBatchNormGradient } from '../src/backend/batchnorm-grad.js';
import { unregisterCpuConv2DBackpropFilter } from '../src/backend/cpu-conv2d-backprop-filter.js';
import { unregisterWasmConv2DBackpropInput } from '../src/backend/wasm-conv2d-backprop-input.js';
import { createGan, disposeGan } from '../src/train/train.js';
import { secondNoise, trainStep } from '../src/train/step.js';
import { architecture, type ArchName } from '../src/model/architectures.js';

const [backendArg = 'wasm', sizeArg = '32', widthArg = '32', batchArg = '64', runsArg = '5', threadsArg = '1', archArg = 'd2l'] = process.argv.slice(2);
if (!(BACKEND_NAMES as readonly string[]).includes(backendArg)) throw new Error(`unknown backend ${backendArg}`);
const imageSize = Number(sizeArg);
const width = Number(widthArg);
const batch = Number(batchArg);
const runs = Math.max(1, Number(runsArg));
const TOP = 15;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms: number) => ms.toFixed(1).padStart(8);
const shapes = (s: unknown) => JSON.stringify(s).replace(/"/g, '');

const info = await initBackend(backendArg as BackendName, { threads: Number(threadsArg) });
const originals: string[] = [];
if (process.env.ORIGINAL_BACKPROP_INPUT === '1') {
  unregisterWasmConv2DBackpropInput();
  originals.push('the wasm backend\'s own Conv2DBackpropInput');
}
if (process.env.ORIGINAL_BATCHNORM_GRAD === '1') {
  unregisterBatchNormGradient();
  originals.push('tfjs-core\'s FusedBatchNorm gradient');
}
if (process.env.ORIGINAL_CPU_BACKPROP_FILTER === '1') {
  unregisterCpuConv2DBackpropFilter();
  originals.push('tfjs-backend-cpu\'s own Conv2DBackpropFilter');
}
console.log(`backend ${info.name}: ${info.device}; ${archArg}, image ${imageSize}, width ${width}, batch ${batch}, ${runs} runs` +
  (originals.length ? `; with ${originals.join(' and ')}` : ''));

const { lr, beta1, beta2 } = architecture(archArg).defaults;
const gan = createGan({ arch: archArg as ArchName, model: { imageSize, width, latent: 100, channels: 3, classes: 0 }, seed: 1, lr, beta1, beta2 });
const X = tf.randomUniform([batch, imageSize, imageSize, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
const Z = tf.randomNormal([batch, 100], 0, 1, 'float32', 2) as tf.Tensor2D;
const Z2 = secondNoise(gan.recipe.step) ? tf.randomNormal([batch, 100], 0, 1, 'float32', 3) as tf.Tensor2D : undefined;

const step = async () => {
  const stats = trainStep(gan, { X, Z, Z2 });
  await stats.data();
  stats.dispose();
};
for (let i = 0; i < 2; i++) await step(); // warm-up: XNNPACK operators, weights, allocator

// CPU time too: the wasm backend runs on one thread, so on a busy machine its CPU time moves less than the wall clock.
const wall: number[] = [];
const cpu: number[] = [];
for (let i = 0; i < runs; i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await step();
  wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}

const perGroup = new Map<string, number[]>(); // group → total ms in each profiled run
const calls = new Map<string, number>(); // group → calls in one step
const kernelTotals: number[] = [];
for (let r = 0; r < runs; r++) {
  const profile = await tf.profile(step);
  let total = 0;
  const thisRun = new Map<string, number>();
  for (const k of profile.kernels) {
    // customGrad ops (fusedConv2d) show up twice: as `name__op` around the kernel they run. Count the kernel only.
    if (k.name.endsWith('__op')) continue;
    const ms = k.kernelTimeMs as number;
    total += ms;
    const key = `${k.name} ${shapes(k.inputShapes)}`;
    thisRun.set(key, (thisRun.get(key) ?? 0) + ms);
    if (r === 0) calls.set(key, (calls.get(key) ?? 0) + 1);
  }
  kernelTotals.push(total);
  for (const [key, ms] of thisRun) {
    if (!perGroup.has(key)) perGroup.set(key, new Array<number>(r).fill(0));
    perGroup.get(key)!.push(ms);
  }
  for (const list of perGroup.values()) if (list.length < r + 1) list.push(0);
}

const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
console.log(`step (not profiled): median ${median(wall).toFixed(0)} ms wall [${list(wall)}], ` +
  `${median(cpu).toFixed(0)} ms CPU [${list(cpu)}]`);
console.log(`sum of kernel times (profiled):  median ${median(kernelTotals).toFixed(0)} ms`);

const byName = new Map<string, number>();
const rows = [...perGroup].map(([key, list]) => ({ key, ms: median(list) })).sort((a, b) => b.ms - a.ms);
for (const { key, ms } of rows) {
  const name = key.slice(0, key.indexOf(' '));
  byName.set(name, (byName.get(name) ?? 0) + ms);
}
console.log(`\ntop ${TOP} kernels by name and input shapes (median ms per step, calls per step):`);
for (const { key, ms } of rows.slice(0, TOP)) console.log(`${fmt(ms)} ${`×${calls.get(key) ?? 0}`.padStart(4)}  ${key}`);
console.log(`\ntop ${TOP} kernels by name (sum of the medians above):`);
for (const [name, ms] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${fmt(ms)}  ${name}`);

tf.dispose([X, Z, ...(Z2 ? [Z2] : [])]);
disposeGan(gan);
