// ProGAN: "Progressive Growing of GANs for Improved Quality, Stability, and Variation" (Karras et al. 2018) as the
// book (Hands-on ML ch. 17) and the official code (tkarras/progressive_growing_of_gans: networks.py G_paper, D_paper;
// train.py TrainingSchedule) build it, small enough for a CPU.
//
// G: z, normalised per pixel → dense onto 4×4 → 3×3 conv; per doubling, nearest upsampling and two 3×3 convolutions;
// every convolution followed by LeakyReLU 0.2 and pixel norm; a 1×1 toRGB (linear) per resolution. D mirrors it: a 1×1
// fromRGB per resolution, per halving two 3×3 convolutions and a 2×2 average down; at 4×4 the minibatch standard
// deviation, a 3×3 convolution, a dense layer and the logit. Every weight with an equalized learning rate (He's gain √2;
// 1 for toRGB and the logit; √2/4 for G's first dense layer, as the official code matches the original Theano one).
// Channels: the base width at the final resolution, doubling per halving, at most 8× (the official fmap_base / r,
// capped by fmap_max).
//
// Growing: a phase is a resolution r, fading in or stable. Its G and D are tfjs models built from ONE set of layers
// (ProgressiveGan), so a phase's models share every weight with the others and a run grows without copying any. In a
// fade, G's output is α·toRGB_r(new block) + (1 − α)·upsample(toRGB_{r/2}(old)), D's input path likewise; α lives in
// the FadeIn layers' weights, so a checkpoint of the phase's models records it. Every phase's G draws at the final size
// (its r×r output upsampled, nearest) and its D takes the final size (averaged down to r first), as the official
// code's do: sampling, grids, metrics and checkpoints see the same shapes in every phase.
//
// Not as the official code: the class (a conditional run) multiplies z by a learned embedding and D has a second head
// (ACGAN, as build.ts does for every architecture), where the official concatenates a one-hot label and has one output
// of 1 + labels. Its fused upscale+conv and conv+downscale are the plain ones (the official uses the fused form at
// 128 px and up only, for speed; the same function).
import * as tf from '@tensorflow/tfjs';
import { Init, type Architecture, type DiscriminatorBody, type ModelShape, type SymbolicTensor, type Tricks } from './architecture.js';
import { apply } from './layers.js';
import { Downscale2D, FadeIn, MinibatchStddev, PixelNorm } from './progan-layers.js';
import { conv2d, dense, tricksOf } from './tricks.js';

/** The paper's network has all three tricks: Karras et al.'s minibatch standard deviation with groups of 4. */
export const PROGAN_TRICKS: Required<Tricks> = { minibatchStddev: { groupSize: 4 }, equalizedLr: true, pixelNorm: true };

/** The resolutions of a network growing to `imageSize`: 4, 8, …, imageSize. */
export function resolutions(imageSize: number): number[] {
  const out: number[] = [];
  for (let r = 4; r <= imageSize; r *= 2) out.push(r);
  return out;
}

/** Channels at resolution r: the base width at the final size, doubled per halving, at most 8 times the width. */
export function channelsAt(resolution: number, imageSize: number, width: number): number {
  return width * Math.min(imageSize / resolution, 8);
}

export const takesProganSize = (size: number) => Number.isInteger(size) && size >= 8 && size <= 256 && (size & (size - 1)) === 0;

// ---------------------------------------------------------------------------------------------------------------
// The schedule

/** Where a growing run is: the resolution it trains at, fading its block in or stable, and the new block's weight α. */
export interface Phase {
  /** 0: 4×4 stable; then per doubling, odd: fading in, even: stable */
  index: number;
  resolution: number;
  fading: boolean;
  /** the new block's share of the output: from 0 to 1 over a fade, 1 when stable */
  alpha: number;
}

/** The phase that ends the schedule: the final resolution, stable. */
export function lastPhase(imageSize: number): number {
  return 2 * (Math.log2(imageSize) - 2);
}

