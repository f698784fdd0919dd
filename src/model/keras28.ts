// The Keras DCGAN of "Hands-on Machine Learning" (Géron, 3rd ed., chapter 17; Fashion-MNIST at 28×28): a dense layer
// onto 7×7×128, two transposed convolutions of kernel 5 up to 28×28; D two strided convolutions with dropout and a
// dense logit. Keras' defaults throughout: Glorot-uniform kernels, zero biases, BatchNormalization(momentum 0.99,
// ε 1e-3); RMSprop, batch 32.
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from './architecture.js';
import { apply, dropout, kerasBatchNorm } from './layers.js';
import { conv2d, conv2dTranspose, dense, minibatchStddev, NO_TRICKS, pixelNorm, tricksOf } from './tricks.js';

export const keras28: Architecture = {
  name: 'keras28',
  source: 'https://github.com/ageron/handson-ml3/blob/main/17_autoencoders_gans_and_diffusion_models.ipynb',
  imageSizes: [28],
  imageSizesText: '28',
  defaults: { imageSize: 28, width: 64, latent: 100, batchSize: 32, lr: 0.001, beta1: 0.9, beta2: 0.999 },
  recipe: { framework: 'keras', optimizer: 'rmsprop', reduction: 'mean', step: 'hands-on' },
  tricks: NO_TRICKS,

  // width 64:                                                           [n, 100]
  generator: (shape, init) => (z) => {
    const { width, channels } = shape;
    const t = tricksOf(shape, NO_TRICKS);
    let h = apply(dense(t, { units: 7 * 7 * 2 * width, kernelInitializer: init.glorotUniform(), name: 'g0_dense' }), z); // [n, 6272]
    h = apply(tf.layers.reshape({ targetShape: [7, 7, 2 * width], name: 'g0_reshape' }), h); //                                   [n, 7, 7, 128]
    h = apply(kerasBatchNorm('g0_bn'), h);
    h = pixelNorm(t, h, 'g0_pixel_norm');
    h = apply(conv2dTranspose(t, {
      filters: width, kernelSize: 5, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init.glorotUniform(), name: 'g1_deconv',
    }), h); //                                                                                                                  [n, 14, 14, 64]
    h = apply(kerasBatchNorm('g1_bn'), h);
    h = pixelNorm(t, h, 'g1_pixel_norm');
    return apply(conv2dTranspose(t, {
      filters: channels, kernelSize: 5, strides: 2, padding: 'same', activation: 'tanh', kernelInitializer: init.glorotUniform(), name: 'g_out',
    }, 1), h); //                                                                                                               [n, 28, 28, C]
  },

  //                                                                    [n, 28, 28, C]
  discriminator: (shape, init) => {
    const { width } = shape;
    const t = tricksOf(shape, NO_TRICKS);
    return {
      features: (x) => {
        let h = x;
        [1, 2].forEach((k, i) => { //                                   [n, 14, 14, 64] → [n, 7, 7, 128]
          h = apply(conv2d(t, { filters: k * width, kernelSize: 5, strides: 2, padding: 'same', kernelInitializer: init.glorotUniform(), name: `d${i}_conv` }), h);
          h = apply(tf.layers.leakyReLU({ alpha: 0.2, name: `d${i}_lrelu` }), h);
          h = apply(dropout(0.4, init.seedForDropout(), `d${i}_dropout`), h);
        });
        h = minibatchStddev(t, h, 'd_stddev'); //                       [n, 7, 7, 128 (+ 1)]
        return apply(tf.layers.flatten({ name: 'd_flatten' }), h); //   [n, 6272 (+ 49)]
      },
      head: (features, units, name) =>
        apply(dense(t, { units, kernelInitializer: init.glorotUniform(), name }, 1), features), // [n, units]
    };
  },
};
