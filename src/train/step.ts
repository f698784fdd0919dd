// One training step: D's update, then G's (Goodfellow et al.'s non-saturating loss), in the order and form of the
// architecture's source (Recipe.step in model/architecture.ts). A conditional run (ACGAN, Odena et al. 2017) adds to
// each real/fake term the cross-entropy of D's class head against the class of the image.
import * as tf from '@tensorflow/tfjs';
import type { Recipe } from '../model/architecture.js';
import { mixStyles } from '../model/stylegan.js';
import type { Growing } from './grow.js';
import type { Optimizer } from './optimizer.js';

export interface Gan {
  G: tf.LayersModel;
  D: tf.LayersModel;
  optG: Optimizer;
  optD: Optimizer;
  recipe: Pick<Recipe, 'reduction' | 'step'>;
  /**
   * --augment (DiffAugment): what D sees of any batch, real or generated, in D's update and in G's — differentiable, so
   * G learns through it; each call draws new parameters. Absent: D sees the images as they are.
   */
  augment?: (images: tf.Tensor4D) => tf.Tensor4D;
  /** a growing run (--fade-kimg): every phase's networks; G and D (and their optimizers) are the phase's (grow.ts) */
  growing?: Growing;
  /** --loss: 'wgan-gp' trains with WGAN-GP (wganGpStep) in place of the recipe's step; absent or 'gan': the recipe's */
  loss?: Loss;
  /** --style-mixing (stylegan): G cut into its mapping and synthesis (styleModels, sharing G's weights) to mix styles */
  styleMixing?: StyleMixing;
}

/**
 * StyleGAN's style-mixing regularisation: G draws a share of its images from two codes. `mapping` is z → w₁ (w̄ tracked
 * from it, as G does), `codes` z → w₂ (not tracked: the official G_style updates dlatent_avg from the first latents
 * only), `synthesis` w per layer → images.
 */
export interface StyleMixing {
  probability: number;
  mapping: tf.LayersModel;
  codes: tf.LayersModel;
  synthesis: tf.LayersModel;
  layers: number;
}

/** A draw of style mixing for a draw of noise: each image's second code and its crossover (stylegan.ts styleCrossovers). */
export interface Styles {
  Z: tf.Tensor2D;
  crossovers: Int32Array;
}

/** The losses --loss names: the recipe's GAN loss (Goodfellow et al.'s, in the source's step form), or WGAN-GP. */
export type Loss = 'gan' | 'wgan-gp';

const asTheyAre = (images: tf.Tensor4D) => images;

/** What one step trains on: real images and, for G, noise; on a conditional run the classes of both. */
export interface Batch {
  /** real images in [-1, 1], NHWC */
  X: tf.Tensor4D;
  /** latent noise [n, latent] */
  Z: tf.Tensor2D;
  /** a second draw of noise for G's update, where the source draws one (secondNoise) */
  Z2?: tf.Tensor2D;
  /** conditional: the real images' classes, and those asked of G for Z (and Z2) */
  labels?: tf.Tensor1D;
  fakeLabels?: tf.Tensor1D;
  fakeLabels2?: tf.Tensor1D;
  /** WGAN-GP: per image, where between the real image (0) and the fake (1) the penalty is taken, U(0, 1), [n, 1, 1, 1] */
  mix?: tf.Tensor4D;
  /** style mixing (Gan.styleMixing): the second codes and crossovers of the images of Z (and of Z2) */
  styles?: Styles;
  styles2?: Styles;
}

/** One draw of G's inputs: noise, and the classes asked for and the styles mixed in where the run has them. */
export interface Noise {
  Z: tf.Tensor2D;
  classes?: tf.Tensor1D;
  styles?: Styles;
}
const firstNoise = (b: Batch): Noise => ({ Z: b.Z, classes: b.fakeLabels, styles: b.styles });
const secondNoiseOf = (b: Batch): Noise => ({ Z: b.Z2!, classes: b.fakeLabels2, styles: b.styles2 });

/**
 * Whether the step draws fresh noise for G's update (the Keras recipes, and WGAN-GP: loss.py's G and D losses draw
 * their own latents) rather than reusing D's.
 */
export const secondNoise = (step: Recipe['step'], loss: Loss = 'gan') => step === 'hands-on' || step === 'keras-gan' || loss === 'wgan-gp';

export const TRAINING = { training: true };
export const INFERENCE = { training: false };
const trainableVariables = (model: tf.LayersModel) => model.trainableWeights.map((w) => w.read() as tf.Variable);

type Reduction = Recipe['reduction'];
const tfReduction = (r: Reduction) => (r === 'sum' ? tf.Reduction.SUM : tf.Reduction.MEAN);

