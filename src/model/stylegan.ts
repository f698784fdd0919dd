// StyleGAN's generator (Karras et al. 2019, "A Style-Based Generator Architecture for GANs") as the book (Hands-on ML
// ch. 17) describes it and the official code (NVlabs/stylegan, training/networks_stylegan.py: G_mapping, G_synthesis,
// G_style) builds it, small enough for a CPU; D is ProGAN's at the final resolution.
//
// Mapping: z normalised per pixel, then 8 dense layers of `latent` units with LeakyReLU 0.2 → w; equalized learning
// rate with StyleGAN's learning-rate multiplier 0.01 (the mapping learns 100 times slower: get_weight's lrmul), and w̄,
// w's moving average, tracked for the truncation trick (WAverage).
// Synthesis: a learned constant 4×4 input; per resolution (nearest upsampling and) two 3×3 convolutions; after the
// constant and after each convolution, noise (one map an image, a learned factor per channel), LeakyReLU 0.2 and AdaIN
// with that layer's own w; a 1×1 toRGB at the end (linear). Layers: 2 per resolution from 4×4, 2·log2(size) − 2.
// Not as the official code: no blur after upsampling (the book leaves it out); no growing (its "fixed" structure); the
// constant's bias left out (constant + bias is just another constant); truncation on every layer, where the official
// cutoff spares the finest layers from 1024 px up.
//
// The model's input is z and its output images, as every architecture's (sampling, grids, metrics and export take it as
// they are). Style mixing and truncation need w per layer: styleModels() cuts any such G (built or loaded) into its
// mapping (z → w) and synthesis (w per layer, [n, layers, latent] → images) models, which share its weights.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';
import type { Architecture, Init, ModelShape, SymbolicTensor, Tricks } from './architecture.js';
import { apply } from './layers.js';
import { channelsAt, progan, proganDiscriminator, takesProganSize } from './progan.js';
import { EqualizedConv2D, EqualizedDense, PixelNorm } from './progan-layers.js';
import { AdaIN, ConstantInput, NoiseInjection, WAverage } from './stylegan-layers.js';
import { tricksOf } from './tricks.js';

/** The paper's mapping network: 8 layers, learning 100 times slower than the rest. */
export const MAPPING_LAYERS = 8;
export const MAPPING_LR_MUL = 0.01;

/** D as ProGAN's (Karras et al.'s minibatch stddev, equalized learning rate); G's are StyleGAN's own (see styleganTricks). */
export const STYLEGAN_TRICKS: Required<Tricks> = { minibatchStddev: { groupSize: 4 }, equalizedLr: true, pixelNorm: false };

/** Synthesis layers (each with its own w) of a G drawing `imageSize` pixels: two per resolution from 4×4. */
export const styleLayers = (imageSize: number) => 2 * Math.log2(imageSize) - 2;

/**
 * The paper's style-mixing figure's groups of layers: coarse (4² – 8²), middle (16² – 32²) and fine (64² and up), as
 * [first, end) ranges of layer indices; fine is empty below 64 px.
 */
export function styleGroups(imageSize: number): { coarse: [number, number]; middle: [number, number]; fine: [number, number] } {
  const layers = styleLayers(imageSize);
  const at = (resolution: number) => Math.min(layers, 2 * Math.log2(resolution) - 4); // the first layer at that resolution
  return { coarse: [0, at(16)], middle: [at(16), at(64)], fine: [at(64), layers] };
}

/** StyleGAN's G takes only D's tricks: its equalized learning rate is always on (it carries the mapping's lr_mul). */
function checkGeneratorTricks(shape: ModelShape): void {
  const t = tricksOf(shape, STYLEGAN_TRICKS);
  if (!t.equalizedLr) throw new Error('stylegan needs the equalized learning rate (its mapping learns 100× slower through it)');
  if (t.pixelNorm) throw new Error('stylegan has no pixel norm: its AdaIN normalises every feature map');
}

