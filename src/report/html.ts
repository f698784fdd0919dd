// report.html from what a run folder holds: one self-contained page (styles inline, images as data: URIs) that opens
// from disk anywhere, no server and no network.
import type { EpochRecord, EvalFigures, RunConfig } from '../run/records.js';

/** A set of quality figures and where they came from. */
export interface EvalEntry {
  epoch: number;
  step: number;
  time?: string;
  source: 'training' | 'dcgan eval';
  figures: EvalFigures;
}

export interface ReportInput {
  runDir: string;
  config: RunConfig;
  epochs: EpochRecord[];
  /** trained epochs and steps (state.json), when there is a checkpoint */
  state?: { epoch: number; step: number };
  lossPlot?: Buffer;
  swdPlot?: Buffer;
  evals: EvalEntry[];
  /** per-epoch grids for the timeline, oldest first */
  grids: { epoch: number; png: Buffer }[];
  generatedAt: string;
}

const escapeHtml = (v: unknown) =>
  String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const dataUri = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;
const fixed = (v: number | null | undefined, digits = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');

/** Which epochs the timeline shows: all of them up to `max`, else `max` evenly spaced ones, always the first and last. */
export function timelineEpochs(epochs: number[], max = 30): number[] {
  if (epochs.length <= max) return [...epochs];
  const picked = new Set<number>();
  for (let i = 0; i < max; i++) picked.add(epochs[Math.round((i * (epochs.length - 1)) / (max - 1))]);
  return [...picked].sort((a, b) => a - b);
}

/** The most recent figures: the highest step, then the latest time. */
export function latestEval(evals: EvalEntry[]): EvalEntry | undefined {
  return [...evals].sort((a, b) => a.step - b.step || String(a.time ?? '').localeCompare(String(b.time ?? ''))).at(-1);
}

const STYLE = `
  :root { color-scheme: light; }
  body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #222; background: #f6f6f4; margin: 0; }
  main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 64px; background: #fff; box-shadow: 0 0 12px rgba(0,0,0,.06); }
  h1 { font-size: 26px; margin: 0 0 4px; }
  h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #e4e4e4; }
  .sub { color: #666; margin: 0 0 18px; }
  .facts { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
  .fact { background: #f3f5f8; border-radius: 6px; padding: 8px 14px; }
  .fact b { display: block; font-size: 18px; }
  .fact span { color: #666; font-size: 13px; }
  img { max-width: 100%; }
  img.pixels { image-rendering: pixelated; }
  .latest img { width: 100%; max-width: 760px; border: 1px solid #ddd; }
  table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
  th, td { text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid #eee; vertical-align: top; }
  th { color: #555; font-weight: 600; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .timeline { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 14px; }
  .timeline figure { margin: 0; }
  .timeline img { width: 100%; border: 1px solid #ddd; }
  figcaption { font-size: 13px; color: #555; }
  .warning { background: #fff4e0; border-left: 4px solid #f0a020; padding: 8px 14px; margin: 8px 0; }
  .note { color: #666; font-size: 13px; }
  details summary { cursor: pointer; color: #345; margin: 8px 0; }
  code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; }
`;

function table(head: string[], rows: unknown[][], numeric: boolean[] = []): string {
  const cls = (i: number) => (numeric[i] ? ' class="num"' : '');
  const thead = head.some((h) => h) ? `<thead><tr>${head.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('')}</tr></thead>` : '';
  return `<table>${thead}<tbody>` +
    rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('') + '</tbody></table>';
}

function qualitySection(input: ReportInput): string {
  const latest = latestEval(input.evals);
  if (!latest) {
    return `<h2>Quality</h2><p class="note">No quality figures yet: train with <code>--eval-every K</code> or run <code>dcgan eval --run ${escapeHtml(input.runDir)}</code>.</p>`;
  }
  const f = latest.figures;
  const levels = Object.keys(f.swd_x1e3).filter((k) => k !== 'avg').sort((a, b) => Number(b) - Number(a));
  const ratio = f.nn_generated / f.nn_real;
  const parts = [
    '<h2>Quality</h2>',
    `<p>Latest figures: epoch ${latest.epoch} (step ${latest.step}), from ${latest.source}, ${f.n} generated vs ${f.n} real images, seed ${f.seed}.</p>`,
    table(['', ...levels.map((r) => `${r}×${r}`), 'average'], [['SWD ×10³', ...levels.map((r) => fixed(f.swd_x1e3[r], 2)), fixed(f.swd_x1e3.avg, 2)]], [false, ...levels.map(() => true), true]),
    '<p class="note">Sliced Wasserstein distance of ProGAN (Karras et al. 2018) between 7×7 neighbourhoods of the Laplacian pyramid levels of generated and real images; lower is better.</p>',
    table(['nearest training image', 'mean distance'], [
      ['from generated images', fixed(f.nn_generated, 4)],
      ['from held-out real images', fixed(f.nn_real, 4)],
      ['ratio generated / real', fixed(ratio, 2)],
    ], [false, true]),
    `<p class="note">RMS pixel distance (pixels in [0, 1]) to the closest of ${f.nn_reference} training images, for ${f.nn_queries} images each. ` +
      'A ratio well under 1 means generated images sit much closer to training images than new real images do: memorisation.</p>',
  ];
  if (f.class_agreement !== undefined) {
    parts.push(`<p>Class agreement: D's class head names the class G was asked for in <b>${fixed(100 * f.class_agreement, 1)}%</b> of the generated images (chance: 1 in the number of classes).</p>`);
  }
  if (input.swdPlot) parts.push(`<p><img src="${dataUri(input.swdPlot)}" alt="SWD over epochs"></p>`);
  if (input.evals.length > 1) {
    parts.push('<details><summary>All quality figures</summary>' + table(
      ['epoch', 'source', 'n', ...levels.map((r) => `SWD ${r}`), 'SWD avg', 'NN gen / real'],
      [...input.evals].sort((a, b) => a.step - b.step).map((e) => [
        e.epoch, e.source, e.figures.n, ...levels.map((r) => fixed(e.figures.swd_x1e3[r], 2)), fixed(e.figures.swd_x1e3.avg, 2),
        fixed(e.figures.nn_generated / e.figures.nn_real, 2),
      ]),
      [true, false, true, ...levels.map(() => true), true, true],
    ) + '</details>');
  }
  return parts.join('\n');
}

function configSection(c: RunConfig): string {
  const options = Object.entries(c.options ?? {}).filter(([, v]) => v !== undefined && v !== null);
  const parts = ['<h2>Configuration</h2>'];
  const facts: [string, unknown][] = [
    ['dataset', c.dataset?.description],
    ['backend', c.backend],
    ['device', c.device],
    ['started', c.time],
    ['command', c.command !== undefined ? `dcgan ${c.command}` : undefined],
  ];
  parts.push(table(['', ''], facts.filter(([, v]) => v !== undefined)));
  parts.push('<details open><summary>Options</summary>' + table(['option', 'value'], options.map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v])) + '</details>');
  if (c.resumes?.length) {
    parts.push('<h3>Resumes</h3>' + table(['time', 'backend', 'device'], c.resumes.map((r) => [r.time ?? '–', r.backend ?? '–', r.device ?? '–'])));
  }
  if (c.versions) parts.push('<details><summary>Versions</summary>' + table(['package', 'version'], Object.entries(c.versions)) + '</details>');
  return parts.join('\n');
}

