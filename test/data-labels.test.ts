// Class labels from folders and zips (ImageFolder's rule, with a wrapping root skipped), kept aligned through skips
// and --limit, and the check that --conditional makes.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { folderClasses } from '../src/data/classes.js';
import { DatasetError } from '../src/data/errors.js';
import { loadImageSet, requireClasses, sourceName, type ImageSet, type LoadOptions } from '../src/data/index.js';
import { corruptPng, solid, tempDir, zipOf } from './fixtures/data.js';

type Colour = [number, number, number];
const RED: Colour = [255, 0, 0];
const GREEN: Colour = [0, 255, 0];
const BLUE: Colour = [0, 0, 255];
const YELLOW: Colour = [255, 255, 0];

async function writeTree(root: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [name, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), data);
  }
}

function opts(data: string, cacheDir: string, extra: Partial<LoadOptions> = {}): LoadOptions {
  return { dataset: 'pokemon', data, cacheDir, size: 8, channels: 3, background: 'white', fit: 'fill', cache: false, ...extra };
}

/** The centre pixel of image i. */
function centre(set: ImageSet, i: number): number[] {
  const o = ((i * set.size + 4) * set.size + 4) * set.channels;
  return [...set.pixels.subarray(o, o + 3)];
}

const oneLineError = (pattern: RegExp) => (err: Error) => {
  assert.ok(err instanceof DatasetError, `a DatasetError, not ${err.name}: ${err.message}`);
  assert.match(err.message, pattern);
  assert.ok(!err.message.includes('\n'), 'one line');
  return true;
};

test('folderClasses: the first folder level, names sorted; a folder wrapping everything is the root', () => {
  const plain = folderClasses(['b/1.png', 'a/2.png', 'a/1.png']);
  assert.deepEqual([plain.root, plain.classNames, [...plain.classOf]], ['', ['a', 'b'], [1, 0, 0]]);

  const d2l = folderClasses(['pokemon/bulbasaur/0.png', 'pokemon/abra/1.png', 'pokemon/abra/sub/2.png']);
  assert.deepEqual([d2l.root, d2l.classNames, [...d2l.classOf]], ['pokemon/', ['abra', 'bulbasaur'], [1, 0, 0]]);

  const nested = folderClasses(['data/pokemon/x/1.png', 'data/pokemon/y/1.png']);
  assert.deepEqual([nested.root, nested.classNames], ['data/pokemon/', ['x', 'y']]);

  const backslashes = folderClasses(['w\\a\\1.png', 'w\\b\\1.png']);
  assert.deepEqual([backslashes.root, backslashes.classNames], ['w/', ['a', 'b']]);

  // a folder of loose images is one class, not a wrapper
  const cats = folderClasses(['cats/1.png', 'cats/2.png']);
  assert.deepEqual([cats.root, cats.classNames, [...cats.classOf]], ['', ['cats'], [0, 0]]);

  const mixed = folderClasses(['a/1.png', 'top.png']);
  assert.deepEqual([mixed.root, mixed.classNames, [...mixed.classOf]], ['', ['a'], [0, -1]]);
  const mixedInWrapper = folderClasses(['w/a/1.png', 'w/loose.png']);
  assert.deepEqual([mixedInWrapper.root, mixedInWrapper.classNames, [...mixedInWrapper.classOf]], ['w/', ['a'], [0, -1]]);

  const flat = folderClasses(['1.png', '2.png']);
  assert.deepEqual([flat.classNames, [...flat.classOf]], [[], [-1, -1]]);
  assert.deepEqual(folderClasses([]).classNames, []);
});

test('class names sort as Python sorts strings (ImageFolder): "10" before "2", capitals before small letters', () => {
  // sorted(['a', 'é', '2', 'B', '10', 'a-b']) in Python: ['10', '2', 'B', 'a', 'a-b', 'é']
  const c = folderClasses(['a/x.png', 'é/x.png', '2/x.png', 'B/x.png', '10/x.png', 'a-b/x.png']);
  assert.deepEqual(c.classNames, ['10', '2', 'B', 'a', 'a-b', 'é']);
  assert.deepEqual([...c.classOf], [3, 5, 1, 2, 0, 4]);
});