const leaky = (name: string) => tf.layers.leakyReLU({ alpha: 0.2, name });

/** One synthesis layer: (upsampling and) a convolution — none on the constant — then noise, LeakyReLU and AdaIN. */
interface SynthesisLayer {
  up?: tf.layers.Layer;
  conv?: tf.layers.Layer;
  noise: NoiseInjection;
  act: tf.layers.Layer;
  adain: AdaIN;
}

/** G's layers, made in one go (each draw has its place in the seed's stream); `generator` wires them z → images. */
class StyleGeneratorLayers {
  private readonly mapping: tf.layers.Layer[];
  private readonly average: WAverage;
  private readonly broadcast: tf.layers.Layer;
  private readonly constant: ConstantInput;
  private readonly synthesis: SynthesisLayer[] = [];
  private readonly toRGB: tf.layers.Layer;

  constructor(shape: ModelShape, init: Init) {
    checkGeneratorTricks(shape);
    const { imageSize, width, latent, channels } = shape;
    const nf = (r: number) => channelsAt(r, imageSize, width);
    this.mapping = [new PixelNorm({ name: 'map_latent_norm' })];
    for (let i = 0; i < MAPPING_LAYERS; i++) {
      this.mapping.push(
        new EqualizedDense({ units: latent, lrMul: MAPPING_LR_MUL, seed: init.seedForLayer(), name: `map${i}_dense` }),
        leaky(`map${i}_lrelu`),
      );
    }
    this.average = new WAverage({ name: 'w_average' });
    this.broadcast = tf.layers.repeatVector({ n: styleLayers(imageSize), name: 'w_broadcast' });
    this.constant = new ConstantInput({ size: 4, channels: nf(4), name: 'syn4_const' });
    const layer = (index: number, r: number, conv?: tf.layers.Layer, up?: tf.layers.Layer): SynthesisLayer => ({
      up, conv,
      noise: new NoiseInjection({ seed: init.seedForLayer(), name: `syn${index}_noise` }),
      act: leaky(`syn${index}_lrelu`),
      adain: new AdaIN({ index, seed: init.seedForLayer(), name: `syn${index}_adain` }),
    });
    const conv = (index: number, r: number) => new EqualizedConv2D({ filters: nf(r), kernelSize: 3, padding: 'same', seed: init.seedForLayer(), name: `syn${index}_conv` });
    this.synthesis.push(layer(0, 4), layer(1, 4, conv(1, 4)));
    for (let r = 8, index = 2; r <= imageSize; r *= 2, index += 2) {
      this.synthesis.push(
        layer(index, r, conv(index, r), tf.layers.upSampling2d({ size: [2, 2], name: `syn${index}_up` })),
        layer(index + 1, r, conv(index + 1, r)),
      );
    }
    this.toRGB = new EqualizedConv2D({ filters: channels, kernelSize: 1, gain: 1, seed: init.seedForLayer(), name: 'syn_to_rgb' });
  }

