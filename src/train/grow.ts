// Progressive growing in training (`--arch progan --fade-kimg N`, Karras et al. 2018): every step trains the G and D of
// the phase the images seen so far reach (model/progan.ts phaseAt, the official TrainingSchedule), with the fade's α
// of that step; the phases' models share their weights, so moving on copies nothing.
//
// Adam's state is reset whenever the phase changes, as the official train.py does with reset_opt_for_new_lod (on by
// default): it resets both optimizers when floor(lod) or ceil(lod) changes, which is at the start of each fade and again
// at the stable phase after it, and tfutil's reset_optimizer_state re-initialises every variable of TF's Adam, its β
// powers with its moments — here a fresh optimizer on the new phase's weights: m and v zero, the step count 0.
import type * as tf from '@tensorflow/tfjs';
import { lastPhase, phaseAt, ProgressiveGan, type Phase } from '../model/progan.js';
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
  /** --ema: the average of G's weights, grown as G is (growAverage) */
  average?: ProgressiveGan;
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
  g.average?.setAlpha(phase);
  g.phase = phase;
  return changed;
}

/**
 * --ema on a growing run: the average of G's weights as networks of their own, grown with G — the same layers drawn from
 * the same seed, so it starts equal to G. Returns its G of the phase (its models follow the phase: averageOf).
 */
export function growAverage(g: Growing): tf.LayersModel {
  g.average = new ProgressiveGan(g.networks.shape, g.networks.seed);
  g.average.whole(); // every layer's weights now, as G's
  g.average.setAlpha(g.phase);
  return g.average.models(g.phase).G;
}

/** The average's G of the phase a growing run is in. */
export const averageOf = (g: Growing): tf.LayersModel | undefined => g.average?.models(g.phase).G;

/**
 * Every weight a growing run has, as models: G's and D's with every layer, and the average's (--ema). A checkpoint
 * keeps them (growing/), and --ema averages every weight of G, as the official Gs.setup_as_moving_average_of(G) does
 * (those of layers a phase leaves out too: they stay as G left them, and the average closes in on them).
 */
export function wholeNetworks(g: Growing): { G: tf.LayersModel; D: tf.LayersModel; Gema?: tf.LayersModel } {
  return { ...g.networks.whole(), ...(g.average ? { Gema: g.average.whole().G } : {}) };
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