function checkSchedule(imageSize: number, fadeKimg: number): void {
  if (!(Number.isInteger(Math.log2(imageSize)) && imageSize >= 4)) throw new Error(`progressive growing needs a power-of-two image size, not ${imageSize}`);
  if (!(fadeKimg >= 0 && Number.isFinite(fadeKimg))) throw new Error(`--fade-kimg must be a number ≥ 0, not ${fadeKimg}`);
}

/**
 * The phase after `imagesSeen` training images (real images D has seen), as the official TrainingSchedule with
 * lod_training_kimg = lod_transition_kimg = fadeKimg: 4×4 stable for fadeKimg thousand images, then per doubling a fade
 * of α from 0 to 1 over fadeKimg thousand images and as many stable; the final resolution stays stable from then on.
 * fadeKimg 0: no growing, the final resolution from the start.
 */
export function phaseAt(imagesSeen: number, imageSize: number, fadeKimg: number): Phase {
  checkSchedule(imageSize, fadeKimg);
  if (!(imagesSeen >= 0)) throw new Error(`images seen must be ≥ 0, not ${imagesSeen}`);
  const last = lastPhase(imageSize);
  const length = fadeKimg * 1000; //                                   images per phase
  const index = length === 0 ? last : Math.min(Math.floor(imagesSeen / length), last);
  const fading = index % 2 === 1;
  return { index, resolution: 4 * 2 ** Math.ceil(index / 2), fading, alpha: fading ? (imagesSeen - index * length) / length : 1 };
}

/** Images until the schedule is done: every phase once, the final stable one included (for the ETA). */
export function scheduleImages(imageSize: number, fadeKimg: number): number {
  checkSchedule(imageSize, fadeKimg);
  return (lastPhase(imageSize) + 1) * fadeKimg * 1000;
}

/** factor× nearest upsampling of [n, h, w, c] (the official upscale2d: reshape and tile) */
function upscale(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.tile(tf.reshape(x, [n, h, 1, w, 1, c]), [1, 1, factor, 1, factor, 1]), [n, h * factor, w * factor, c]);
}

/** factor× box filter down of [n, h, w, c] */
function downscale(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.mean(tf.reshape(x, [n, h / factor, factor, w / factor, factor, c]), [2, 4]);
}

/**
 * Real images as D sees them in a phase (the official process_reals): averaged down to the phase's resolution r and,
 * in a fade, blended with their r/2 version as G's output is, α·x_r + (1 − α)·upsample(x_{r/2}); returned at the
 * final size (D averages them down again). Stable phases return the images as they are.
 */
