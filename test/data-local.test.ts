// `--data PATH`: folders and zips of mixed formats, what is skipped, and the archives that must be refused.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { DatasetError } from '../src/data/errors.js';
import { loadImageSet, type LoadOptions } from '../src/data/index.js';
import { corruptPng, greyPng, renameInZip, solid, sprite, tempDir, zipOf } from './fixtures/data.js';

const RED = [255, 0, 0];
const WHITE = [255, 255, 255];

async function animatedGif(): Promise<Buffer> {
  // two 8×8 frames: blue, then yellow; only the first may be used
  const raw = Buffer.alloc(8 * 16 * 3);
  for (let i = 0; i < 64; i++) {
    raw.set([0, 0, 255], i * 3);
    raw.set([255, 255, 0], (64 + i) * 3);
  }
  return sharp(raw, { raw: { width: 8, height: 16, channels: 3, pageHeight: 8 } }).gif().toBuffer();
}

/** Everything the folder and zip tests share: name → bytes, in a layout with the things that must be skipped. */
async function mixedFiles(): Promise<Record<string, Buffer | string>> {
  return {
    'a/red.png': await solid('png', [255, 0, 0]),
    'b/green.jpg': await solid('jpeg', [0, 255, 0]),
    'c/blue-then-yellow.gif': await animatedGif(),
    'd/yellow.webp': await solid('webp', [255, 255, 0]),
    'e/sprite.png': await sprite(),
    'f/grey.png': await greyPng(100),
    'g/bad.png': await corruptPng(),
    'notes.txt': 'not an image',
    '.hidden.png': await solid('png', [1, 2, 3]),
    '.git/x.png': await solid('png', [1, 2, 3]),
    '__MACOSX/a/._red.png': 'resource fork',
    '__MACOSX/a/red.png': 'not a png either',
  };
}
const EXPECTED_ORDER = ['red', 'green', 'blue', 'yellow', 'sprite', 'grey'];

async function writeTree(root: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [name, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), data);
  }
}

function opts(data: string, cacheDir: string, extra: Partial<LoadOptions> = {}): LoadOptions {
  return { dataset: 'pokesprite', data, cacheDir, size: 8, channels: 3, background: 'white', fit: 'fill', cache: false, ...extra };
}

/** The pixel at (x, y) of image i. */
function px(set: { pixels: Uint8Array; size: number; channels: number }, i: number, x: number, y: number): number[] {
  const o = ((i * set.size + y) * set.size + x) * set.channels;
  return [...set.pixels.subarray(o, o + set.channels)];
}

function near(actual: number[], expected: number[], tolerance = 8): boolean {
  return actual.length === expected.length && actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance);
}

function checkMixed(set: Awaited<ReturnType<typeof loadImageSet>>, lines: string[]): void {
  assert.equal(set.count, EXPECTED_ORDER.length);
  assert.equal(set.pixels.length, 6 * 8 * 8 * 3);
  assert.ok(near(px(set, 0, 4, 4), RED));
  assert.ok(near(px(set, 1, 4, 4), [0, 255, 0]), `jpeg green: ${px(set, 1, 4, 4)}`);
  assert.ok(near(px(set, 2, 4, 4), [0, 0, 255]), `gif first frame is blue: ${px(set, 2, 4, 4)}`);
  assert.ok(near(px(set, 3, 4, 4), [255, 255, 0]));
  assert.deepEqual(px(set, 4, 0, 0), WHITE, 'the transparent corner of the sprite is white, not black');
  assert.deepEqual(px(set, 4, 7, 7), RED);
  assert.deepEqual(px(set, 5, 3, 3), [100, 100, 100], 'a greyscale PNG becomes equal RGB');
  assert.deepEqual(lines, ['skipped 1 unreadable file: g/bad.png']);
}

test('a folder of mixed formats: PNG, JPEG, GIF (first frame), WebP; non-images, dot-files, __MACOSX skipped', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'images');
  await writeTree(root, await mixedFiles());
  const lines: string[] = [];
  const set = await loadImageSet(opts(root, dir, { log: (l) => lines.push(l) }));
  checkMixed(set, lines);
  assert.match(set.description, /6 images/);
});

test('a zip of the same files gives the same images', async (t) => {
  const dir = await tempDir(t);
  const files = await mixedFiles();
  const zip = path.join(dir, 'images.zip');
  await writeFile(zip, zipOf(files));
  const lines: string[] = [];
  const set = await loadImageSet(opts(zip, dir, { log: (l) => lines.push(l) }));
  checkMixed(set, lines);

  await writeTree(path.join(dir, 'tree'), files);
  const fromFolder = await loadImageSet(opts(path.join(dir, 'tree'), dir));
  assert.deepEqual(set.pixels, fromFolder.pixels);
});

