// Dataset pipeline benchmark: preprocessing throughput, cache reload time and peak memory.
//   npx tsx scripts/bench-data.ts [--images 2000] [--first-run 2000] [--cached 40000] [--size 64]
// Preprocessing is timed on pokesprite sprites, on synthetic 96×96 RGBA sprites from a folder, and on the same
// sprites from an in-memory zip (the pokemon path). The reload is timed in a fresh process so its peak RSS is the
// cost of the cached set alone. Everything is written under the OS temp folder and removed afterwards.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { writeCache } from '../src/data/cache.js';
import { cacheEntryFor, loadImageSet, type LoadOptions } from '../src/data/index.js';
import { decodeAll } from '../src/data/decode.js';
import { listPokesprites } from '../src/data/pokesprite.js';
import { zipImages } from '../src/data/zip.js';
import { bufferSource } from '../src/data/zip-reader.js';
import AdmZip from 'adm-zip';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;

/** The options of a cached pokemon set; the URL leads nowhere, so only the cache can answer. */
const pokemonOptions = (cacheDir: string, size: number): LoadOptions => ({
  dataset: 'pokemon', cacheDir, size, channels: 3, background: 'white', fit: 'fill', url: 'http://127.0.0.1:9/none.zip', network: { retries: 0 },
});

async function reloadChild(cacheDir: string, count: number, size: number): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  // Sampled, not getrusage's maxRSS: Linux carries that across fork+exec, so it would report the parent's peak.
  let peak = rssBefore;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const t0 = performance.now();
  const set = await loadImageSet(pokemonOptions(cacheDir, size));
  const ms = performance.now() - t0;
  clearInterval(sample);
  if (set.count !== count) throw new Error('the cache did not load');
  // touch the pixels so nothing is lazily mapped
  let sum = 0;
  for (let i = 0; i < set.pixels.length; i += 4096) sum += set.pixels[i];
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(JSON.stringify({ ms, rssBefore, peak, bytes: set.pixels.length, sum }));
}

/** The first run on a zip: list, check, decode, cache. Prints time and sampled peak RSS as JSON. */
async function decodeChild(zipFile: string, cacheDir: string, size: number): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const t0 = performance.now();
  const set = await loadImageSet({ dataset: 'pokemon', data: zipFile, cacheDir, size, channels: 3, background: 'white', fit: 'fill' });
  const ms = performance.now() - t0;
  clearInterval(sample);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(JSON.stringify({ ms, rssBefore, peak, count: set.count, bytes: set.pixels.length }));
}

function child(mode: string, ...rest: string[]): Record<string, number> {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, [...process.execArgv, self, mode, ...rest], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

/** A 96×96 RGBA sprite: a noisy coloured blob on a transparent background, so PNG sizes are realistic. */
async function syntheticSprite(i: number): Promise<Buffer> {
  const w = 96;
  const raw = Buffer.alloc(w * w * 4);
  let s = (i + 1) * 2654435761;
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const inside = (x - 48) ** 2 + (y - 48) ** 2 < 40 ** 2;
      raw.set(inside ? [(i * 37) % 256, (x * 2) % 256, (y * 2 + (s >>> 28)) % 256, 255] : [0, 0, 0, 0], (y * w + x) * 4);
    }
  }
  return sharp(raw, { raw: { width: w, height: w, channels: 4 } }).png().toBuffer();
}

async function timeDecode(label: string, inputs: { name: string; read: () => Promise<Buffer | string> }[], size: number) {
  const o = { size, channels: 3 as const, background: 'white', fit: 'fill' as const };
  const t0 = performance.now();
  const r = await decodeAll(inputs, o);
  const s = (performance.now() - t0) / 1000;
  console.log(`preprocess ${label}: ${r.count} images in ${s.toFixed(2)} s = ${(r.count / s).toFixed(0)} images/s`);
}