/** Sigmoid cross-entropy of logits ([n, 1]) against labels (a constant, or one per image). */
function bce(logits: tf.Tensor, label: 0 | 1 | tf.Tensor, reduction: Reduction): tf.Scalar {
  const labels = typeof label === 'number' ? tf.fill(logits.shape, label) : label.reshape(logits.shape);
  return tf.losses.sigmoidCrossEntropy(labels, logits, undefined, undefined, tfReduction(reduction)) as tf.Scalar;
}

/** Softmax cross-entropy of class logits [n, k] against class indices [n]. */
function classLoss(classLogits: tf.Tensor, classes: tf.Tensor1D, reduction: Reduction): tf.Scalar {
  const onehot = tf.oneHot(classes.toInt(), classLogits.shape[1]!);
  return tf.losses.softmaxCrossEntropy(onehot, classLogits, undefined, 0, tfReduction(reduction)) as tf.Scalar;
}

/**
 * G on noise (and classes): training mode updates its batch-norm statistics, inference mode uses them. With style
 * mixing, each image's layers take w₁ = mapping(z) below its crossover and w₂ = mapping(z₂) from it on.
 */
export function generate({ G, styleMixing }: Gan, { Z, classes, styles }: Noise, mode: typeof TRAINING): tf.Tensor4D {
  const inputs = (z: tf.Tensor2D) => (classes ? [z, classes.reshape([-1, 1]).toFloat()] : z);
  if (!styleMixing || !styles) return G.apply(inputs(Z), mode) as tf.Tensor4D;
  const { mapping, codes, synthesis, layers } = styleMixing;
  const w1 = mapping.apply(inputs(Z), mode) as tf.Tensor2D; //        [n, latent], w̄ tracked from it in training
  const w2 = codes.apply(inputs(styles.Z), mode) as tf.Tensor2D; //    [n, latent]
  return synthesis.apply(mixStyles(w1, w2, styles.crossovers, layers), mode) as tf.Tensor4D; // [n, R, R, C]
}

/**
 * One real/fake term of a loss: D (training mode) on `images`, cross-entropy against `label`, plus the class head's
 * against `classes` when conditional. Also gives the mean of sigmoid(D) for the report.
 */
function term(D: tf.LayersModel, images: tf.Tensor, label: 0 | 1 | tf.Tensor, classes: tf.Tensor1D | undefined, reduction: Reduction) {
  const out = D.apply(images, TRAINING) as tf.Tensor | tf.Tensor[];
  const [logits, classLogits] = Array.isArray(out) ? out : [out];
  let loss = bce(logits, label, reduction);
  if (classes && classLogits) loss = loss.add(classLoss(classLogits, classes, reduction));
  return { loss, logits };
}

/** Minimises loss() over the model's trainable weights with its optimizer; returns the loss. */
function minimise(model: tf.LayersModel, optimizer: Optimizer, loss: () => tf.Scalar): tf.Scalar {
  const { value, grads } = tf.variableGrads(loss, trainableVariables(model));
  optimizer.apply(grads);
  return value;
}

/** Runs f, then puts the model's batch-norm statistics back as they were: a forward pass the source does not make. */
function keepingStatistics<T>(model: tf.LayersModel, f: () => T): T {
  const saved = model.nonTrainableWeights.map((w) => w.read().clone());
  try {
    return f();
  } finally {
    model.nonTrainableWeights.forEach((w, i) => w.write(saved[i]));
    tf.dispose(saved);
  }
}

const meanSigmoid = (logits: tf.Tensor) => tf.sigmoid(logits).mean() as tf.Scalar;

interface Update {
  lossD: tf.Scalar;
  lossG: tf.Scalar;
  /** mean D(x), mean D(G(z)) during D's update */
  dx: tf.Scalar;
  dgz: tf.Scalar;
}

// d2l: update_D(X, Z) then update_G(Z): loss_D = (ℓ(D(x), 1) + ℓ(D(G(z)), 0)) / 2, G(z) recomputed for loss_G.
function d2lStep(gan: Gan, b: Batch): Update {
  const { G, D, optG, optD, recipe: { reduction }, augment: see = asTheyAre } = gan;
  let dx!: tf.Scalar, dgz!: tf.Scalar;
  const fake = generate(gan, firstNoise(b), TRAINING); // outside the gradient: G is not updated here (detach)
  const lossD = minimise(D, optD, () => {
    const real = term(D, see(b.X), 1, b.labels, reduction);
    const fakes = term(D, see(fake), 0, b.fakeLabels, reduction);
    dx = tf.keep(meanSigmoid(real.logits));
    dgz = tf.keep(meanSigmoid(fakes.logits));
    return real.loss.add(fakes.loss).div(2);
  });
  const lossG = minimise(G, optG, () => term(D, see(generate(gan, firstNoise(b), TRAINING)), 1, b.fakeLabels, reduction).loss);
  return { lossD, lossG, dx, dgz };
}

