// The layers of StyleGAN's generator (Karras et al. 2019; NVlabs/stylegan, training/networks_stylegan.py), as tfjs
// layers that save in model.json and load with tf.loadLayersModel anywhere (registered under their class names, built
// of tfjs-core ops). Importing this file registers them.
//
// - ConstantInput: the synthesis network's learned 4×4 input (ones at the start, as the official 'const').
// - NoiseInjection: x + noise·s, one N(0, 1) map per image broadcast over the channels, s a learned per-channel factor
//   (zeros at the start: apply_noise). In training the noise is drawn from a seed that follows the training step
//   (step-seed.ts), so a resumed run draws what the run that never stopped did; in inference every image gets the
//   same stored map (the official randomize_noise=False), so an image depends on its latent only.
// - AdaIN: each feature map instance-normalised (x − μ)/√(σ² + 1e-8) over its pixels, then scaled and shifted per
//   channel by an affine map of w: StyleGAN's style_mod, x·(1 + y_s) + y_b, [y_s, y_b] = w·A + b with A an
//   equalized-learning-rate dense layer of gain 1 and b = 0 at the start — so an untrained layer's scale is 1, not 0
//   (the paper's formula y_s·x + y_b with the 1 folded into the bias's start). It takes [x, w per layer] and picks
//   its own layer's w.
// - WAverage: w̄, the moving average of w in training (w̄ ← mean(w) + β·(w̄ − mean(w)), β 0.995: dlatent_avg), and
//   the truncation trick in inference, w' = w̄ + ψ·(w − w̄) (ψ 1, no truncation, unless set).
// (Layer.apply marks a layer built once its build() has run: the builds here leave that to it.)
import * as tf from '@tensorflow/tfjs';
import { seedForCall } from './step-seed.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = tf.Shape;

const one = (inputs: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(inputs) ? inputs[0] : inputs);
const oneShape = (s: Shape | Shape[]): Shape => (Array.isArray(s[0]) ? (s as Shape[])[0] : (s as Shape));

/** A learned [size, size, channels] tensor, repeated for each image of the input's batch (the input only gives n). */
export class ConstantInput extends tf.layers.Layer {
  static className = 'ConstantInput';
  readonly size: number;
  readonly channels: number;
  private constant!: tf.LayerVariable;

  constructor(args: LayerArgs & { size: number; channels: number }) {
    super(args);
    this.size = args.size;
    this.channels = args.channels;
  }

  override build(): void {
    this.constant = this.addWeight('const', [1, this.size, this.size, this.channels], 'float32', tf.initializers.ones());
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [oneShape(inputShape)[0], this.size, this.size, this.channels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.tile(this.constant.read(), [one(inputs).shape[0], 1, 1, 1]));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), size: this.size, channels: this.channels };
  }
}

/** x + noise·strength (see the top of the file); `seed` fixes the stored map and, with the step, training's draws. */
export class NoiseInjection extends tf.layers.Layer {
  static className = 'NoiseInjection';
  readonly seed: number;
  private strength!: tf.LayerVariable;
  private fixedNoise!: tf.LayerVariable;

  constructor(args: LayerArgs & { seed: number }) {
    super(args);
    this.seed = args.seed;
  }

  override build(inputShape: Shape | Shape[]): void {
    const [, h, w, c] = oneShape(inputShape) as number[];
    this.strength = this.addWeight('strength', [c], 'float32', tf.initializers.zeros());
    const draw = tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: this.seed });
    this.fixedNoise = this.addWeight('noise', [1, h, w, 1], 'float32', draw, undefined, false);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const [n, h, w] = x.shape;
      const noise = kwargs.training
        ? tf.randomNormal([n, h, w, 1], 0, 1, 'float32', seedForCall(this, this.seed)) //  [n, h, w, 1]: one map an image
        : this.fixedNoise.read(); //                                                        [1, h, w, 1]: the same for all
      return tf.add(x, tf.mul(noise, this.strength.read()));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed };
  }
}

