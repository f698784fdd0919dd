// The PyTorch MNIST DCGAN: pytorch/examples' DCGAN (dcgan/main.py: weights_init, BCELoss, Adam 2e-4, β1 0.5,
// batch 64) shrunk to 28×28 — three transposed convolutions up from 4×4 and a last one with padding 3 onto 28×28.
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from './architecture.js';
import { apply, pytorchExamplesInit, torchBatchNorm, torchConv, torchConvTranspose } from './layers.js';
import { minibatchStddev, NO_TRICKS, pixelNorm, tricksOf } from './tricks.js';

export const dcgan28: Architecture = {
  name: 'dcgan28',
  source: 'https://github.com/pytorch/examples/blob/main/dcgan/main.py',
  imageSizes: [28],
  imageSizesText: '28',
  defaults: { imageSize: 28, width: 64, latent: 100, batchSize: 64, lr: 0.0002, beta1: 0.5, beta2: 0.999 },
  recipe: { framework: 'pytorch', optimizer: 'adam', reduction: 'mean', step: 'pytorch-examples' },
  tricks: NO_TRICKS,

  // width 64:                                                           [n, 100]
  generator: (shape, init) => (z) => {
    const { width, latent, channels } = shape;
    const t = tricksOf(shape, NO_TRICKS);
    const w = pytorchExamplesInit(init);
    let h = apply(tf.layers.reshape({ targetShape: [1, 1, latent], name: 'z' }), z); // [n, 1, 1, 100]
    const block = (i: number, filters: number, kernel: number, stride: number, padding: number) => {
      h = torchConvTranspose(h, { filters, kernel, stride, padding, init: w.conv(), name: `g${i}_deconv`, tricks: t });
      h = apply(torchBatchNorm(`g${i}_bn`, w.bnGamma(), w.bnBeta()), h);
      h = apply(tf.layers.reLU({ name: `g${i}_relu` }), h);
      h = pixelNorm(t, h, `g${i}_pixel_norm`);
    };
    block(0, 4 * width, 4, 1, 0); //                                    [n, 4, 4, 256]
    block(1, 2 * width, 4, 2, 1); //                                    [n, 8, 8, 128]
    block(2, width, 4, 2, 1); //                                        [n, 16, 16, 64]
    h = torchConvTranspose(h, { filters: channels, kernel: 4, stride: 2, padding: 3, init: w.conv(), name: 'g_out', tricks: t, gain: 1 }); // [n, 28, 28, C]
    return apply(tf.layers.activation({ activation: 'tanh', name: 'g_tanh' }), h);
  },

  //                                                                    [n, 28, 28, C]
  discriminator: (shape, init) => {
    const { width } = shape;
    const t = tricksOf(shape, NO_TRICKS);
    const w = pytorchExamplesInit(init);
    return {
      features: (x) => {
        let h = x;
        const block = (i: number, filters: number, kernel: number) => {
          h = torchConv(h, { filters, kernel, stride: 2, padding: 1, init: w.conv(), name: `d${i}_conv`, tricks: t });
          h = apply(torchBatchNorm(`d${i}_bn`, w.bnGamma(), w.bnBeta()), h);
          h = apply(tf.layers.leakyReLU({ alpha: 0.2, name: `d${i}_lrelu` }), h);
        };
        block(0, width, 4); //                                          [n, 14, 14, 64]
        block(1, 2 * width, 4); //                                      [n, 7, 7, 128]
        block(2, 4 * width, 3); //                                      [n, 4, 4, 256]
        return minibatchStddev(t, h, 'd_stddev'); //                    [n, 4, 4, 256 (+ 1)]
      },
      head: (features, units, name) => {
        const h = torchConv(features, { filters: units, kernel: 4, stride: 1, padding: 0, init: w.conv(), name, tricks: t, gain: 1 }); // [n, 1, 1, units]
        return apply(tf.layers.flatten({ name: `${name}_logits` }), h);
      },
    };
  },
};
