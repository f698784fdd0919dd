// Line charts as SVG, rendered to PNG by sharp (librsvg): stacked panels sharing a width, each with its own axes,
// ticks, title and legend. No plotting library: what the report needs is a few polylines and some text.
import sharp from 'sharp';

export interface Series {
  label: string;
  colour: string;
  xs: ArrayLike<number>;
  /** non-finite values (null in JSON) break the line */
  ys: ArrayLike<number | null>;
  /** thin and pale, beneath the others, left out of the legend and of the y range: the raw values under a smoothed line */
  faint?: boolean;
  dashed?: boolean;
  /** a dot at each point: for series of a few points */
  markers?: boolean;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** default: the range of the (non-faint) data, padded */
  yRange?: [number, number];
  /** dashed horizontal reference lines */
  guides?: number[];
  /** pale vertical lines, e.g. where epochs end */
  marks?: number[];
  /** ticks on whole numbers only (epochs) */
  integerX?: boolean;
}

export interface ChartLayout {
  width: number;
  panelHeight: number;
}

const FONT = 'DejaVu Sans, Verdana, Arial, sans-serif';
const MARGIN = { left: 72, right: 24, top: 40, bottom: 52 };
const MAX_POINTS = 2000;

/** "Nice" tick values (1, 2 or 5 × 10^k apart) covering [min, max] with about `target` ticks. */
export function niceTicks(min: number, max: number, target = 6): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  // whole multiples of the step, rounded so that 3 × 0.2 reads 0.6
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)) || 0);
  return ticks;
}

function tickLabel(v: number, ticks: number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(v) || 1;
  if (step >= 1000 && Math.abs(v) >= 1e4) return `${+(v / 1000).toFixed(Math.max(0, -Math.floor(Math.log10(step / 1000))))}k`;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(decimals);
}

/**
 * Exponential moving average with TensorBoard's bias correction (the first values are not pulled towards 0);
 * `span` in the pandas sense: weight 1 − 2/(span + 1). Non-finite values are passed over.
 */
export function ema(ys: ArrayLike<number | null>, span: number): Float64Array {
  const beta = span <= 1 ? 0 : 1 - 2 / (span + 1);
  const out = new Float64Array(ys.length);
  let s = 0, weight = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y !== null && Number.isFinite(y)) {
      s = beta * s + (1 - beta) * y;
      weight = beta * weight + (1 - beta);
    }
    out[i] = weight > 0 ? s / weight : NaN;
  }
  return out;
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: number) => (Math.round(v * 10) / 10).toString();
const finite = (v: number | null): v is number => v !== null && Number.isFinite(v);