async function main(): Promise<void> {
  if (args[0] === '--reload-child') return reloadChild(args[1], Number(args[2]), Number(args[3]));
  if (args[0] === '--decode-child') return decodeChild(args[1], args[2], Number(args[3]));
  const images = arg('images', 2000);
  const firstRun = arg('first-run', images);
  const cached = arg('cached', 40_000);
  const size = arg('size', 64);
  console.log(`machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}; node ${process.version}; ` +
    `sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dcgan-bench-'));
  try {
    // 1. pokesprite sprites (68×56 RGBA PNGs from the package), to the model size
    const sprites = (await listPokesprites()).slice(0, images);
    await timeDecode(`pokesprite (${sprites.length} files, 68×56 RGBA → ${size}×${size}×3)`, sprites.map((f) => ({ name: f.rel, read: () => readFile(f.path) })), size);

    // 2. synthetic 96×96 sprites from a folder, and 3. the same from a zip in memory
    const folder = path.join(dir, 'sprites');
    await mkdir(folder);
    const files: string[] = [];
    const zip = new AdmZip();
    for (let i = 0; i < images; i++) {
      const png = await syntheticSprite(i);
      const name = `${String(i % 100).padStart(3, '0')}/${i}.png`;
      await mkdir(path.join(folder, path.dirname(name)), { recursive: true });
      await writeFile(path.join(folder, name), png);
      files.push(path.join(folder, name));
      zip.addFile(`pokemon/${name}`, png);
    }
    await timeDecode(`folder (${images} synthetic 96×96 RGBA PNGs → ${size}×${size}×3)`, files.map((f) => ({ name: f, read: () => readFile(f) })), size);
    const zipBuffer = zip.toBuffer();
    const t0 = performance.now();
    const { entries } = await zipImages(bufferSource(zipBuffer), 'bench.zip');
    console.log(`zip listing: ${entries.length} entries checked in ${(performance.now() - t0).toFixed(0)} ms`);
    await timeDecode(`zip (the same ${images} PNGs, read in memory)`, entries as never, size);
    // 4. the first run of loadImageSet on a zip of `firstRun` sprites (the synthetic ones, repeated under new names)
    const bigZip = new AdmZip();
    for (let i = 0; i < firstRun; i++) {
      bigZip.addFile(`pokemon/${String(i % 700).padStart(3, '0')}/${i}.png`, await readFile(files[i % files.length]));
    }
    const zipFile = path.join(dir, 'sprites.zip');
    const bigBuffer = bigZip.toBuffer();
    await writeFile(zipFile, bigBuffer);
    const d = child('--decode-child', zipFile, path.join(dir, 'cache-zip'), String(size));
    console.log(`first run on a ${mib(bigBuffer.length)} zip in a fresh process (loadImageSet: hash, list, decode, cache): ` +
      `${d.count} images in ${(d.ms / 1000).toFixed(2)} s = ${(d.count / (d.ms / 1000)).toFixed(0)} images/s; ` +
      `RSS ${mib(d.rssBefore)} before, peak ${mib(d.peak)} for a ${mib(d.bytes)} set`);

    // 5. reload of `cached` images of size×size×3, synthesised straight into the cache file of a pokemon set
    const bytes = cached * size * size * 3;
    let pixels: Uint8Array | null = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 997) pixels[i] = i & 255;
    const { key, file } = await cacheEntryFor(pokemonOptions(dir, size));
    const t = performance.now();
    await writeCache(file, key, { pixels, count: cached, size, channels: 3 });
    console.log(`cache write: ${cached} × ${size}×${size}×3 = ${mib((await stat(file)).size)} in ${((performance.now() - t) / 1000).toFixed(2)} s`);
    pixels = null;
    const r = child('--reload-child', dir, String(cached), String(size));
    console.log(`cached pokemon set reloaded by loadImageSet (fresh process, file in the page cache): ${(r.ms / 1000).toFixed(2)} s for ${mib(r.bytes)}; ` +
      `RSS ${mib(r.rssBefore)} before, peak ${mib(r.peak)} (the set + ${mib(r.peak - r.bytes)} for node, tsx, sharp and the loader)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
