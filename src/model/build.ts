// An architecture's bodies as tfjs models. A conditional run (ACGAN, Odena et al. 2017, as tfjs-examples'
// mnist-acgan) gives G a second input, the class, whose learned embedding multiplies z, and D a second output, class
// logits from the same features. Unconditional models keep one input and one output.
import * as tf from '@tensorflow/tfjs';
import { Init, type Architecture, type ModelShape } from './architecture.js';

export function buildGenerator(arch: Architecture, shape: ModelShape, seed: number): tf.LayersModel {
  const init = new Init(seed, 'G');
  const z = tf.input({ shape: [shape.latent], name: 'latent' }); //      [n, latent]
  if (!shape.classes) return tf.model({ inputs: z, outputs: arch.generator(shape, init)(z), name: 'generator' });
  const c = tf.input({ shape: [1], name: 'class' }); //                  [n, 1]: the class index
  const embedded = tf.layers.embedding({
    inputDim: shape.classes, outputDim: shape.latent, embeddingsInitializer: init.glorotNormal(), name: 'class_embedding',
  }).apply(c) as tf.SymbolicTensor; //                                   [n, 1, latent]
  const flat = tf.layers.flatten({ name: 'class_vector' }).apply(embedded) as tf.SymbolicTensor;
  const zc = tf.layers.multiply({ name: 'latent_times_class' }).apply([z, flat]) as tf.SymbolicTensor; // [n, latent]
  return tf.model({ inputs: [z, c], outputs: arch.generator(shape, init)(zc), name: 'generator' });
}

/** Outputs one real/fake logit per image ([n, 1]; the loss applies the sigmoid) and, when conditional, class logits. */
export function buildDiscriminator(arch: Architecture, shape: ModelShape, seed: number): tf.LayersModel {
  const init = new Init(seed, 'D');
  const x = tf.input({ shape: [shape.imageSize, shape.imageSize, shape.channels], name: 'image' });
  const body = arch.discriminator(shape, init);
  const features = body.features(x);
  const logit = body.head(features, 1, 'd_out'); //                      [n, 1]
  if (!shape.classes) return tf.model({ inputs: x, outputs: logit, name: 'discriminator' });
  const classLogits = body.head(features, shape.classes, 'd_class'); //  [n, classes]
  return tf.model({ inputs: x, outputs: [logit, classLogits], name: 'discriminator' });
}

/**
 * Floats of activation per image in one training step of G and D (every layer's output, both networks): what the
 * memory a batch needs grows with. Backends whose memory is bounded cap the default batch by it.
 */
export function activationsPerImage(...models: tf.LayersModel[]): number {
  return layerOutputSizes(...models).reduce((sum, n) => sum + n, 0);
}

/** Floats per image of every layer output of the models, in order (a layer with several outputs gives several). */
export function layerOutputSizes(...models: tf.LayersModel[]): number[] {
  const sizes: number[] = [];
  for (const m of models) {
    for (const layer of m.layers) {
      const shapes = (Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]) as (number | null)[][];
      for (const s of shapes) sizes.push(s.slice(1).reduce<number>((p, d) => p * (d ?? 1), 1));
    }
  }
  return sizes;
}

/** activationsPerImage of the pair an architecture builds at a shape (built and released again). */
export function activationsPerImageOf(arch: Architecture, shape: ModelShape): number {
  const G = buildGenerator(arch, shape, 0);
  const D = buildDiscriminator(arch, shape, 0);
  try {
    return activationsPerImage(G, D);
  } finally {
    G.dispose();
    D.dispose();
  }
}
