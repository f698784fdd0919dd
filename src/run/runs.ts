// Finding runs and reading what they hold: the latest run, its config, its sample grids, its trained networks.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadModel } from '../model/io.js';
import { asDiscriminator, asGenerator, type Discriminator, type Generator } from '../model/generator.js';
import { deleteOwned } from '../util/owned.js';
import { commandLine } from '../util/shell.js';
import { takesImageSize } from '../model/architecture.js';
import { architecture } from '../model/architectures.js';
import { checkModelFiles, type BestRecord } from './checkpoint.js';
import { parseJsonFile, RunFileError } from './files.js';
import { RUN_FILE_NAMES, RUN_PARTS, runFiles, SAMPLE_GRID_NAME } from './layout.js';
import { storedOptionsProblem } from './options.js';
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

/** config.json, checked: the options a run's model and data are rebuilt from must be there and of the right kind. */
export async function readConfig(runDir: string): Promise<RunConfig> {
  const file = runFiles(runDir).config;
  if (!existsSync(file)) throw new Error(`${runDir} is not a run folder (no config.json)`);
  const config = await parseJsonFile<RunConfig>(file);
  const bad = (what: string) => new RunFileError(file, what);
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw bad('it is not a run configuration (not a JSON object)');
  const options = config.options as unknown as Record<string, unknown>;
  if (!options || typeof options !== 'object' || Array.isArray(options)) throw bad('it has no "options"');
  // every stored option by its flag's rules: a tampered or damaged value is named by file and key, never by a flag
  // the user did not type
  const problem = storedOptionsProblem(options);
  if (problem) throw bad(problem);
  for (const key of ['imageSize', 'epochs']) if (options[key] === undefined) throw bad(`"options.${key}" is missing`);
  const arch = architecture(options.arch as string | undefined);
  if (!takesImageSize(arch, options.imageSize as number)) {
    throw bad(`"options.imageSize" is ${options.imageSize}: --arch ${arch.name} builds ${arch.imageSizesText} pixels`);
  }
  return config;
}

/** The run files (RUN_FILE_NAMES) that `dir` holds, as they are listed to people ("generator/", "state.json"). */
export async function runFilesIn(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const names = new Set(await readdir(dir));
  const present: string[] = [];
  for (const name of RUN_FILE_NAMES) {
    if (!names.has(name)) continue;
    present.push((await lstat(path.join(dir, name))).isDirectory() ? `${name}/` : name);
  }
  return present;
}

/** The options every run's config.json has had, since the first version: what tells a run's config.json from another. */
const RUN_OPTION_KEYS = ['imageSize', 'epochs', 'batchSize', 'lr'];

/**
 * Why `dir` does not hold a dcgan run, or undefined when its config.json says it does: a JSON object whose "options"
 * hold the numbers every run records. File names alone do not make a run (a web app has a config.json too).
 */
export async function notARun(dir: string): Promise<string | undefined> {
  const file = runFiles(dir).config;
  const info = await lstat(file).catch(() => undefined);
  if (!info) return 'it has no config.json';
  if (!info.isFile()) return `its config.json is ${info.isDirectory() ? 'a folder' : 'not a regular file'}`;
  let config: unknown;
  try {
    config = await parseJsonFile(file);
  } catch (err) {
    return `its config.json is not a run's: ${(err as Error).message.slice(file.length + 2)}`;
  }
  const options = (config as { options?: Record<string, unknown> } | null)?.options;
  const missing = RUN_OPTION_KEYS.filter((k) => typeof options?.[k] !== 'number');
  if (!options || typeof options !== 'object' || missing.length) {
    return `its config.json is not a run's (${!options || typeof options !== 'object' ? 'no "options"' : `no "options.${missing[0]}"`})`;
  }
  return undefined;
}

/**
 * Deletes a run's files (RUN_PARTS, and their interrupted temp files), nothing else of the folder; a file of the user's
 * inside the run's folders (samples/mine.png, generator/README.md) refuses the delete, naming it, before anything goes.
 * Returns the top-level names deleted.
 */
export async function deleteRunFiles(dir: string): Promise<string[]> {
  return deleteOwned(dir, RUN_PARTS, 'nothing was deleted: dcgan deletes only the files it wrote; move it away first');
}