/** Three classes by colour; a bad PNG in the middle class; files that are not images or are hidden. */
async function threeClasses(): Promise<Record<string, Buffer | string>> {
  return {
    'zebra/z1.png': await solid('png', BLUE),
    'ant/a1.png': await solid('png', RED),
    'ant/a2.png': await solid('png', RED),
    'mid/bad.png': await corruptPng(),
    'mid/m1.png': await solid('png', GREEN),
    'ant/notes.txt': 'not an image',
    '.hidden/x.png': await solid('png', YELLOW),
  };
}

function checkThreeClasses(set: ImageSet, lines: string[], bad = 'mid/bad.png'): void {
  // sorted paths: ant/a1 ant/a2 mid/bad mid/m1 zebra/z1; mid/bad does not decode
  assert.equal(set.count, 4);
  assert.deepEqual(set.classNames, ['ant', 'mid', 'zebra']);
  assert.deepEqual(set.labels, Uint16Array.from([0, 0, 1, 2]));
  assert.deepEqual([0, 1, 2, 3].map((i) => centre(set, i)), [RED, RED, GREEN, BLUE], 'each label sits with its image after the skip');
  assert.equal(set.whyNoLabels, undefined);
  assert.deepEqual(lines, [`skipped 1 unreadable file: ${bad}`]);
}

test('a folder of class folders: labels by folder, aligned after an unreadable image is skipped', async (t) => {
  const dir = await tempDir(t);
  await writeTree(path.join(dir, 'set'), await threeClasses());
  const lines: string[] = [];
  checkThreeClasses(await loadImageSet(opts(path.join(dir, 'set'), dir, { log: (l) => lines.push(l) })), lines);
});

test('a zip with one root folder around its class folders (d2l pokemon.zip) gives the same labels', async (t) => {
  const dir = await tempDir(t);
  const files = await threeClasses();
  const zip = path.join(dir, 'pokemon.zip');
  await writeFile(zip, zipOf(Object.fromEntries(Object.entries(files).map(([n, b]) => [`pokemon/${n}`, b]))));
  const lines: string[] = [];
  checkThreeClasses(await loadImageSet(opts(zip, dir, { log: (l) => lines.push(l) })), lines, 'pokemon/mid/bad.png');
  // and a folder holding that one folder, too
  await writeTree(path.join(dir, 'unzipped', 'pokemon'), files);
  const folderLines: string[] = [];
  const fromFolder = await loadImageSet(opts(path.join(dir, 'unzipped'), dir, { log: (l) => folderLines.push(l) }));
  checkThreeClasses(fromFolder, folderLines, 'pokemon/mid/bad.png');
});

test('a label follows its folder, not its position: "a-b/" sorts before "a/" as a path, after it as a class', async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, { 'set/a/x.png': await solid('png', RED), 'set/a-b/x.png': await solid('png', BLUE) });
  const set = await loadImageSet(opts(path.join(dir, 'set'), dir));
  assert.deepEqual(set.classNames, ['a', 'a-b']);
  assert.deepEqual(set.labels, Uint16Array.from([1, 0]));
  assert.deepEqual([centre(set, 0), centre(set, 1)], [BLUE, RED]);
});

test('--limit keeps the labels of the first N images and every class name', async (t) => {
  const dir = await tempDir(t);
  await writeTree(path.join(dir, 'set'), await threeClasses());
  const set = await loadImageSet(opts(path.join(dir, 'set'), dir, { limit: 2 }));
  assert.deepEqual(set.labels, Uint16Array.from([0, 0]));
  assert.deepEqual(set.classNames, ['ant', 'mid', 'zebra']);
  assert.throws(
    () => requireClasses(set, sourceName({ dataset: 'pokemon', data: 'set' })),
    oneLineError(/^--conditional needs images of at least two classes, and all 2 images of --data set are of class "ant" \(it has 3 classes, but only this one among the images loaded; a --limit takes the first images in order\)$/),
  );
  const four = await loadImageSet(opts(path.join(dir, 'set'), dir, { limit: 4, log: () => {} }));
  assert.deepEqual(four.labels, Uint16Array.from([0, 0, 1]), 'the fourth file is the unreadable one');
  assert.deepEqual(requireClasses(four, 'x').labels, Uint16Array.from([0, 0, 1]));
});

