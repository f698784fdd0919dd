// The offline default: Pokémon box sprites from the `pokesprite-images` npm package.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { decodeAll } from './decode.js';
import { filesIdentity, listImageFiles, type FileEntry } from './folder.js';
import { applyLimit, imageOptionsKey, type Source, type SourceOptions } from './source.js';

// Gen 8 and gen 7 art, regular and shiny colourings, female variants included (subfolders): ≈5,100 68×56 RGBA sprites
// of a Pokémon on a transparent box. The loose files at the top (eggs, "unknown", the mega icon) are not Pokémon.
export const POKESPRITE_FOLDERS = ['pokemon-gen8/regular', 'pokemon-gen8/shiny', 'pokemon-gen7x/regular', 'pokemon-gen7x/shiny'];

// Its folders are art generations and colourings of the same Pokémon, not what the sprites show; the species is only
// in the file name (about five sprites each, with forms such as -mega or -galar beside them). So: no classes.
const NO_CLASSES =
  'its folders sort the sprites by art generation and colouring (regular, shiny), not by what they show; ' +
  'mnist-10k, mnist, fashion-mnist and pokemon have classes, and so does --data PATH with one folder per class';

export function pokespriteRoot(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('pokesprite-images/package.json'));
}

/** Every sprite, sorted by its path in the package so the order (and hence a seeded shuffle) is the same everywhere. */
export async function listPokesprites(): Promise<FileEntry[]> {
  const root = pokespriteRoot();
  const files: FileEntry[] = [];
  for (const folder of POKESPRITE_FOLDERS) {
    for (const f of await listImageFiles(path.join(root, folder))) {
      if (f.rel.endsWith('.png')) files.push({ ...f, rel: `${folder}/${f.rel}` });
    }
  }
  return files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** Every sprite's path, in the same order. */
export async function listPokespriteFiles(): Promise<string[]> {
  return (await listPokesprites()).map((f) => f.path);
}

export async function pokespriteSource(o: SourceOptions): Promise<Source> {
  const files = applyLimit(await listPokesprites(), o.limit);
  return {
    kind: 'pokesprite',
    key: { source: 'pokesprite', files: filesIdentity(files), ...imageOptionsKey(o) },
    label: 'pokesprite-images',
    decode: async (onProgress) => {
      const { kept, ...decoded } = await decodeAll(files.map((f) => ({ name: f.rel, read: () => readFile(f.path) })), o, onProgress);
      return { ...decoded, whyNoLabels: NO_CLASSES };
    },
    describe: (count) => `pokesprite-images: ${count} sprites`,
  };
}
