// The run's figures: losses and D outputs per step (plot.png, after every epoch), and SWD over epochs (in the report).
import { chartSvg, ema, svgToPng, type Panel, type Series } from '../image/plot.js';
import { readJsonl } from '../run/files.js';
import { runFiles } from '../run/layout.js';
import type { StepRecord } from '../run/records.js';
import { writeFileAtomic } from '../util/fs.js';

/** A point of the SWD-over-training figure. */
export interface SwdPoint {
  epoch: number;
  swd_x1e3: Record<string, number>;
}

const COLOURS = { loss_D: '#1f77b4', loss_G: '#ff7f0e', D_x: '#2ca02c', D_G_z: '#9467bd' };

/** The smoothing span: about 2% of the run, so the curve reads the same for 100 steps or 100,000. */
export const smoothingSpan = (steps: number) => Math.max(1, Math.round(steps / 50));

function smoothed(label: string, colour: string, xs: number[], ys: (number | null)[], span: number): Series[] {
  return [
    { label, colour, xs, ys, faint: true },
    { label, colour, xs, ys: Array.from(ema(ys, span)) },
  ];
}

/** The steps where each epoch ends (the last step logged with that epoch), but the last. */
function epochEnds(steps: StepRecord[]): number[] {
  const ends: number[] = [];
  for (let i = 0; i + 1 < steps.length; i++) if (steps[i + 1].epoch !== steps[i].epoch) ends.push(steps[i].step);
  return ends;
}

/** From 0 (losses are ≥ 0) to a little above the highest smoothed value; raw spikes beyond it are clipped. */
function lossRange(steps: StepRecord[]): [number, number] {
  const span = smoothingSpan(steps.length);
  let hi = 0;
  for (const key of ['loss_D', 'loss_G'] as const) {
    for (const v of ema(steps.map((s) => s[key]), span)) if (Number.isFinite(v)) hi = Math.max(hi, v);
  }
  return [0, hi > 0 ? hi * 1.08 : 1];
}

export function lossPlotSvg(steps: StepRecord[]): string {
  const xs = steps.map((s) => s.step);
  const span = smoothingSpan(steps.length);
  const note = span > 1 ? `EMA over ~${span} steps, raw values pale` : 'per step';
  const marks = epochEnds(steps);
  const xLabel = `step${marks.length && marks.length <= 100 ? ' (vertical lines: epoch ends)' : ''}`;
  const panels: Panel[] = [
    {
      title: `Losses (${note})`,
      xLabel,
      yLabel: 'loss',
      series: [
        ...smoothed('loss_D', COLOURS.loss_D, xs, steps.map((s) => s.loss_D), span),
        ...smoothed('loss_G', COLOURS.loss_G, xs, steps.map((s) => s.loss_G), span),
      ],
      marks: marks.length <= 100 ? marks : [],
      yRange: lossRange(steps),
    },
    {
      title: `Discriminator outputs (${note})`,
      xLabel,
      yLabel: 'mean sigmoid output',
      series: [
        ...smoothed('D(x), real', COLOURS.D_x, xs, steps.map((s) => s.D_x), span),
        ...smoothed('D(G(z)), generated', COLOURS.D_G_z, xs, steps.map((s) => s.D_G_z), span),
      ],
      yRange: [0, 1],
      guides: [0.5],
      marks: marks.length <= 100 ? marks : [],
    },
  ];
  return chartSvg(panels);
}

const LEVEL_COLOURS = ['#e377c2', '#17becf', '#bcbd22', '#8c564b', '#7f7f7f'];

export function swdPlotSvg(points: SwdPoint[]): string {
  const sorted = [...points].sort((a, b) => a.epoch - b.epoch);
  const xs = sorted.map((p) => p.epoch);
  const levels = Object.keys(sorted[0]?.swd_x1e3 ?? {}).filter((k) => k !== 'avg').sort((a, b) => Number(b) - Number(a));
  const series: Series[] = levels.map((r, i) => ({
    label: `${r}×${r}`, colour: LEVEL_COLOURS[i % LEVEL_COLOURS.length], xs, ys: sorted.map((p) => p.swd_x1e3[r] ?? null),
    markers: true, dashed: true,
  }));
  series.push({ label: 'average', colour: '#222', xs, ys: sorted.map((p) => p.swd_x1e3.avg ?? null), markers: true });
  return chartSvg([{ title: 'Sliced Wasserstein distance ×10³ (lower is better)', xLabel: 'epoch', yLabel: 'SWD ×10³', series, integerX: true }], { panelHeight: 340 });
}

export async function lossPlotPng(steps: StepRecord[]): Promise<Buffer> {
  return svgToPng(lossPlotSvg(steps));
}

/** Redraws plot.png from the run's steps.jsonl; false when there are no steps yet. */
export async function writeLossPlot(runDir: string): Promise<boolean> {
  const steps = await readJsonl<StepRecord>(runFiles(runDir).steps);
  if (!steps.length) return false;
  await writeFileAtomic(runFiles(runDir).plot, await lossPlotPng(steps));
  return true;
}
