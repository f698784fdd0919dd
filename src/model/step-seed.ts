// Random draws in training that follow the step: a layer that draws (dropout masks, StyleGAN's noise) takes its seed
// from its own seed, the training step and the call's count within the step (a layer may run more than once a step),
// so a run trains differently at each step, yet a resumed run draws exactly what the run that never stopped did.
// The trainer sets the step before each one.
import { deriveSeed } from '../util/rng.js';

let randomStep = 0;
const calls = new WeakMap<object, { step: number; count: number }>();

/** The training step whose draws the next calls make (the trainer sets it before each step). */
export function setRandomStep(step: number): void {
  randomStep = step;
}

/** The seed of `layer`'s next draw: its own `seed`, the step and how many draws it made in this step before. */
export function seedForCall(layer: object, seed: number): number {
  const seen = calls.get(layer);
  const count = seen && seen.step === randomStep ? seen.count + 1 : 0;
  calls.set(layer, { step: randomStep, count });
  return deriveSeed(seed, `${randomStep}/${count}`);
}
