// Early signs that a GAN run has failed, from figures the loop already has: D(G(z)) pinned near 0 for a long stretch
// (D rejects everything G makes; G's gradient vanishes), or G's images fallen to far less variety than the data's
// (mode collapse).
// Each kind is reported once per training process.
import type { ImageSet } from '../data/types.js';
import { Rng } from '../util/rng.js';
import { meanPairwiseDistance } from './distance.js';

export const COLLAPSE_LIMITS = {
  /** mean D(G(z)) of a step under this… */
  dgz: 0.05,
  /** …for this many steps in a row */
  dgzSteps: 200,
  /** G's grid diversity under this fraction of the data's… */
  diversityRatio: 0.2,
  /** …and under this fraction of its own best so far: it fell there (a slow start, still climbing, is no collapse) */
  diversityFall: 0.5,
};

/** Mean pairwise distance of up to `count` images of the data, drawn with a fixed seed: the diversity G should reach. */
export function dataDiversity(data: ImageSet, count = 64, seed = 1): number {
  const k = Math.min(count, data.count);
  if (k < 2) return NaN;
  const bytes = data.size * data.size * data.channels;
  const order = new Rng(seed).permutation(data.count);
  const pixels = new Uint8Array(k * bytes);
  for (let i = 0; i < k; i++) pixels.set(data.pixels.subarray(order[i] * bytes, (order[i] + 1) * bytes), i * bytes);
  return meanPairwiseDistance(pixels, k);
}

export class CollapseMonitor {
  private lowSteps = 0;
  private bestDiversity = 0;
  private warned = new Set<'dgz' | 'diversity'>();

  /**
   * `critic`: D gives WGAN-GP's scores, not probabilities; the reported D(G(z)) (the sigmoid of a score) near 0 says
   * only that the scores of fakes are low, which a critic's may be all along (no vanishing gradient): no warning.
   */
  constructor(private readonly dataDiversity: number, private readonly limits = COLLAPSE_LIMITS, private readonly critic = false) {}

  /** Per step: a warning, once, when D(G(z)) has stayed under the limit for the set number of steps. */
  step(step: number, dgz: number): string | undefined {
    if (this.critic) return undefined;
    this.lowSteps = dgz < this.limits.dgz ? this.lowSteps + 1 : 0;
    if (this.lowSteps < this.limits.dgzSteps || this.warned.has('dgz')) return undefined;
    this.warned.add('dgz');
    return `possible collapse: D(G(z)) has stayed under ${this.limits.dgz} for ${this.lowSteps} steps (to step ${step}); ` +
      'the discriminator rejects everything the generator makes';
  }

  /**
   * Per epoch, with the mean pairwise distance of G's fixed-noise grid: a warning, once, when it has fallen far below
   * the data's.
   */
  diversity(epoch: number, generated: number): string | undefined {
    const best = this.bestDiversity;
    this.bestDiversity = Math.max(best, generated);
    if (!(this.dataDiversity > 0) || this.warned.has('diversity')) return undefined;
    if (generated >= this.limits.diversityRatio * this.dataDiversity || generated >= this.limits.diversityFall * best) return undefined;
    this.warned.add('diversity');
    return `possible mode collapse: at epoch ${epoch} the generated images differ by ${generated.toFixed(3)} on average ` +
      `(down from ${best.toFixed(3)}), the data's by ${this.dataDiversity.toFixed(3)}`;
  }
}
