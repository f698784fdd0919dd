// Progressive growing in training (`--arch progan --fade-kimg N`, Karras et al. 2018): every step trains the G and D of
// the phase the images seen so far reach (model/progan.ts phaseAt, the official TrainingSchedule), with the fade's α
// of that step; the phases' models share their weights, so moving on copies nothing.
//
// Adam's state is reset whenever the phase changes, as the official train.py does with reset_opt_for_new_lod (on by
// default): it resets both optimizers when floor(lod) or ceil(lod) changes, which is at the start of each fade and again
// at the stable phase after it, and tfutil's reset_optimizer_state re-initialises every variable of TF's Adam, its β
// powers with its moments — here a fresh optimizer on the new phase's weights: m and v zero, the step count 0.
import type * as tf from '@tensorflow/tfjs';
import { lastPhase, phaseAt, type Phase, type ProgressiveGan } from '../model/progan.js';
import type { Optimizer } from './optimizer.js';
import type { Gan } from './step.js';

export interface Growing {
  /** every phase's networks */
  networks: ProgressiveGan;
  /** thousands of images per fade and per stable phase (--fade-kimg) */
  fadeKimg: number;
  batchSize: number;
  /** the phase the Gan's G and D are now */
  phase: Phase;
  /** a fresh optimizer for a model's trainable weights */
  optimizer: (model: tf.LayersModel) => Optimizer;
}

/** The phase of the step that follows `step` steps: the official schedule at step × batch images seen. */
export function phaseOfStep(step: number, g: Pick<Growing, 'networks' | 'fadeKimg' | 'batchSize'>): Phase {
  return phaseAt(step * g.batchSize, g.networks.shape.imageSize, g.fadeKimg);
}

/**
 * Puts a growing Gan in the phase of the step that follows `step` steps: its α written, and on a new phase that phase's
 * G and D (built once) with fresh optimizers. Returns whether the phase changed (false: not a growing run).
 */
export function growTo(gan: Gan, step: number): boolean {
  const g = gan.growing;
  if (!g) return false;
  const phase = phaseOfStep(step, g);
  const changed = phase.index !== g.phase.index;
  if (changed) {
    const { G, D } = g.networks.models(phase);
    gan.optG.dispose();
    gan.optD.dispose();
    Object.assign(gan, { G, D, optG: g.optimizer(G), optD: g.optimizer(D) });
  }
  g.networks.setAlpha(phase);
  g.phase = phase;
  return changed;
}

/** A phase for people: "8×8 fading in, α 0.42", "16×16 stable". */
export function describePhase(phase: Phase): string {
  const size = `${phase.resolution}×${phase.resolution}`;
  return phase.fading ? `${size} fading in, α ${phase.alpha.toFixed(2)}` : `${size} stable`;
}

/** The schedule for people, at the start of a run: "growing 4×4 → 16×16: 5 phases of 4 kimg (250 steps) each; 16×16 from step 1000". */
export function describeSchedule(g: Pick<Growing, 'networks' | 'fadeKimg' | 'batchSize'>): string {
  const size = g.networks.shape.imageSize;
  const phases = lastPhase(size) + 1;
  const perPhase = (g.fadeKimg * 1000) / g.batchSize;
  return `growing 4×4 → ${size}×${size}: ${phases} phases of ${g.fadeKimg} kimg (${+perPhase.toFixed(1)} steps) each; ` +
    `${size}×${size} stable from step ${Math.ceil(lastPhase(size) * perPhase)}`;
}
