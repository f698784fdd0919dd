// IDX files (MNIST, Fashion-MNIST): hand-made headers, right and wrong, and the two datasets end to end.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DatasetError } from '../src/data/errors.js';
import { parseIdxImages, parseIdxLabels, readIdxImages } from '../src/data/idx.js';
import { loadImageSet, requireClasses, type LoadOptions } from '../src/data/index.js';
import { IDX_SETS, idxLabelsUrl, idxSource, idxUrl, labelsNameFor } from '../src/data/mnist.js';
import { DEFAULT_ZIP_LIMITS } from '../src/data/zip.js';
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

/** An IDX label file: the header (magic, count), then one byte a label. */
function idxLabels(classes: number[], magic = 2049): Buffer {
  const b = Buffer.alloc(8 + classes.length);
  b.writeUInt32BE(magic, 0);
  b.writeUInt32BE(classes.length, 4);
  b.set(classes, 8);
  return b;
}

test('a hand-made IDX label file parses; a wrong magic, a wrong length or a class past 9 is refused', () => {
  assert.deepEqual([...parseIdxLabels(idxLabels([3, 0, 9]), 'l', 10)], [3, 0, 9]);
  fails(() => parseIdxLabels(idx(2, 2, 2), 'images', 10), /^images is an IDX image file \(magic number 2051, expected 2049\)$/);
  fails(() => parseIdxLabels(idxLabels([1], 7), 'x', 10), /^x is not an IDX label file \(magic number 7, expected 2049\)$/);
  fails(() => parseIdxLabels(idxLabels([1, 2, 3]).subarray(0, 10), 't', 10), /^t is truncated: the header says 3 labels \(11 bytes\), the file has 10 bytes$/);
  fails(() => parseIdxLabels(Buffer.concat([idxLabels([1]), Buffer.alloc(1)]), 'l', 10), /^l is longer than its header says/);
  fails(() => parseIdxLabels(idxLabels([1]).subarray(0, 6), 'h', 10), /^h is truncated: its IDX header is incomplete$/);
  fails(() => parseIdxLabels(idxLabels([1, 10]), 'c', 10), /^c gives image 1 the class 10, but there are only 10 classes \(0–9\)$/);
});

test('mnist --data DIR: labels from train-labels-idx1-ubyte.gz beside the images, kept through --limit, RGB and resizing', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx(5, 4, 4)));
  await writeFile(path.join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxLabels([7, 2, 1, 0, 4])));
  const set = await loadImageSet(mnist(dir, dir));
  assert.deepEqual(set.labels, Uint16Array.from([7, 2, 1, 0, 4]));
  assert.deepEqual(set.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual((await loadImageSet(mnist(dir, dir, { limit: 2 }))).labels, Uint16Array.from([7, 2]));
  assert.deepEqual((await loadImageSet(mnist(dir, dir, { channels: 3, size: 8 }))).labels, Uint16Array.from([7, 2, 1, 0, 4]));
  // --data naming the images file finds its labels beside it
  const direct = await loadImageSet(mnist(path.join(dir, 'train-images-idx3-ubyte.gz'), dir, { cache: false }));
  assert.deepEqual(direct.labels, Uint16Array.from([7, 2, 1, 0, 4]));
  assert.deepEqual(requireClasses(set, '--dataset mnist').labels, set.labels);
});

test('fashion-mnist: the uncompressed names, and its ten class names', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'train-images.idx3-ubyte'), idx(3, 4, 4));
  await writeFile(path.join(dir, 'train-labels.idx1-ubyte'), idxLabels([9, 0, 5]));
  const set = await loadImageSet({ ...mnist(dir, dir), dataset: 'fashion-mnist' });
  assert.deepEqual(set.labels, Uint16Array.from([9, 0, 5]));
  assert.deepEqual(set.classNames, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
});

test('labels that do not match the images in number are an error naming both files', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx(5, 4, 4)));
  await writeFile(path.join(dir, 'train-labels-idx1-ubyte'), idxLabels([1, 2, 3, 4]));
  await assert.rejects(loadImageSet(mnist(dir, dir)), (err: Error) =>
    err instanceof DatasetError &&
    /^train-labels-idx1-ubyte holds 4 labels, but train-images-idx3-ubyte\.gz beside it holds 5 images$/.test(err.message));
  await writeFile(path.join(dir, 'train-labels-idx1-ubyte'), idxLabels([1, 2, 3, 4, 5]).subarray(0, 12));
  await assert.rejects(loadImageSet(mnist(dir, dir)), /^DatasetError: train-labels-idx1-ubyte is truncated/);
});

