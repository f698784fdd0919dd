// test/fixtures/d2l (written by scripts/d2l-fixtures.py from d2l's PyTorch code) in tfjs's layouts and weight names,
// and our side of it: d2l's model as `dcgan train` builds it, set to the fixture's initial weights, trained on its X and Z
// with everything the fixture holds read back.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import type { Adam } from '../src/train/adam.js';
import { trainStep } from '../src/train/step.js';
import { createGan, disposeGan } from '../src/train/train.js';

export interface FixtureStep {
  loss_D_sum: number;
  loss_G_sum: number;
  loss_D: number;
  loss_G: number;
  D_x: number;
  D_G_z: number;
  adam_step: { G: number; D: number };
}

export interface Manifest {
  generated_by: string;
  torch: string;
  shape: { imageSize: 16; width: number; latent: number; channels: 3; batch: number };
  adam: { lr: number; beta1: number; beta2: number; eps: number };
  batch_norm: { momentum: number; eps: number };
  loss_reduction: 'sum' | 'mean';
  parameters: { G: string[]; D: string[] };
  buffers: { G: string[]; D: string[] };
  steps: FixtureStep[];
  arrays: { name: string; shape: number[]; offset: number }[];
}

export interface Fixture {
  manifest: Manifest;
  /** an array in PyTorch's layout, as the script wrote it */
  torch(name: string): { shape: number[]; values: Float32Array };
}

export function loadFixture(dir = new URL('./fixtures/d2l/', import.meta.url)): Fixture {
  const manifest = JSON.parse(readFileSync(new URL('d2l.json', dir), 'utf8')) as Manifest;
  const bytes = readFileSync(new URL('d2l.bin', dir));
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const arrays = new Map(manifest.arrays.map((a) => [a.name, a]));
  return {
    manifest,
    torch(name) {
      const a = arrays.get(name);
      if (!a) throw new Error(`the fixture has no array ${name}`);
      const n = a.shape.reduce((x, y) => x * y, 1);
      return { shape: a.shape, values: floats.subarray(a.offset / 4, a.offset / 4 + n) };
    },
  };
}

/** values (row-major, `shape`) with their axes reordered: output axis i is input axis perm[i]. */
export function transpose(values: Float32Array, shape: number[], perm: number[]): { shape: number[]; values: Float32Array } {
  const outShape = perm.map((p) => shape[p]);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(values.length);
  const index = new Array(shape.length).fill(0); // the output element's coordinates
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < perm.length; i++) src += index[i] * inStrides[perm[i]];
    out[o] = values[src];
    for (let i = perm.length - 1; i >= 0; i--) {
      if (++index[i] < outShape[i]) break;
      index[i] = 0;
    }
  }
  return { shape: outShape, values: out };
}

// Layouts. Conv2d weights [out, in, kh, kw] → tfjs conv2d kernels [kh, kw, in, out]; ConvTranspose2d weights
// [in, out, kh, kw] → tfjs conv2dTranspose kernels [kh, kw, out, in]: the same permutation, and no flip — both libraries'
// transposed convolutions are the adjoint of the same cross-correlation (the forward test checks this: G(z) agrees).
// Images NCHW → NHWC.
export const KERNEL = [2, 3, 1, 0];
export const IMAGE = [0, 2, 3, 1];

/** d2l's module names (nn.Sequential positions) → our layers, per network. */
const LAYERS: Record<'G' | 'D', Record<string, string>> = {
  G: { '0.conv2d_trans': 'g0_deconv', '0.batch_norm': 'g0_bn', '1.conv2d_trans': 'g1_deconv', '1.batch_norm': 'g1_bn', '2': 'g_out' },
  D: { '0.conv2d': 'd0_conv', '0.batch_norm': 'd0_bn', '1.conv2d': 'd1_conv', '1.batch_norm': 'd1_bn', '2': 'd_out' },
};
const FIELDS: Record<string, string> = {
  weight: 'kernel', // a conv's; a batch norm's weight is its γ (below)
  bias: 'beta',
  running_mean: 'moving_mean',
  running_var: 'moving_variance',
};

/** PyTorch's name of a parameter or buffer → our weight's name ("g0_bn/gamma") and the permutation into its layout. */
export function ourName(net: 'G' | 'D', torchName: string): { name: string; perm?: number[] } {
  const dot = torchName.lastIndexOf('.');
  const [module, field] = [torchName.slice(0, dot), torchName.slice(dot + 1)];
  const layer = LAYERS[net][module];
  if (!layer) throw new Error(`no layer of ours for ${net} ${torchName}`);
  if (layer.endsWith('_bn')) return { name: `${layer}/${field === 'weight' ? 'gamma' : FIELDS[field]}` };
  if (field !== 'weight') throw new Error(`unexpected ${net} ${torchName}`);
  return { name: `${layer}/kernel`, perm: KERNEL };
}

