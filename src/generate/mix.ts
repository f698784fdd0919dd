// `dcgan sample --mix`: StyleGAN's style-mixing figure (Karras et al. 2019, Figure 3; generate_figures.py
// draw_style_mixing_figure) from a run's StyleGAN generator. Sources A down the left column, sources B along the top
// row; the tile of A's row and B's column is A's image with B's styles at one group of layers: coarse (4²–8²: pose,
// face shape), middle (16²–32²: features) or fine (64² and up: colours, microstructure).
//
// The three groups are three bands of rows, each with the same sources A (where the paper draws other A's per band):
// down a column one then reads what B's coarse, middle and fine styles each do to the same A. `--mix coarse` (or
// any comma list) draws only those bands. --n is the rows of a band, --cols the sources B.
//
// The sources are the latents `dcgan sample --seed S` draws: A the first n, B the next cols, so the left column is
// `dcgan sample --seed S --n N` and the top row the images that follow it.
import { tileGrid, type RawImage } from '../image/grid.js';
import { latents } from '../model/generator.js';
import { everyLayer } from '../model/style-models.js';
import { styleGroups } from '../model/stylegan.js';
import { loadGenerator, readClassNames, type GeneratorChoice } from '../run/runs.js';
import { UsageError } from '../util/errors.js';
import { plural } from '../util/plural.js';
import { chooseClass, classesFor } from './classes.js';
import { checkGridImages, checkGridSide } from './limits.js';
import { imageProgress, writeImage } from './sample.js';
import { applyTruncation, copyStyles, mapLatents, requireStyleGenerator, styleParts, synthesize } from './style.js';

export const STYLE_GROUPS = ['coarse', 'middle', 'fine'] as const;
export type StyleGroup = (typeof STYLE_GROUPS)[number];

export interface MixOptions {
  run: string;
  /** the groups of layers B's styles are copied at, a band of rows each; undefined: every group the generator has */
  groups?: StyleGroup[];
  /** sources A: rows of each band */
  n: number;
  /** sources B: columns */
  cols: number;
  seed: number;
  out: string;
  /** --class on a conditional run: every source of this class (else source k has class k mod classes, as in sample) */
  class?: string;
  truncation?: number;
  generator?: GeneratorChoice;
}

/** --mix's value: a comma list of coarse, middle and fine (in the order given, each once). */
export function parseStyleGroups(text: string): StyleGroup[] {
  const names = text.split(',').map((s) => s.trim());
  const bad = names.find((s) => !(STYLE_GROUPS as readonly string[]).includes(s));
  if (bad !== undefined) throw new UsageError(`--mix ${text}: ${bad ? `${bad} is not` : 'expected'} coarse, middle or fine (or a comma list of them)`);
  if (new Set(names).size !== names.length) throw new UsageError(`--mix ${text}: each group once`);
  return names as StyleGroup[];
}

/** The figure's tiles, (1 + bands·n) rows of (1 + cols), against the limits of a grid (limits.ts), before any work. */
export function checkMix(n: number, cols: number, bands: number, out?: string, imageSize?: number): void {
  const rows = 1 + bands * n;
  checkGridImages(rows * (1 + cols), `--mix --n ${n} --cols ${cols}`, `${rows} rows of ${1 + cols} tiles`);
  if (out && imageSize) checkGridSide(out, rows * (1 + cols), imageSize, 1 + cols);
}

/** 'layers 0–3 (4²–8²)', 'layers 4–5 (16²)' */
const layersText = (range: readonly [number, number]) => {
  const [first, last] = [range[0], range[1] - 1];
  const res = (l: number) => `${2 ** (2 + Math.floor(l / 2))}²`;
  const resolutions = res(first) === res(last) ? res(first) : `${res(first)}–${res(last)}`;
  return `layer${last > first ? `s ${first}–${last}` : ` ${first}`} (${resolutions})`;
};

/**
 * Each asked group's layers in a G drawing `imageSize` pixels; a group with no layers at that size, or one that holds
 * every layer (then the mixture is B itself), refused naming it. Without `asked`: every group that mixes.
 */
