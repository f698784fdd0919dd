// Layers as the references' frameworks define them, for the architectures to share: PyTorch's batch norm and padded
// (transposed) convolutions, Keras' batch norm and default initialisers.
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../util/rng.js';
import type { Init, SymbolicTensor } from './architecture.js';
import { torchBatchNormalization } from './batch-norm.js';

type Initializer = ReturnType<typeof tf.initializers.randomNormal>;
const apply = (layer: tf.layers.Layer, x: SymbolicTensor) => layer.apply(x) as SymbolicTensor;

/**
 * PyTorch's BatchNorm2d/1d (momentum 0.1, ε 1e-5, the moving variance from the unbiased batch variance), with the
 * architecture's γ and β initialisers. Keras' momentum 0.9 is PyTorch's 0.1.
 */
export function torchBatchNorm(name: string, gamma: Initializer, beta: Initializer): tf.layers.Layer {
  return torchBatchNormalization({ momentum: 0.9, epsilon: 1e-5, gammaInitializer: gamma, betaInitializer: beta, name });
}

/** Keras' BatchNormalization: ε 1e-3, γ = 1, β = 0; momentum 0.99 unless the source sets it. */
export function kerasBatchNorm(name: string, momentum = 0.99): tf.layers.Layer {
  return tf.layers.batchNormalization({ momentum, epsilon: 1e-3, name });
}

/**
 * PyTorch's ConvTranspose2d(k, s, p) without bias: the full transposed convolution, `padding` rows and columns cropped
 * from each side; out = (in − 1)·s − 2p + k.
 */
export function torchConvTranspose(x: SymbolicTensor, o: { filters: number; kernel: number; stride: number; padding: number; init: Initializer; name: string }): SymbolicTensor {
  const full = apply(tf.layers.conv2dTranspose({
    filters: o.filters, kernelSize: o.kernel, strides: o.stride, padding: 'valid', useBias: false, kernelInitializer: o.init, name: o.name,
  }), x);
  if (!o.padding) return full;
  return apply(tf.layers.cropping2D({ cropping: [[o.padding, o.padding], [o.padding, o.padding]], name: `${o.name}_crop` }), full);
}

/** PyTorch's Conv2d(k, s, p) without bias: zero padding on each side, then a valid convolution. */
export function torchConv(x: SymbolicTensor, o: { filters: number; kernel: number; stride: number; padding: number; init: Initializer; name: string }): SymbolicTensor {
  const padded = o.padding ? apply(tf.layers.zeroPadding2d({ padding: o.padding, name: `${o.name}_pad` }), x) : x;
  return apply(tf.layers.conv2d({
    filters: o.filters, kernelSize: o.kernel, strides: o.stride, padding: 'valid', useBias: false, kernelInitializer: o.init, name: o.name,
  }), padded);
}

/** pytorch/examples' weights_init: convolutions N(0, 0.02), batch-norm γ N(1, 0.02) and β 0. */
export const pytorchExamplesInit = (init: Init) => ({
  conv: () => init.normal(0.02),
  bnGamma: () => init.normal(0.02, 1),
  bnBeta: () => tf.initializers.zeros(),
});

export { apply };

// tfjs's Dropout with a seed draws the same mask at every call, and without one draws from Math.random: neither gives a
// run that trains differently at each step yet resumes exactly. Masks here are derived from the layer's seed, the
// training step and the call within it, which the trainer sets before each step.
let randomStep = 0;
const calls = new WeakMap<object, { step: number; count: number }>();

/** The training step whose masks the next calls draw (the trainer sets it before each step). */
export function setRandomStep(step: number): void {
  randomStep = step;
}

const DropoutLayer = tf.layers.dropout({ rate: 0.5 }).constructor as new (args: { rate: number; seed?: number; name?: string }) => tf.layers.Layer;

/** Keras' Dropout, training masks drawn per step (see setRandomStep); it saves as a plain Dropout layer. */
class StepSeededDropout extends DropoutLayer {
  constructor(private readonly args: { rate: number; seed: number; name: string }) {
    super(args);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const seen = calls.get(this);
    const count = seen && seen.step === randomStep ? seen.count + 1 : 0;
    calls.set(this, { step: randomStep, count });
    (this as unknown as { seed: number }).seed = deriveSeed(this.args.seed, `${randomStep}/${count}`);
    return super.call(inputs, kwargs);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.args.seed };
  }
}

export function dropout(rate: number, seed: number, name: string): tf.layers.Layer {
  return new StepSeededDropout({ rate, seed, name });
}
