// The fully connected GAN of the TF2/Keras tutorials (Keras-GAN's gan.py, Linder-Norén): G three dense layers of 256,
// 512 and 1024 units with LeakyReLU 0.2 and BatchNormalization(momentum 0.8), then a tanh layer of H·W·C; D 512 and
// 256 units with LeakyReLU 0.2 and a logit. Adam 2e-4, β1 0.5, batch 32. Any image size.
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from './architecture.js';
import { apply, kerasBatchNorm } from './layers.js';
import { refuseTricks } from './tricks.js';

export const mlp: Architecture = {
  name: 'mlp',
  source: 'https://github.com/eriklindernoren/Keras-GAN/blob/master/gan/gan.py',
  imageSizes: (size) => Number.isInteger(size) && size >= 4 && size <= 256,
  imageSizesText: 'any size from 4 to 256',
  defaults: { imageSize: 28, width: 256, latent: 100, batchSize: 32, lr: 0.0002, beta1: 0.5, beta2: 0.999 },
  recipe: { framework: 'keras', optimizer: 'adam', reduction: 'mean', step: 'keras-gan' },

  // width 256, 28×28×1:                                                 [n, 100]
  generator: (shape, init) => (z) => {
    const { imageSize, width, channels } = shape;
    refuseTricks('mlp', shape);
    let h = z;
    [1, 2, 4].forEach((k, i) => { //                                    [n, 256] → [n, 512] → [n, 1024]
      h = apply(tf.layers.dense({ units: k * width, kernelInitializer: init.glorotUniform(), name: `g${i}_dense` }), h);
      h = apply(tf.layers.leakyReLU({ alpha: 0.2, name: `g${i}_lrelu` }), h);
      h = apply(kerasBatchNorm(`g${i}_bn`, 0.8), h);
    });
    h = apply(tf.layers.dense({ units: imageSize * imageSize * channels, activation: 'tanh', kernelInitializer: init.glorotUniform(), name: 'g_out' }), h); // [n, 784]
    return apply(tf.layers.reshape({ targetShape: [imageSize, imageSize, channels], name: 'g_image' }), h); //             [n, 28, 28, 1]
  },

  //                                                                    [n, 28, 28, 1]
  discriminator: (shape, init) => ({
    features: (x) => {
      refuseTricks('mlp', shape);
      const { width } = shape;
      let h = apply(tf.layers.flatten({ name: 'd_flatten' }), x); //     [n, 784]
      [2, 1].forEach((k, i) => { //                                     [n, 512] → [n, 256]
        h = apply(tf.layers.dense({ units: k * width, kernelInitializer: init.glorotUniform(), name: `d${i}_dense` }), h);
        h = apply(tf.layers.leakyReLU({ alpha: 0.2, name: `d${i}_lrelu` }), h);
      });
      return h;
    },
    head: (features, units, name) =>
      apply(tf.layers.dense({ units, kernelInitializer: init.glorotUniform(), name }), features), // [n, units]
  }),
};
