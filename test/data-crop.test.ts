// `--crop content` on hand-made sprites whose content boxes are known: each is cut to its box, centred on a square of
// the box's longer side plus round(side / 8) a side (worked out by hand below), and resized. The squares here are 18
// pixels and so is the model size, so the resize is the identity and every pixel can be checked.
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { cutSquare, findContent, squareAround } from '../src/data/crop.js';
import { cacheEntryFor, loadImageSet, type LoadOptions } from '../src/data/index.js';
import { corruptPng, tempDir } from './fixtures/data.js';

type RGBA = [number, number, number, number];

/** A w×h RGBA PNG, `paint(x, y)` each pixel. */
function png(w: number, h: number, paint: (x: number, y: number) => RGBA): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(paint(x, y), (y * w + x) * 4);
  return sharp(raw, { raw: { width: w, height: h, channels: 4 } }).png().toBuffer();
}

/** The figure's colour at (u, v) inside it: every pixel different, so a shift or a flip shows. */
const figure = (u: number, v: number): [number, number, number] => [20 + 10 * u, 20 + 10 * v, 90];
const CLEAR: RGBA = [0, 0, 0, 0];

/** A transparent w×h sprite with a figure of fw×fh at (left, top). */
function sprite(w: number, h: number, left: number, top: number, fw: number, fh: number): Promise<Buffer> {
  return png(w, h, (x, y) => {
    const u = x - left, v = y - top;
    return u >= 0 && u < fw && v >= 0 && v < fh ? [...figure(u, v), 255] : CLEAR;
  });
}

function opts(data: string, cacheDir: string, extra: Partial<LoadOptions> = {}): LoadOptions {
  return { dataset: 'pokesprite', data, cacheDir, size: 18, channels: 3, background: 'white', fit: 'fill', crop: 'content', cache: false, ...extra };
}

/** Image i of a set as rows of [r, g, b]. */
function image(set: { pixels: Uint8Array; size: number }, i: number): number[][][] {
  const rows: number[][][] = [];
  for (let y = 0; y < set.size; y++) {
    const row: number[][] = [];
    for (let x = 0; x < set.size; x++) {
      const o = ((i * set.size + y) * set.size + x) * 3;
      row.push([...set.pixels.subarray(o, o + 3)]);
    }
    rows.push(row);
  }
  return rows;
}

/** What a size×size image must be: the figure's fw×fh pixels at (x0, y0), `bg` elsewhere. */
function expected(size: number, x0: number, y0: number, fw: number, fh: number, bg: number[]): number[][][] {
  return Array.from({ length: size }, (_, y) =>
    Array.from({ length: size }, (_, x) => {
      const u = x - x0, v = y - y0;
      return u >= 0 && u < fw && v >= 0 && v < fh ? figure(u, v) : bg;
    }),
  );
}

const WHITE = [255, 255, 255];
const BLACK = [0, 0, 0];

test('findContent: the box of every pixel with alpha > 0, however faint; nothing visible is blank', () => {
  // 5×4, transparent but for an opaque pixel at (1, 2) and one of alpha 1 at (4, 0)
  const rgba = new Uint8Array(5 * 4 * 4);
  rgba.set([9, 9, 9, 255], (2 * 5 + 1) * 4);
  rgba.set([9, 9, 9, 1], (0 * 5 + 4) * 4);
  assert.deepEqual(findContent(rgba, 5, 4), { kind: 'box', box: { left: 1, top: 0, width: 4, height: 3 } });
  rgba[(0 * 5 + 4) * 4 + 3] = 0;
  assert.deepEqual(findContent(rgba, 5, 4), { kind: 'box', box: { left: 1, top: 2, width: 1, height: 1 } });
  rgba[(2 * 5 + 1) * 4 + 3] = 0;
  assert.deepEqual(findContent(rgba, 5, 4), { kind: 'blank' });
});