  /** z ([n, latent]) → images ([n, R, R, C]) through w. */
  generator(z: SymbolicTensor): SymbolicTensor {
    let w = z;
    for (const layer of this.mapping) w = apply(layer, w); //            [n, latent] → … → w [n, latent]
    w = apply(this.average, w); //                                       w̄ tracked (training), truncated (inference)
    const ws = apply(this.broadcast, w); //                              [n, layers, latent]: one w per layer
    let h = apply(this.constant, ws); //                                 [n, 4, 4, nf(4)]
    for (const { up, conv, noise, act, adain } of this.synthesis) {
      if (up) h = apply(up, h); //                                       [n, 2r, 2r, nf(r)]
      if (conv) h = apply(conv, h); //                                   [n, r, r, nf(r)]
      h = apply(act, apply(noise, h));
      h = adain.apply([h, ws]) as SymbolicTensor;
    }
    return apply(this.toRGB, h); //                                      [n, R, R, C]
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Style mixing and truncation

/**
 * Style-mixing regularisation's crossovers: for each of n images, the first synthesis layer that takes the second
 * code's w. With `probability` an image mixes, at a layer drawn uniformly from 1 … layers − 1 (so each code styles
 * at least one layer); otherwise its crossover is `layers` (w₂ is never used). The official code draws one crossover
 * for the whole batch; here each image draws its own, so `probability` is the share of the batch that mixes.
 */
export function styleCrossovers(rng: Rng, n: number, layers: number, probability: number): Int32Array {
  if (!(probability >= 0 && probability <= 1)) throw new Error(`the style-mixing probability must be in [0, 1], not ${probability}`);
  return Int32Array.from({ length: n }, () => {
    const mixes = rng.uniform() < probability;
    return mixes ? 1 + Math.floor(rng.uniform() * (layers - 1)) : layers;
  });
}

/** Which code styles `layer` of an image whose crossover is `crossover`: 1 below it, 2 from it on. */
export const styleSource = (layer: number, crossover: number): 1 | 2 => (layer < crossover ? 1 : 2);

/** w per layer ([n, layers, d]) from two codes ([n, d] each): w₁ below each image's crossover, w₂ from it on. */
export function mixStyles(w1: tf.Tensor2D, w2: tf.Tensor2D, crossovers: ArrayLike<number>, layers: number): tf.Tensor3D {
  const [n, d] = w1.shape;
  // [n, layers]: 1 where image ⌊k / layers⌋'s layer k mod layers takes w₁
  const first = Uint8Array.from({ length: n * layers }, (_, k) => (styleSource(k % layers, crossovers[Math.floor(k / layers)]) === 1 ? 1 : 0));
  return tf.tidy(() => {
    const mask = tf.broadcastTo(tf.tensor3d(first, [n, layers, 1], 'bool'), [n, layers, d]);
    const spread = (w: tf.Tensor2D) => tf.broadcastTo(tf.reshape(w, [n, 1, d]), [n, layers, d]);
    return tf.where(mask, spread(w1), spread(w2)) as tf.Tensor3D;
  });
}

/** Sets the truncation ψ a StyleGAN G applies in inference (1: none); training ignores it. */
export function setTruncation(G: tf.LayersModel, psi: number): void {
  if (!(psi >= 0 && psi <= 1)) throw new Error(`--truncation must be in [0, 1], not ${psi}`);
  (G.getLayer('w_average') as WAverage).psi = psi;
}

/** w̄ as a StyleGAN G has tracked it, [latent]. */
export function wAverage(G: tf.LayersModel): tf.Tensor1D {
  return (G.getLayer('w_average') as WAverage).wAverage;
}

// styleModels (G cut into mapping and synthesis) lives in style-models.ts, which the exported page ships as it is
export { styleModels } from './style-models.js';

/**
 * `--arch stylegan`: the book's StyleGAN generator with ProGAN's discriminator at the final resolution (no growing).
 * The recipe is ProGAN's (the official's Adam: lr 0.001, β1 0, β2 0.99; batch 16); latent (z and w) 128, where the
 * official's is 512.
 */
export const stylegan: Architecture = {
  name: 'stylegan',
  source: 'https://github.com/NVlabs/stylegan/blob/master/training/networks_stylegan.py',
  imageSizes: takesProganSize,
  imageSizesText: '8, 16, 32, 64, 128 or 256',
  defaults: progan.defaults,
  recipe: progan.recipe,
  tricks: STYLEGAN_TRICKS,

  // 64 px, width 16:                                                    [n, 128]
  generator: (shape, init) => {
    const layers = new StyleGeneratorLayers(shape, init);
    return (z) => layers.generator(z); //                               [n, 64, 64, C]
  },
  discriminator: (shape, init) => proganDiscriminator(shape, init, STYLEGAN_TRICKS),
};
