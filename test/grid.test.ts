import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { encodePng, tileGrid, toUint8 } from '../src/image/grid.js';

test('toUint8 maps -1 → 0, 0 → 128, 1 → 255 and clamps', () => {
  assert.deepEqual([...toUint8(new Float32Array([-1, 0, 1, -3, 3]))], [0, 128, 255, 0, 255]);
});

test('tileGrid places image k at row k / cols, column k % cols, with a 2-pixel border', async () => {
  const size = 4, channels = 3, n = 5, cols = 3;
  const pixels = new Uint8Array(n * size * size * channels);
  for (let k = 0; k < n; k++) pixels.fill(10 * (k + 1), k * size * size * channels, (k + 1) * size * size * channels);
  const grid = tileGrid(pixels, n, size, channels, cols);
  assert.equal(grid.width, cols * (size + 2) + 2);
  assert.equal(grid.height, 2 * (size + 2) + 2);
  const at = (x: number, y: number) => grid.data[(y * grid.width + x) * channels];
  assert.equal(at(0, 0), 255); // border
  assert.equal(at(2, 2), 10); // image 0
  assert.equal(at(2 + 2 * (size + 2), 2), 30); // image 2: first row, third column
  assert.equal(at(2 + (size + 2), 2 + (size + 2) + size - 1), 50); // image 4: second row, second column, its last row
  assert.equal(at(2 + 2 * (size + 2), 2 + (size + 2)), 255); // no image 5: background
  const png = await encodePng(grid);
  const meta = await sharp(png).metadata();
  assert.equal(meta.width, grid.width);
  assert.equal(meta.height, grid.height);
});
