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

/**
 * Multiply-adds per image of a model's convolutions (a kernel, [kh, kw, in, out], at every output position) and dense
 * layers (a kernel, [in, out]): the bulk of a step's work, and what grows.
 */
export function multiplyAdds(model: tf.LayersModel): number {
  let total = 0;
  for (const layer of model.layers) {
    const out = layer.outputShape as (number | null)[]; // [n, h, w, c] or [n, units]: the growing networks' layers have one output
    for (const w of layer.trainableWeights) {
      const size = w.shape.reduce<number>((p, d) => p * (d ?? 1), 1);
      if (w.shape.length === 4) total += size * (out[1] ?? 1) * (out[2] ?? 1);
      else if (w.shape.length === 2) total += size;
    }
  }
  return total;
}

/**
 * The time a growing run's remaining steps will take. A step costs a fixed part (dispatch, small ops: nearly all of a
 * 4×4 step) plus a part that grows with the phase's multiply-adds, `cost(phase)`: the line through the mean step
 * times of the cheapest and the dearest phase this process has trained, and each phase's own mean where it has one
 * (the phase under way). With one phase measured, every phase is taken to cost it, as for a run that does not grow.
 */
export class GrowingEta {
  private readonly measured = new Map<number, { steps: number; seconds: number }>();
  private readonly costs = new Map<number, number>();

  constructor(private readonly g: Pick<Growing, 'networks' | 'fadeKimg' | 'batchSize'>, private readonly cost: (phase: Phase) => number) {}

  /** A step of `phase` took `seconds`. */
  record(phase: Phase, seconds: number): void {
    const m = this.measured.get(phase.index) ?? { steps: 0, seconds: 0 };
    this.measured.set(phase.index, { steps: m.steps + 1, seconds: m.seconds + seconds });
  }

  /** Seconds for steps `from` … `to` − 1 (after `from` steps done, until `to`). */
  secondsLeft(from: number, to: number): number {
    const seen = [...this.measured].map(([index, m]) => ({ index, cost: this.costOf(index), perStep: m.seconds / m.steps }));
    if (!seen.length) return 0;
    const cheap = seen.reduce((a, b) => (b.cost < a.cost ? b : a));
    const dear = seen.reduce((a, b) => (b.cost > a.cost ? b : a));
    const slope = dear.cost > cheap.cost ? Math.max(0, (dear.perStep - cheap.perStep) / (dear.cost - cheap.cost)) : 0;
    const fixed = slope ? cheap.perStep - slope * cheap.cost : dear.perStep;
    const perStep = (index: number) => {
      const own = this.measured.get(index);
      return own ? own.seconds / own.steps : Math.max(0, fixed + slope * this.costOf(index));
    };
    let seconds = 0;
    for (const [index, steps] of stepsByPhase(this.g, from, to)) seconds += steps * perStep(index);
    return seconds;
  }

  private costOf(index: number): number {
    let c = this.costs.get(index);
    if (c === undefined) {
      const length = this.g.fadeKimg * 1000;
      c = this.cost(phaseAt(index * length, this.g.networks.shape.imageSize, this.g.fadeKimg));
      this.costs.set(index, c);
    }
    return c;
  }
}

/** How many of the steps `from` … `to` − 1 each phase trains: step k is in the phase of k × batch images seen. */
export function stepsByPhase(g: Pick<Growing, 'networks' | 'fadeKimg' | 'batchSize'>, from: number, to: number): Map<number, number> {
  const out = new Map<number, number>();
  const last = lastPhase(g.networks.shape.imageSize);
  const length = g.fadeKimg * 1000; // images a phase
  for (let index = 0; index <= last; index++) {
    // steps whose images seen (k × batch) fall in [index·length, (index + 1)·length); the last phase has no end
    const first = Math.max(from, Math.ceil((index * length) / g.batchSize));
    const end = index === last ? to : Math.min(to, Math.ceil(((index + 1) * length) / g.batchSize));
    if (end > first) out.set(index, end - first);
  }
  return out;
}