test('without a label file the images load, without classes, and --conditional says what is missing', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx(3, 4, 4)));
  const set = await loadImageSet(mnist(dir, dir));
  assert.equal(set.count, 3);
  assert.equal(set.labels, undefined);
  assert.throws(() => requireClasses(set, `--data ${dir}`), (err: Error) =>
    err instanceof DatasetError &&
    /^--conditional needs class labels, and --data .* has no classes: no train-labels-idx1-ubyte\.gz or train-labels-idx1-ubyte lies beside .*train-images-idx3-ubyte\.gz$/.test(err.message));
  // the unlabelled set was cached; a label file added later is read, not hidden by that cache
  await writeFile(path.join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxLabels([2, 1, 0])));
  assert.deepEqual((await loadImageSet(mnist(dir, dir))).labels, Uint16Array.from([2, 1, 0]));
});

test('labelsNameFor and idxLabelsUrl pair the label file with the images', () => {
  assert.equal(labelsNameFor('train-images-idx3-ubyte.gz'), 'train-labels-idx1-ubyte.gz');
  assert.equal(labelsNameFor('t10k-images.idx3-ubyte'), 't10k-labels.idx1-ubyte');
  assert.equal(labelsNameFor('digits.gz'), undefined);
  assert.equal(idxLabelsUrl(idxUrl('mnist', undefined)), 'https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz');
  assert.equal(idxLabelsUrl('http://h/m/train-images-idx3-ubyte.gz?x=1'), 'http://h/m/train-labels-idx1-ubyte.gz?x=1');
  assert.equal(idxLabelsUrl('http://h/m/digits.gz'), undefined);
});

/** Serves the images and the labels by file name; anything else is a 404. */
async function mirror(t: { after: (fn: () => unknown) => void }, images: Buffer, labels: Buffer) {
  const imagesAt = rangeHandler(images);
  const labelsAt = rangeHandler(labels);
  const server = await serve((req, res) => {
    if (req.url?.endsWith('/train-images-idx3-ubyte.gz')) return imagesAt(req, res);
    if (req.url?.endsWith('/train-labels-idx1-ubyte.gz')) return labelsAt(req, res);
    res.writeHead(404).end();
  });
  t.after(server.close);
  return server;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

test('the mnist download fetches the label file too, checks its MD5, and keeps it for offline runs', async (t) => {
  const dir = await tempDir(t);
  const images = gzipSync(idx(4, 4, 4));
  const labels = gzipSync(idxLabels([5, 0, 4, 1]));
  const server = await mirror(t, images, labels);
  const table = { ...IDX_SETS.mnist, md5: md5(images), labelsMd5: md5(labels) };
  const o = { size: 4, channels: 1 as const, background: 'white', fit: 'fill' as const, cacheDir: dir, zipLimits: DEFAULT_ZIP_LIMITS, url: `${server.url}/m/`, network: { retryDelayMs: 1 } };
  const source = await idxSource('mnist', o, table);
  assert.deepEqual(source.key, { source: 'mnist', md5: md5(images), labelsMd5: md5(labels) });
  const set = await source.decode();
  assert.deepEqual(set.labels, Uint16Array.from([5, 0, 4, 1]));
  assert.deepEqual(server.requests.map((r) => r.url), ['/m/train-images-idx3-ubyte.gz', '/m/train-labels-idx1-ubyte.gz']);
  assert.deepEqual(await readFile(path.join(dir, 'downloads', 'mnist', 'train-labels-idx1-ubyte.gz')), labels);
  await (await idxSource('mnist', o, table)).decode();
  assert.equal(server.requests.length, 2, 'both verified files are reused');

  // a label file that fails its check is an error, like the images
  const wrong = await idxSource('mnist', { ...o, cacheDir: path.join(dir, 'other') }, { ...table, labelsMd5: '0'.repeat(32) });
  await assert.rejects(wrong.decode(), (err: Error) =>
    err instanceof DatasetError && /^train-labels-idx1-ubyte\.gz from .* failed its MD5 check \(expected 0{32}/.test(err.message));
});

test('with --sha1 for a mirror, only the images are downloaded, and the set says why it has no classes', async (t) => {
  const dir = await tempDir(t);
  const images = gzipSync(idx(4, 4, 4));
  const server = await mirror(t, images, gzipSync(idxLabels([1, 1, 1, 1])));
  const sha1 = createHash('sha1').update(images).digest('hex');
  const set = await loadImageSet(mnist(undefined, dir, { url: `${server.url}/mnist/`, sha1 }));
  assert.equal(set.labels, undefined);
  assert.deepEqual(server.requests.map((r) => r.url), ['/mnist/train-images-idx3-ubyte.gz']);
  assert.match(set.whyNoLabels ?? '', /^--sha1 checks only the images, so train-labels-idx1-ubyte\.gz was not downloaded \(put train-images-idx3-ubyte\.gz and train-labels-idx1-ubyte\.gz in a folder and use --data DIR\)$/);
});
