// Batch normalisation as PyTorch's BatchNorm2d trains it, in a layer that saves as a plain Keras BatchNormalization.
//
// tfjs-layers' BatchNormalization (4.22, layers/normalization.js) and PyTorch agree on everything but one thing:
// - both normalise a training batch with its own mean and biased variance, and use (x − μ)·γ/√(σ² + ε) + β (tfjs's
//   batchNorm kernel; the "sqrt(var) + epsilon" in tfjs-layers' comments is not what the kernel does);
// - both update the moving mean by an exponential average: Keras' momentum 0.9 is PyTorch's momentum 0.1;
// - the moving VARIANCE: PyTorch averages in the unbiased batch variance, σ²·n/(n−1) (n values per channel), tfjs
//   the biased σ². Over a 4×4 map at batch 8 that is 128/127: the saved statistics, and so every image sampled in
//   inference mode, drift from PyTorch's.
// Only training differs, so this subclass overrides the training branch of call() and nothing else: the weights, their
// names, getConfig() and the class name are the stock layer's. model.json says "BatchNormalization", and
// tf.loadLayersModel anywhere (a browser page, say) builds the stock layer, whose inference is the code below inherits.
import * as tf from '@tensorflow/tfjs';
import { trainingBatchNorm } from '../backend/training-batch-norm.js';

type BatchNormArgs = NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>;
type StockBatchNormalization = ReturnType<typeof tf.layers.batchNormalization>;

// The class tf.loadLayersModel builds for "BatchNormalization": the stock one, taken from the registry it uses.
const Stock = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization[0] as unknown as
  new (args?: BatchNormArgs) => StockBatchNormalization;

/** The stock layer's private state (tfjs-layers 4.22, pinned in package.json), which the training branch needs. */
interface Internals {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma?: tf.LayerVariable;
  beta?: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

class TorchBatchNormalization extends Stock {
  // Serialises under the stock name; deliberately not registered, so that loading never builds this class.
  static className = 'BatchNormalization';

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    if (!kwargs.training) return super.call(inputs, kwargs);
    const { axis, momentum, epsilon, gamma, beta, movingMean, movingVariance } = this as unknown as Internals;
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (axis !== -1 && axis !== x.rank - 1) throw new Error(`${this.name}: only the last axis (channels) is supported`);
    if (!gamma || !beta) throw new Error(`${this.name}: needs center and scale`);
    const n = x.size / x.shape[x.rank - 1];
    // PyTorch refuses too ("Expected more than 1 value per channel when training"): n/(n − 1) would divide by zero
    if (n < 2) throw new Error(`${this.name}: batch norm needs more than 1 value per channel when training`);
    return tf.tidy(() => {
      // what the stock layer computes (normalizeBatchInTraining: tf.moments, then tf.batchNorm), in one kernel where
      // the backend has one
      const { y: normed, mean, variance } = trainingBatchNorm(x, gamma.read() as tf.Tensor1D, beta.read() as tf.Tensor1D, epsilon);
      // PyTorch's update, running = (1 − m)·running + m·batch, with m = 1 − Keras' momentum
      const m = 1 - momentum;
      const average = (v: tf.LayerVariable, batch: tf.Tensor) => {
        tf.tidy(() => {
          v.write(v.read().mul(1 - m).add(batch.mul(m)));
        });
      };
      average(movingMean, mean);
      average(movingVariance, variance.mul(n / (n - 1)));
      return normed;
    });
  }
}

/** tf.layers.batchNormalization's arguments (Keras' momentum: 0.9 is PyTorch's 0.1), trained as PyTorch does. */
export function torchBatchNormalization(args: BatchNormArgs): tf.layers.Layer {
  return new TorchBatchNormalization(args);
}
