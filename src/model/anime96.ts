// AnimeGAN (jayleicn/animeGAN, models.py, its 96×96 DCGAN): 4×4 → 8 → 16 → 32 by stride-2 transposed convolutions,
// then one of kernel 5, stride 3 onto 96×96; D mirrors it. LeakyReLU 0.2 in both networks, as the source has them;
// weights_init of pytorch/examples, BCELoss, Adam 2e-4, β1 0.5, batch 64.
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from './architecture.js';
import { apply, pytorchExamplesInit, torchBatchNorm, torchConv, torchConvTranspose } from './layers.js';
import { minibatchStddev, NO_TRICKS, pixelNorm, tricksOf } from './tricks.js';

export const anime96: Architecture = {
  name: 'anime96',
  source: 'https://github.com/jayleicn/animeGAN/blob/master/models.py',
  imageSizes: [96],
  imageSizesText: '96',
  defaults: { imageSize: 96, width: 64, latent: 100, batchSize: 64, lr: 0.0002, beta1: 0.5, beta2: 0.999 },
  recipe: { framework: 'pytorch', optimizer: 'adam', reduction: 'mean', step: 'pytorch-examples' },
  tricks: NO_TRICKS,

  // width 64:                                                           [n, 100]
  generator: (shape, init) => (z) => {
    const { width, latent, channels } = shape;
    const t = tricksOf(shape, NO_TRICKS);
    const w = pytorchExamplesInit(init);
    let h = apply(tf.layers.reshape({ targetShape: [1, 1, latent], name: 'z' }), z); // [n, 1, 1, 100]
    const block = (i: number, filters: number, stride: number, padding: number) => {
      h = torchConvTranspose(h, { filters, kernel: 4, stride, padding, init: w.conv(), name: `g${i}_deconv`, tricks: t });
      h = apply(torchBatchNorm(`g${i}_bn`, w.bnGamma(), w.bnBeta()), h);
      h = apply(tf.layers.leakyReLU({ alpha: 0.2, name: `g${i}_lrelu` }), h);
      h = pixelNorm(t, h, `g${i}_pixel_norm`);
    };
    block(0, 8 * width, 1, 0); //                                       [n, 4, 4, 512]
    block(1, 4 * width, 2, 1); //                                       [n, 8, 8, 256]
    block(2, 2 * width, 2, 1); //                                       [n, 16, 16, 128]
    block(3, width, 2, 1); //                                           [n, 32, 32, 64]
    h = torchConvTranspose(h, { filters: channels, kernel: 5, stride: 3, padding: 1, init: w.conv(), name: 'g_out', tricks: t, gain: 1 }); // [n, 96, 96, 3]
    return apply(tf.layers.activation({ activation: 'tanh', name: 'g_tanh' }), h);
  },

  //                                                                    [n, 96, 96, 3]
  discriminator: (shape, init) => {
    const { width } = shape;
    const t = tricksOf(shape, NO_TRICKS);
    const w = pytorchExamplesInit(init);
    return {
      features: (x) => {
        let h = torchConv(x, { filters: width, kernel: 5, stride: 3, padding: 1, init: w.conv(), name: 'd0_conv', tricks: t }); // [n, 32, 32, 64]
        h = apply(tf.layers.leakyReLU({ alpha: 0.2, name: 'd0_lrelu' }), h); // no batch norm on the first layer
        [2, 4, 8].forEach((k, i) => { //                               [n, 16, 16, 128] → [n, 8, 8, 256] → [n, 4, 4, 512]
          h = torchConv(h, { filters: k * width, kernel: 4, stride: 2, padding: 1, init: w.conv(), name: `d${i + 1}_conv`, tricks: t });
          h = apply(torchBatchNorm(`d${i + 1}_bn`, w.bnGamma(), w.bnBeta()), h);
          h = apply(tf.layers.leakyReLU({ alpha: 0.2, name: `d${i + 1}_lrelu` }), h);
        });
        return minibatchStddev(t, h, 'd_stddev'); //                    [n, 4, 4, 512 (+ 1)]
      },
      head: (features, units, name) => {
        const h = torchConv(features, { filters: units, kernel: 4, stride: 1, padding: 0, init: w.conv(), name, tricks: t, gain: 1 }); // [n, 1, 1, units]
        return apply(tf.layers.flatten({ name: `${name}_logits` }), h);
      },
    };
  },
};
