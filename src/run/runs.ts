// Finding runs and reading what they hold: the latest run, its config, its sample grids, its trained networks.
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadModel } from '../model/io.js';
import { asDiscriminator, asGenerator, type Discriminator, type Generator } from '../model/generator.js';
import { readJson } from './files.js';
import { runFiles, SAMPLE_GRID_NAME } from './layout.js';
import type { RunConfig } from './records.js';

/** The most recently trained run under `root` (a folder with generator/model.json), or undefined. */
export async function latestRun(root: string): Promise<string | undefined> {
  if (!existsSync(root)) return undefined;
  let best: { dir: string; mtime: number } | undefined;
  for (const name of await readdir(root)) {
    const model = path.join(runFiles(path.join(root, name)).generator, 'model.json');
    if (!existsSync(model)) continue;
    const mtime = (await stat(model)).mtimeMs;
    if (!best || mtime > best.mtime) best = { dir: path.join(root, name), mtime };
  }
  return best?.dir;
}

export async function readConfig(runDir: string): Promise<RunConfig> {
  const file = runFiles(runDir).config;
  if (!existsSync(file)) throw new Error(`${runDir} is not a run folder (no config.json)`);
  return readJson<RunConfig>(file);
}

/** A run folder's sample grids, oldest first. */
export async function listSampleGrids(runDir: string): Promise<{ epoch: number; file: string }[]> {
  const dir = runFiles(runDir).samples;
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .map((name) => ({ name, m: SAMPLE_GRID_NAME.exec(name) }))
    .filter((e) => e.m)
    .map((e) => ({ epoch: Number(e.m![1]), file: path.join(dir, e.name) }))
    .sort((a, b) => a.epoch - b.epoch);
}

/** A run's generator; a clear error when the run has none. */
export async function loadGenerator(run: string): Promise<Generator> {
  const dir = runFiles(run).generator;
  if (!existsSync(path.join(dir, 'model.json'))) throw new Error(`no generator in ${run} (train first: dcgan train)`);
  return asGenerator(await loadModel(dir));
}

export async function loadDiscriminator(run: string): Promise<Discriminator> {
  const dir = runFiles(run).discriminator;
  if (!existsSync(path.join(dir, 'model.json'))) throw new Error(`no discriminator in ${run} (--search needs the run's discriminator)`);
  return asDiscriminator(await loadModel(dir));
}

/** A conditional run's class names (classes.json), else undefined. */
export async function readClassNames(runDir: string): Promise<string[] | undefined> {
  const file = runFiles(runDir).classes;
  if (!existsSync(file)) return undefined;
  return (await readJson<{ names: string[] }>(file)).names;
}
