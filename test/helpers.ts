import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, readlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initBackend, type BackendName } from '../src/backend/index.js';
import type { ImageSet } from '../src/data/types.js';
import { Rng } from '../src/util/rng.js';

const made: string[] = [];
// Each test file runs in its own process: its folders go when it exits (DCGAN_KEEP_TEST_DIRS=1 keeps them to look at).
process.on('exit', () => {
  if (process.env.DCGAN_KEEP_TEST_DIRS) return;
  for (const dir of made) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // a folder a test made read-only, or a mount: left for the OS to clear
    }
  }
});

/** A new folder under the OS's temp folder, removed when the test process exits. */
export async function tmpDir(prefix = 'dcgan-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Images with structure a GAN can start to learn: a bright disc of a random colour on white, plus noise. */
export function syntheticImageSet(count: number, size: number, channels: 1 | 3 = 3, seed = 1): ImageSet {
  const rng = new Rng(seed);
  const pixels = new Uint8Array(count * size * size * channels);
  for (let k = 0; k < count; k++) {
    const colour = Array.from({ length: channels }, () => Math.floor(rng.uniform() * 200));
    const r = size * (0.2 + 0.15 * rng.uniform());
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = (x - size / 2) ** 2 + (y - size / 2) ** 2 < r * r;
        for (let c = 0; c < channels; c++) {
          const v = inside ? colour[c] : 255;
          pixels[((k * size + y) * size + x) * channels + c] = Math.max(0, Math.min(255, v + Math.round((rng.uniform() - 0.5) * 20)));
        }
      }
    }
  }
  return { pixels, count, size, channels, description: `synthetic: ${count} discs` };
}

/** The backend the in-process tests run on: wasm (CI's CPU path), or DCGAN_TEST_BACKEND. */
export async function useTestBackend(): Promise<void> {
  await initBackend((process.env.DCGAN_TEST_BACKEND as BackendName) ?? 'wasm');
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export { tf };

/**
 * d2l's γ, β ~ N(0, 0.02) scale an untrained network's output down (each batch norm by ~1/50): a generator draws one
 * grey for every z. γ = 1, β = 0 let its images (and D's scores) differ, as a trained network's do.
 */
export function unshrinkBatchNorm(model: tf.LayersModel): void {
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const [gamma, beta, ...moving] = layer.getWeights();
    tf.tidy(() => layer.setWeights([tf.onesLike(gamma), tf.zerosLike(beta), ...moving]));
  }
}

/**
 * Asserts two arrays of numbers equal element for element (0 and −0 alike), failing with the first difference only:
 * assert.deepEqual's whole-array diff of two long float arrays takes minutes.
 */
export function assertSameNumbers(actual: ArrayLike<number>, expected: ArrayLike<number>, what = 'values'): void {
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} numbers, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      throw new Error(`${what}[${i}]: ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/**
 * Every entry under `dir`: files by their bytes' hash, links by their target (`skip`: a file name left out, such as the
 * run's lock). Equal before and after: nothing changed.
 */
export async function snapshot(dir: string, skip?: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const name of (await readdir(d)).sort()) {
      const p = path.join(d, name);
      const info = await lstat(p);
      if (info.isSymbolicLink()) out[path.relative(dir, p)] = `link to ${await readlink(p)}`;
      else if (info.isDirectory()) await walk(p);
      else if (name !== skip) out[path.relative(dir, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
    }
  };
  await walk(dir);
  return out;
}

/** The pid of a process that has exited (so no process has it, for now). */
export function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

/** `s` as a regular expression that matches it literally. */
export const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The README's fenced block of `lang` that contains `marker`. */
export async function readmeSnippet(lang: string, marker: string): Promise<string> {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const block = [...readme.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]).find((b) => b.includes(marker));
  assert.ok(block, `no \`\`\`${lang} block with ${marker} in README.md`);
  return block;
}
