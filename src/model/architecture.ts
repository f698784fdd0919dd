// What an architecture is to the rest of dcgan: builders for G's and D's bodies, the image sizes it takes, and the
// training recipe of its source. build.ts turns one into tfjs models (adding the class inputs and heads of a
// conditional run); architectures.ts lists them.
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../util/rng.js';

export type SymbolicTensor = tf.SymbolicTensor;
type Initializer = ReturnType<typeof tf.initializers.randomNormal>;

/** The sizes a model is built at; `classes` 0 means unconditional. */
export interface ModelShape {
  imageSize: number;
  /** the architecture's base width: channels (or units) of its widest-resolution block */
  width: number;
  latent: number;
  channels: 1 | 3;
  classes: number;
  /** ProGAN's tricks; left out (or a field of it left out): the architecture's default */
  tricks?: Tricks;
}

/**
 * ProGAN's three tricks (Karras et al. 2018; progan-layers.ts has the layers), options of every convolutional
 * architecture. A field left out takes the architecture's default: off for the DCGAN presets (so their numbers stay
 * their sources'), on for progan.
 */
export interface Tricks {
  /**
   * A feature map of the batch's standard deviation appended to D's last features, before its head: `{}` the book's
   * definition (Hands-on ML: over instances and channels, one value a batch), `{ groupSize: 4 }` Karras et al.'s.
   */
  minibatchStddev?: false | { groupSize?: number };
  /** every convolution and dense layer's weights stored as N(0, 1) and scaled at run time by He's √(2 / fan_in) */
  equalizedLr?: boolean;
  /** G's features normalised per pixel (x / √(mean over channels of x² + 1e-8)) after each of its hidden blocks */
  pixelNorm?: boolean;
}

/** The training recipe of the architecture's source; flags override each. */
export interface TrainingDefaults {
  imageSize: number;
  width: number;
  latent: number;
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
}

/**
 * How the source trains: its framework (which fixes the optimizers' formulas and ε), optimizer, loss reduction and the
 * order of its updates within a step (src/train/step.ts spells each out).
 */
export interface Recipe {
  framework: 'pytorch' | 'keras';
  optimizer: 'adam' | 'rmsprop';
  /** how a batch's cross-entropies are combined: d2l sums them, the others average */
  reduction: 'sum' | 'mean';
  /**
   * d2l: update_D on (x, G(z)), then update_G on a fresh G(z), the same z.
   * pytorch-examples: one G(z); D on x and G(z).detach() (errD_real + errD_fake), then G through that same G(z).
   * hands-on: D on the concatenation [G(z₁) in inference mode, x]; then G in training mode on a new z₂.
   * keras-gan: D twice, on x then on G(z₁) in inference mode (two optimizer steps); then G on a new z₂.
   */
  step: 'd2l' | 'pytorch-examples' | 'hands-on' | 'keras-gan';
}

/** The layers of D between the image and its outputs: `features` once, then one `head` per output. */
export interface DiscriminatorBody {
  features: (x: SymbolicTensor) => SymbolicTensor;
  /** an output of `units` logits per image ([n, units]) from the features; `name` prefixes its layers */
  head: (features: SymbolicTensor, units: number, name: string) => SymbolicTensor;
}

export interface Architecture {
  name: string;
  /** where it comes from (what it is, for people: ARCH_TITLES in catalog.ts) */
  source: string;
  /** the image sides it builds, or a check that says which it takes */
  imageSizes: readonly number[] | ((size: number) => boolean);
  /** how the accepted sizes read in a message ("16, 32, 64 or 128") */
  imageSizesText: string;
  defaults: TrainingDefaults;
  recipe: Recipe;
  /** G from its input ([n, latent]: z, or z combined with the class) to images in [-1, 1], NHWC */
  generator: (shape: ModelShape, init: Init) => (z: SymbolicTensor) => SymbolicTensor;
  discriminator: (shape: ModelShape, init: Init) => DiscriminatorBody;
  /** the tricks it trains with unless told otherwise; absent: it takes none (a ModelShape asking for one is refused) */
  tricks?: Required<Tricks>;
}

export function takesImageSize(arch: Architecture, size: number): boolean {
  return typeof arch.imageSizes === 'function' ? arch.imageSizes(size) : arch.imageSizes.includes(size);
}

/**
 * Initialisers with seeds derived from the run's seed and the layer's position, so that a run's start is reproducible
 * and G's and D's draws never overlap.
 */
export class Init {
  private next = 0;
  /** `purpose` keeps the networks' streams apart: 'G', 'D' */
  constructor(private readonly seed: number, private readonly purpose: string) {}

  private nextSeed(): number {
    return deriveSeed(this.seed, `${this.purpose}/${this.next++}`);
  }

  normal(stddev: number, mean = 0): Initializer {
    return tf.initializers.randomNormal({ mean, stddev, seed: this.nextSeed() });
  }

  glorotUniform(): Initializer {
    return tf.initializers.glorotUniform({ seed: this.nextSeed() });
  }

  glorotNormal(): Initializer {
    return tf.initializers.glorotNormal({ seed: this.nextSeed() });
  }

  /** a dropout layer's seed: its masks repeat from run to run */
  seedForDropout(): number {
    return this.nextSeed();
  }

  /** a seed for a layer that draws its own numbers (equalized weights, noise maps) */
  seedForLayer(): number {
    return this.nextSeed();
  }
}
