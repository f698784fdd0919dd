// `dcgan sample` on StyleGAN runs: --truncation ψ, the walks in w and --mix (the style-mixing figure), checked against
// the images `dcgan sample` draws without them and against the definitions: w' = w̄ + ψ(w − w̄), so ψ 0 draws w̄'s
// image for every latent and ψ 1 the plain one; a walk in w ends where `sample` draws; a mixed tile takes B's w at
// its group's layers and A's at the others.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { interpolate } from '../src/generate/interpolate.js';
import { checkMix, describeMix, mixFigure, mixRanges, parseStyleGroups } from '../src/generate/mix.js';
import { copyStyles, styleParts, synthesize } from '../src/generate/style.js';
import { sample } from '../src/generate/sample.js';
import { search } from '../src/generate/search.js';
import { buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { d2l } from '../src/model/d2l.js';
import { asGenerator, latents } from '../src/model/generator.js';
import { loadModel, saveModel } from '../src/model/io.js';
import { stylegan, wAverage } from '../src/model/stylegan.js';
import { CLI } from './cli-run.js';
import { tmpDir, useTestBackend } from './helpers.js';

const SIZE = 16, LATENT = 8;
const shape = { imageSize: SIZE, width: 8, latent: LATENT, channels: 3 as const, classes: 0 };
const S = 21; // the seed the tests draw with

let root: string;
/** a StyleGAN run whose w̄ is the w of image 1 of `sample --seed S --n 2` */
let styleRun: string;
/** the same generator, but its layers from 4 on (middle, at 16 px) take no style from w */
let mixRun: string;
let dcganRun: string;
/** a conditional StyleGAN run (3 classes) */
let condRun: string;

/** G's mapping output (w, before truncation: ψ is 1 as built) for latents z. */
function mapped(G: tf.LayersModel, z: Float32Array, n: number): Float32Array {
  const mapping = tf.model({ inputs: G.inputs, outputs: G.getLayer('w_average').output as tf.SymbolicTensor });
  return tf.tidy(() => (mapping.predict(tf.tensor2d(z, [n, LATENT])) as tf.Tensor).dataSync() as Float32Array);
}

function styleGenerator(): tf.LayersModel {
  const G = buildGenerator(stylegan, shape, 3);
  // noise at every layer (zeros as built): the stored maps then shape each image as in a trained G
  for (const layer of G.layers.filter((l) => l.getClassName() === 'NoiseInjection')) {
    layer.setWeights(layer.getWeights().map((w, i) => (i === 0 ? tf.fill(w.shape, 0.5) : w.clone())));
  }
  return G;
}

before(async () => {
  await useTestBackend();
  root = await tmpDir();
  styleRun = path.join(root, 'style');
  mixRun = path.join(root, 'mix');
  dcganRun = path.join(root, 'dcgan');
  const G = styleGenerator();
  const wB = mapped(G, latents(S, 2, LATENT), 2).slice(LATENT);
  G.getLayer('w_average').setWeights([tf.tensor1d(wB)]);
  await saveModel(G, path.join(styleRun, 'generator'));
  const D = buildDiscriminator(stylegan, shape, 4); // for --search
  await saveModel(D, path.join(styleRun, 'discriminator'));
  D.dispose();
  for (const index of [4, 5]) {
    const adain = G.getLayer(`syn${index}_adain`);
    adain.setWeights(adain.getWeights().map((w, i) => (i === 0 ? tf.zerosLike(w) : w.clone()))); // style = its bias alone
  }
  await saveModel(G, path.join(mixRun, 'generator'));
  G.dispose();
  condRun = path.join(root, 'cond');
  const condG = buildGenerator(stylegan, { ...shape, classes: 3 }, 7);
  await saveModel(condG, path.join(condRun, 'generator'));
  condG.dispose();
  const dcganG = buildGenerator(d2l, shape, 3);
  await saveModel(dcganG, path.join(dcganRun, 'generator'));
  dcganG.dispose();
});

interface Png { data: Buffer; width: number; height: number }
async function readPng(file: string): Promise<Png> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  return { data, width: info.width, height: info.height };
}

