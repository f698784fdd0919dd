// Layers as the references' frameworks define them, for the architectures to share: PyTorch's batch norm and padded
// (transposed) convolutions, Keras' batch norm and default initialisers.
import * as tf from '@tensorflow/tfjs';
import type { Init, SymbolicTensor, Tricks } from './architecture.js';
import { torchBatchNormalization } from './batch-norm.js';
import { seedForCall } from './step-seed.js';
import { conv2d, conv2dTranspose, NO_TRICKS } from './tricks.js';

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

/** A PyTorch convolution's arguments; `tricks` (equalized learning rate) and He's `gain` when a trick is asked for. */
interface TorchConvOptions {
  filters: number;
  kernel: number;
  stride: number;
  padding: number;
  init: Initializer;
  name: string;
  tricks?: Required<Tricks>;
  gain?: number;
}

/**
 * PyTorch's ConvTranspose2d(k, s, p) without bias: the full transposed convolution, `padding` rows and columns cropped
 * from each side; out = (in − 1)·s − 2p + k.
 */
export function torchConvTranspose(x: SymbolicTensor, o: TorchConvOptions): SymbolicTensor {
  const full = apply(conv2dTranspose(o.tricks ?? NO_TRICKS, {
    filters: o.filters, kernelSize: o.kernel, strides: o.stride, padding: 'valid', useBias: false, kernelInitializer: o.init, name: o.name,
  }, o.gain), x);
  if (!o.padding) return full;
  return apply(tf.layers.cropping2D({ cropping: [[o.padding, o.padding], [o.padding, o.padding]], name: `${o.name}_crop` }), full);
}

/** PyTorch's Conv2d(k, s, p) without bias: zero padding on each side, then a valid convolution. */
export function torchConv(x: SymbolicTensor, o: TorchConvOptions): SymbolicTensor {
  const padded = o.padding ? apply(tf.layers.zeroPadding2d({ padding: o.padding, name: `${o.name}_pad` }), x) : x;
  return apply(conv2d(o.tricks ?? NO_TRICKS, {
    filters: o.filters, kernelSize: o.kernel, strides: o.stride, padding: 'valid', useBias: false, kernelInitializer: o.init, name: o.name,
  }, o.gain), padded);
}

/** pytorch/examples' weights_init: convolutions N(0, 0.02), batch-norm γ N(1, 0.02) and β 0. */
export const pytorchExamplesInit = (init: Init) => ({
  conv: () => init.normal(0.02),
  bnGamma: () => init.normal(0.02, 1),
  bnBeta: () => tf.initializers.zeros(),
});

export { apply };

// tfjs's Dropout with a seed draws the same mask at every call, and without one draws from Math.random: neither gives a
// run that trains differently at each step yet resumes exactly. Masks here are drawn from seeds that step-seed.ts
// derives from the layer's seed, the training step and the call within it.
export { setRandomStep } from './step-seed.js';

const DropoutLayer = tf.layers.dropout({ rate: 0.5 }).constructor as new (args: { rate: number; seed?: number; name?: string }) => tf.layers.Layer;

/** Keras' Dropout, training masks drawn per step (see setRandomStep); it saves as a plain Dropout layer. */
class StepSeededDropout extends DropoutLayer {
  constructor(private readonly args: { rate: number; seed: number; name: string }) {
    super(args);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    (this as unknown as { seed: number }).seed = seedForCall(this, this.args.seed);
    return super.call(inputs, kwargs);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.args.seed };
  }
}

export function dropout(rate: number, seed: number, name: string): tf.layers.Layer {
  return new StepSeededDropout({ rate, seed, name });
}