test('a zip without the .zip name is recognised by its signature', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'archive.bin');
  await writeFile(file, zipOf({ 'x.png': await solid('png', [255, 0, 0]) }));
  assert.equal((await loadImageSet(opts(file, dir))).count, 1);
});

test('one channel: colour and RGBA sprites become grey, transparent corners white', async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, { 'img/grey.png': await greyPng(100), 'img/sprite.png': await sprite() });
  const set = await loadImageSet(opts(path.join(dir, 'img'), dir, { channels: 1 }));
  assert.equal(set.pixels.length, 2 * 8 * 8);
  assert.deepEqual(px(set, 0, 2, 2), [100]);
  assert.deepEqual(px(set, 1, 0, 0), [255]);
});

test('--background colours the transparent pixels; --fit contain pads with it', async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, { 'img/a-sprite.png': await sprite(), 'img/b-wide.png': await solid('png', [255, 0, 0], 16, 8) });
  const black = await loadImageSet(opts(path.join(dir, 'img'), dir, { background: 'black' }));
  assert.deepEqual(px(black, 0, 0, 0), [0, 0, 0]);
  const fill = await loadImageSet(opts(path.join(dir, 'img'), dir, { fit: 'fill' }));
  assert.deepEqual(px(fill, 1, 4, 0), RED, 'fill stretches the wide image over the square');
  const contain = await loadImageSet(opts(path.join(dir, 'img'), dir, { fit: 'contain', background: '#0000ff' }));
  assert.deepEqual(px(contain, 1, 4, 0), [0, 0, 255], 'contain pads above and below');
  assert.deepEqual(px(contain, 1, 4, 4), RED);
});

test('--limit takes the first N in sorted order and decodes only those', async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, await mixedFiles());
  let total = 0;
  const set = await loadImageSet(opts(dir, dir, { limit: 2, onProgress: (_d, n) => (total = n) }));
  assert.equal(set.count, 2);
  assert.equal(total, 2);
  assert.ok(near(px(set, 1, 4, 4), [0, 255, 0]));
});