/** The SIZE×SIZE tile at (row, col) of a grid (2-pixel borders, as tileGrid lays them). */
function tile(png: Png, row: number, col: number): Uint8Array {
  const out = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    const src = ((2 + row * (SIZE + 2) + y) * png.width + 2 + col * (SIZE + 2)) * 3;
    out.set(png.data.subarray(src, src + SIZE * 3), y * SIZE * 3);
  }
  return out;
}

const maxDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
/** tiles drawn in another batch (or, in a walk, through another model) may round differently by one level */
const SAME = 1;
function assertSameTile(actual: Uint8Array, expected: Uint8Array, what: string) {
  const d = maxDiff(actual, expected);
  assert.ok(d <= SAME, `${what}: differs by ${d}/255`);
}

let count = 0;
async function sampled(o: { run?: string; seed: number; n: number; cols?: number; truncation?: number }): Promise<{ file: string; png: Png }> {
  const file = path.join(root, `sample-${count++}.png`);
  await sample({ run: o.run ?? styleRun, seed: o.seed, n: o.n, cols: o.cols ?? o.n, out: file, truncation: o.truncation });
  return { file, png: await readPng(file) };
}

test('--truncation 1 draws the plain images, byte for byte', async () => {
  const plain = await sampled({ seed: S, n: 4 });
  const one = await sampled({ seed: S, n: 4, truncation: 1 });
  assert.deepEqual(await readFile(one.file), await readFile(plain.file));
});

test("--truncation 0 draws w̄'s image for every latent (this run's w̄ is the w of image 1 of seed S)", async () => {
  const wBar = tile((await sampled({ seed: S, n: 2 })).png, 0, 1);
  const plain = (await sampled({ seed: 5, n: 4 })).png;
  const truncated = (await sampled({ seed: 5, n: 4, truncation: 0 })).png;
  assert.ok(maxDiff(tile(plain, 0, 0), tile(plain, 0, 1)) > 40, 'the test generator hardly depends on z');
  assert.ok(maxDiff(tile(plain, 0, 0), wBar) > 40, "image 0 of seed 5 is already w̄'s");
  for (let i = 0; i < 4; i++) assertSameTile(tile(truncated, 0, i), wBar, `image ${i}`);
  // --search draws its candidates truncated too: whichever D keeps, each is w̄'s image
  const out = path.join(root, 'search.png');
  await search({ run: styleRun, seed: 5, n: 3, candidates: 6, cols: 3, out, truncation: 0 });
  const kept = await readPng(out);
  for (let i = 0; i < 3; i++) assertSameTile(tile(kept, 0, i), wBar, `kept candidate ${i}`);
});

test('--truncation 0.5 with w̄ = w_B draws the middle of the walk in w from A to B: (w_A + w_B)/2 both ways', async () => {
  const half = (await sampled({ seed: S, n: 1, truncation: 0.5 })).png;
  const out = path.join(root, 'walk-ab.png');
  const r = await interpolate({ run: styleRun, seed: S, n: 1, steps: 3, out, cols: 7 });
  assert.equal(r.space, 'w');
  const walk = await readPng(out);
  assertSameTile(tile(walk, 0, 1), tile(half, 0, 0), 'the midpoint');
  assert.ok(maxDiff(tile(walk, 0, 0), tile(walk, 0, 1)) > 10, 'the midpoint is an end');
});

test('walks in w start and end at the images `sample --seed S` draws (walk i: image i to image n + i)', async () => {
  const ends = (await sampled({ seed: S, n: 4 })).png;
  const out = path.join(root, 'walks.png');
  await interpolate({ run: styleRun, seed: S, n: 2, steps: 4, out, cols: 7 });
  const walks = await readPng(out);
  assert.deepEqual([walks.width, walks.height], [4 * 18 + 2, 2 * 18 + 2]);
  for (let w = 0; w < 2; w++) {
    assertSameTile(tile(walks, w, 0), tile(ends, 0, w), `walk ${w}'s start`);
    assertSameTile(tile(walks, w, 3), tile(ends, 0, 2 + w), `walk ${w}'s end`);
  }
});