/** A run folder's sample grids, oldest first. */
export async function listSampleGrids(runDir: string): Promise<{ epoch: number; file: string }[]> {
  const dir = runFiles(runDir).samples;
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile()) // a link or folder of that name is not a grid dcgan wrote
    .map((e) => ({ name: e.name, m: SAMPLE_GRID_NAME.exec(e.name) }))
    .filter((e) => e.m)
    .map((e) => ({ epoch: Number(e.m![1]), file: path.join(dir, e.name) }))
    .sort((a, b) => a.epoch - b.epoch);
}

/** A saved network, its files checked first; what tfjs still refuses is reported with the file's name. */
async function loadNetwork(dir: string): Promise<tf.LayersModel> {
  await checkModelFiles(dir);
  let model: tf.LayersModel;
  try {
    model = await loadModel(dir);
  } catch (err) {
    throw new RunFileError(path.join(dir, 'model.json'), `tfjs could not build the model from it: ${(err as Error).message.split('\n')[0]}`);
  }
  // a checkpoint saved after training diverged (older versions wrote them) makes NaN images and scores
  const finite = tf.tidy(() => tf.stack(model.weights.map((w) => tf.all(tf.isFinite(w.read())).toInt())));
  const flags = await finite.data();
  finite.dispose();
  const bad = model.weights.filter((_, i) => !flags[i]).map((w) => w.originalName);
  if (bad.length) {
    model.dispose();
    throw new RunFileError(path.join(dir, 'weights.bin'), `${bad.slice(0, 2).join(', ')} hold NaN or infinite values: the run diverged before this checkpoint`);
  }
  return model;
}

export { generatorDir, type GeneratorChoice } from './layout.js';
import { generatorDir, type GeneratorChoice } from './layout.js';

/** best/best.json of a run with --keep-best, checked: the epoch and step its generator is from, and its figure. */
export async function readBest(run: string): Promise<BestRecord> {
  const file = path.join(runFiles(run).best, 'best.json');
  if (!existsSync(file)) throw new Error(`no best generator in ${run} (${file} is missing: train with --keep-best loss-g or swd)`);
  const best = await parseJsonFile<Record<string, unknown>>(file);
  const count = (k: string) => Number.isSafeInteger(best?.[k]) && (best[k] as number) >= 0;
  if (!best || typeof best.figure !== 'string' || typeof best.value !== 'number' || !count('epoch') || !count('step')) {
    throw new RunFileError(file, 'it is not a best epoch (figure, value, epoch, step)');
  }
  return best as unknown as BestRecord;
}

/** A run's generator (see generatorDir); a clear error when the run has none. */
export async function loadGenerator(run: string, choice: GeneratorChoice = {}): Promise<Generator> {
  const { dir } = generatorDir(run, choice);
  if (!existsSync(path.join(dir, 'model.json'))) throw new Error(`no generator in ${run} (train first: ${commandLine('train')})`);
  const model = await loadNetwork(dir);
  try {
    return asGenerator(model);
  } catch (err) {
    model.dispose();
    throw new RunFileError(path.join(dir, 'model.json'), `it does not describe a generator (${(err as Error).message})`);
  }
}

export async function loadDiscriminator(run: string): Promise<Discriminator> {
  const dir = runFiles(run).discriminator;
  if (!existsSync(path.join(dir, 'model.json'))) throw new Error(`no discriminator in ${run} (--search needs the run's discriminator)`);
  const model = await loadNetwork(dir);
  try {
    return asDiscriminator(model);
  } catch (err) {
    model.dispose();
    throw new RunFileError(path.join(dir, 'model.json'), `it does not describe a discriminator (${(err as Error).message})`);
  }
}

/** A conditional run's class names (classes.json), else undefined. */
export async function readClassNames(runDir: string): Promise<string[] | undefined> {
  const file = runFiles(runDir).classes;
  if (!existsSync(file)) return undefined;
  const classes = await parseJsonFile<{ names?: unknown }>(file);
  if (!Array.isArray(classes?.names)) throw new RunFileError(file, 'it has no "names" list');
  return classes.names.map(String);
}
