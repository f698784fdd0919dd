// Loaded with `node --import` by scripts/kernel-scaling.ts: times every kernel the engine runs (wall clock, the
// outermost kernel only), summed per kernel name and input shapes, and writes them as JSON to $KERNEL_TIMES_OUT at exit.
import { isMainThread } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';

if (isMainThread && process.env.KERNEL_TIMES_OUT) {
  const times = new Map();
  let depth = 0;
  const engine = tf.engine();
  const run = engine.runKernelFunc.bind(engine);
  engine.runKernelFunc = (params) => {
    if (depth > 0 || !params.kernelName) return run(params);
    const key = `${params.kernelName} ${Object.values(params.inputs ?? {}).map((t) => (t ? `[${t.shape}]` : '-')).join(' ')}`;
    depth++;
    const t0 = performance.now();
    try {
      return run(params);
    } finally {
      depth--;
      const entry = times.get(key) ?? [0, 0];
      entry[0] += performance.now() - t0;
      entry[1]++;
      times.set(key, entry);
    }
  };
  process.on('exit', () => writeFileSync(process.env.KERNEL_TIMES_OUT, JSON.stringify([...times])));
}
