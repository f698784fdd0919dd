// Class labels: ImageFolder-style classes from paths, labels kept aligned with the images that decoded, and the check
// that class-conditional training makes before it starts.
import { DatasetError } from './errors.js';
import type { ImageSet, Labelling } from './types.js';

/** A label is 16 bits (ImageSet.labels). */
export const MAX_CLASSES = 65_536;
const NAMES_SHOWN = 3;

export interface FolderClasses {
  /** the wrapping folders that were skipped: '' or a path ending in '/' */
  root: string;
  /** the class folders' names, sorted */
  classNames: string[];
  /** each path's class, an index into classNames, or -1 for a file lying outside every class folder */
  classOf: Int32Array;
}

/**
 * Classes the way torchvision's ImageFolder finds them: a class is a folder at the first level under the root, and the
 * class names are sorted (plain code-unit order, as the files are). One difference: a folder that wraps everything,
 * so that every image lies in it and some lie in folders below it, is taken as the root, not as one class; this is
 * the d2l zip's single `pokemon/` folder, or a folder zipped from its parent. It repeats for nested wrappers. A folder
 * holding only loose images stays a class. `paths` are relative, with '/' or '\' separators.
 */
export function folderClasses(paths: string[]): FolderClasses {
  const rel = paths.map((p) => p.replace(/\\/g, '/'));
  let root = '';
  for (;;) {
    const shared = sharedFolder(rel, root);
    if (shared === undefined) break;
    const inner = `${root}${shared}/`;
    if (!rel.some((p) => p.indexOf('/', inner.length) >= 0)) break;
    root = inner;
  }
  const first = rel.map((p) => {
    const slash = p.indexOf('/', root.length);
    return slash < 0 ? undefined : p.slice(root.length, slash);
  });
  const classNames = [...new Set(first.filter((f): f is string => f !== undefined))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(classNames.map((name, i) => [name, i]));
  return { root, classNames, classOf: Int32Array.from(first, (f) => (f === undefined ? -1 : index.get(f)!)) };
}

/** The one folder that every path lies in below `root`, if there is one. */
function sharedFolder(paths: string[], root: string): string | undefined {
  let shared: string | undefined;
  for (const p of paths) {
    const slash = p.indexOf('/', root.length);
    if (slash < 0) return undefined;
    const folder = p.slice(root.length, slash);
    if (shared === undefined) shared = folder;
    else if (folder !== shared) return undefined;
  }
  return shared;
}

/**
 * The labels of the images that decoded (`kept`: their input indices), from each input's folder class. All or
 * nothing: if any of them lies outside the class folders, the set gets no labels and says why. `where` names the
 * source; `nameOf` names an input.
 */
export function folderLabels(classes: FolderClasses, kept: Uint32Array, nameOf: (input: number) => string, where: string): Labelling {
  const { classNames, classOf } = classes;
  if (classNames.length === 0) return { whyNoLabels: `its images lie directly in ${where}, not in one folder per class` };
  if (classNames.length > MAX_CLASSES) {
    return { whyNoLabels: `it has ${classNames.length} class folders, more than the ${MAX_CLASSES} that labels can number` };
  }
  const labels = new Uint16Array(kept.length);
  const outside: string[] = [];
  for (let i = 0; i < kept.length; i++) {
    const c = classOf[kept[i]];
    if (c < 0) outside.push(nameOf(kept[i]));
    else labels[i] = c;
  }
  if (outside.length > 0) {
    return {
      whyNoLabels:
        `${outside.length} of its ${kept.length} images lie outside the class folders (${shortList(outside)}), ` +
        'so not every image has a class: move them into a class folder or remove them',
    };
  }
  return { labels, classNames };
}

/**
 * What class-conditional training needs from a set: a class for every image and at least two classes among them.
 * `source` names the set for the message, e.g. "--data ./sprites" (see `sourceName`). Throws a one-line DatasetError.
 */
export function requireClasses(set: ImageSet, source: string): { labels: Uint16Array; classNames: string[] } {
  const { labels, classNames } = set;
  if (labels === undefined || classNames === undefined) {
    const why = set.whyNoLabels ?? 'its images come without any';
    throw new DatasetError(`--conditional needs class labels, and ${source} has no classes: ${why}`);
  }
  if (labels.length !== set.count) {
    throw new DatasetError(`${source} has ${labels.length} labels for ${set.count} images`);
  }
  const present = new Set(labels);
  if (present.size < 2) {
    const only = classNames[labels[0]];
    const cut =
      classNames.length > 1
        ? ` (it has ${classNames.length} classes, but only this one among the images loaded; a --limit takes the first images in order)`
        : '';
    throw new DatasetError(
      `--conditional needs images of at least two classes, and all ${set.count} images of ${source} are of class "${only}"${cut}`,
    );
  }
  return { labels, classNames };
}

export function shortList(names: string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).join(', ');
  return names.length > NAMES_SHOWN ? `${shown}, …` : shown;
}