/** Instance norm, then x·(1 + y_s) + y_b from w (see the top of the file); inputs [x, w per layer], `index` this layer's. */
export class AdaIN extends tf.layers.Layer {
  static className = 'AdaIN';
  readonly index: number;
  readonly epsilon: number;
  readonly seed: number | undefined;
  private kernel!: tf.LayerVariable;
  private bias!: tf.LayerVariable;
  /** the affine map's equalized scale, 1/√(w's size) (gain 1) */
  scale = NaN;

  constructor(args: LayerArgs & { index: number; epsilon?: number; seed?: number }) {
    super(args);
    this.index = args.index;
    this.epsilon = args.epsilon ?? 1e-8;
    this.seed = args.seed;
  }

  override build(inputShape: Shape | Shape[]): void {
    const [xShape, wShape] = inputShape as Shape[];
    const channels = xShape.at(-1) as number;
    const wSize = wShape.at(-1) as number;
    this.kernel = this.addWeight('kernel', [wSize, 2 * channels], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: this.seed }));
    this.bias = this.addWeight('bias', [2 * channels], 'float32', tf.initializers.zeros());
    this.scale = 1 / Math.sqrt(wSize);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (inputShape as Shape[])[0];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [x, ws] = inputs as tf.Tensor[];
      const [n, , , c] = x.shape;
      const w = tf.reshape(tf.slice(ws, [0, this.index, 0], [-1, 1, -1]), [n, -1]); //      [n, d]: this layer's w
      const style = tf.add(tf.matMul(w as tf.Tensor2D, tf.mul(this.kernel.read(), this.scale) as tf.Tensor2D), this.bias.read()); // [n, 2C]
      const scale = tf.reshape(tf.add(1, tf.slice(style, [0, 0], [-1, c])), [n, 1, 1, c]);
      const shift = tf.reshape(tf.slice(style, [0, c], [-1, c]), [n, 1, 1, c]);
      const { mean, variance } = tf.moments(x, [1, 2], true); //                               [n, 1, 1, C]
      const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(normalised, scale), shift);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), index: this.index, epsilon: this.epsilon };
  }
}

/** w̄ tracked in training, truncation toward it in inference (see the top of the file); [n, d] in and out. */
export class WAverage extends tf.layers.Layer {
  static className = 'WAverage';
  readonly beta: number;
  /** the truncation ψ applied in inference: 1 leaves w alone, 0 gives w̄ */
  psi: number;
  private average!: tf.LayerVariable;

  constructor(args: LayerArgs & { beta?: number; psi?: number } = {}) {
    super(args);
    this.beta = args.beta ?? 0.995;
    this.psi = args.psi ?? 1;
  }

  override build(inputShape: Shape | Shape[]): void {
    const size = oneShape(inputShape).at(-1) as number;
    this.average = this.addWeight('w_avg', [size], 'float32', tf.initializers.zeros(), undefined, false);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  /** w̄ as it stands, [d] */
  get wAverage(): tf.Tensor1D {
    return this.average.read().clone() as tf.Tensor1D;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const w = one(inputs);
    if (kwargs.training) {
      tf.tidy(() => {
        const batch = tf.mean(w, 0);
        this.average.write(tf.add(batch, tf.mul(tf.sub(this.average.read(), batch), this.beta)));
      });
      return tf.clone(w);
    }
    return truncate(w, this.average.read(), this.psi);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), beta: this.beta, psi: this.psi };
  }
}

/**
 * The truncation trick, w' = w̄ + ψ·(w − w̄), for w of any shape ending in w̄'s. Computed as ψ·w + (1 − ψ)·w̄, the same
 * line, so that ψ = 1 gives w and ψ = 0 gives w̄ exactly.
 */
export function truncate(w: tf.Tensor, wAverage: tf.Tensor, psi: number): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul(psi, w), tf.mul(1 - psi, wAverage)));
}

for (const layer of [ConstantInput, NoiseInjection, AdaIN, WAverage]) tf.serialization.registerClass(layer);
