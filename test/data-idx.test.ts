// IDX files (MNIST, Fashion-MNIST): hand-made headers, right and wrong, and the two datasets end to end.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DatasetError } from '../src/data/errors.js';
import { parseIdxImages, readIdxImages } from '../src/data/idx.js';
import { loadImageSet, type LoadOptions } from '../src/data/index.js';
import { idxUrl } from '../src/data/mnist.js';
import { rangeHandler, serve, tempDir } from './fixtures/data.js';

/** An IDX file of `count` rows×cols images; image i is filled with the level 40·(i+1), and its pixel 0 is 255. */
function idx(count: number, rows: number, cols: number, magic = 2051): Buffer {
  const b = Buffer.alloc(16 + count * rows * cols);
  b.writeUInt32BE(magic, 0);
  b.writeUInt32BE(count, 4);
  b.writeUInt32BE(rows, 8);
  b.writeUInt32BE(cols, 12);
  for (let i = 0; i < count; i++) {
    b.fill(40 * (i + 1), 16 + i * rows * cols, 16 + (i + 1) * rows * cols);
    b[16 + i * rows * cols] = 255;
  }
  return b;
}

const fails = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (err: Error) => err instanceof DatasetError && pattern.test(err.message) && !err.message.includes('\n'));

test('a hand-made IDX image file parses', () => {
  const r = parseIdxImages(idx(3, 2, 4), 'x');
  assert.deepEqual([r.count, r.rows, r.cols], [3, 2, 4]);
  assert.equal(r.pixels.length, 24);
  assert.deepEqual([...r.pixels.subarray(8, 16)], [255, 80, 80, 80, 80, 80, 80, 80]);
});

test('a wrong magic number, a label file, a truncated or overlong file are refused', () => {
  fails(() => parseIdxImages(idx(3, 2, 2, 2049), 'labels'), /^labels is an IDX label file \(magic number 2049, expected 2051\)$/);
  fails(() => parseIdxImages(idx(3, 2, 2, 0x1234), 'x.bin'), /^x\.bin is not an IDX image file \(magic number 4660, expected 2051\)$/);
  const good = idx(3, 2, 2);
  fails(() => parseIdxImages(good.subarray(0, good.length - 1), 't'), /^t is truncated: the header says 3 images of 2×2 \(28 bytes\), the file has 27 bytes$/);
  fails(() => parseIdxImages(good.subarray(0, 10), 't'), /^t is truncated: its IDX header is incomplete$/);
  fails(() => parseIdxImages(Buffer.concat([good, Buffer.alloc(5)]), 'l'), /^l is longer than its header says/);
  fails(() => parseIdxImages(idx(0, 28, 28), 'z'), /^z holds no images/);
  fails(() => parseIdxImages(Buffer.alloc(2), 's'), /^s is too short to be an IDX file/);
});

test('IDX files are read gzipped or not; a broken gzip is a clear error', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'a.gz'), gzipSync(idx(2, 3, 3)));
  await writeFile(path.join(dir, 'b'), idx(2, 3, 3));
  assert.equal((await readIdxImages(path.join(dir, 'a.gz'))).count, 2);
  assert.equal((await readIdxImages(path.join(dir, 'b'))).count, 2);
  const gz = gzipSync(idx(2, 3, 3));
  await writeFile(path.join(dir, 'c.gz'), gz.subarray(0, gz.length - 8));
  await assert.rejects(readIdxImages(path.join(dir, 'c.gz')), (err: Error) => err instanceof DatasetError && /^c\.gz is not a readable gzip file/.test(err.message));
});

function mnist(data: string | undefined, cacheDir: string, extra: Partial<LoadOptions> = {}): LoadOptions {
  return { dataset: 'mnist', data, cacheDir, size: 4, channels: 1, background: 'white', fit: 'fill', ...extra };
}

