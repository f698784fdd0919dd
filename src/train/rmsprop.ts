// RMSprop, no momentum, not centred, as either framework writes it:
//   v ← ρ·v + (1 − ρ)·g², then
//   keras (keras.optimizers.RMSprop, Keras ≥ 2.11; ρ 0.9, ε 1e-7):   w ← w − lr·g / √(v + ε)
//   torch (torch.optim.RMSprop; α = ρ 0.99, ε 1e-8):                  w ← w − lr·g / (√v + ε)
// Written out for the same reason as Adam: its whole state round-trips through a checkpoint bit for bit.
import * as tf from '@tensorflow/tfjs';

export interface RmspropOptions {
  lr: number;
  rho: number;
  epsilon: number;
  form: 'torch' | 'keras';
}

export class Rmsprop {
  readonly kind = 'rmsprop';
  readonly slotNames = ['v'] as const;
  step = 0;
  readonly v: tf.Variable[];

  constructor(readonly options: RmspropOptions, readonly variables: tf.Variable[]) {
    // in tidy: a variable keeps its own reference to the data, and the zeros it was made from would leak
    this.v = variables.map((w) => tf.tidy(() => tf.variable(tf.zerosLike(w), false)));
  }

  /** One update; `grads` is keyed by variable name as tf.variableGrads returns it. */
  apply(grads: Record<string, tf.Tensor>): void {
    const { lr, rho, epsilon, form } = this.options;
    this.step += 1;
    tf.tidy(() => {
      this.variables.forEach((w, i) => {
        const g = grads[w.name];
        if (!g) throw new Error(`no gradient for ${w.name}`);
        const v = this.v[i].mul(rho).add(g.square().mul(1 - rho));
        this.v[i].assign(v);
        w.assign(w.sub(g.mul(lr).div(form === 'keras' ? v.add(epsilon).sqrt() : v.sqrt().add(epsilon))));
      });
    });
  }

  stateTensors(): tf.Tensor[] {
    return [...this.v];
  }

  restore(step: number, slots: Float32Array[]): void {
    if (slots.length !== this.variables.length) {
      throw new Error(`optimizer state has ${slots.length} variables, the model has ${this.variables.length}`);
    }
    this.step = step;
    tf.tidy(() => this.variables.forEach((w, i) => this.v[i].assign(tf.tensor(slots[i], w.shape))));
  }

  dispose(): void {
    for (const t of this.v) t.dispose();
  }
}