export function mixRanges(imageSize: number, layers: number, asked?: StyleGroup[]): { group: StyleGroup; range: [number, number] }[] {
  const groups = styleGroups(imageSize);
  const usable = (g: StyleGroup) => groups[g][1] > groups[g][0] && groups[g][1] - groups[g][0] < layers;
  const has = STYLE_GROUPS.filter((g) => groups[g][1] > groups[g][0]).map((g) => `${g} ${layersText(groups[g])}`).join(', ');
  if (!asked) {
    const all = STYLE_GROUPS.filter(usable);
    if (!all.length) throw new UsageError(`--mix: a ${imageSize}-px StyleGAN's ${layers} layers are all coarse (4²–8²): copying them from B draws B itself; mixing needs a run of 16 px or more`);
    return all.map((group) => ({ group, range: groups[group] }));
  }
  return asked.map((group) => {
    const range = groups[group];
    if (range[1] <= range[0]) throw new UsageError(`--mix ${group}: a ${imageSize}-px StyleGAN has no ${group} layers; its layers are ${has}`);
    if (!usable(group)) throw new UsageError(`--mix ${group}: every layer of a ${imageSize}-px StyleGAN is ${group} (${layersText(range)}): copying them from B draws B itself`);
    return { group, range };
  });
}

export interface MixResult {
  width: number;
  height: number;
  groups: StyleGroup[];
}

/**
 * The figure's tiles in reading order: the top row a blank corner, then B₁ … B_cols; each band's rows Aᵢ, then Aᵢ with
 * B_j's styles at the band's layers. Every tile is drawn by the synthesis network from w per layer (A's and B's own
 * tiles from their own w at every layer: G's images exactly).
 */
export async function mixFigure(o: MixOptions): Promise<MixResult> {
  checkMix(o.n, o.cols, o.groups?.length ?? STYLE_GROUPS.length);
  const G = await loadGenerator(o.run, o.generator);
  try {
    requireStyleGenerator(G, '--mix', o.run, 'mix');
    const choice = chooseClass(o.class, G, await readClassNames(o.run));
    if (choice === 'all') throw new UsageError('--class all does not combine with --mix: name one class (or leave --class out: source k has class k)');
    applyTruncation(G, o.run, o.truncation);
    const parts = styleParts(G);
    const { layers, size } = parts;
    const bands = mixRanges(G.imageSize, layers, o.groups);
    const cols = o.cols + 1;
    const rows = 1 + bands.length * o.n;
    checkMix(o.n, o.cols, bands.length, o.out, G.imageSize);

    const labels = classesFor(choice, o.n + o.cols, G);
    const w = await mapLatents(G, parts, latents(o.seed, o.n + o.cols, G.latent), o.n + o.cols, labels);
    const wA = (i: number) => w.subarray(i * size, (i + 1) * size);
    const wB = (j: number) => w.subarray((o.n + j) * size, (o.n + j + 1) * size);
    const own = (w: Float32Array) => everyLayer(w, 1, layers, size); // a source's own tile: its w at every layer
    // w per layer of every tile but the corner, in reading order
    const codes: Float32Array[] = [];
    for (let j = 0; j < o.cols; j++) codes.push(own(wB(j)));
    for (const { range } of bands) {
      for (let i = 0; i < o.n; i++) {
        codes.push(own(wA(i)));
        for (let j = 0; j < o.cols; j++) codes.push(copyStyles(wA(i), wB(j), layers, range));
      }
    }
    const ws = new Float32Array(codes.length * layers * size);
    codes.forEach((c, k) => ws.set(c, k * layers * size));
    const progress = imageProgress(codes.length, 'mixing styles');
    const drawn = await synthesize(G, parts, ws, codes.length, progress.update);
    progress.stop();

    const imageBytes = G.imageSize * G.imageSize * G.channels;
    const pixels = new Uint8Array(rows * cols * imageBytes).fill(255); // the corner stays white, as the padding
    pixels.set(drawn, imageBytes);
    const grid: RawImage = tileGrid(pixels, rows * cols, G.imageSize, G.channels, cols);
    await writeImage(o.out, grid);
    return { width: grid.width, height: grid.height, groups: bands.map((b) => b.group) };
  } finally {
    G.model.dispose();
  }
}

/** '3 sources A × 7 B, coarse and middle styles' */
export function describeMix(n: number, cols: number, groups: StyleGroup[]): string {
  const list = groups.length > 1 ? `${groups.slice(0, -1).join(', ')} and ${groups.at(-1)}` : groups[0];
  return `${plural(n, 'source')} A × ${cols} B, ${list} styles from B`;
}