export function renderReport(input: ReportInput): string {
  const { config, epochs } = input;
  const last = epochs.at(-1);
  const planned = Number(config.options?.epochs);
  const trained = input.state?.epoch ?? last?.epoch ?? 0;
  const totalSeconds = epochs.reduce((s, e) => s + (e.seconds ?? 0), 0);
  const size = config.options?.imageSize;
  const title = `DCGAN run ${input.runDir}`;
  const facts: [string, string][] = [
    [`${trained}${Number.isFinite(planned) ? ` / ${planned}` : ''}`, 'epochs'],
    [String(input.state?.step ?? last?.step ?? 0), 'steps'],
    [size ? `${size}×${size}` : '–', 'image size'],
    [String(config.dataset?.count ?? '–'), 'training images'],
    [totalSeconds ? `${(totalSeconds / 60).toFixed(1)} min` : '–', 'training time'],
    [config.device ?? config.backend ?? '–', 'device'],
  ];
  const warnings = epochs.filter((e) => e.warning);
  const parts: string[] = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="sub">${escapeHtml(config.dataset?.description ?? '')} · report written ${escapeHtml(input.generatedAt)}</p>`,
    `<div class="facts">${facts.map(([v, k]) => `<div class="fact"><b>${escapeHtml(v)}</b><span>${escapeHtml(k)}</span></div>`).join('')}</div>`,
    ...warnings.map((e) => `<div class="warning"><b>Epoch ${e.epoch}:</b> ${escapeHtml(e.warning)}</div>`),
  ];
  const lastGrid = input.grids.at(-1);
  if (lastGrid) {
    parts.push('<h2>Latest samples</h2>',
      `<figure class="latest"><img class="pixels" src="${dataUri(lastGrid.png)}" alt="samples after epoch ${lastGrid.epoch}"><figcaption>After epoch ${lastGrid.epoch}, from the run's fixed noise.</figcaption></figure>`);
  }
  parts.push('<h2>Training curves</h2>');
  parts.push(input.lossPlot ? `<p><img src="${dataUri(input.lossPlot)}" alt="losses and discriminator outputs per step"></p>` : '<p class="note">No steps logged yet.</p>');
  parts.push(qualitySection(input));
  if (input.grids.length) {
    const shown = new Set(timelineEpochs(input.grids.map((g) => g.epoch)));
    const byEpoch = new Map(epochs.map((e) => [e.epoch, e]));
    parts.push(`<h2>Timeline</h2><p class="note">The same fixed noise after ${shown.size < input.grids.length ? `${shown.size} of the ${input.grids.length}` : 'each of the'} epochs.</p>`);
    parts.push('<div class="timeline">' + input.grids.filter((g) => shown.has(g.epoch)).map((g) => {
      const m = byEpoch.get(g.epoch);
      const caption = `epoch ${g.epoch}` + (m ? ` · loss_D ${fixed(m.loss_D)} · loss_G ${fixed(m.loss_G)}` : '') + (m?.eval ? ` · SWD ${fixed(m.eval.swd_x1e3.avg, 1)}` : '');
      return `<figure><img class="pixels" src="${dataUri(g.png)}" alt="epoch ${g.epoch}"><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
    }).join('\n') + '</div>');
  }
  if (epochs.length) {
    parts.push('<h2>Per epoch</h2><details><summary>metrics.jsonl as a table</summary>' + table(
      ['epoch', 'step', 'loss_D', 'loss_G', 'D(x)', 'D(G(z))', 'diversity', 'img/s', 's'],
      epochs.map((e) => [e.epoch, e.step, fixed(e.loss_D), fixed(e.loss_G), fixed(e.D_x), fixed(e.D_G_z), fixed(e.diversity), fixed(e.images_per_s, 1), fixed(e.seconds, 1)]),
      [true, true, true, true, true, true, true, true, true],
    ) + '<p class="note">diversity: mean pairwise RMS distance of the fixed-noise grid\'s images (pixels in [0, 1]).</p></details>');
  }
  parts.push(configSection(config));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${parts.join('\n')}
</main>
</body>
</html>
`;
}