test('images outside the class folders: no labels, and --conditional says which', async (t) => {
  const dir = await tempDir(t);
  await writeTree(path.join(dir, 'mixed'), { 'a/x.png': await solid('png', RED), 'b/y.png': await solid('png', GREEN), 'top.png': await solid('png', BLUE) });
  const set = await loadImageSet(opts(path.join(dir, 'mixed'), dir));
  assert.equal(set.count, 3);
  assert.equal(set.labels, undefined);
  assert.equal(set.classNames, undefined);
  const source = `--data ${path.join(dir, 'mixed')}`;
  assert.throws(
    () => requireClasses(set, source),
    oneLineError(/^--conditional needs class labels, and --data .*mixed has no classes: 1 of its 3 images lie outside the class folders \(top\.png\), so not every image has a class: move them into a class folder or remove them$/),
  );

  // inside a wrapping folder, in a zip: the loose files are named with their path
  const zip = path.join(dir, 'mixed.zip');
  await writeFile(zip, zipOf({ 'w/a/x.png': await solid('png', RED), 'w/b/y.png': await solid('png', GREEN), 'w/l1.png': await solid('png', BLUE), 'w/l2.png': await solid('png', BLUE) }));
  const zipped = await loadImageSet(opts(zip, dir));
  assert.equal(zipped.labels, undefined);
  assert.match(zipped.whyNoLabels ?? '', /^2 of its 4 images lie outside the class folders \(w\/l1\.png, w\/l2\.png\)/);

  // what --limit keeps decides: the first two are both in class folders
  const kept = await loadImageSet(opts(path.join(dir, 'mixed'), dir, { limit: 2 }));
  assert.deepEqual(kept.labels, Uint16Array.from([0, 1]));
});

test('a flat folder has no classes; one class folder is one class, too few for --conditional', async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, { 'flat/x.png': await solid('png', RED), 'flat/y.png': await solid('png', GREEN) });
  const flat = await loadImageSet(opts(path.join(dir, 'flat'), dir));
  assert.equal(flat.labels, undefined);
  assert.throws(() => requireClasses(flat, '--data flat'), oneLineError(/^--conditional needs class labels, and --data flat has no classes: its images lie directly in .*flat, not in one folder per class$/));

  await writeTree(dir, { 'one/cats/x.png': await solid('png', RED), 'one/cats/y.png': await solid('png', GREEN) });
  const one = await loadImageSet(opts(path.join(dir, 'one'), dir));
  assert.deepEqual(one.classNames, ['cats']);
  assert.deepEqual(one.labels, Uint16Array.from([0, 0]));
  assert.throws(() => requireClasses(one, '--data one'), oneLineError(/^--conditional needs images of at least two classes, and all 2 images of --data one are of class "cats"$/));
});

test('pokesprite has no classes, and says why and where to find some', async (t) => {
  const dir = await tempDir(t);
  const set = await loadImageSet({ dataset: 'pokesprite', cacheDir: dir, size: 8, channels: 3, background: 'white', fit: 'fill', limit: 2, cache: false });
  assert.equal(set.labels, undefined);
  assert.throws(
    () => requireClasses(set, sourceName({ dataset: 'pokesprite' })),
    oneLineError(/^--conditional needs class labels, and --dataset pokesprite has no classes: its folders sort the sprites by art generation and colouring .*mnist-10k.*--data PATH with one folder per class$/),
  );
});

test('requireClasses returns the labels and names of a set with two or more classes', () => {
  const set: ImageSet = { pixels: new Uint8Array(3), count: 3, size: 1, channels: 1, description: 'x', labels: Uint16Array.from([1, 0, 1]), classNames: ['x', 'y'] };
  const c = requireClasses(set, 'x');
  assert.equal(c.labels, set.labels);
  assert.deepEqual(c.classNames, ['x', 'y']);
  assert.throws(() => requireClasses({ ...set, labels: Uint16Array.from([1, 0]) }, '--data d'), oneLineError(/^--data d has 2 labels for 3 images$/));
  assert.equal(sourceName({ dataset: 'mnist' }), '--dataset mnist');
  assert.equal(sourceName({ dataset: 'pokemon', data: 'a b.zip' }), '--data a b.zip');
});