// pytorch/examples (and AnimeGAN): fake = G(z) once; errD = errD_real + errD_fake on fake.detach(); then errG through
// that same fake. The fake is recomputed for G's gradient, and G's batch-norm statistics put back, so they move once.
function pytorchExamplesStep(gan: Gan, b: Batch): Update {
  const { G, D, optG, optD, recipe: { reduction }, augment: see = asTheyAre } = gan;
  let dx!: tf.Scalar, dgz!: tf.Scalar;
  const fake = generate(gan, firstNoise(b), TRAINING);
  const lossD = minimise(D, optD, () => {
    const real = term(D, see(b.X), 1, b.labels, reduction);
    const fakes = term(D, see(fake), 0, b.fakeLabels, reduction);
    dx = tf.keep(meanSigmoid(real.logits));
    dgz = tf.keep(meanSigmoid(fakes.logits));
    return real.loss.add(fakes.loss);
  });
  const lossG = keepingStatistics(G, () =>
    minimise(G, optG, () => term(D, see(generate(gan, firstNoise(b), TRAINING)), 1, b.fakeLabels, reduction).loss));
  return { lossD, lossG, dx, dgz };
}

// Hands-on ML: D.train_on_batch on [G(z₁) (inference mode, as Keras calls a model), x] labelled [0…, 1…]; then
// gan.train_on_batch(z₂, 1…) with D frozen. With --augment, D's one batch is augmented as one.
function handsOnStep(gan: Gan, b: Batch): Update {
  const { G, D, optG, optD, recipe: { reduction }, augment: see = asTheyAre } = gan;
  const n = b.X.shape[0];
  let dx!: tf.Scalar, dgz!: tf.Scalar;
  const fake = generate(gan, firstNoise(b), INFERENCE);
  const both = tf.concat([fake, b.X]);
  const labels = tf.concat([tf.zeros([n]), tf.ones([n])]);
  const classes = b.labels && b.fakeLabels ? (tf.concat([b.fakeLabels, b.labels]) as tf.Tensor1D) : undefined;
  const lossD = minimise(D, optD, () => {
    const t = term(D, see(both), labels, classes, reduction);
    const probs = tf.sigmoid(t.logits).reshape([2 * n]);
    dgz = tf.keep(probs.slice(0, n).mean() as tf.Scalar);
    dx = tf.keep(probs.slice(n, n).mean() as tf.Scalar);
    return t.loss;
  });
  const lossG = minimise(G, optG, () => term(D, see(generate(gan, secondNoiseOf(b), TRAINING)), 1, b.fakeLabels2, reduction).loss);
  return { lossD, lossG, dx, dgz };
}

// Keras-GAN: d_loss_real = D.train_on_batch(x, 1…); d_loss_fake = D.train_on_batch(G.predict(z₁), 0…) — two updates
// of D — reported as their mean; then combined.train_on_batch(z₂, 1…) with D frozen.
function kerasGanStep(gan: Gan, b: Batch): Update {
  const { G, D, optG, optD, recipe: { reduction }, augment: see = asTheyAre } = gan;
  let dx!: tf.Scalar, dgz!: tf.Scalar;
  const fake = generate(gan, firstNoise(b), INFERENCE);
  const lossReal = minimise(D, optD, () => {
    const real = term(D, see(b.X), 1, b.labels, reduction);
    dx = tf.keep(meanSigmoid(real.logits));
    return real.loss;
  });
  const lossFake = minimise(D, optD, () => {
    const fakes = term(D, see(fake), 0, b.fakeLabels, reduction);
    dgz = tf.keep(meanSigmoid(fakes.logits));
    return fakes.loss;
  });
  const lossG = minimise(G, optG, () => term(D, see(generate(gan, secondNoiseOf(b), TRAINING)), 1, b.fakeLabels2, reduction).loss);
  return { lossD: lossReal.add(lossFake).div(2), lossG, dx, dgz };
}

/** WGAN-GP's weights, as the ProGAN paper and its loss.py (D_wgangp_acgan) have them. */
export const WGAN_GP = { lambda: 10, drift: 0.001, target: 1 } as const;

