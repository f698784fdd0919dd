// The layers of Karras et al. 2018, "Progressive Growing of GANs" (tkarras/progressive_growing_of_gans, networks.py),
// as tfjs layers that save in model.json and load with tf.loadLayersModel anywhere, a browser included: each is
// registered under its class name and built of tfjs-core ops only. Importing this file registers them.
//
// - PixelNorm: x / √(mean over channels of x² + ε), ε 1e-8 (networks.py pixel_norm).
// - MinibatchStddev: one feature map holding how much the batch varies. Two definitions:
//   the book's (Géron, Hands-on ML ch. 17): S = reduce_std(x, axis=[0, −1]) (over the instances and the channels, at
//   each position), v = reduce_mean(S), one map filled with v for the whole batch;
//   Karras et al.'s (minibatch_stddev_layer, group_size 4): the batch split into groups, the standard deviation over
//   each group's members of every feature at every position (√(variance + 1e-8)), averaged to one value per group,
//   one map filled with it for the group's members.
//   The book's takes the spread across channels as well as across images (a batch of identical images whose channels
//   differ still scores high); Karras et al.'s measures only how the images differ, per group, which is what the trick
//   is for. progan (the paper's network) uses Karras et al.'s; --minibatch-stddev on the other architectures the
//   book's unless a group size is given.
// - EqualizedConv2D, EqualizedConv2DTranspose, EqualizedDense: equalized learning rate. Weights are stored as N(0, 1)
//   draws and scaled at run time by He's constant gain/√fan_in (gain √2; 1 for the output layers), so Adam, which
//   normalises each weight's step, moves every layer at the same relative speed. StyleGAN's learning-rate multiplier
//   lrMul stores N(0, 1/lrMul) and scales by gain/√fan_in·lrMul (the bias by lrMul): the weights learn lrMul times as
//   fast in effect (networks_stylegan.py get_weight, apply_bias).
// - FadeIn: α·new + (1 − α)·old, α a non-trainable weight (saved with the model, so a checkpoint records it).
// - Downscale2D: the 2×2 (factor×factor) box filter down, as a mean over a reshape: the same numbers as
//   averagePooling2d, but tfjs 4.22 has no gradient for AvgPoolGrad, so a discriminator with averagePooling2d cannot
//   take the gradient penalty's second-order gradient; reshape and mean can.
// (Layer.apply marks a layer built once its build() has run: the builds here leave that to it.)
import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = tf.Shape;
type Initializer = ReturnType<typeof tf.initializers.randomNormal>;

const one = (inputs: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(inputs) ? inputs[0] : inputs);
const oneShape = (s: Shape | Shape[]): Shape => (Array.isArray(s[0]) ? (s as Shape[])[0] : (s as Shape));

/** x / √(mean over the last axis of x² + ε): each pixel's feature vector to unit length (G, after each convolution). */
export class PixelNorm extends tf.layers.Layer {
  static className = 'PixelNorm';
  readonly epsilon: number;

  constructor(args: LayerArgs & { epsilon?: number } = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-8;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), this.epsilon)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

/** The largest group size at most `wanted` that divides the batch (Karras et al. require the batch divisible by it). */
export function stddevGroupSize(batch: number, wanted: number): number {
  let g = Math.min(wanted, batch);
  while (batch % g !== 0) g--;
  return g;
}

/**
 * Appends one feature map of the batch's standard deviation (see the top of the file): `groupSize` null is the
 * book's definition, a number Karras et al.'s with groups of that many images (fewer where the batch is not divisible
 * by it: the largest size that divides it). Works on [n, …, C] of any rank (a flat [n, features] gets one feature).
 */
export class MinibatchStddev extends tf.layers.Layer {
  static className = 'MinibatchStddev';
  readonly groupSize: number | null;