function extent(values: number[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (lo > hi) return [0, 1];
  if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** Every k-th point, so that a long run's polyline stays a few thousand points. */
function decimate(s: Series): { xs: number[]; ys: (number | null)[] } {
  const k = Math.max(1, Math.ceil(s.xs.length / MAX_POINTS));
  const xs: number[] = [], ys: (number | null)[] = [];
  for (let i = 0; i < s.xs.length; i += k) {
    xs.push(s.xs[i]);
    ys.push(s.ys[i]);
  }
  if ((s.xs.length - 1) % k) {
    xs.push(s.xs[s.xs.length - 1]);
    ys.push(s.ys[s.ys.length - 1]);
  }
  return { xs, ys };
}

function panelSvg(p: Panel, top: number, o: ChartLayout, id: number): string {
  const x0 = MARGIN.left, x1 = o.width - MARGIN.right;
  const y0 = top + MARGIN.top, y1 = top + o.panelHeight - MARGIN.bottom;
  const allX = p.series.flatMap((s) => Array.from(s.xs));
  const [xMin, xMax] = (() => {
    const [lo, hi] = extent(allX);
    // a line fills the width; dots need room at the ends, as does a single point
    const dataLo = Math.min(...allX.filter(Number.isFinite)), dataHi = Math.max(...allX.filter(Number.isFinite));
    return dataHi > dataLo && !p.series.some((s) => s.markers) ? [dataLo, dataHi] : [lo, hi];
  })();
  const [yMin, yMax] = p.yRange ?? extent(p.series.filter((s) => !s.faint).flatMap((s) => Array.from(s.ys).filter(finite)));
  const sx = (x: number) => x0 + ((x - xMin) / (xMax - xMin)) * (x1 - x0);
  const sy = (y: number) => y1 - ((y - yMin) / (yMax - yMin)) * (y1 - y0);
  const parts: string[] = [];
  const clip = `clip${id}`;
  parts.push(`<clipPath id="${clip}"><rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}"/></clipPath>`);
  parts.push(`<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="#fcfcfc" stroke="#bbb"/>`);
  parts.push(`<text x="${x0}" y="${top + 24}" font-size="16" font-weight="bold" fill="#222">${escapeXml(p.title)}</text>`);

  const xTicks = niceTicks(xMin, xMax, 8).filter((v) => v >= xMin && v <= xMax && (!p.integerX || Number.isInteger(v)));
  const yTicks = niceTicks(yMin, yMax, 6).filter((v) => v >= yMin && v <= yMax);
  for (const v of xTicks) {
    const x = num(sx(v));
    parts.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#eee"/>`);
    parts.push(`<line x1="${x}" y1="${y1}" x2="${x}" y2="${y1 + 5}" stroke="#666"/>`);
    parts.push(`<text x="${x}" y="${y1 + 19}" font-size="12" text-anchor="middle" fill="#444">${tickLabel(v, xTicks)}</text>`);
  }
  for (const v of yTicks) {
    const y = num(sy(v));
    parts.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<line x1="${x0 - 5}" y1="${y}" x2="${x0}" y2="${y}" stroke="#666"/>`);
    parts.push(`<text x="${x0 - 8}" y="${num(sy(v) + 4)}" font-size="12" text-anchor="end" fill="#444">${tickLabel(v, yTicks)}</text>`);
  }
  parts.push(`<text x="${(x0 + x1) / 2}" y="${y1 + 40}" font-size="13" text-anchor="middle" fill="#333">${escapeXml(p.xLabel)}</text>`);
  parts.push(`<text transform="translate(${x0 - 52} ${(y0 + y1) / 2}) rotate(-90)" font-size="13" text-anchor="middle" fill="#333">${escapeXml(p.yLabel)}</text>`);

  const body: string[] = [];
  for (const m of p.marks ?? []) if (m > xMin && m < xMax) body.push(`<line x1="${num(sx(m))}" y1="${y0}" x2="${num(sx(m))}" y2="${y1}" stroke="#d8d8e8"/>`);
  for (const g of p.guides ?? []) body.push(`<line x1="${x0}" y1="${num(sy(g))}" x2="${x1}" y2="${num(sy(g))}" stroke="#888" stroke-dasharray="4 4"/>`);
  for (const s of [...p.series.filter((s) => s.faint), ...p.series.filter((s) => !s.faint)]) {
    const { xs, ys } = decimate(s);
    let d = '';
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      const y = ys[i];
      if (!finite(y) || !Number.isFinite(xs[i])) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${num(sx(xs[i]))} ${num(sy(y))}`;
      pen = true;
    }
    const style = s.faint
      ? `stroke="${s.colour}" stroke-opacity="0.25" stroke-width="1"`
      : `stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}`;
    if (d) body.push(`<path d="${d}" fill="none" ${style} stroke-linejoin="round"/>`);
    if (s.markers) {
      for (let i = 0; i < xs.length; i++) {
        const y = ys[i];
        if (finite(y)) body.push(`<circle cx="${num(sx(xs[i]))}" cy="${num(sy(y))}" r="3.5" fill="${s.colour}"/>`);
      }
    }
  }
  parts.push(`<g clip-path="url(#${clip})">${body.join('')}</g>`);

  // legend: top right, inside the plot area, on a white card
  const shown = p.series.filter((s) => !s.faint);
  const legendWidth = 16 + Math.max(...shown.map((s) => s.label.length), 4) * 7.2 + 36;
  const lx = x1 - legendWidth - 8, ly = y0 + 8;
  parts.push(`<rect x="${num(lx)}" y="${ly}" width="${num(legendWidth)}" height="${shown.length * 20 + 8}" fill="#fff" fill-opacity="0.9" stroke="#ccc" rx="3"/>`);
  shown.forEach((s, i) => {
    const y = ly + 14 + i * 20;
    parts.push(`<line x1="${num(lx + 8)}" y1="${y}" x2="${num(lx + 36)}" y2="${y}" stroke="${s.colour}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${num(lx + 44)}" y="${y + 4}" font-size="12" fill="#222">${escapeXml(s.label)}</text>`);
  });
  return parts.join('\n');
}

/** Panels stacked top to bottom in one SVG document. */
export function chartSvg(panels: Panel[], layout: Partial<ChartLayout> = {}): string {
  const o: ChartLayout = { width: 960, panelHeight: 320, ...layout };
  const height = panels.length * o.panelHeight;
  const body = panels.map((p, i) => panelSvg(p, i * o.panelHeight, o, i)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${height}" viewBox="0 0 ${o.width} ${height}" font-family="${FONT}">
<rect width="100%" height="100%" fill="#fff"/>
${body}
</svg>
`;
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
