// The DCGAN of Radford et al. in the shape "Dive into Deep Learning" teaches it (chapter "Deep Convolutional GANs"),
// at 16, 32, 64 (d2l's own) or 128 px: one stride-2 block per doubling between 4×4 and the image.
import * as tf from '@tensorflow/tfjs';
import type { Architecture, Init } from './architecture.js';
import { torchBatchNorm } from './layers.js';
import { conv2d, conv2dTranspose, minibatchStddev, NO_TRICKS, pixelNorm, tricksOf } from './tricks.js';

/**
 * d2l's batch norm: PyTorch's BatchNorm2d, γ and β drawn from N(0, 0.02) like every other parameter — d2l's train()
 * initialises all of net_G.parameters() and net_D.parameters() so, not γ = 1, β = 0.
 */
const batchNorm = (name: string, init: Init) => torchBatchNorm(name, init.normal(0.02), init.normal(0.02));


/** How many stride-2 blocks sit between 4×4 and the image: 64 → 3 (8, 16, 32), 32 → 2, 16 → 1, 128 → 4. */
export const middleBlocks = (imageSize: number) => Math.log2(imageSize) - 3;

export const d2l: Architecture = {
  name: 'd2l',
  source: 'https://d2l.ai/chapter_generative-adversarial-networks/dcgan.html',
  imageSizes: [16, 32, 64, 128],
  imageSizesText: '16, 32, 64 or 128',
  defaults: { imageSize: 64, width: 64, latent: 100, batchSize: 256, lr: 0.005, beta1: 0.5, beta2: 0.999 },
  recipe: { framework: 'pytorch', optimizer: 'adam', reduction: 'sum', step: 'd2l' },
  tricks: NO_TRICKS,

  // 64 px, width 64, d2l's net_G:                           [n, 100]
  generator: (shape, init) => (z) => {
    const { imageSize, width, latent, channels } = shape;
    const t = tricksOf(shape, NO_TRICKS);
    const blocks = middleBlocks(imageSize);
    let filters = width * 2 ** blocks;
    let h = tf.layers.reshape({ targetShape: [1, 1, latent], name: 'z' }).apply(z) as tf.SymbolicTensor; // [n, 1, 1, 100]
    const block = (index: number, stride: number, padding: 'same' | 'valid') => {
      h = conv2dTranspose(t, {
        filters, kernelSize: 4, strides: stride, padding, useBias: false, kernelInitializer: init.normal(0.02), name: `g${index}_deconv`,
      }).apply(h) as tf.SymbolicTensor;
      h = batchNorm(`g${index}_bn`, init).apply(h) as tf.SymbolicTensor;
      h = tf.layers.reLU({ name: `g${index}_relu` }).apply(h) as tf.SymbolicTensor;
      h = pixelNorm(t, h, `g${index}_pixel_norm`);
    };
    block(0, 1, 'valid'); //                                    [n, 4, 4, 512]
    for (let i = 1; i <= blocks; i++) {
      filters /= 2;
      block(i, 2, 'same'); //                                   [n, 8, 8, 256] → [n, 16, 16, 128] → [n, 32, 32, 64]
    }
    h = conv2dTranspose(t, {
      filters: channels, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init.normal(0.02), name: 'g_out',
    }, 1).apply(h) as tf.SymbolicTensor; //                       [n, 64, 64, 3]
    return tf.layers.activation({ activation: 'tanh', name: 'g_tanh' }).apply(h) as tf.SymbolicTensor;
  },

  // 64 px, width 64, d2l's net_D:                           [n, 64, 64, 3]
  discriminator: (shape, init) => {
    const { imageSize, width } = shape;
    const t = tricksOf(shape, NO_TRICKS);
    return {
      features: (x) => {
        let h = x;
        let filters = width;
        for (let i = 0; i <= middleBlocks(imageSize); i++) { //   [n, 32, 32, 64] → [n, 16, 16, 128] → [n, 8, 8, 256] → [n, 4, 4, 512]
          h = conv2d(t, {
            filters, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init.normal(0.02), name: `d${i}_conv`,
          }).apply(h) as tf.SymbolicTensor;
          h = batchNorm(`d${i}_bn`, init).apply(h) as tf.SymbolicTensor;
          h = tf.layers.leakyReLU({ alpha: 0.2, name: `d${i}_lrelu` }).apply(h) as tf.SymbolicTensor;
          filters *= 2;
        }
        return minibatchStddev(t, h, 'd_stddev'); //            [n, 4, 4, 512 (+ 1)]
      },
      // one logit per output unit: a 4×4 valid convolution over the last block, as d2l's last Conv2d(→1, k4)
      head: (features, units, name) => {
        const h = conv2d(t, {
          filters: units, kernelSize: 4, strides: 1, padding: 'valid', useBias: false, kernelInitializer: init.normal(0.02), name,
        }, 1).apply(features) as tf.SymbolicTensor; //             [n, 1, 1, units]
        return tf.layers.flatten({ name: `${name}_logits` }).apply(h) as tf.SymbolicTensor; // [n, units]
      },
    };
  },
};
