// `--dataset pokemon`: d2l's Pokémon sprites, one folder per class under pokemon/, downloaded once and verified.
import path from 'node:path';
import { POKEMON_URL_ENV } from './catalog.js';
import { ensureDownloaded } from './download.js';
import { DatasetError } from './errors.js';
import { decodeZip } from './path-source.js';
import { imageOptionsKey, type Source, type SourceOptions } from './source.js';

export const POKEMON_URL = 'http://d2l-data.s3-accelerate.amazonaws.com/pokemon.zip';
export const POKEMON_SHA1 = 'c065c0e2593b8b161a2d7873e42418bf6a21106c';
export { POKEMON_URL_ENV };

export const OFFLINE_HINT = 'train offline with --dataset pokesprite, or --data PATH for a folder or .zip of images';

export function checkSha1(hex: string): string {
  const h = hex.trim().toLowerCase();
  if (!/^[0-9a-f]{40}$/.test(h)) throw new DatasetError(`--sha1 ${hex} is not a SHA-1 (40 hexadecimal digits)`);
  return h;
}

export function pokemonSource(o: SourceOptions): Source {
  const url = o.url ?? process.env[POKEMON_URL_ENV] ?? POKEMON_URL;
  const sha1 = o.sha1 !== undefined ? checkSha1(o.sha1) : POKEMON_SHA1;
  const dest = path.join(o.cacheDir, 'downloads', 'pokemon.zip');
  return {
    kind: 'pokemon',
    // the verified archive's hash is its identity, so a cached set is used without the archive (or the network)
    key: { source: 'pokemon', sha1, ...imageOptionsKey(o) },
    label: 'pokemon.zip',
    decode: async (onProgress) => {
      const file = await ensureDownloaded({
        url,
        dest,
        hash: { algorithm: 'sha1', hex: sha1 },
        onProgress: o.onDownload,
        offlineHint: OFFLINE_HINT,
        ...o.network,
      });
      return decodeZip(file, 'pokemon.zip', o, o.zipLimits, onProgress);
    },
    describe: (count) => `pokemon (d2l pokemon.zip): ${count} sprites`,
  };
}