test('findContent: one transparent pixel anywhere, the first included, makes it a sprite; a box at the left edge', () => {
  // 5×4 opaque red but for a transparent top-left pixel: the visible pixels span the whole frame, and nothing is filled
  const rgba = new Uint8Array(5 * 4 * 4);
  for (let i = 1; i < 20; i++) rgba.set([200, 0, 0, 255], 4 * i);
  assert.deepEqual(findContent(rgba, 5, 4), { kind: 'box', box: { left: 0, top: 0, width: 5, height: 4 } });
  // only column 0 visible, rows 1 and 2
  const edge = new Uint8Array(5 * 4 * 4);
  edge.set([9, 9, 9, 255], (1 * 5 + 0) * 4);
  edge.set([9, 9, 9, 255], (2 * 5 + 0) * 4);
  assert.deepEqual(findContent(edge, 5, 4), { kind: 'box', box: { left: 0, top: 1, width: 1, height: 2 } });
});

test('findContent, opaque images: each corner counts, each channel counts, the background keeps its own channels', () => {
  // 6×5, opaque, of a background whose channels differ
  const BG = [30, 90, 150];
  const image = (paint: Record<number, readonly number[]>) => {
    const rgba = new Uint8Array(6 * 5 * 4);
    for (let i = 0; i < 30; i++) rgba.set([...(paint[i] ?? BG), 255], 4 * i);
    return rgba;
  };
  // any one corner of another colour: no background, kept whole
  for (const corner of [0, 5, 24, 29]) {
    assert.deepEqual(findContent(image({ [corner]: [30, 90, 170] }), 6, 5), { kind: 'whole' }, `corner ${corner}`);
  }
  // a pixel beside a corner is content, not a corner: (1, 0)
  assert.deepEqual(findContent(image({ 1: [30, 90, 170] }), 6, 5), { kind: 'box', box: { left: 1, top: 0, width: 1, height: 1 }, fill: BG });
  // 14 off in one channel is content, whichever channel; 13 off in all three is background
  for (const [channel, colour] of [[0, [44, 90, 150]], [1, [30, 76, 150]], [2, [30, 90, 164]]] as const) {
    assert.deepEqual(findContent(image({ 8: colour, 15: [43, 77, 137] }), 6, 5), { kind: 'box', box: { left: 2, top: 1, width: 1, height: 1 }, fill: BG }, `channel ${channel}`);
  }
});

test("cutSquare: the box centred on its square, the image's own pixels around it, transparency past its edges", () => {
  // a 5×3 image, pixel (x, y) = [x + 1, y + 1, 7, 255]; the box is all of it, 5×3 → side 5 + 2·round(5/8) = 7, the box
  // at (1, 2): the square starts a column left of the image and two rows above it, and ends two rows below
  const rgba = new Uint8Array(5 * 3 * 4);
  for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) rgba.set([x + 1, y + 1, 7, 255], (y * 5 + x) * 4);
  const { pixels, side } = cutSquare(rgba, 5, 3, { left: 0, top: 0, width: 5, height: 3 });
  assert.equal(side, 7);
  const want: number[] = [];
  for (let y = 0; y < 7; y++) {
    for (let x = 0; x < 7; x++) {
      const u = x - 1, v = y - 2;
      want.push(...(u >= 0 && u < 5 && v >= 0 && v < 3 ? [u + 1, v + 1, 7, 255] : [0, 0, 0, 0]));
    }
  }
  assert.deepEqual([...pixels], want);
  // a box inside: 2×2 at (3, 1) → side 2 (no margin below 4 pixels), from the image's (3, 1)
  const inner = cutSquare(rgba, 5, 3, { left: 3, top: 1, width: 2, height: 2 });
  assert.deepEqual([inner.side, ...inner.pixels], [2, 4, 2, 7, 255, 5, 2, 7, 255, 4, 3, 7, 255, 5, 3, 7, 255]);
});