  constructor(args: LayerArgs & { groupSize?: number | null } = {}) {
    super(args);
    this.groupSize = args.groupSize ?? null;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(inputShape);
    const channels = s[s.length - 1];
    return [...s.slice(0, -1), channels == null ? null : channels + 1];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const n = x.shape[0];
      let value: tf.Tensor; //                                          what each image's map holds
      if (this.groupSize == null) {
        const { variance } = tf.moments(x, [0, x.rank - 1]); //         over instances and channels, at each position
        value = tf.mean(tf.sqrt(variance)); //                          one number for the batch
      } else {
        const g = stddevGroupSize(n, this.groupSize);
        const groups = n / g; //                                        image i is in group i mod groups
        const y = tf.reshape(x, [g, groups, ...x.shape.slice(1)]); //   [G, M, …, C]
        const { variance } = tf.moments(y, 0); //                        [M, …, C]: over each group's members
        const std = tf.sqrt(tf.add(variance, 1e-8));
        const perGroup = tf.mean(std, [...Array(std.rank - 1).keys()].map((a) => a + 1)); // [M]
        value = tf.reshape(tf.tile(perGroup, [g]), [n, ...Array(x.rank - 1).fill(1)]); //   [n, 1, …, 1]
      }
      const map = tf.mul(value, tf.ones([...x.shape.slice(0, -1), 1])); // [n, …, 1]
      return tf.concat([x, map], -1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groupSize: this.groupSize };
  }
}

export type EqualizedActivation = 'linear' | 'relu' | 'tanh';
const activate: Record<EqualizedActivation, (x: tf.Tensor) => tf.Tensor> = { linear: (x) => x, relu: tf.relu, tanh: tf.tanh };

interface EqualizedArgs extends LayerArgs {
  /** He's gain: √2 before a (leaky) ReLU, 1 before none */
  gain?: number;
  /** StyleGAN's learning-rate multiplier (1: plain equalized learning rate) */
  lrMul?: number;
  useBias?: boolean;
  activation?: EqualizedActivation;
  /** the N(0, 1/lrMul) draw's seed; loading a model overwrites the weights, so it only matters for a fresh one */
  seed?: number;
}

/** What the three equalized layers share: the stored weight, its run-time scale and the bias. */
abstract class Equalized extends tf.layers.Layer {
  readonly gain: number;
  readonly lrMul: number;
  readonly useBias: boolean;
  readonly activation: EqualizedActivation;
  readonly seed: number | undefined;
  protected kernel!: tf.LayerVariable;
  protected bias?: tf.LayerVariable;
  /** gain/√fan_in·lrMul, set when the layer is built */
  scale = NaN;

  constructor(args: EqualizedArgs) {
    super(args);
    this.gain = args.gain ?? Math.SQRT2;
    this.lrMul = args.lrMul ?? 1;
    this.useBias = args.useBias ?? true;
    this.activation = args.activation ?? 'linear';
    this.seed = args.seed;
  }

  /** Adds the kernel, drawn from N(0, 1/lrMul), and the zero bias; `fanIn` inputs feed each output. */
  protected addEqualizedWeights(kernelShape: number[], fanIn: number, units: number): void {
    const init: Initializer = tf.initializers.randomNormal({ mean: 0, stddev: 1 / this.lrMul, seed: this.seed });
    this.kernel = this.addWeight('kernel', kernelShape, 'float32', init);
    if (this.useBias) this.bias = this.addWeight('bias', [units], 'float32', tf.initializers.zeros());
    this.scale = (this.gain / Math.sqrt(fanIn)) * this.lrMul;
  }

  protected scaledKernel(): tf.Tensor {
    return tf.mul(this.kernel.read(), this.scale);
  }

  protected finish(y: tf.Tensor): tf.Tensor {
    if (this.bias) y = tf.add(y, this.lrMul === 1 ? this.bias.read() : tf.mul(this.bias.read(), this.lrMul));
    return activate[this.activation](y);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), gain: this.gain, lrMul: this.lrMul, useBias: this.useBias, activation: this.activation };
  }
}

type ConvArgs = EqualizedArgs & { filters: number; kernelSize: number; strides?: number; padding?: 'same' | 'valid' };

/** What both equalized convolutions hold and serialise: filters, a square kernel and strides, the padding. */
abstract class EqualizedConv extends Equalized {
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: 'same' | 'valid';

  constructor(args: ConvArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides ?? 1;
    this.padding = args.padding ?? 'same';
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, strides: this.strides, padding: this.padding };
  }
}

/** tf.layers.conv2d (square kernel and strides) with an equalized learning rate; fan_in = k²·channels in. */
export class EqualizedConv2D extends EqualizedConv {
  static className = 'EqualizedConv2D';

