import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { interpolate, outputKind, walkEnds, walkLatents } from '../src/generate/interpolate.js';
import { sample } from '../src/generate/sample.js';
import { asGenerator, generateImages, latents } from '../src/model/generator.js';
import { slerp } from '../src/util/slerp.js';
import { tileGrid } from '../src/image/grid.js';
import { d2l } from '../src/model/d2l.js';
import { buildGenerator } from '../src/model/build.js';
import { loadModel, saveModel } from '../src/model/io.js';
import { Rng } from '../src/util/rng.js';
import { tmpDir, unshrinkBatchNorm, useTestBackend } from './helpers.js';

const shape = { imageSize: 16, width: 4, latent: 8, channels: 3 as const, classes: 0 };
let run: string;

before(async () => {
  await useTestBackend();
  run = await tmpDir();
  const G = buildGenerator(d2l, shape, 3);
  unshrinkBatchNorm(G);
  await saveModel(G, path.join(run, 'generator'));
  G.dispose();
});

const norm = (v: Float32Array) => Math.hypot(...v);

test('slerp gives exactly the ends at t = 0 and 1 and keeps the norm of orthogonal equal-norm ends', () => {
  const [a, b] = [new Rng(1).normals(16), new Rng(2).normals(16)];
  assert.deepEqual(slerp(a, b, 0), a);
  assert.deepEqual(slerp(a, b, 1), b);
  const x = new Float32Array([3, 0, 0]), y = new Float32Array([0, 3, 0]);
  assert.ok(Math.abs(norm(slerp(x, y, 0.5)) - 3) < 1e-5, 'a great circle, not a chord');
  assert.ok(Math.abs(norm(slerp(x, x, 0.3)) - 3) < 1e-6, 'parallel ends: a straight line');
});

test('walks run from the seed’s first n latents to its next n, K points each', () => {
  const { starts, ends } = walkEnds(5, 3, 8);
  const z = latents(5, 6, 8);
  assert.deepEqual(starts, z.subarray(0, 24));
  assert.deepEqual(ends, z.subarray(24));
  const walks = walkLatents(starts, ends, 3, 4);
  assert.equal(walks.length, 3 * 4 * 8);
  for (let w = 0; w < 3; w++) {
    assert.deepEqual(walks.subarray(w * 32, w * 32 + 8), starts.subarray(w * 8, (w + 1) * 8));
    assert.deepEqual(walks.subarray(w * 32 + 24, w * 32 + 32), ends.subarray(w * 8, (w + 1) * 8));
  }
  assert.throws(() => walkLatents(starts, ends, 3, 1), /at least 2 steps/);
});

/** The 16×16 tile at (row, col) of a decoded grid (2-pixel borders). */
function tile(data: Buffer, width: number, row: number, col: number, channels = 3): Uint8Array {
  const out = new Uint8Array(16 * 16 * channels);
  for (let y = 0; y < 16; y++) {
    const src = ((2 + row * 18 + y) * width + 2 + col * 18) * channels;
    out.set(data.subarray(src, src + 16 * channels), y * 16 * channels);
  }
  return out;
}

test('a walk grid starts and ends on the images `dcgan sample` draws for the same seed', async () => {
  const dir = await tmpDir();
  const walk = path.join(dir, 'walk.png');
  const plain = path.join(dir, 'plain.png');
  const r = await interpolate({ run, n: 3, steps: 5, seed: 11, out: walk, cols: 7 });
  assert.deepEqual([r.width, r.height], [5 * 18 + 2, 3 * 18 + 2]);
  await sample({ run, n: 6, out: plain, seed: 11, cols: 6 });
  const w = await sharp(walk).raw().toBuffer({ resolveWithObject: true });
  const p = await sharp(plain).raw().toBuffer({ resolveWithObject: true });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(tile(w.data, w.info.width, i, 0), tile(p.data, p.info.width, 0, i), `walk ${i} start`);
    assert.deepEqual(tile(w.data, w.info.width, i, 4), tile(p.data, p.info.width, 0, 3 + i), `walk ${i} end`);
  }
  // the middle is neither end
  assert.notDeepEqual(tile(w.data, w.info.width, 0, 2), tile(w.data, w.info.width, 0, 0));
});

test('--out .webp and .gif: looping animations, forward then back, frame 0 the walks’ starts', async () => {
  const dir = await tmpDir();
  const G = asGenerator(await loadModel(path.join(run, 'generator')));
  const { starts } = walkEnds(4, 2, shape.latent);
  const expected = tileGrid(await generateImages(G, starts, 2), 2, 16, 3, 2);
  G.model.dispose();
  for (const kind of ['webp', 'gif'] as const) {
    const out = path.join(dir, `walk.${kind}`);
    const r = await interpolate({ run, n: 2, steps: 4, seed: 4, out, cols: 2 });
    assert.equal(r.frames, 6);
    const meta = await sharp(out, { animated: true }).metadata();
    assert.equal(meta.format, kind);
    assert.equal(meta.pages, 6);
    assert.equal(meta.pageHeight, expected.height);
    assert.equal(meta.width, expected.width);
    assert.equal(meta.loop, 0);
    if (kind === 'webp') {
      const first = await sharp(out, { page: 0 }).removeAlpha().raw().toBuffer();
      assert.deepEqual(new Uint8Array(first), expected.data, 'lossless WebP: frame 0 is exactly the starts');
    }
  }
});

test('an interpolation is written only as .png, .gif or .webp', () => {
  assert.equal(outputKind('a/b.GIF'), 'gif');
  assert.throws(() => outputKind('walk.jpg'), /\.png \(a grid\), \.gif or \.webp/);
});
