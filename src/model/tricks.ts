// ProGAN's tricks (Karras et al. 2018) on any architecture's layers. Each helper gives the stock tfjs layer, built
// from the same arguments, when its trick is off, so a preset without tricks keeps its source's numbers exactly; and an
// equalized layer takes the seed of the initialiser the stock one would have had, so turning a trick on moves no
// other layer's draw.
import * as tf from '@tensorflow/tfjs';
import type { ModelShape, SymbolicTensor, Tricks } from './architecture.js';
import { EqualizedConv2D, EqualizedConv2DTranspose, EqualizedDense, MinibatchStddev, PixelNorm, type EqualizedActivation } from './progan-layers.js';

/** The DCGAN presets' defaults: their sources use none. */
export const NO_TRICKS: Required<Tricks> = { minibatchStddev: false, equalizedLr: false, pixelNorm: false };

/** The tricks a model is built with: those `shape` asks for, the architecture's `defaults` for the rest. */
export function tricksOf(shape: ModelShape, defaults: Required<Tricks>): Required<Tricks> {
  const asked = shape.tricks ?? {};
  return {
    minibatchStddev: asked.minibatchStddev ?? defaults.minibatchStddev,
    equalizedLr: asked.equalizedLr ?? defaults.equalizedLr,
    pixelNorm: asked.pixelNorm ?? defaults.pixelNorm,
  };
}

/**
 * The tricks as the flags and config.json say them — --minibatch-stddev off | book | a group size, --equalized-lr,
 * --pixel-norm — and back. A flag left out (undefined) is the architecture's default.
 */
export interface TrickOptions {
  minibatchStddev?: string;
  equalizedLr?: boolean;
  pixelNorm?: boolean;
}

export function tricksFromOptions(o: TrickOptions): Tricks {
  const mode = o.minibatchStddev;
  return {
    ...(mode === undefined ? {} : { minibatchStddev: mode === 'off' ? false : mode === 'book' ? {} : { groupSize: Number(mode) } }),
    ...(o.equalizedLr === undefined ? {} : { equalizedLr: o.equalizedLr }),
    ...(o.pixelNorm === undefined ? {} : { pixelNorm: o.pixelNorm }),
  };
}

export function trickOptions(t: Required<Tricks>): Required<TrickOptions> {
  const m = t.minibatchStddev;
  return { minibatchStddev: m === false ? 'off' : m.groupSize ? String(m.groupSize) : 'book', equalizedLr: t.equalizedLr, pixelNorm: t.pixelNorm };
}

/** For an architecture that takes no tricks: refuses a shape that asks for one. */
export function refuseTricks(arch: string, shape: ModelShape): void {
  const asked = Object.entries(shape.tricks ?? {}).filter(([, on]) => on).map(([name]) => name);
  if (asked.length) throw new Error(`${arch} takes none of ProGAN's tricks (asked for ${asked.join(', ')}): they apply to the convolutional architectures`);
}

type Initializer = ReturnType<typeof tf.initializers.randomNormal>;
type ConvArgs = NonNullable<Parameters<typeof tf.layers.conv2d>[0]>;
type DenseArgs = NonNullable<Parameters<typeof tf.layers.dense>[0]>;

/** The seed of the initialiser a stock layer would have drawn its weights with (the architectures always give one). */
function seedOf(init: unknown): number | undefined {
  return (init as Initializer | undefined)?.getConfig?.().seed as number | undefined;
}

/** A stock layer's kernel size or strides, one number or one per side: the equalized layers take square ones. */
const single = (v: number | number[]): number => {
  const sides = typeof v === 'number' ? [v] : v;
  if (new Set(sides).size !== 1) throw new Error('equalized layers take square kernels and strides');
  return sides[0];
};

/** the stock layer's activation, where the equalized one has it */
function activationOf(args: { activation?: unknown }): EqualizedActivation {
  const a = (args.activation ?? 'linear') as string;
  if (a !== 'linear' && a !== 'relu' && a !== 'tanh') throw new Error(`equalized layers take no ${a} activation`);
  return a;
}

/**
 * Equalized layers' arguments from a stock convolution's: its padding and bias defaults (valid, with a bias); `gain`
 * He's: √2 before a (leaky) ReLU, 1 for a network's output layer.
 */
function equalizedConvArgs(args: ConvArgs, gain: number) {
  return {
    filters: args.filters, kernelSize: single(args.kernelSize), strides: single(args.strides ?? 1), padding: (args.padding ?? 'valid') as 'same' | 'valid',
    useBias: args.useBias ?? true, activation: activationOf(args), gain, seed: seedOf(args.kernelInitializer), name: args.name,
  };
}

/** tf.layers.conv2d, or its equalized-learning-rate form. */
export function conv2d(t: Required<Tricks>, args: ConvArgs, gain = Math.SQRT2): tf.layers.Layer {
  return t.equalizedLr ? new EqualizedConv2D(equalizedConvArgs(args, gain)) : tf.layers.conv2d(args);
}

/** tf.layers.conv2dTranspose, or its equalized-learning-rate form. */
export function conv2dTranspose(t: Required<Tricks>, args: ConvArgs, gain = Math.SQRT2): tf.layers.Layer {
  return t.equalizedLr ? new EqualizedConv2DTranspose(equalizedConvArgs(args, gain)) : tf.layers.conv2dTranspose(args);
}

/** tf.layers.dense, or its equalized-learning-rate form. */
export function dense(t: Required<Tricks>, args: DenseArgs, gain = Math.SQRT2): tf.layers.Layer {
  if (!t.equalizedLr) return tf.layers.dense(args);
  return new EqualizedDense({
    units: args.units, useBias: args.useBias ?? true, activation: activationOf(args), gain, seed: seedOf(args.kernelInitializer), name: args.name,
  });
}

/** G's features after a hidden block, pixel-normalised when asked. */
export function pixelNorm(t: Required<Tricks>, x: SymbolicTensor, name: string): SymbolicTensor {
  return t.pixelNorm ? (new PixelNorm({ name }).apply(x) as SymbolicTensor) : x;
}

/** D's last features, with the minibatch standard deviation appended when asked ([…, C] → […, C + 1]). */
export function minibatchStddev(t: Required<Tricks>, x: SymbolicTensor, name: string): SymbolicTensor {
  if (!t.minibatchStddev) return x;
  return new MinibatchStddev({ groupSize: t.minibatchStddev.groupSize ?? null, name }).apply(x) as SymbolicTensor;
}