  override build(inputShape: Shape | Shape[]): void {
    const channels = oneShape(inputShape).at(-1) as number;
    const k = this.kernelSize;
    this.addEqualizedWeights([k, k, channels, this.filters], k * k * channels, this.filters);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [n, h, w] = oneShape(inputShape);
    const side = (d: number | null) => {
      if (d == null) return null;
      return this.padding === 'same' ? Math.ceil(d / this.strides) : Math.floor((d - this.kernelSize) / this.strides) + 1;
    };
    return [n, side(h), side(w), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.finish(tf.conv2d(one(inputs) as tf.Tensor4D, this.scaledKernel() as tf.Tensor4D, this.strides, this.padding)));
  }
}

/**
 * tf.layers.conv2dTranspose (square kernel and strides) with an equalized learning rate. fan_in = k²·channels in, as
 * Karras et al.'s upscale2d_conv2d counts it. The kernel is tfjs's [k, k, out, in].
 */
export class EqualizedConv2DTranspose extends EqualizedConv {
  static className = 'EqualizedConv2DTranspose';

  override build(inputShape: Shape | Shape[]): void {
    const channels = oneShape(inputShape).at(-1) as number;
    const k = this.kernelSize;
    this.addEqualizedWeights([k, k, this.filters, channels], k * k * channels, this.filters);
  }

  /** tfjs's deconvLength: `same` multiplies by the stride, `valid` adds the kernel's overhang */
  private side(d: number): number {
    return this.padding === 'same' ? d * this.strides : (d - 1) * this.strides + this.kernelSize;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [n, h, w] = oneShape(inputShape);
    return [n, h == null ? null : this.side(h), w == null ? null : this.side(w), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor4D;
      const [n, h, w] = x.shape;
      const out: [number, number, number, number] = [n, this.side(h), this.side(w), this.filters];
      return this.finish(tf.conv2dTranspose(x, this.scaledKernel() as tf.Tensor4D, out, this.strides, this.padding));
    });
  }
}

/** tf.layers.dense on [n, features] with an equalized learning rate; fan_in = features in. */
export class EqualizedDense extends Equalized {
  static className = 'EqualizedDense';
  readonly units: number;

  constructor(args: EqualizedArgs & { units: number }) {
    super(args);
    this.units = args.units;
  }

  override build(inputShape: Shape | Shape[]): void {
    const features = oneShape(inputShape).at(-1) as number;
    this.addEqualizedWeights([features, this.units], features, this.units);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [oneShape(inputShape)[0], this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.finish(tf.matMul(one(inputs) as tf.Tensor2D, this.scaledKernel() as tf.Tensor2D)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units };
  }
}

/**
 * α·new + (1 − α)·old for inputs [old, new] of one shape: a new block faded in over the old path. α is a non-trainable
 * weight (0 when built; `setAlpha` writes it), so the model's saved weights record it.
 */
export class FadeIn extends tf.layers.Layer {
  static className = 'FadeIn';
  private alphaWeight!: tf.LayerVariable;

  override build(): void {
    this.alphaWeight = this.addWeight('alpha', [1], 'float32', tf.initializers.zeros(), undefined, false);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [old, fresh] = inputs as tf.Tensor[];
    return tf.tidy(() => {
      const alpha = this.alphaWeight.read();
      return tf.add(tf.mul(alpha, fresh), tf.mul(tf.sub(1, alpha), old));
    });
  }

  get alpha(): number {
    return this.alphaWeight.read().dataSync()[0];
  }

  setAlpha(alpha: number): void {
    if (!(alpha >= 0 && alpha <= 1)) throw new Error(`${this.name}: α must be in [0, 1], not ${alpha}`);
    tf.tidy(() => {
      this.alphaWeight.write(tf.tensor1d([alpha]));
    });
  }
}

/** The factor×factor box filter down: each output pixel the mean of its block ([n, h, w, c] → [n, h/f, w/f, c]). */
export class Downscale2D extends tf.layers.Layer {
  static className = 'Downscale2D';
  readonly factor: number;

  constructor(args: LayerArgs & { factor?: number } = {}) {
    super(args);
    this.factor = args.factor ?? 2;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [n, h, w, c] = oneShape(inputShape);
    const f = this.factor;
    return [n, h == null ? null : h / f, w == null ? null : w / f, c];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const [n, h, w, c] = x.shape;
      const f = this.factor;
      return tf.mean(tf.reshape(x, [n, h / f, f, w / f, f, c]), [2, 4]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), factor: this.factor };
  }
}

for (const layer of [PixelNorm, MinibatchStddev, EqualizedConv2D, EqualizedConv2DTranspose, EqualizedDense, FadeIn, Downscale2D]) {
  tf.serialization.registerClass(layer);
}