/** A PyTorch array of `net` in our layout. */
export function inOurLayout(f: Fixture, arrayName: string, net: 'G' | 'D', torchName: string): Float32Array {
  const { shape, values } = f.torch(arrayName);
  const { perm } = ourName(net, torchName);
  return perm ? transpose(values, shape, perm).values : values;
}

// ---- our side ---------------------------------------------------------------------------------------------------------

export function images(f: Fixture, name: string): tf.Tensor4D {
  const { shape, values } = f.torch(name);
  const nhwc = transpose(values, shape, IMAGE);
  return tf.tensor4d(nhwc.values, nhwc.shape as [number, number, number, number]);
}

export function noise(f: Fixture, name: string): tf.Tensor2D {
  const { shape, values } = f.torch(name); // [n, latent, 1, 1]: the same numbers as [n, latent]
  return tf.tensor2d(values, [shape[0], shape[1]]);
}

/** d2l's model as `dcgan train` builds it (createGan: its optimizer and loss too), with the fixture's initial state. */
export function d2lGan(f: Fixture) {
  const { shape, adam } = f.manifest;
  const gan = createGan({
    arch: 'd2l', model: { imageSize: shape.imageSize, width: shape.width, latent: shape.latent, channels: shape.channels, classes: 0 },
    seed: 0, lr: adam.lr, beta1: adam.beta1, beta2: adam.beta2,
  });
  for (const [net, model] of [['G', gan.G], ['D', gan.D]] as const) {
    const torchNames = [...f.manifest.parameters[net], ...f.manifest.buffers[net]];
    const byName = new Map(torchNames.map((t) => [ourName(net, t).name, t]));
    if (byName.size !== model.weights.length) throw new Error(`${net}: ${model.weights.length} weights, the fixture ${byName.size}`);
    const values = model.weights.map((w) => {
      const t = byName.get(w.originalName);
      if (!t) throw new Error(`the fixture has nothing for ${w.originalName}`);
      return tf.tensor(inOurLayout(f, `initial.${net}.${t}`, net, t), w.shape as number[]);
    });
    model.setWeights(values);
    tf.dispose(values);
  }
  return gan;
}

export interface OurStep {
  /** as trainStep reports them: the losses per example */
  stats: { loss_D: number; loss_G: number; D_x: number; D_G_z: number };
  /** by our weight name ("g0_bn/gamma"): the gradients Adam was given, every weight after the step (the batch-norm
   * moving statistics too), Adam's moments */
  grads: Map<string, Float32Array>;
  weights: Map<string, Float32Array>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  adamStep: { G: number; D: number };
}

/** Wraps opt.apply to keep a copy of each gradient it is given, by our weight name. */
function recordGradients(opt: Adam, model: tf.LayersModel, into: Map<string, tf.Tensor>) {
  const apply = opt.apply.bind(opt);
  const names = model.trainableWeights.map((w) => w.originalName);
  opt.apply = (grads) => {
    opt.variables.forEach((v, i) => into.set(names[i], tf.keep(grads[v.name].clone())));
    apply(grads);
  };
}

async function read(entries: [string, tf.Tensor][]): Promise<Map<string, Float32Array>> {
  return new Map(await Promise.all(entries.map(async ([k, t]) => [k, (await t.data()) as Float32Array] as const)));
}

/** Our trainStep on the fixture's batches, from its initial state; everything it compares, after each step. */
export async function runD2lSteps(f: Fixture): Promise<OurStep[]> {
  const gan = d2lGan(f);
  const recorded = new Map<string, tf.Tensor>();
  recordGradients(gan.optG as Adam, gan.G, recorded);
  recordGradients(gan.optD as Adam, gan.D, recorded);
  const out: OurStep[] = [];
  try {
    for (let s = 0; s < f.manifest.steps.length; s++) {
      const X = images(f, `X.${s}`);
      const Z = noise(f, `Z.${s}`);
      const stats = trainStep(gan, { X, Z });
      const [lossD, lossG, dx, dgz] = await stats.data();
      tf.dispose([X, Z, stats]);
      const grads = await read([...recorded]);
      tf.dispose([...recorded.values()]);
      recorded.clear();
      const moments = (which: 'm' | 'v') => read([[gan.optG, gan.G], [gan.optD, gan.D]].flatMap(([opt, model]) =>
        (model as tf.LayersModel).trainableWeights.map((w, i) => [w.originalName, (opt as Adam)[which][i]] as [string, tf.Tensor])));
      out.push({
        stats: { loss_D: lossD, loss_G: lossG, D_x: dx, D_G_z: dgz },
        grads,
        weights: await read([...gan.G.weights, ...gan.D.weights].map((w) => [w.originalName, w.read()])),
        m: await moments('m'),
        v: await moments('v'),
        adamStep: { G: gan.optG.step, D: gan.optD.step },
      });
    }
  } finally {
    disposeGan(gan);
  }
  return out;
}