test('mnist from --data DIR: grey at the model size, copied when the sizes match, grey repeated for RGB', async (t) => {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'mnist'));
  await writeFile(path.join(dir, 'mnist', 'train-images-idx3-ubyte.gz'), gzipSync(idx(5, 4, 4)));
  const same = await loadImageSet(mnist(path.join(dir, 'mnist'), dir));
  assert.equal(same.count, 5);
  assert.equal(same.channels, 1);
  assert.deepEqual([...same.pixels.subarray(16, 32)], [255, ...Array(15).fill(80)]);
  assert.match(same.description, /^MNIST: 5 training images/);

  const rgb = await loadImageSet(mnist(path.join(dir, 'mnist'), dir, { channels: 3, limit: 2 }));
  assert.equal(rgb.count, 2);
  assert.deepEqual([...rgb.pixels.subarray(48, 54)], [255, 255, 255, 80, 80, 80]);

  const big = await loadImageSet(mnist(path.join(dir, 'mnist'), dir, { size: 8 }));
  assert.equal(big.pixels.length, 5 * 64);
  assert.equal(big.pixels[64 + 7 * 8 + 7], 80, 'resized: the far corner keeps the fill level');
  const big3 = await loadImageSet(mnist(path.join(dir, 'mnist'), dir, { size: 8, channels: 3 }));
  for (let i = 0; i < big.pixels.length; i++) {
    assert.deepEqual([...big3.pixels.subarray(i * 3, i * 3 + 3)], [big.pixels[i], big.pixels[i], big.pixels[i]]);
  }
});

test('fashion-mnist takes an uncompressed file by its other name; a folder without one is a clear error', async (t) => {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'f'));
  await writeFile(path.join(dir, 'f', 'train-images.idx3-ubyte'), idx(3, 4, 4));
  const set = await loadImageSet({ ...mnist(path.join(dir, 'f'), dir), dataset: 'fashion-mnist' });
  assert.equal(set.count, 3);
  assert.match(set.description, /^Fashion-MNIST: 3 training images/);
  await mkdir(path.join(dir, 'empty'));
  await assert.rejects(loadImageSet(mnist(path.join(dir, 'empty'), dir)), (err: Error) =>
    err instanceof DatasetError && /has no train-images-idx3-ubyte\.gz or .* \(the MNIST training images\)/.test(err.message));
  await writeFile(path.join(dir, 'labels.gz'), gzipSync(idx(3, 4, 4, 2049)));
  await assert.rejects(loadImageSet(mnist(path.join(dir, 'labels.gz'), dir)), /labels\.gz is an IDX label file/);
});

test('mnist downloads from --url into the cache folder, checked by MD5 (or --sha1 for a mirror)', async (t) => {
  const dir = await tempDir(t);
  const body = gzipSync(idx(4, 4, 4));
  const server = await serve(rangeHandler(body));
  t.after(server.close);
  // the real MD5 cannot match a hand-made file: the check must catch it
  await assert.rejects(loadImageSet(mnist(undefined, dir, { url: `${server.url}/mnist/`, network: { retryDelayMs: 1 } })), (err: Error) =>
    err instanceof DatasetError && /train-images-idx3-ubyte\.gz from .* failed its MD5 check \(expected f68b3c2dcbeaaa9fbdd348bbdeb94873/.test(err.message));
  assert.equal(server.requests.at(-1)?.url, '/mnist/train-images-idx3-ubyte.gz');

  const sha1 = createHash('sha1').update(body).digest('hex');
  const set = await loadImageSet(mnist(undefined, dir, { url: `${server.url}/mnist`, sha1 }));
  assert.equal(set.count, 4);
  assert.equal(server.requests.at(-1)?.url, '/mnist/train-images-idx3-ubyte.gz');
  const again = await loadImageSet(mnist(undefined, dir, { url: `${server.url}/mnist`, sha1, size: 8 }));
  assert.equal(again.count, 4);
  assert.equal(server.requests.length, 2, 'the verified download is reused for another size');
});

test('idxUrl: the default mirrors, a base URL, or the file itself', () => {
  assert.equal(idxUrl('mnist', undefined), 'https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz');
  assert.equal(idxUrl('fashion-mnist', undefined), 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz');
  assert.equal(idxUrl('mnist', 'http://h/m'), 'http://h/m/train-images-idx3-ubyte.gz');
  assert.equal(idxUrl('mnist', 'http://h/m/x.gz'), 'http://h/m/x.gz');
});