/** D's scores (its first output, [n, 1]) and, when conditional, the class head's cross-entropy against `classes`. */
function critic(D: tf.LayersModel, images: tf.Tensor, classes: tf.Tensor1D | undefined): { scores: tf.Tensor; classLoss?: tf.Scalar } {
  const out = D.apply(images, TRAINING) as tf.Tensor | tf.Tensor[];
  const [scores, classLogits] = Array.isArray(out) ? out : [out];
  return { scores, classLoss: classes && classLogits ? classLoss(classLogits, classes, 'mean') : undefined };
}

/**
 * ProGAN's WGAN-GP (Gulrajani et al. 2017, as loss.py's D_wgangp_acgan and G_wgan_acgan, averaged over the batch as
 * train.py does): D minimises D(G(z₁)) − D(x) + λ·(‖∇D(x̂)‖ − 1)² + ε_drift·D(x)², x̂ = x + u·(G(z₁) − x) with u from
 * U(0, 1) per image (Batch.mix); then G minimises −D(G(z₂)). Conditional: plus the class heads' cross-entropies, as
 * the other forms add them. D(x) and D(G(z)) are reported as the mean sigmoid of the scores, as the other forms'.
 */
function wganGpStep(gan: Gan, b: Batch): Update {
  const { G, D, optG, optD, augment } = gan;
  if (augment) throw new Error('--loss wgan-gp takes no --augment'); // the penalty's second gradient through it: untested
  if (!b.mix) throw new Error('the wgan-gp step needs the penalty\'s mixing factors (Batch.mix)');
  let dx!: tf.Scalar, dgz!: tf.Scalar;
  const fake = generate(gan, firstNoise(b), TRAINING); // outside the gradient: G is not updated here
  const withClasses = (loss: tf.Scalar, ...terms: (tf.Scalar | undefined)[]) => terms.reduce<tf.Scalar>((sum, t) => (t ? sum.add(t) : sum), loss);
  const lossD = minimise(D, optD, () => {
    const real = critic(D, b.X, b.labels);
    const fakes = critic(D, fake, b.fakeLabels);
    dx = tf.keep(meanSigmoid(real.scores));
    dgz = tf.keep(meanSigmoid(fakes.scores));
    const mixed = b.X.add(fake.sub(b.X).mul(b.mix!)); //                 [n, R, R, C]
    const slope = tf.grad((x: tf.Tensor) => tf.sum(critic(D, x, undefined).scores))(mixed);
    const norms = tf.sqrt(tf.sum(tf.square(slope), [1, 2, 3])); //         [n]
    const penalty = tf.square(norms.sub(WGAN_GP.target)).mean().mul(WGAN_GP.lambda); // loss.py's λ / target², target 1
    const drift = tf.square(real.scores).mean().mul(WGAN_GP.drift);
    const wasserstein = fakes.scores.mean().sub(real.scores.mean());
    return withClasses(wasserstein.add(penalty).add(drift) as tf.Scalar, real.classLoss, fakes.classLoss);
  });
  const lossG = minimise(G, optG, () => {
    const fakes = critic(D, generate(gan, secondNoiseOf(b), TRAINING), b.fakeLabels2);
    return withClasses(fakes.scores.mean().neg() as tf.Scalar, fakes.classLoss);
  });
  return { lossD, lossG, dx, dgz };
}

const STEPS: Record<Recipe['step'], (gan: Gan, b: Batch) => Update> = {
  'd2l': d2lStep,
  'pytorch-examples': pytorchExamplesStep,
  'hands-on': handsOnStep,
  'keras-gan': kerasGanStep,
};

/**
 * Returns [loss_D, loss_G, mean D(x), mean D(G(z))] as one small tensor, left on the device so that the caller can read
 * it when it suits (a read forces a GPU sync). Losses are per example whatever the reduction (d2l divides its summed
 * losses by the number of examples when it reports them).
 */
export function trainStep(gan: Gan, b: Batch): tf.Tensor1D {
  const wgan = gan.loss === 'wgan-gp';
  if (secondNoise(gan.recipe.step, gan.loss) && !b.Z2) throw new Error(`the ${wgan ? 'wgan-gp' : gan.recipe.step} step needs a second draw of noise (Batch.Z2)`);
  return tf.tidy(() => {
    const { lossD, lossG, dx, dgz } = (wgan ? wganGpStep : STEPS[gan.recipe.step])(gan, b);
    const n = b.X.shape[0];
    const perExample = (loss: tf.Scalar) => (gan.recipe.reduction === 'sum' && !wgan ? loss.div(n) : loss); // WGAN-GP's are means
    const stats = tf.stack([perExample(lossD), perExample(lossG), dx, dgz]) as tf.Tensor1D;
    tf.dispose([dx, dgz]); // kept out of variableGrads' scope with tf.keep, which every tidy then leaves alone
    return stats;
  });
}