function rejects(o: LoadOptions, pattern: RegExp) {
  return assert.rejects(loadImageSet(o), (err: Error) => {
    assert.ok(err instanceof DatasetError, `a DatasetError, not ${err.name}: ${err.message}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

test('a zip-slip entry (../evil.png) or an absolute name refuses the archive', async (t) => {
  const dir = await tempDir(t);
  const png = await solid('png', [255, 0, 0]);
  const slip = path.join(dir, 'slip.zip');
  await writeFile(slip, renameInZip(zipOf({ 'ok.png': png, 'AAAevil.png': png }), 'AAAevil.png', '../evil.png'));
  await rejects(opts(slip, dir), /slip\.zip has an unsafe entry name "\.\.\/evil\.png" \(absolute paths, drive letters, "\.\." and NUL are refused\)/);
  const abs = path.join(dir, 'abs.zip');
  await writeFile(abs, renameInZip(zipOf({ 'ok.png': png, 'Xtmp/x.png': png }), 'Xtmp/x.png', '/tmp/x.png'));
  await rejects(opts(abs, dir), /unsafe entry name "\/tmp\/x\.png"/);
  // a slip hidden in a non-image entry is refused too
  const txt = path.join(dir, 'txt.zip');
  await writeFile(txt, renameInZip(zipOf({ 'ok.png': png, 'a/AAAb.txt': 'x' }), 'a/AAAb.txt', 'a/../b.txt'));
  await rejects(opts(txt, dir), /unsafe entry name "a\/\.\.\/b\.txt"/);
});

test('archives past the limits are refused, naming the flag that raises each', async (t) => {
  const dir = await tempDir(t);
  const png = await solid('png', [255, 0, 0]);
  const big = await sharp({ create: { width: 200, height: 200, channels: 3, background: 'red' } }).png({ compressionLevel: 0 }).toBuffer();
  const zip = path.join(dir, 'big.zip');
  await writeFile(zip, zipOf({ 'a.png': png, 'big.png': big }));
  // (an uncompressed flat PNG deflates about 125:1, so the ratio limit is raised where another limit is tested)
  await rejects(opts(zip, dir, { zipLimits: { maxEntrySize: 64 * 1024, maxRatio: 1e6 } }), /big\.zip: entry "big\.png" is 0\.1\d MiB uncompressed, over the 0\.06 MiB limit \(raise it with --zip-max-entry-size\)/);
  await rejects(opts(zip, dir, { zipLimits: { maxRatio: 10 } }), /entry "big\.png" expands \d+:1, over the 10:1 compression-ratio limit \(raise it with --zip-max-ratio\)/);
  await rejects(opts(zip, dir, { zipLimits: { maxTotalSize: 100_000, maxRatio: 1e6 } }), /over 0\.10 MiB uncompressed in total \(raise the limit with --zip-max-total-size\)/);
  await rejects(opts(zip, dir, { zipLimits: { maxEntries: 1 } }), /big\.zip has 2 entries, over the 1 limit \(raise it with --zip-max-entries\)/);
  // raised, the same archive loads
  const ok = await loadImageSet(opts(zip, dir, { zipLimits: { maxRatio: 1e6 } }));
  assert.equal(ok.count, 2);
});

test('a zip bomb entry (a big block of zeros) is refused by the ratio limit at the defaults', async (t) => {
  const dir = await tempDir(t);
  const zip = path.join(dir, 'bomb.zip');
  await writeFile(zip, zipOf({ 'bomb.png': Buffer.alloc(10 * 1024 * 1024) }));
  await rejects(opts(zip, dir), /entry "bomb\.png" expands \d+:1, over the 100:1 compression-ratio limit/);
});

test('a corrupt or truncated zip is a clear error', async (t) => {
  const dir = await tempDir(t);
  const junk = path.join(dir, 'junk.zip');
  await writeFile(junk, Buffer.from('this is not a zip file at all'));
  await rejects(opts(junk, dir), /junk\.zip is not a readable zip archive \(.+\)/);
  const good = zipOf({ 'a.png': await solid('png', [255, 0, 0]), 'b.png': await solid('png', [0, 255, 0]) });
  const cut = path.join(dir, 'cut.zip');
  await writeFile(cut, good.subarray(0, good.length - 30));
  await rejects(opts(cut, dir), /cut\.zip is not a readable zip archive/);
});

test('a damaged entry in a sound archive is skipped and counted', async (t) => {
  const dir = await tempDir(t);
  const good = await solid('png', [255, 0, 0]);
  const zipped = zipOf({ 'a.png': good, 'b.png': await solid('png', [0, 255, 0]) });
  // flip a byte inside b.png's data: its CRC no longer matches
  const at = zipped.indexOf(Buffer.from('b.png')) + 5 + 40;
  zipped[at] ^= 0xff;
  const zip = path.join(dir, 'damaged.zip');
  await writeFile(zip, zipped);
  const lines: string[] = [];
  const set = await loadImageSet(opts(zip, dir, { log: (l) => lines.push(l) }));
  assert.equal(set.count, 1);
  assert.deepEqual(lines, ['skipped 1 unreadable file: b.png']);
});

test('bad --data paths: missing, not a folder or zip, no images, nothing decodable', async (t) => {
  const dir = await tempDir(t);
  await rejects(opts(path.join(dir, 'nope'), dir), /--data .*nope: no such file or folder/);
  await writeFile(path.join(dir, 'notes.txt'), 'hello');
  await rejects(opts(path.join(dir, 'notes.txt'), dir), /is neither a folder nor a \.zip file/);
  await mkdir(path.join(dir, 'empty/__MACOSX'), { recursive: true });
  await writeFile(path.join(dir, 'empty/__MACOSX/._a.png'), 'x');
  await writeFile(path.join(dir, 'empty/readme.md'), 'x');
  await rejects(opts(path.join(dir, 'empty'), dir), /no images in .*empty \(looked for \.png \.jpg \.jpeg \.gif \.webp; dot-files and __MACOSX\/ are skipped\)/);
  await writeTree(path.join(dir, 'broken'), { 'a.png': 'not a png', 'b.jpg': 'nor a jpeg', 'c.gif': 'x', 'd.webp': 'y' });
  await rejects(opts(path.join(dir, 'broken'), dir), /none of the 4 image files in .*broken could be decoded \(a\.png, b\.jpg, c\.gif, …\)/);
  const emptyZip = path.join(dir, 'empty.zip');
  await writeFile(emptyZip, zipOf({ 'readme.txt': 'no images here' }));
  await rejects(opts(emptyZip, dir), /no images in .*empty\.zip/);
});

test('the skipped line names the first three and counts them all', async (t) => {
  const dir = await tempDir(t);
  const files: Record<string, Buffer | string> = { 'ok.png': await solid('png', [255, 0, 0]) };
  for (const n of ['b1', 'b2', 'b3', 'b4', 'b5']) files[`${n}.png`] = await corruptPng();
  await writeTree(dir, files);
  const lines: string[] = [];
  const set = await loadImageSet(opts(dir, dir, { log: (l) => lines.push(l) }));
  assert.equal(set.count, 1);
  assert.equal(set.pixels.length, 8 * 8 * 3);
  assert.deepEqual(px(set, 0, 4, 4), RED, 'the good image sorted after the bad ones moves into the first slot');
  assert.deepEqual(lines, ['skipped 5 unreadable files: b1.png, b2.png, b3.png, …']);
});