test('findContent, opaque images: what differs from the corners by more than 13 (5 % of 255); no background, no cut', () => {
  // 5×5 opaque, black but for (2, 1) and (3, 3)
  const opaque = (a: number[], b: number[]) => {
    const rgba = new Uint8Array(5 * 5 * 4);
    for (let i = 0; i < 25; i++) rgba[4 * i + 3] = 255;
    rgba.set(a, (1 * 5 + 2) * 4);
    rgba.set(b, (3 * 5 + 3) * 4);
    return rgba;
  };
  assert.deepEqual(findContent(opaque([0, 14, 0, 255], [0, 0, 200, 255]), 5, 5), { kind: 'box', box: { left: 2, top: 1, width: 2, height: 3 }, fill: [0, 0, 0] });
  // 13 is within the tolerance: only (3, 3) is content
  assert.deepEqual(findContent(opaque([13, 13, 13, 255], [0, 0, 200, 255]), 5, 5), { kind: 'box', box: { left: 3, top: 3, width: 1, height: 1 }, fill: [0, 0, 0] });
  // one colour (within the tolerance): nothing to find, kept whole
  assert.deepEqual(findContent(opaque([13, 0, 0, 255], [0, 13, 0, 255]), 5, 5), { kind: 'whole' });
  // a corner of another colour: no background colour, kept whole
  const corner = opaque([0, 0, 0, 255], [0, 0, 0, 255]);
  corner.set([0, 0, 14, 255], 24 * 4);
  assert.deepEqual(findContent(corner, 5, 5), { kind: 'whole' });
});

test('squareAround: the longer side plus round(side / 8) on each side, the box centred, an odd pixel right or below', () => {
  assert.deepEqual(squareAround({ width: 16, height: 16 }), { side: 20, x: 2, y: 2 }); // 16 + 2·2
  assert.deepEqual(squareAround({ width: 14, height: 8 }), { side: 18, x: 2, y: 5 }); // 14 + 2·round(1.75)
  assert.deepEqual(squareAround({ width: 8, height: 14 }), { side: 18, x: 5, y: 2 });
  assert.deepEqual(squareAround({ width: 14, height: 7 }), { side: 18, x: 2, y: 5 }); // 11 rows spare: 5 above, 6 below
  assert.deepEqual(squareAround({ width: 23, height: 20 }), { side: 29, x: 3, y: 4 }); // the median sprite: 23 + 2·round(2.875)
  assert.deepEqual(squareAround({ width: 3, height: 1 }), { side: 3, x: 0, y: 1 }); // round(0.375) = 0: no margin
  assert.deepEqual(squareAround({ width: 20, height: 20 }), { side: 26, x: 3, y: 3 }); // round(2.5) = 3
  assert.deepEqual(squareAround({ width: 12, height: 5 }), { side: 16, x: 2, y: 5 }); // round(1.5) = 2; 11 spare rows
  assert.deepEqual(squareAround({ width: 7, height: 14 }), { side: 18, x: 5, y: 2 }); // 11 spare columns: 5 left, 6 right
});

