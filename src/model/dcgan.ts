// The DCGAN of Radford et al. in the shape "Dive into Deep Learning" teaches it (chapter "Deep Convolutional GANs").
// At image size 64 and width 64 the generator is exactly d2l's: 100 → 512·4² → 256·8² → 128·16² → 64·32² → 3·64².
import * as tf from '@tensorflow/tfjs';
import { torchBatchNormalization } from './batch-norm.js';

export const IMAGE_SIZES = [16, 32, 64] as const;
export type ImageSize = (typeof IMAGE_SIZES)[number];

export interface ModelShape {
  imageSize: ImageSize;
  /** n_G = n_D: channels of the widest-resolution block; deeper blocks double it */
  width: number;
  latent: number;
  channels: 1 | 3;
}

// PyTorch's BatchNorm2d defaults (momentum 0.1, eps 1e-5), which d2l uses; Keras' would be 0.99 and 1e-3.
const BN_MOMENTUM = 0.9;
const BN_EPSILON = 1e-5;

/** N(0, 0.02) with a seed derived from the run's seed and the layer's position, so a run's start is reproducible. */
function init(seed: number) {
  return tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed });
}

/**
 * d2l's batch norm: PyTorch's running statistics (./batch-norm.ts), and γ and β drawn from N(0, 0.02) like every other
 * parameter — d2l's train() initialises all of net_G.parameters() and net_D.parameters() so, not γ = 1, β = 0.
 */
function batchNorm(name: string, nextSeed: () => number) {
  return torchBatchNormalization({
    momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name,
    gammaInitializer: init(nextSeed()), betaInitializer: init(nextSeed()),
  });
}

/** How many stride-2 blocks sit between 4×4 and the image: 64 → 3 (8, 16, 32), 32 → 2, 16 → 1. */
export function middleBlocks(imageSize: ImageSize): number {
  return Math.log2(imageSize) - 3;
}

export function buildGenerator(shape: ModelShape, seed: number): tf.Sequential {
  const { imageSize, width, latent, channels } = shape;
  const blocks = middleBlocks(imageSize);
  let seedOffset = 0;
  const nextSeed = () => seed + 1000 + seedOffset++;
  const g = tf.sequential({ name: 'generator' });
  g.add(tf.layers.reshape({ targetShape: [1, 1, latent], inputShape: [latent], name: 'z' }));
  let filters = width * 2 ** blocks;
  const gBlock = (index: number, stride: number, padding: 'same' | 'valid') => {
    g.add(tf.layers.conv2dTranspose({
      filters, kernelSize: 4, strides: stride, padding, useBias: false,
      kernelInitializer: init(nextSeed()), name: `g${index}_deconv`,
    }));
    g.add(batchNorm(`g${index}_bn`, nextSeed));
    g.add(tf.layers.reLU({ name: `g${index}_relu` }));
  };
  gBlock(0, 1, 'valid'); // 1×1 → 4×4
  for (let i = 1; i <= blocks; i++) {
    filters /= 2;
    gBlock(i, 2, 'same');
  }
  g.add(tf.layers.conv2dTranspose({
    filters: channels, kernelSize: 4, strides: 2, padding: 'same', useBias: false,
    kernelInitializer: init(nextSeed()), name: 'g_out',
  }));
  g.add(tf.layers.activation({ activation: 'tanh', name: 'g_tanh' }));
  return g;
}

/** Outputs one logit per image (shape [n, 1]); the loss applies the sigmoid. */
export function buildDiscriminator(shape: ModelShape, seed: number): tf.Sequential {
  const { imageSize, width, channels } = shape;
  const blocks = middleBlocks(imageSize);
  let seedOffset = 0;
  const nextSeed = () => seed + 2000 + seedOffset++;
  const d = tf.sequential({ name: 'discriminator' });
  let filters = width;
  for (let i = 0; i <= blocks; i++) {
    d.add(tf.layers.conv2d({
      filters, kernelSize: 4, strides: 2, padding: 'same', useBias: false,
      kernelInitializer: init(nextSeed()), name: `d${i}_conv`,
      ...(i === 0 ? { inputShape: [imageSize, imageSize, channels] } : {}),
    }));
    d.add(batchNorm(`d${i}_bn`, nextSeed));
    d.add(tf.layers.leakyReLU({ alpha: 0.2, name: `d${i}_lrelu` }));
    filters *= 2;
  }
  d.add(tf.layers.conv2d({
    filters: 1, kernelSize: 4, strides: 1, padding: 'valid', useBias: false,
    kernelInitializer: init(nextSeed()), name: 'd_out',
  }));
  d.add(tf.layers.flatten({ name: 'd_logit' }));
  return d;
}