test('the synthesis network draws in batches of 256 and reports after each (no empty batch after the last)', async () => {
  const G = asGenerator(buildGenerator(stylegan, { ...shape, imageSize: 8 }, 1));
  const parts = styleParts(G);
  for (const [count, reports] of [[256, [256]], [257, [256, 257]]] as const) {
    const done: number[] = [];
    const ws = new Float32Array(count * parts.layers * parts.size).fill(0.5);
    const pixels = await synthesize(G, parts, ws, count, (k) => done.push(k));
    assert.deepEqual(done, reports);
    assert.equal(pixels.length, count * 8 * 8 * 3);
    // the same w everywhere: the last image is the first
    assert.deepEqual(pixels.subarray((count - 1) * 192), pixels.subarray(0, 192));
  }
  G.model.dispose();
});

test('copyStyles: B at the layers of the range, A at the others (a single crossover where the range reaches an end)', () => {
  const a = Float32Array.of(1, 2), b = Float32Array.of(7, 8);
  assert.deepEqual(Array.from(copyStyles(a, b, 4, [0, 2])), [7, 8, 7, 8, 1, 2, 1, 2]);
  assert.deepEqual(Array.from(copyStyles(a, b, 4, [2, 4])), [1, 2, 1, 2, 7, 8, 7, 8]);
  assert.deepEqual(Array.from(copyStyles(a, b, 4, [1, 2])), [1, 2, 7, 8, 1, 2, 1, 2]);
  assert.deepEqual(Array.from(copyStyles(a, b, 4, [0, 0])), [1, 2, 1, 2, 1, 2, 1, 2]);
});

