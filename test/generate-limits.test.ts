// How much one `dcgan sample` may ask for (src/generate/limits.ts): the numbers worked out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCandidates, checkGridImages, checkGridSide, MAX_CANDIDATES, MAX_GRID_IMAGES } from '../src/generate/limits.js';
import { UsageError } from '../src/util/errors.js';

const refused = (f: () => void, message: RegExp) => assert.throws(f, (err: Error) => err instanceof UsageError && message.test(err.message));

test('a grid holds at most 10,000 images, --search at most 100,000 candidates; the flags are named', () => {
  assert.deepEqual([MAX_GRID_IMAGES, MAX_CANDIDATES], [10_000, 100_000]);
  checkGridImages(10_000, '--n 10000');
  refused(() => checkGridImages(10_001, '--n 10001'), /^--n 10001: 10,001 images, and a grid holds at most 10,000/);
  refused(() => checkGridImages(20_000, '--interpolate 100 --n 200', '100 steps × 200 walks'), /^--interpolate 100 --n 200: 20,000 images \(100 steps × 200 walks\)/);
  checkCandidates(100_000);
  refused(() => checkCandidates(100_001), /^--search 100001: at most 100,000 candidates/);
});

test('a grid\'s sides against its format: WebP 16383, JPEG 65500, GIF 65535 pixels; PNG any', () => {
  // 16 px tiles 2 apart, 2 around: n rows of one column are 18·n + 2 tall, one row of n columns 18·n + 2 wide
  checkGridSide('g.webp', 910, 16, 1); // 16382 tall
  refused(() => checkGridSide('g.webp', 911, 16, 1), /^--out g\.webp: 911 images of 16 px in 1 column make a 20×16400 image, and \.webp holds at most 16383 pixels a side/);
  refused(() => checkGridSide('g.webp', 911, 16, 911), /make a 16400×20 image/); // too wide alike
  checkGridSide('g.jpg', 3638, 16, 1); // 65486
  refused(() => checkGridSide('g.JPEG', 3639, 16, 1), /\.jpeg holds at most 65500/);
  checkGridSide('g.gif', 3640, 16, 3640); // 65522
  refused(() => checkGridSide('g.gif', 3641, 16, 1), /\.gif holds at most 65535/);
  // at the limit exactly: two 32747 px images in a column are 2 · 32749 + 2 = 65500 tall; 21833 of 1 px one more
  checkGridSide('g.jpg', 2, 32747, 1);
  refused(() => checkGridSide('g.jpg', 21833, 1, 1), /make a 5×65501 image, and \.jpg holds at most 65500/);
  checkGridSide('g.png', 10_000, 64, 1); // 660,002 tall: PNG and libvips take it
});
