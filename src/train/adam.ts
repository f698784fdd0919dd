// Adam written out rather than tf.train.adam: its whole state (m, v, step) must round-trip through a checkpoint
// bit for bit, and tfjs's optimizer rebuilds its β^t accumulators with pow() on restore, which differs in the last bits
// from the running product it keeps while training — resumed runs would drift from straight ones.
import * as tf from '@tensorflow/tfjs';
import { adamUpdate } from '../backend/adam-update.js';

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /**
   * Where ε sits. 'torch' (torch.optim.Adam, which d2l uses; tf.train.adam too): lr·m̂/(√v̂ + ε) with
   * m̂ = m/(1−β1^t), v̂ = v/(1−β2^t). 'keras' (Keras' Adam; the "ε-hat" form of Kingma & Ba, section 2):
   * lr·√(1−β2^t)/(1−β1^t)·m/(√v + ε), which is ε/√(1−β2^t) in the torch form (≈ 32ε at the first step). They differ
   * where √v̂ is not far above ε: there the keras form moves a weight less.
   */
  form: 'torch' | 'keras';
}

export class Adam {
  readonly kind = 'adam';
  readonly slotNames = ['m', 'v'] as const;
  step = 0;
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];

  constructor(readonly options: AdamOptions, readonly variables: tf.Variable[]) {
    // in tidy: a variable keeps its own reference to the data, and the zeros it was made from would leak
    this.m = variables.map((w) => tf.tidy(() => tf.variable(tf.zerosLike(w), false)));
    this.v = variables.map((w) => tf.tidy(() => tf.variable(tf.zerosLike(w), false)));
  }

  /** One update; `grads` is keyed by variable name as tf.variableGrads returns it. */
  apply(grads: Record<string, tf.Tensor>): void {
    const { lr, beta1, beta2, epsilon, form } = this.options;
    this.step += 1;
    // The bias corrections, in float64 from the step count alone.
    const correction1 = 1 - beta1 ** this.step;
    const sqrtCorrection2 = Math.sqrt(1 - beta2 ** this.step);
    tf.tidy(() => {
      this.variables.forEach((w, i) => {
        const g = grads[w.name];
        if (!g) throw new Error(`no gradient for ${w.name}`);
        // torch.optim.Adam's own order of operations: param − (lr/c1)·m / (√v/√c2 + ε); Keras' ε-hat form divides √v
        // by nothing. One kernel where the backend has it (backend/adam-update.ts), the same float32 steps either way.
        const next = adamUpdate(w, g, this.m[i], this.v[i], form === 'torch'
          ? { beta1, beta2, k: lr / correction1, c: sqrtCorrection2, epsilon }
          : { beta1, beta2, k: (lr * sqrtCorrection2) / correction1, c: 1, epsilon });
        this.m[i].assign(next.m);
        this.v[i].assign(next.v);
        w.assign(next.w);
      });
    });
  }

  /** The moments in variable order, m then v for each, for a checkpoint. */
  stateTensors(): tf.Tensor[] {
    return this.variables.flatMap((_, i) => [this.m[i], this.v[i]]);
  }

  restore(step: number, moments: Float32Array[]): void {
    if (moments.length !== 2 * this.variables.length) {
      throw new Error(`optimizer state has ${moments.length / 2} variables, the model has ${this.variables.length}`);
    }
    this.step = step;
    tf.tidy(() => this.variables.forEach((w, i) => {
      this.m[i].assign(tf.tensor(moments[2 * i], w.shape));
      this.v[i].assign(tf.tensor(moments[2 * i + 1], w.shape));
    }));
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
