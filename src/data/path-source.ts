// `--data PATH`: a folder of images (recursive) or a .zip of them; a class is a folder (see folderClasses).
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { folderClasses, folderLabels, type FolderClasses } from './classes.js';
import { decodeAll, type DecodeResult } from './decode.js';
import { hashFile } from './download.js';
import { DatasetError } from './errors.js';
import { IMAGE_EXTENSIONS } from './filter.js';
import { filesIdentity, listImageFiles } from './folder.js';
import { applyLimit, imageOptionsKey, type DecodedSet, type Source, type SourceOptions } from './source.js';
import { zipImages, type ZipLimits } from './zip.js';
import { fileSource, type ByteSource } from './zip-reader.js';

export async function pathSource(p: string, o: SourceOptions): Promise<Source> {
  const abs = path.resolve(p);
  let s;
  try {
    s = await stat(abs);
  } catch {
    throw new DatasetError(`--data ${p}: no such file or folder`);
  }
  if (s.isDirectory()) return folderSource(abs, p, o);
  if (s.isFile() && (/\.zip$/i.test(abs) || (await looksLikeZip(abs)))) return zipSource(abs, p, o);
  throw new DatasetError(`--data ${p} is neither a folder nor a .zip file`);
}

async function looksLikeZip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    return b.readUInt32LE(0) === 0x04034b50; // "PK\3\4"
  } finally {
    await fh.close();
  }
}

export function noImagesError(label: string): DatasetError {
  return new DatasetError(
    `no images in ${label} (looked for ${IMAGE_EXTENSIONS.join(' ')}; dot-files and __MACOSX/ are skipped)`,
  );
}

async function folderSource(abs: string, label: string, o: SourceOptions): Promise<Source> {
  let files;
  try {
    files = await listImageFiles(abs);
  } catch (err) {
    throw new DatasetError(`cannot read the folder ${label}: ${(err as Error).message}`);
  }
  if (files.length === 0) throw noImagesError(label);
  // the classes come from every file, so a class keeps its number whatever --limit keeps
  const classes = folderClasses(files.map((f) => f.rel));
  const kept = applyLimit(files, o.limit);
  return {
    kind: 'folder',
    // the kept files' identity decides their pixels; the class names depend on the others too
    key: { source: 'folder', files: filesIdentity(kept), classes: classesIdentity(classes), ...imageOptionsKey(o) },
    label,
    decode: async (onProgress) => {
      const r = await decodeAll(kept.map((f) => ({ name: f.rel, read: () => readFile(f.path) })), o, onProgress);
      return withFolderLabels(r, classes, (i) => kept[i].rel, label);
    },
    describe: (count) => `${label}: ${count} images`,
  };
}

function classesIdentity(c: FolderClasses): string {
  return createHash('sha256').update([c.root, ...c.classNames].join('\n')).digest('hex');
}

function withFolderLabels(
  r: DecodeResult,
  classes: FolderClasses,
  nameOf: (input: number) => string,
  where: string,
): DecodedSet {
  const { kept, ...decoded } = r;
  return { ...decoded, ...folderLabels(classes, kept, nameOf, where) };
}

async function zipSource(abs: string, label: string, o: SourceOptions): Promise<Source> {
  const sha1 = await hashFile(abs, 'sha1');
  return {
    kind: 'zip',
    key: { source: 'zip', sha1, ...imageOptionsKey(o) },
    label,
    decode: async (onProgress) => decodeZip(abs, label, o, o.zipLimits, onProgress),
    describe: (count) => `${label}: ${count} images`,
  };
}

/**
 * Opens the archive, checks it, and decodes its (limited) image entries, reading each into memory in turn; the classes
 * are the entries' folders.
 */
export async function decodeZip(
  file: string,
  label: string,
  o: SourceOptions,
  limits: ZipLimits,
  onProgress?: (done: number, total: number) => void,
): Promise<DecodedSet> {
  let src: ByteSource;
  try {
    src = await fileSource(file);
  } catch (err) {
    throw new DatasetError(`cannot read ${label}: ${(err as Error).message}`);
  }
  try {
    const { entries } = await zipImages(src, label, limits);
    if (entries.length === 0) throw noImagesError(label);
    const classes = folderClasses(entries.map((e) => e.name));
    const kept = applyLimit(entries, o.limit);
    return withFolderLabels(await decodeAll(kept, o, onProgress), classes, (i) => kept[i].name, label);
  } finally {
    await src.close();
  }
}