export function fadeReals(x: tf.Tensor4D, phase: Phase): tf.Tensor4D {
  if (!phase.fading) return x.clone();
  return tf.tidy(() => {
    const factor = x.shape[1] / phase.resolution;
    const sharp = downscale(x, factor); //                              [n, r, r, c]
    const blurred = upscale(downscale(sharp, 2), 2);
    return upscale(tf.add(tf.mul(phase.alpha, sharp), tf.mul(1 - phase.alpha, blurred)), factor);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The networks' layers, all made at once (so that every draw has its place in the seed's stream whichever phase is
// built first) and applied per phase

const leaky = (name: string) => tf.layers.leakyReLU({ alpha: 0.2, name });

/** He's initialiser where the tricks leave equalized learning rate off: N(0, gain²/fan_in), the official use_wscale=False. */
const he = (init: Init, gain: number, fanIn: number) => init.normal(gain / Math.sqrt(fanIn));

interface GBlock {
  layers: tf.layers.Layer[];
  toRGB: tf.layers.Layer;
  /** the r/2 image upsampled for the fade, and the fade itself */
  fadeUp?: tf.layers.Layer;
  fade?: FadeIn;
  /** r×r → the final size */
  toFull?: tf.layers.Layer;
}

/** G's layers for every resolution up to the image size. */
export class GeneratorLayers {
  private readonly blocks = new Map<number, GBlock>();
  private readonly latentNorm: tf.layers.Layer;

  constructor(shape: ModelShape, init: Init, tricks: Required<Tricks>) {
    const { imageSize, width, latent, channels: rgb } = shape;
    const t = tricks;
    const nf = (r: number) => channelsAt(r, imageSize, width);
    // the official normalize_latents: z to unit length per "pixel", whatever the pixel-norm trick says
    this.latentNorm = new PixelNorm({ name: 'g_latent_norm' });
    const conv = (r: number, i: number, inChannels: number) => conv2d(t, {
      filters: nf(r), kernelSize: 3, padding: 'same', kernelInitializer: he(init, Math.SQRT2, 9 * inChannels), name: `g${r}_conv${i}`,
    });
    const act = (r: number, i: number) => [leaky(`g${r}_lrelu${i}`), ...(t.pixelNorm ? [new PixelNorm({ name: `g${r}_pixel_norm${i}` })] : [])];
    for (const r of resolutions(imageSize)) {
      const layers = r === 4
        ? [
          dense(t, { units: 16 * nf(4), kernelInitializer: he(init, Math.SQRT2 / 4, latent), name: 'g4_dense' }, Math.SQRT2 / 4),
          tf.layers.reshape({ targetShape: [4, 4, nf(4)], name: 'g4_reshape' }), ...act(4, 0),
          conv(4, 1, nf(4)), ...act(4, 1),
        ]
        : [
          tf.layers.upSampling2d({ size: [2, 2], name: `g${r}_up` }),
          conv(r, 0, nf(r / 2)), ...act(r, 0),
          conv(r, 1, nf(r)), ...act(r, 1),
        ];
      const toRGB = conv2d(t, { filters: rgb, kernelSize: 1, kernelInitializer: he(init, 1, nf(r)), name: `g${r}_to_rgb` }, 1);
      this.blocks.set(r, {
        layers, toRGB,
        ...(r > 4 ? { fadeUp: tf.layers.upSampling2d({ size: [2, 2], name: `g${r}_fade_up` }), fade: new FadeIn({ name: `g${r}_fade` }) } : {}),
        ...(r < imageSize ? { toFull: tf.layers.upSampling2d({ size: [imageSize / r, imageSize / r], name: `g${r}_to_full` }) } : {}),
      });
    }
  }

  /** The fade layer of resolution r (absent at 4×4). */
  fade(resolution: number): FadeIn | undefined {
    return this.blocks.get(resolution)?.fade;
  }

  /** G of a phase: z ([n, latent]) → images at the final size ([n, R, R, C]). */
  apply(z: SymbolicTensor, phase: Pick<Phase, 'resolution' | 'fading'>): SymbolicTensor {
    let h = apply(this.latentNorm, z); //                              [n, latent]
    let before = h;
    for (const r of resolutions(phase.resolution)) {
      before = h;
      h = sequence(this.blocks.get(r)!.layers, h); //                  [n, 4, 4, nf(4)] → … → [n, r, r, nf(r)]
    }
    const block = this.blocks.get(phase.resolution)!;
    let image = apply(block.toRGB, h); //                               [n, r, r, C]
    if (phase.fading) {
      const old = apply(block.fadeUp!, apply(this.blocks.get(phase.resolution / 2)!.toRGB, before)); // [n, r, r, C]
      image = block.fade!.apply([old, image]) as SymbolicTensor;
    }
    return block.toFull ? apply(block.toFull, image) : image; //        [n, R, R, C]
  }
}

interface DBlock {
  /** the 1×1 convolution from the image and its activation */
  fromRGB: tf.layers.Layer[];
  /** r×r features → r/2 × r/2 (at 4×4: the convolution and dense layer before the heads) */
  layers: tf.layers.Layer[];
  /** the final size → r×r */
  fromFull?: tf.layers.Layer;
  /** the image averaged down to r/2 for the old path, and the fade */
  fadeDown?: tf.layers.Layer;
  fade?: FadeIn;
}

/** D's layers for every resolution up to the image size, and its heads. */
export class DiscriminatorLayers {
  private readonly blocks = new Map<number, DBlock>();
  private readonly heads = new Map<string, tf.layers.Layer>();
  private readonly stddev?: MinibatchStddev;

  constructor(shape: ModelShape, init: Init, tricks: Required<Tricks>) {
    const { imageSize, width, channels: rgb, classes } = shape;
    const t = tricks;
    const nf = (r: number) => channelsAt(r, imageSize, width);
    const conv = (r: number, i: number, filters: number, inChannels: number) => conv2d(t, {
      filters, kernelSize: 3, padding: 'same', kernelInitializer: he(init, Math.SQRT2, 9 * inChannels), name: `d${r}_conv${i}`,
    });
    if (t.minibatchStddev) this.stddev = new MinibatchStddev({ groupSize: t.minibatchStddev.groupSize ?? null, name: 'd4_stddev' });
    for (const r of [...resolutions(imageSize)].reverse()) {
      const fromRGB = [
        conv2d(t, { filters: nf(r), kernelSize: 1, kernelInitializer: he(init, Math.SQRT2, rgb), name: `d${r}_from_rgb` }),
        leaky(`d${r}_from_rgb_lrelu`),
      ];
      const layers = r > 4
        ? [
          conv(r, 0, nf(r), nf(r)), leaky(`d${r}_lrelu0`),
          conv(r, 1, nf(r / 2), nf(r)), leaky(`d${r}_lrelu1`),
          new Downscale2D({ factor: 2, name: `d${r}_down` }),
        ]
        : [
          conv(4, 0, nf(4), nf(4) + (this.stddev ? 1 : 0)), leaky('d4_lrelu0'),
          tf.layers.flatten({ name: 'd4_flatten' }),
          dense(t, { units: nf(4), kernelInitializer: he(init, Math.SQRT2, 16 * nf(4)), name: 'd4_dense' }), leaky('d4_lrelu1'),
        ];
      this.blocks.set(r, {
        fromRGB, layers,
        ...(r < imageSize ? { fromFull: new Downscale2D({ factor: imageSize / r, name: `d${r}_from_full` }) } : {}),
        ...(r > 4 ? { fadeDown: new Downscale2D({ factor: 2, name: `d${r}_fade_down` }), fade: new FadeIn({ name: `d${r}_fade` }) } : {}),
      });
    }
    // the logit, and a conditional run's class logits, from the dense layer's features (gain 1: no activation after)
    const head = (units: number, name: string) => dense(t, { units, kernelInitializer: he(init, 1, nf(4)), name }, 1);
    this.heads.set('d_out', head(1, 'd_out'));
    if (classes) this.heads.set('d_class', head(classes, 'd_class'));
  }

  /** The fade layer of resolution r (absent at 4×4). */
  fade(resolution: number): FadeIn | undefined {
    return this.blocks.get(resolution)?.fade;
  }

  /** D of a phase up to its last features: images at the final size ([n, R, R, C]) → [n, nf(4)]. */
  features(x: SymbolicTensor, phase: Pick<Phase, 'resolution' | 'fading'>): SymbolicTensor {
    const r = phase.resolution;
    const block = this.blocks.get(r)!;
    const image = block.fromFull ? apply(block.fromFull, x) : x; //    [n, r, r, C]
    let h = this.block(r, sequence(block.fromRGB, image)); //            [n, r/2, r/2, nf(r/2)], or [n, nf(4)] at 4×4
    if (phase.fading) {
      const old = sequence(this.blocks.get(r / 2)!.fromRGB, apply(block.fadeDown!, image)); // [n, r/2, r/2, nf(r/2)]
      h = block.fade!.apply([old, h]) as SymbolicTensor;
    }
    for (let s = r / 2; s >= 4; s /= 2) h = this.block(s, h); //          … → [n, 4, 4, nf(4)] → [n, nf(4)]
    return h;
  }

  /** Block r on its input; the minibatch standard deviation goes before the 4×4 block. */
  private block(r: number, h: SymbolicTensor): SymbolicTensor {
    if (r === 4 && this.stddev) h = apply(this.stddev, h); //          [n, 4, 4, nf(4) + 1]
    return sequence(this.blocks.get(r)!.layers, h);
  }

  head(features: SymbolicTensor, units: number, name: string): SymbolicTensor {
    const layer = this.heads.get(name);
    if (!layer || (layer.getConfig().units as number) !== units) throw new Error(`progan's D has no head ${name} of ${units} units`);
    return apply(layer, features); //                                   [n, units]
  }
}

function sequence(layers: tf.layers.Layer[], x: SymbolicTensor): SymbolicTensor {
  return layers.reduce((h, layer) => apply(layer, h), x);
}

// ---------------------------------------------------------------------------------------------------------------
// The phases' models, and the architecture row

/** The final resolution, stable: the network a finished run has (and the architecture row builds). */
const finished = (imageSize: number) => ({ resolution: imageSize, fading: false });

/**
 * G and D for every phase of a growing run, all built from one set of layers: the phases share every weight they have
 * in common, so moving to the next phase keeps what was learnt without copying. Each model has the inputs and outputs
 * build.ts gives every architecture's (z, and the class when conditional → images at the final size; images → the
 * logit, and class logits), so checkpoints, sampling and the grids take any phase's models as they are. The weights
 * are those buildGenerator and buildDiscriminator draw for `progan` from the same seed.
 */
export class ProgressiveGan {
  private readonly g: GeneratorLayers;
  private readonly d: DiscriminatorLayers;
  /** a conditional G's class input, as build.ts makes it */
  private readonly conditional?: { embedding: tf.layers.Layer; flatten: tf.layers.Layer; multiply: tf.layers.Layer };
  private readonly built = new Map<string, { G: tf.LayersModel; D: tf.LayersModel }>();

  constructor(readonly shape: ModelShape, readonly seed: number) {
    checkSchedule(shape.imageSize, 0);
    const t = tricksOf(shape, PROGAN_TRICKS);
    const gInit = new Init(seed, 'G');
    if (shape.classes) {
      this.conditional = {
        embedding: tf.layers.embedding({
          inputDim: shape.classes, outputDim: shape.latent, embeddingsInitializer: gInit.glorotNormal(), name: 'class_embedding',
        }),
        flatten: tf.layers.flatten({ name: 'class_vector' }),
        multiply: tf.layers.multiply({ name: 'latent_times_class' }),
      };
    }
    this.g = new GeneratorLayers(shape, gInit, t);
    this.d = new DiscriminatorLayers(shape, new Init(seed, 'D'), t);
  }

  /** The phase's G and D, built on first use (a phase's α is in its fade layers: see setAlpha). */
  models(phase: Pick<Phase, 'resolution' | 'fading'>): { G: tf.LayersModel; D: tf.LayersModel } {
    const key = `${phase.resolution}${phase.fading ? ' fading' : ''}`;
    let models = this.built.get(key);
    if (!models) {
      models = { G: this.generator([phase]), D: this.discriminator([phase]) };
      this.built.set(key, models);
    }
    return models;
  }

  /**
   * G and D with every layer: each has the outputs of every fade (fading in r uses the blocks up to r and both r's and
   * r/2's toRGB or fromRGB, so the fades together use them all). A checkpoint of a growing run keeps these, and with
   * them the weights that the phase's models leave out. Built once; building them builds every layer's weights.
   */
  whole(): { G: tf.LayersModel; D: tf.LayersModel } {
    let models = this.built.get('whole');
    if (!models) {
      const fades = resolutions(this.shape.imageSize).slice(1).map((resolution) => ({ resolution, fading: true }));
      models = { G: this.generator(fades), D: this.discriminator(fades) };
      this.built.set('whole', models);
    }
    return models;
  }

  /** Writes the phase's α into G's and D's fade layers (a stable phase has none to write). */
  setAlpha(phase: Phase): void {
    if (!phase.fading) return;
    this.models(phase);
    this.g.fade(phase.resolution)!.setAlpha(phase.alpha);
    this.d.fade(phase.resolution)!.setAlpha(phase.alpha);
  }

  /** G of the phases: z (and the class) → the images of each phase, at the final size. */
  private generator(phases: Pick<Phase, 'resolution' | 'fading'>[]): tf.LayersModel {
    const z = tf.input({ shape: [this.shape.latent], name: 'latent' }); // [n, latent]
    const outputs = (zc: SymbolicTensor) => {
      const images = phases.map((phase) => this.g.apply(zc, phase)); // [n, R, R, C] each
      return images.length === 1 ? images[0] : images;
    };
    if (!this.conditional) return tf.model({ inputs: z, outputs: outputs(z), name: 'generator' });
    const c = tf.input({ shape: [1], name: 'class' }); //                 [n, 1]
    const { embedding, flatten, multiply } = this.conditional;
    const zc = multiply.apply([z, apply(flatten, apply(embedding, c))]) as SymbolicTensor; // [n, latent]
    return tf.model({ inputs: [z, c], outputs: outputs(zc), name: 'generator' });
  }

  /** D of the phases: images at the final size → each phase's logit (and class logits). */
  private discriminator(phases: Pick<Phase, 'resolution' | 'fading'>[]): tf.LayersModel {
    const { imageSize, channels, classes } = this.shape;
    const x = tf.input({ shape: [imageSize, imageSize, channels], name: 'image' });
    const outputs = phases.flatMap((phase) => {
      const features = this.d.features(x, phase);
      const logit = this.d.head(features, 1, 'd_out'); //                 [n, 1]
      return classes ? [logit, this.d.head(features, classes, 'd_class')] : [logit];
    });
    return tf.model({ inputs: x, outputs: outputs.length === 1 ? outputs[0] : outputs, name: 'discriminator' });
  }

  /** Releases every phase's models (their shared weights go with the last). */
  dispose(): void {
    for (const { G, D } of this.built.values()) {
      G.dispose();
      D.dispose();
    }
    this.built.clear();
  }
}

/** ProGAN's D at the final resolution, stable, as an architecture's body (stylegan's D too). */
export function proganDiscriminator(shape: ModelShape, init: Init, defaults: Required<Tricks> = PROGAN_TRICKS): DiscriminatorBody {
  const layers = new DiscriminatorLayers(shape, init, tricksOf(shape, defaults));
  return {
    features: (x) => layers.features(x, finished(shape.imageSize)), //   [n, R, R, C] → [n, nf(4)]
    head: (features, units, name) => layers.head(features, units, name),
  };
}

/**
 * `--arch progan`: the finished network (the final resolution, stable) for everything that builds an architecture's
 * models; a growing run builds its phases with ProgressiveGan. The recipe is the official config.py's: Adam lr 0.001,
 * β1 0, β2 0.99 (TF's Adam, whose ε sits where Keras' does — but ε 1e-8, where our Keras form has Keras' 1e-7), batch 16
 * (minibatch_base), latent 128 here where the official's is 512 (its 4×4 width).
 */
export const progan: Architecture = {
  name: 'progan',
  source: 'https://github.com/tkarras/progressive_growing_of_gans/blob/master/networks.py',
  imageSizes: takesProganSize,
  imageSizesText: '8, 16, 32, 64, 128 or 256',
  defaults: { imageSize: 64, width: 16, latent: 128, batchSize: 16, lr: 0.001, beta1: 0, beta2: 0.99 },
  recipe: { framework: 'keras', optimizer: 'adam', reduction: 'mean', step: 'pytorch-examples' },
  tricks: PROGAN_TRICKS,

  // 64 px, width 16:                                                    [n, 128]
  generator: (shape, init) => {
    const layers = new GeneratorLayers(shape, init, tricksOf(shape, PROGAN_TRICKS));
    return (z) => layers.apply(z, finished(shape.imageSize)); //        [n, 64, 64, C]
  },
  discriminator: (shape, init) => proganDiscriminator(shape, init),
};
