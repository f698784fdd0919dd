// What sampling, searching, interpolating, evaluating and the per-epoch grids need of a trained G (and D): sizes and a
// way to run it, never its layers. Batch norm runs in inference mode (the moving statistics gathered in training):
// each image depends on its own latent only, so --n 1 and --n 64 draw the same first image for the same seed.
import * as tf from '@tensorflow/tfjs';
import { toUint8 } from '../image/grid.js';
import { Rng } from '../util/rng.js';

export interface Generator {
  readonly latent: number;
  readonly imageSize: number;
  readonly channels: 1 | 3;
  /** 0: unconditional */
  readonly classes: number;
  readonly model: tf.LayersModel;
  /** images in [-1, 1], NHWC, for latents [n, latent] and, when conditional, class indices [n] */
  generate(z: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor4D;
}

export interface Discriminator {
  readonly classes: number;
  readonly model: tf.LayersModel;
  /** real/fake logits [n] and, when conditional, class logits [n, classes] */
  judge(images: tf.Tensor4D): { logits: tf.Tensor1D; classLogits?: tf.Tensor2D };
}

/** The number of classes a conditional model was built for, from its class embedding (0 when it has none). */
function embeddedClasses(model: tf.LayersModel): number {
  const layer = model.layers.find((l) => l.getClassName() === 'Embedding');
  return layer ? Number(layer.getConfig().inputDim) : 0;
}

export function asGenerator(model: tf.LayersModel): Generator {
  const [, size, , channels] = model.outputs[0].shape as number[];
  const classes = model.inputs.length > 1 ? embeddedClasses(model) : 0;
  return {
    latent: model.inputs[0].shape[1] as number,
    imageSize: size,
    channels: channels as 1 | 3,
    classes,
    model,
    generate(z, labels) {
      if (classes && !labels) throw new Error('this generator is conditional: it needs a class for each latent');
      return tf.tidy(() => {
        const inputs = classes ? [z, labels!.reshape([-1, 1]).toFloat()] : z;
        return model.predict(inputs) as tf.Tensor4D;
      });
    },
  };
}

export function asDiscriminator(model: tf.LayersModel): Discriminator {
  const classes = model.outputs.length > 1 ? (model.outputs[1].shape[1] as number) : 0;
  return {
    classes,
    model,
    judge(images) {
      const out = model.predict(images);
      const [logits, classLogits] = Array.isArray(out) ? out : [out];
      const flat = logits.reshape([-1]) as tf.Tensor1D;
      logits.dispose();
      return { logits: flat, classLogits: classLogits as tf.Tensor2D | undefined };
    },
  };
}

/** Latent vectors for a seed: the same seed gives the same latents, whatever n (the first k of n+1 equal those of n). */
export function latents(seed: number, n: number, latent: number): Float32Array {
  return new Rng(seed).normals(n * latent);
}

const BATCH = 256;

/**
 * Runs G on `z` ([n × latent] floats) in batches of at most 256, so memory stays bounded for large n, and returns uint8
 * pixels (NHWC). `labels`: a class per latent, for a conditional G; `onProgress` hears the images done after each batch.
 */
export async function generateImages(
  G: Generator, z: Float32Array, n: number, labels?: ArrayLike<number>, onProgress?: (done: number) => void,
): Promise<Uint8Array> {
  const imageBytes = G.imageSize * G.imageSize * G.channels;
  const out = new Uint8Array(n * imageBytes);
  for (let start = 0; start < n; start += BATCH) {
    const count = Math.min(BATCH, n - start);
    const images = tf.tidy(() => {
      const zb = tf.tensor2d(z.subarray(start * G.latent, (start + count) * G.latent), [count, G.latent]);
      const lb = labels ? tf.tensor1d(Array.from(labels).slice(start, start + count), 'int32') : undefined;
      return G.generate(zb, lb);
    });
    out.set(toUint8((await images.data()) as Float32Array), start * imageBytes);
    images.dispose();
    onProgress?.(start + count);
  }
  return out;
}
