// The optimizers a recipe names, each with its framework's formula and defaults.
import type * as tf from '@tensorflow/tfjs';
import type { Recipe } from '../model/architecture.js';
import type { OptimizerState } from '../run/checkpoint.js';
import { Adam } from './adam.js';
import { Rmsprop } from './rmsprop.js';

export interface Optimizer extends OptimizerState {
  apply(grads: Record<string, tf.Tensor>): void;
  dispose(): void;
}

export interface OptimizerSettings {
  lr: number;
  beta1: number;
  beta2: number;
}

// ε and RMSprop's ρ are the frameworks' defaults: torch.optim's 1e-8 and α 0.99, Keras' 1e-7 and ρ 0.9
const FRAMEWORK = {
  pytorch: { epsilon: 1e-8, rho: 0.99 },
  keras: { epsilon: 1e-7, rho: 0.9 },
} as const;

export function createOptimizer(recipe: Pick<Recipe, 'framework' | 'optimizer'>, o: OptimizerSettings, variables: tf.Variable[]): Optimizer {
  const { epsilon, rho } = FRAMEWORK[recipe.framework];
  const form = recipe.framework === 'pytorch' ? 'torch' : 'keras';
  return recipe.optimizer === 'adam'
    ? new Adam({ lr: o.lr, beta1: o.beta1, beta2: o.beta2, epsilon, form }, variables)
    : new Rmsprop({ lr: o.lr, rho, epsilon, form }, variables);
}
