// Which batch-norm statistics suit the generator average (--ema)? For a run trained with --ema-statistics average,
// its generator-ema/ holds the average's weights with averaged statistics; the weights are the same whatever the
// statistics (they never feed back into training), so the other choices are made from the same files:
//   average  — as saved;
//   standing — recomputed from the average's own weights on fresh noise (BigGAN), as --ema-statistics standing does;
//   copied   — G's own moving statistics (StyleGAN2-ADA copies G's buffers).
// Each is evaluated as `dcgan eval` does (SWD, and class agreement on a conditional run).
//   npx tsx scripts/ema-statistics.ts RUN [--n 2048] [--backend wasm]
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { loadImageSet } from '../src/data/index.js';
import { datasetOptionsFrom } from '../src/data/options.js';
import { evaluateGenerator } from '../src/metrics/evaluate.js';
import { asGenerator } from '../src/model/generator.js';
import { loadModel } from '../src/model/io.js';
import { loadDiscriminator, readConfig } from '../src/run/runs.js';
import { standingStatistics } from '../src/train/ema.js';
import { deriveSeed } from '../src/util/rng.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const run = argv[0];
const n = Number(flag('n', '2048'));
await initBackend(flag('backend', 'wasm') as BackendName);
const { options } = await readConfig(run);
if (options.emaStatistics !== 'average') throw new Error(`${run} was not trained with --ema-statistics average`);
const data = await loadImageSet(datasetOptionsFrom(options, Number(options.imageSize), Number(options.channels) as 1 | 3, options.limit as number | undefined));
const D = options.conditional ? await loadDiscriminator(run) : undefined;

const statistics = (m: tf.LayersModel) => m.weights.filter((w) => !w.trainable);
const variants: Record<string, (Gema: tf.LayersModel, G: tf.LayersModel) => void> = {
  average: () => {},
  standing: (Gema) => standingStatistics(Gema, { seed: deriveSeed(Number(options.seed), 'standing'), latent: Number(options.latent), classes: D?.classes ?? 0 }),
  copied: (Gema, G) => statistics(G).forEach((w, i) => statistics(Gema)[i].write(w.read().clone())),
};
for (const [name, prepare] of Object.entries(variants)) {
  const Gema = await loadModel(path.join(run, 'generator-ema'));
  const G = await loadModel(path.join(run, 'generator'));
  prepare(Gema, G);
  const figures = await evaluateGenerator(asGenerator(Gema), data, { n, seed: 0 }, D);
  console.log(JSON.stringify({ run, statistics: name, swd: figures.swd_x1e3, class_agreement: figures.class_agreement }));
  Gema.dispose();
  G.dispose();
}