test('sprites are cut to their visible pixels and centred on a square, off-centre, wide or tall alike', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'sprites');
  await mkdir(root);
  // a 14×14 figure at (20, 3) of a 40×30 frame → the square 18 = 14 + 2·2, the figure at (2, 2)
  await writeFile(path.join(root, 'a-off-centre.png'), await sprite(40, 30, 20, 3, 14, 14));
  // 14×8 at (3, 20) of 30×40 → 18, at (2, 5); 8×14 → at (5, 2)
  await writeFile(path.join(root, 'b-wide.png'), await sprite(30, 40, 3, 20, 14, 8));
  await writeFile(path.join(root, 'c-tall.png'), await sprite(30, 40, 9, 1, 8, 14));
  // 14×7 → 11 spare rows: 5 above, 6 below
  await writeFile(path.join(root, 'd-odd.png'), await sprite(20, 20, 6, 13, 14, 7));
  const set = await loadImageSet(opts(root, dir));
  assert.equal(set.count, 4);
  assert.deepEqual(image(set, 0), expected(18, 2, 2, 14, 14, WHITE));
  assert.deepEqual(image(set, 1), expected(18, 2, 5, 14, 8, WHITE));
  assert.deepEqual(image(set, 2), expected(18, 5, 2, 8, 14, WHITE));
  assert.deepEqual(image(set, 3), expected(18, 2, 5, 14, 7, WHITE));

  // --background colours the padding and the transparent pixels alike
  const black = await loadImageSet(opts(root, dir, { background: 'black' }));
  assert.deepEqual(image(black, 1), expected(18, 2, 5, 14, 8, BLACK));

  // --crop none: the whole 40×30 frame stretched to 18×18, as before: the figure stays small and off-centre
  const none = await loadImageSet(opts(root, dir, { crop: 'none' }));
  assert.deepEqual(image(none, 0)[17][0], WHITE, 'the bottom-left corner of the frame is empty');
});

test('a sprite with no visible pixel is skipped and counted, apart from one that does not decode', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'sprites');
  await mkdir(root);
  await writeFile(path.join(root, 'a.png'), await sprite(20, 20, 2, 2, 14, 14));
  await writeFile(path.join(root, 'b-clear.png'), await png(20, 20, () => CLEAR));
  await writeFile(path.join(root, 'c-bad.png'), await corruptPng());
  await writeFile(path.join(root, 'd-clear.png'), await png(8, 8, (x) => [255, 0, 0, 0]));
  const lines: string[] = [];
  const set = await loadImageSet(opts(root, dir, { log: (l) => lines.push(l) }));
  assert.equal(set.count, 1);
  assert.deepEqual(image(set, 0), expected(18, 2, 2, 14, 14, WHITE));
  assert.deepEqual(lines, ['skipped 1 unreadable file: c-bad.png', 'skipped 2 images with no visible pixel: b-clear.png, d-clear.png']);

  // with --crop none the clear sprites are images like any other (white squares)
  assert.equal((await loadImageSet(opts(root, dir, { crop: 'none' }))).count, 3);

  // nothing left: one line that says why
  const clear = path.join(dir, 'clear');
  await mkdir(clear);
  await writeFile(path.join(clear, 'x.png'), await png(8, 8, () => CLEAR));
  await writeFile(path.join(clear, 'y.png'), await corruptPng());
  await assert.rejects(loadImageSet(opts(clear, dir)), /^DatasetError: none of the 2 image files in .*clear could be used: 1 could not be decoded \(y\.png\), 1 has no visible pixel \(x\.png\)$/);
});

test('an opaque image with a uniform border: cut to what differs from it, padded with its own colour, not --background', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'opaque');
  await mkdir(root);
  // 30×30 of a blue-grey, a 14×14 figure touching the top edge at (7, 0): the square (18) starts 2 rows above the
  // image, and those rows take the border's colour, though --background is white
  await writeFile(path.join(root, 'a.png'), await png(30, 30, (x, y) => {
    const u = x - 7, v = y;
    return u >= 0 && u < 14 && v < 14 ? [...figure(u, v), 255] : [30, 90, 150, 255];
  }));
  // an opaque white 30×40 (an RGB PNG, like d2l's sprites) with a 14×8 figure: as the transparent one
  const rgb = await sharp(await sprite(30, 40, 3, 20, 14, 8)).flatten({ background: 'white' }).removeAlpha().png().toBuffer();
  assert.equal((await sharp(rgb).metadata()).channels, 3);
  await writeFile(path.join(root, 'b.png'), rgb);
  const set = await loadImageSet(opts(root, dir, { background: 'white' }));
  assert.deepEqual(image(set, 0), expected(18, 2, 2, 14, 14, [30, 90, 150]));
  assert.deepEqual(image(set, 1), expected(18, 2, 5, 14, 8, WHITE));
});