test("the groups' layers as the paper's figure has them: coarse 4²–8², middle 16²–32², fine 64² and up", () => {
  // 2 layers per resolution from 4²: at 64 px, layers 0–3 are 4² and 8², 4–7 16² and 32², 8–9 64²
  assert.deepEqual(mixRanges(64, 10), [{ group: 'coarse', range: [0, 4] }, { group: 'middle', range: [4, 8] }, { group: 'fine', range: [8, 10] }]);
  assert.deepEqual(mixRanges(16, 6), [{ group: 'coarse', range: [0, 4] }, { group: 'middle', range: [4, 6] }]);
  assert.deepEqual(mixRanges(32, 8, ['middle']), [{ group: 'middle', range: [4, 8] }]);
  assert.throws(() => mixRanges(16, 6, ['fine']), /--mix fine: a 16-px StyleGAN has no fine layers; its layers are coarse layers 0–3 \(4²–8²\), middle layers 4–5 \(16²\)$/);
  assert.throws(() => mixRanges(8, 4), /--mix: a 8-px StyleGAN's 4 layers are all coarse/);
  assert.throws(() => mixRanges(8, 4, ['coarse']), /--mix coarse: every layer of a 8-px StyleGAN is coarse/);
});

test("the mixing figure: B's along the top, A's down the left, and each tile A's image with B's styles at its band's layers", async () => {
  // in mixRun the middle layers (4, 5) take no style from w: a tile with B's coarse styles is B's image, one with B's
  // middle styles A's. Sources: A the first n latents of seed S, B the next cols, so `sample --seed S --n 5` draws them.
  const [n, cols] = [2, 3];
  const sources = (await sampled({ run: mixRun, seed: S, n: n + cols })).png;
  const A = (i: number) => tile(sources, 0, i), B = (j: number) => tile(sources, 0, n + j);
  assert.ok(maxDiff(A(0), B(0)) > 40 && maxDiff(B(0), B(1)) > 40, 'the sources hardly differ');
  const out = path.join(root, 'mix.png');
  const r = await mixFigure({ run: mixRun, seed: S, n, cols, out });
  assert.deepEqual(r.groups, ['coarse', 'middle']);
  const fig = await readPng(out);
  // 1 + 2 bands × n rows, 1 + cols columns
  assert.deepEqual([fig.width, fig.height], [(1 + cols) * 18 + 2, (1 + 2 * n) * 18 + 2]);
  assert.ok(tile(fig, 0, 0).every((v) => v === 255), 'the corner is not blank');
  for (let j = 0; j < cols; j++) assertSameTile(tile(fig, 0, 1 + j), B(j), `B${j}`);
  for (let i = 0; i < n; i++) {
    assertSameTile(tile(fig, 1 + i, 0), A(i), `coarse band, A${i}`);
    assertSameTile(tile(fig, 1 + n + i, 0), A(i), `middle band, A${i}`);
    for (let j = 0; j < cols; j++) {
      assertSameTile(tile(fig, 1 + i, 1 + j), B(j), `A${i} with B${j}'s coarse styles`);
      assertSameTile(tile(fig, 1 + n + i, 1 + j), A(i), `A${i} with B${j}'s middle styles`);
    }
  }
  // one band: --mix middle
  await mixFigure({ run: mixRun, seed: S, n, cols, out, groups: ['middle'] });
  const one = await readPng(out);
  assert.deepEqual([one.width, one.height], [(1 + cols) * 18 + 2, (1 + n) * 18 + 2]);
  for (let j = 0; j < cols; j++) assertSameTile(tile(one, 1, 1 + j), A(0), `A0 with B${j}'s middle styles (one band)`);
});

test("a conditional run's mixing figure: source k has class k mod classes, as in sample (A and B its images)", async () => {
  const [n, cols] = [2, 2];
  const sources = (await sampled({ run: condRun, seed: S, n: n + cols })).png;
  const out = path.join(root, 'mix-cond.png');
  await mixFigure({ run: condRun, seed: S, n, cols, out, groups: ['coarse'] });
  const fig = await readPng(out);
  for (let i = 0; i < n; i++) assertSameTile(tile(fig, 1 + i, 0), tile(sources, 0, i), `A${i}`);
  for (let j = 0; j < cols; j++) assertSameTile(tile(fig, 0, 1 + j), tile(sources, 0, n + j), `B${j}`);
});

test("the mixing figure's tiles on the real generator: the coarse band differs from both sources", async () => {
  const out = path.join(root, 'mix-real.png');
  await mixFigure({ run: styleRun, seed: S, n: 1, cols: 1, out, groups: ['coarse'] });
  const fig = await readPng(out);
  const [a, b, mixed] = [tile(fig, 1, 0), tile(fig, 0, 1), tile(fig, 1, 1)];
  assert.ok(maxDiff(mixed, a) > 10 && maxDiff(mixed, b) > 10, 'the mixed tile is one of its sources');
});

test('--mix: its value, its limits and a run without w refused naming the flag', async () => {
  assert.deepEqual(parseStyleGroups('coarse,fine'), ['coarse', 'fine']);
  assert.throws(() => parseStyleGroups('coarse,huge'), /^Error: --mix coarse,huge: huge is not coarse, middle or fine/);
  assert.throws(() => parseStyleGroups('middle,middle'), /--mix middle,middle: each group once/);
  assert.throws(() => parseStyleGroups(''), /--mix : expected coarse, middle or fine/);
  assert.throws(() => checkMix(10_000, 7, 3), /--mix --n 10000 --cols 7/);
  // a grid holds at most 10,000 tiles (limits.ts), the blank corner and the sources' own tiles among them:
  // 1 + bands·n rows of 1 + cols
  checkMix(99, 99, 1); //                                   100 rows of 100
  assert.throws(() => checkMix(99, 100, 1), /--mix --n 99 --cols 100: 10,100 images \(100 rows of 101 tiles\)/);
  checkMix(33, 99, 3); //                                   100 rows of 100
  assert.throws(() => checkMix(34, 99, 3), /10,300 images \(103 rows of 100 tiles\)/);
  // a side over the format's largest (.webp: 16383 px): 1 + 910 columns of 16 + 2 px, + 2 = 16400; 3 rows: 56
  await assert.rejects(mixFigure({ run: mixRun, seed: 1, n: 1, cols: 910, out: path.join(root, 'wide.webp') }),
    /--out .*wide\.webp: .* make a 16400×56 image, and \.webp holds at most 16383 pixels a side/);
  // before any work: a figure over the limit is refused before the run is read
  await assert.rejects(mixFigure({ run: path.join(root, 'no-such-run'), seed: 1, n: 10_000, cols: 7, out: path.join(root, 'x.png') }), /--mix --n 10000 --cols 7: /);
  await assert.rejects(mixFigure({ run: dcganRun, seed: 1, n: 1, cols: 1, out: path.join(root, 'x.png') }),
    /--mix: the generator of .*dcgan has no mapping network, so no w to mix: it needs a run trained with --arch stylegan/);
  await assert.rejects(sample({ run: dcganRun, seed: 1, n: 1, cols: 1, out: path.join(root, 'x.png'), truncation: 0.7 }),
    /--truncation 0\.7: the generator of .*dcgan has no mapping network, so no w to truncate/);
});

/** Bad input on the command line: non-zero exit, one line on stderr, nothing written. */
function assertRefused(args: string[], message: RegExp) {
  const r = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.notEqual(r.status, 0, `exit 0 for ${args.join(' ')}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `more than one line for ${args.join(' ')}:\n${r.stderr}`);
  assert.match(lines[0], message);
}

test('dcgan sample refuses in one line: ψ outside [0, 1], --mix with a walk, a bad group, truncation without w', () => {
  const out = path.join(root, 'refused.png');
  assertRefused(['sample', '--run', styleRun, '--truncation', '1.5', '--out', out], /--truncation <psi>.*must be a number in \[0, 1\]/);
  assertRefused(['sample', '--run', styleRun, '--mix', '--interpolate', '3', '--out', out], /--mix does not combine with --interpolate/);
  assertRefused(['sample', '--run', styleRun, '--mix', 'coarse,wide', '--out', out], /--mix coarse,wide: wide is not coarse, middle or fine/);
  assertRefused(['sample', '--run', dcganRun, '--truncation', '0.5', '--out', out, '--backend', 'cpu'], /--truncation 0\.5: .*no mapping network/);
});

test("the mixing figure's line: the groups drawn, in a list", () => {
  assert.equal(describeMix(1, 7, ['fine']), '1 source A × 7 B, fine styles from B');
  assert.equal(describeMix(3, 2, ['coarse', 'middle', 'fine']), '3 sources A × 2 B, coarse, middle and fine styles from B');
});

test('dcgan sample --mix: 3 rows a band unless --n says', async () => {
  const out = path.join(root, 'mix-cli.png');
  for (const [extra, rows] of [[[], 3], [['--n', '1'], 1]] as const) {
    const r = spawnSync(process.execPath, [...CLI, 'sample', '--run', mixRun, '--mix', '--seed', '3', '--cols', '2', '--out', out, '--backend', 'cpu', ...extra], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`style mixing, ${rows} sources? A × 2 B, coarse and middle styles from B`));
    const png = await readPng(out);
    assert.deepEqual([png.width, png.height], [3 * 18 + 2, (1 + 2 * rows) * 18 + 2]);
  }
});

test('a trained stylegan run with --ema: the average has G\'s w̄, and --truncation 0 draws one image for every latent', async () => {
  const trained = path.join(root, 'trained');
  const train = spawnSync(process.execPath, [...CLI, 'train', '--arch', 'stylegan', '--image-size', '16', '--width', '8', '--limit', '32',
    '--batch-size', '8', '--epochs', '1', '--backend', 'wasm', '--ema', '0.01', '--cache-dir', path.join(root, 'cache'), '--out', trained],
  { encoding: 'utf8', timeout: 300_000 });
  assert.equal(train.status, 0, train.stderr);
  // w̄ as G tracked it in training (off zero), and the same in the average (copied from G at every step)
  const [G, Gema] = [await loadModel(path.join(trained, 'generator')), await loadModel(path.join(trained, 'generator-ema'))];
  const [tracked, averaged] = [wAverage(G).dataSync(), wAverage(Gema).dataSync()];
  assert.ok(tracked.some((v) => v !== 0), 'w̄ was never tracked');
  assert.deepEqual(averaged, tracked);
  G.dispose();
  Gema.dispose();
  // sample draws the average by default
  const out = path.join(root, 'trained-psi0.png');
  const r = spawnSync(process.execPath, [...CLI, 'sample', '--run', trained, '--seed', '4', '--n', '4', '--truncation', '0', '--out', out, '--backend', 'wasm'],
    { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /the average of G's weights.*seed 4, ψ 0/);
  const png = await readPng(out);
  for (let i = 1; i < 4; i++) assertSameTile(tile(png, 0, i), tile(png, 0, 0), `image ${i} at ψ 0`);
  const plain = (await sampled({ run: trained, seed: 4, n: 4 })).png;
  assert.ok(maxDiff(tile(plain, 0, 0), tile(plain, 0, 1)) > 10, 'the trained generator draws one image for every latent anyway');
});