test('an opaque image without a one-colour border, or of one colour, is left whole: the same as --crop none', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'photos');
  await mkdir(root);
  await writeFile(path.join(root, 'gradient.png'), await png(30, 20, (x, y) => [8 * x, 12 * y, 100, 255]));
  await writeFile(path.join(root, 'grey.png'), await png(30, 20, () => [120, 120, 120, 255]));
  const cropped = await loadImageSet(opts(root, dir));
  const whole = await loadImageSet(opts(root, dir, { crop: 'none' }));
  assert.equal(cropped.count, 2);
  assert.deepEqual(cropped.pixels, whole.pixels);
  assert.deepEqual(image(cropped, 1)[0][0], [120, 120, 120]);
});

test('MNIST digits: --crop content enlarges the 20×20 box they were normalised into; black padding; none keeps them', async (t) => {
  const dir = await tempDir(t);
  const load = (crop: 'content' | 'none') =>
    loadImageSet({ dataset: 'mnist-10k', cacheDir: dir, size: 28, channels: 1, background: 'white', fit: 'fill', crop, limit: 10, cache: false });
  /** the longer side of the box of non-zero pixels of each digit, and the largest corner value */
  const boxes = (set: { pixels: Uint8Array; count: number }) => {
    const longest: number[] = [];
    let corner = 0;
    for (let k = 0; k < set.count; k++) {
      const p = set.pixels.subarray(k * 784, (k + 1) * 784);
      let l = 28, r = -1, t = 28, b = -1;
      for (let i = 0; i < 784; i++) {
        if (p[i] === 0) continue;
        const x = i % 28, y = Math.floor(i / 28);
        l = Math.min(l, x); r = Math.max(r, x); t = Math.min(t, y); b = Math.max(b, y);
      }
      longest.push(Math.max(r - l + 1, b - t + 1));
      corner = Math.max(corner, p[0], p[27], p[756], p[783]);
    }
    return { longest, corner };
  };
  // MNIST's digits were size-normalised to fit a 20×20 box (LeCun et al.)
  const raw = boxes(await load('none'));
  assert.ok(raw.longest.every((n) => n <= 20), `raw: ${raw.longest}`);
  // cut to that box, squared with a margin of 1/8, and resized to 28: 20 · 28 / 26 ≈ 21.5, and Lanczos' tails
  const cut = boxes(await load('content'));
  assert.ok(cut.longest.every((n) => n >= 22 && n <= 26), `cropped: ${cut.longest}`);
  assert.equal(cut.corner, 0, 'the padding is the digits\' black paper, not --background white');
});

test('the crop is part of the cache key; a set cached before --crop existed keeps its key', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'sprites');
  await mkdir(root);
  await writeFile(path.join(root, 'a.png'), await sprite(40, 30, 20, 3, 14, 14));
  const cacheFiles = async () => (await readdir(dir)).filter((f) => f.endsWith('.u8set'));
  let decoded = 0;
  const run = (crop: 'content' | 'none') => loadImageSet(opts(root, dir, { crop, cache: true, onProgress: () => decoded++ }));
  const none = await run('none');
  const content = await run('content');
  assert.equal(decoded, 2);
  assert.equal((await cacheFiles()).length, 2);
  assert.notDeepEqual(content.pixels, none.pixels);
  decoded = 0;
  assert.deepEqual((await run('content')).pixels, content.pixels);
  assert.deepEqual((await run('none')).pixels, none.pixels);
  assert.equal(decoded, 0, 'each read from its own file');

  const file = async (crop?: 'content' | 'none') => (await cacheEntryFor(opts(root, dir, { crop }))).file;
  assert.equal(await file(undefined), await file('none'));
  assert.notEqual(await file('content'), await file('none'));
});

test('a --crop that is neither content nor none is refused', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(loadImageSet(opts(dir, dir, { crop: 'tight' as 'none' })), /^DatasetError: --crop must be content or none, not tight$/);
});
