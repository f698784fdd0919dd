// `dcgan export --web DIR`: a run's generator as a static web page that runs it in the browser with TensorFlow.js —
// offline: tfjs and its backends are copied from our own node_modules, no CDN. The folder is a small run folder
// (generator/, classes.json) plus index.html, style.css, the page's script and lib/ (tfjs):
//
//   index.html style.css export.json generator/{model.json,weights.bin} [classes.json]
//   lib/tf.min.js lib/tf-backend-webgpu.min.js lib/tf-backend-wasm.min.js lib/*.wasm
//   js/export/page/app.js js/util/rng.js js/util/slerp.js
//   js/model/progan-layers.js js/model/stylegan-layers.js js/model/step-seed.js js/model/style-models.js
//   .dcgan-export.json: every file above with its size and SHA-256, so that a re-export replaces only those, as written
//
// The page's latents come from js/util/rng.js, the compiled src/util/rng.ts itself, so they cannot drift from
// `dcgan sample`'s. js/ keeps the source tree's layout so the compiled imports resolve unchanged. The custom layers of
// ProGAN's and StyleGAN's generators ship the same way (their model.json names them, and tf.loadLayersModel finds them
// only registered): the page imports them once tfjs is loaded, their `import * as tf` turned into the page's global.
// So does style-models.js, which cuts a StyleGAN generator into mapping and synthesis for the page's walks in w.
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatorDir, type GeneratorChoice } from '../run/layout.js';
import { UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { removeOnExit, removeStale } from '../util/signals.js';

export interface WebExportOptions {
  run: string;
  dir: string;
  /** --raw, --best: which of the run's generators (default: the average of G's weights where the run keeps one, as sample) */
  generator?: GeneratorChoice;
}

/** What the page reads about the export (export.json). */
export interface ExportManifest {
  generatedBy: typeof GENERATED_BY;
  run: string;
  /** which of the run's generators: "the average of G's weights", "G", "…, best epoch" */
  generator?: string;
  /** epochs the generator was trained for, when the run says */
  epoch?: number;
  /** tfjs, then the backend bundles, in load order */
  scripts: string[];
}

/** A file an export wrote, as it wrote it: a re-export replaces it only while it is still so. */
export interface ExportedFile {
  size: number;
  sha256: string;
}

/**
 * The export's own record (.dcgan-export.json) of every file it wrote: what tells its files from the user's. While a
 * re-export moves its files in, `previous` lists the files of the export it replaces: a crash then leaves each file
 * either as one or as the other, and both are known.
 */
export interface ExportFileList {
  generatedBy: typeof GENERATED_BY;
  files: Record<string, ExportedFile>;
  previous?: Record<string, ExportedFile>;
}

const GENERATED_BY = 'dcgan export --web';
const MANIFEST = 'export.json';
export const FILE_LIST = '.dcgan-export.json';
/** The page's modules, as paths under src/ (and dist/) without the extension. */
const PAGE_MODULES = ['export/page/app', 'util/rng', 'util/slerp', 'model/progan-layers', 'model/stylegan-layers', 'model/step-seed', 'model/style-models'];
/** How a module imports tfjs, which the page has as the global `tf` (lib/tf.min.js): in tsc's and esbuild's output. */
const TFJS_IMPORT = /^import \* as tf from ['"]@tensorflow\/tfjs['"];$/gm;

// This file is src/export/web.ts under tsx, or dist/export/web.js when built (the build copies the page's HTML and CSS
// beside it: scripts/build.ts), so the page's files are found next to it either way.
const codeRoot = fileURLToPath(new URL('..', import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
const pageAssets = path.join(codeRoot, 'export', 'page');

export interface WebExport {
  dir: string;
  /** which generator it holds, for people: "the average of G's weights", "G", "…, best epoch" */
  generator: string;
  /** a conditional run's class names */
  classes?: string[];
  files: number;
  bytes: number;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * Where an export is staged: a new folder beside it (.site.export-<pid>-<random>), so that the folder appears whole;
 * an existing one inside it (.dcgan-export-<pid>-<random>), so that the files move within one file system and the
 * folder's parent need not be writable (`--web .`). The pid tells the staging folder of an export that was killed.
 */
const stagingBeside = (base: string) => new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.export-(\\d+)-[0-9a-f]+$`);
const STAGING_INSIDE = /^\.dcgan-export-(\d+)-[0-9a-f]+$/;

export async function exportWeb(o: WebExportOptions): Promise<WebExport> {
  const generator = await readGenerator(o.run, o.generator);
  const classes = generator.inputs === 2 ? await readClasses(o.run) : undefined;
  const epoch = await trainedEpochs(o.run);
  const dir = path.resolve(o.dir);
  const target = await checkTarget(o.dir, dir);

  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  let staging: string;
  if (target === 'absent') {
    await mkdir(path.dirname(dir), { recursive: true });
    removeStale(path.dirname(dir), stagingBeside(path.basename(dir))); // left by an export that was killed outright
    staging = path.join(path.dirname(dir), `.${path.basename(dir)}.export-${tag}`);
  } else {
    removeStale(dir, STAGING_INSIDE);
    staging = path.join(dir, `.dcgan-export-${tag}`);
  }
  // made with mkdir, not mkdtemp (0700): the export gets the umask's permissions, as any file tool's output does
  const cancelCleanup = removeOnExit(staging); // before it exists: a signal right after the mkdir still removes it
  try {
    await mkdir(staging);
    const written: Record<string, ExportedFile> = {};
    let bytes = 0;
    const put = async (rel: string, data: string | Uint8Array) => {
      await mkdir(path.dirname(path.join(staging, rel)), { recursive: true });
      await writeFile(path.join(staging, rel), data);
      const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      written[rel] = { size, sha256: sha256(data) };
      bytes += size;
    };
    const copy = async (from: string, rel: string) => put(rel, await readFile(from));

    const scripts = await copyTfjs(copy);
    for (const file of generator.files) await put(`generator/${file}`, await readRegularFile(path.join(generator.dir, file)));
    if (classes) await put('classes.json', JSON.stringify({ names: classes }) + '\n');
    for (const module of PAGE_MODULES) await put(`js/${module}.js`, await compiledModule(module));
    const runName = path.basename(path.resolve(o.run));
    const html = (await readFile(path.join(pageAssets, 'index.html'), 'utf8')).replaceAll('{{run}}', escapeHtml(runName));
    await put('index.html', html);
    await copy(path.join(pageAssets, 'style.css'), 'style.css');
    const manifest: ExportManifest = { generatedBy: GENERATED_BY, run: runName, generator: generator.what, ...epoch, scripts };
    await put(MANIFEST, JSON.stringify(manifest, null, 2) + '\n');

    if (target === 'absent') {
      // the whole folder appears at once
      await writeList(path.join(staging, FILE_LIST), { generatedBy: GENERATED_BY, files: written });
      await rename(staging, dir);
    } else {
      // in place: the folder itself stays (`--web .` must not pull the current folder from under the shell)
      await moveInto(staging, dir, written, target === 'empty' ? undefined : target.previous);
    }
    return { dir, generator: generator.what, classes, files: Object.keys(written).length, bytes };
  } finally {
    cancelCleanup();
    await rm(staging, { recursive: true, force: true });
  }
}

const writeList = (file: string, list: ExportFileList) => writeFileAtomic(file, JSON.stringify(list, null, 2) + '\n');

/**
 * Moves the staged files into `dir`, over those of the previous export (all checked to be as it wrote them), then
 * deletes the previous export's files that this one did not write again, and the folders they leave empty.
 */
async function moveInto(staging: string, dir: string, written: Record<string, ExportedFile>, previous?: Record<string, ExportedFile>): Promise<void> {
  await writeList(path.join(dir, FILE_LIST), { generatedBy: GENERATED_BY, files: written, ...(previous ? { previous } : {}) });
  for (const rel of Object.keys(written)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await rename(path.join(staging, rel), path.join(dir, rel));
  }
  const gone = Object.keys(previous ?? {}).filter((rel) => !(rel in written));
  for (const rel of gone) {
    const file = path.join(dir, rel);
    if ((await lstat(file).catch(() => undefined))?.isFile()) await unlink(file);
  }
  // the folders only those files were in, deepest first; rmdir leaves one that holds anything else
  const folders = [...new Set(gone.flatMap((rel) => ancestors(rel)))].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const folder of folders) await rmdir(path.join(dir, folder)).catch(() => {});
  await writeList(path.join(dir, FILE_LIST), { generatedBy: GENERATED_BY, files: written });
}

/** 'lib/a/b.js' → ['lib/a', 'lib'] */
function ancestors(rel: string): string[] {
  const out: string[] = [];
  for (let d = path.posix.dirname(rel); d !== '.'; d = path.posix.dirname(d)) out.push(d);
  return out;
}

/**
 * A file of the run, read only if it is a regular file: a symbolic link (to /etc/passwd, say) is refused, never
 * followed (O_NOFOLLOW), so an export holds nothing from outside the run.
 */
async function readRegularFile(file: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UsageError(`${file} is a symbolic link: dcgan exports only the regular files of a run`);
    throw err;
  }
  try {
    if (!(await fh.stat()).isFile()) throw new UsageError(`${file} is not a regular file: dcgan exports only the regular files of a run`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** The run's folder `name` (generator/), refused when it is a symbolic link: what an export reads stays inside the run. */
async function checkRunFolder(run: string, name: string): Promise<void> {
  const info = await lstat(path.join(run, name)).catch(() => undefined);
  if (info?.isSymbolicLink()) throw new UsageError(`${path.join(run, name)} is a symbolic link: dcgan exports only the regular files of a run`);
}

/**
 * The chosen generator's folder (generatorDir: the average of G's weights where the run keeps one, G with --raw, best/
 * with --best), its weight files and number of inputs, from its model.json; a clear error naming the run if it has none.
 */
async function readGenerator(run: string, choice: GeneratorChoice = {}): Promise<{ dir: string; what: string; files: string[]; inputs: number }> {
  const { dir, what } = generatorDir(run, choice);
  // every folder on the way (best/, then generator-ema/ or generator/) must be the run's own, not a link out of it
  const parts = path.relative(run, dir).split(path.sep);
  for (let i = 1; i <= parts.length; i++) await checkRunFolder(run, path.join(...parts.slice(0, i)));
  const modelFile = path.join(dir, 'model.json');
  if (!(await lstat(modelFile).catch(() => undefined))) {
    throw new Error(`no generator in ${run} (${modelFile} is missing: train first, or pass --run DIR)`);
  }
  const text = (await readRegularFile(modelFile)).toString('utf8');
  let model: { modelTopology?: Topology; weightsManifest?: { paths: string[] }[] };
  try {
    model = JSON.parse(text);
  } catch (err) {
    throw new Error(`${modelFile}: not a tfjs model (${(err as Error).message})`);
  }
  const inputs = inputCount(model.modelTopology);
  if (!model.weightsManifest || inputs === undefined) throw new Error(`${modelFile}: not a tfjs layers model`);
  const files = ['model.json', ...model.weightsManifest.flatMap((group) => group.paths)];
  for (const file of files) {
    if (file !== path.basename(file)) throw new Error(`${modelFile}: weight path ${file} lies outside the generator folder`);
    if (!(await lstat(path.join(dir, file)).catch(() => undefined))) throw new Error(`${path.join(dir, file)} is missing (named in ${modelFile})`);
  }
  if (inputs !== 1 && inputs !== 2) throw new Error(`${modelFile}: a generator takes z, or z and a class; this one has ${inputs} inputs`);
  return { dir, what, files, inputs };
}

interface Topology {
  class_name?: string;
  config?: { input_layers?: unknown[] };
}

function inputCount(topology: Topology | undefined): number | undefined {
  if (topology?.class_name === 'Sequential') return 1;
  return topology?.config?.input_layers?.length;
}

/** A conditional run's class names (classes.json: {"names": [...]}). */
async function readClasses(run: string): Promise<string[]> {
  const file = path.join(run, 'classes.json');
  if (!(await lstat(file).catch(() => undefined))) throw new Error(`${file} is missing: the generator takes a class, and the page needs the class names`);
  const text = (await readRegularFile(file)).toString('utf8');
  let names: unknown;
  try {
    names = (JSON.parse(text) as { names?: unknown }).names;
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) {
    throw new Error(`${file}: expected {"names": ["…", …]} with at least one name`);
  }
  return names;
}

/** Epochs trained, from the checkpoint's state.json; nothing when the run does not say. */
async function trainedEpochs(run: string): Promise<{ epoch?: number }> {
  const file = path.join(run, 'state.json');
  if (!(await lstat(file).catch(() => undefined))) return {};
  const text = (await readRegularFile(file)).toString('utf8');
  try {
    const epoch = (JSON.parse(text) as { epoch?: unknown }).epoch;
    return typeof epoch === 'number' ? { epoch } : {};
  } catch {
    return {};
  }
}

/**
 * What DIR is: absent, an empty folder, or a previous export whose every file is still as it wrote it (it is then
 * replaced). Anything else is refused naming the first file that is not the export's, so an export never deletes or
 * overwrites a file it did not write.
 */
async function checkTarget(given: string, dir: string): Promise<'absent' | 'empty' | { previous: Record<string, ExportedFile> }> {
  let info;
  try {
    info = await lstat(dir);
  } catch {
    return 'absent';
  }
  // a link the user made to a folder is that folder (written in place); one that leads nowhere is left alone
  if (info.isSymbolicLink()) info = await stat(dir).catch(() => undefined);
  if (!info) throw new UsageError(`--web ${given}: a symbolic link to nothing; pass a folder`);
  if (!info.isDirectory()) throw new UsageError(`--web ${given}: exists and is not a folder`);
  const entries = (await readdir(dir)).filter((e) => !STAGING_INSIDE.test(e)); // an export's staging folder is not content
  if (entries.length === 0) return 'empty';
  const list = await readFileList(path.join(dir, FILE_LIST));
  if (!list) {
    if (await isOurManifest(path.join(dir, MANIFEST))) {
      throw new UsageError(`--web ${given}: an export by an earlier dcgan, which kept no list of its files (${FILE_LIST}) to tell them from yours: move the folder away (or delete it) first, or pass a new folder`);
    }
    throw new UsageError(`--web ${given}: the folder is not empty and is not a previous export; pass a new or empty folder`);
  }
  // each file as it is now, once it is known to be one the export wrote (as this list or the one it replaced has it)
  const present: Record<string, ExportedFile> = {};
  const refuse = (shown: string, what: string) => new UsageError(`--web ${given}: a previous export, but ${shown} ${what}; move it away first`);
  const walk = async (rel: string): Promise<void> => {
    for (const entry of (await readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const at = rel ? `${rel}/${entry.name}` : entry.name;
      const shown = path.join(given, at);
      if (at === FILE_LIST || (!rel && STAGING_INSIDE.test(entry.name))) continue; // its own list, and staging folders
      if (entry.isSymbolicLink()) throw refuse(shown, 'is a symbolic link, not a file the export wrote');
      if (entry.isDirectory()) {
        await walk(at);
        continue;
      }
      if (!entry.isFile()) throw refuse(shown, 'is not a regular file');
      const wrote = [list.files[at], list.previous?.[at]].filter((e): e is ExportedFile => !!e);
      if (!wrote.length) throw refuse(shown, 'was not written by dcgan export');
      const file = path.join(dir, at);
      const now = { size: (await lstat(file)).size, sha256: '' };
      if (wrote.some((e) => e.size === now.size)) now.sha256 = sha256(await readFile(file));
      if (!wrote.some((e) => e.size === now.size && e.sha256 === now.sha256)) throw refuse(shown, 'was changed since dcgan exported it');
      present[at] = now;
    }
  };
  await walk('');
  return { previous: present };
}

/** The export's list of its files, or undefined when there is none (or it is not one). */
async function readFileList(file: string): Promise<ExportFileList | undefined> {
  let list: Partial<ExportFileList>;
  try {
    list = JSON.parse((await readRegularFile(file)).toString('utf8'));
  } catch {
    return undefined;
  }
  const valid = (files: unknown) => !!files && typeof files === 'object' &&
    Object.values(files).every((f: Partial<ExportedFile>) => Number.isSafeInteger(f?.size) && typeof f?.sha256 === 'string');
  if (list?.generatedBy !== GENERATED_BY || !valid(list.files) || (list.previous !== undefined && !valid(list.previous))) return undefined;
  return list as ExportFileList;
}

async function isOurManifest(file: string): Promise<boolean> {
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as Partial<ExportManifest>).generatedBy === GENERATED_BY;
  } catch {
    return false;
  }
}

/**
 * tfjs and its webgpu and wasm backends, from the installed packages, into lib/. Returns the scripts in load order.
 * The webgpu backend is an optional dependency: without it the page goes on with WebGL or wasm.
 */
async function copyTfjs(copy: (from: string, rel: string) => Promise<void>): Promise<string[]> {
  const require = createRequire(import.meta.url);
  const distOf = (pkg: string) => path.dirname(require.resolve(pkg));
  const tfjs = distOf('@tensorflow/tfjs');
  await copy(path.join(tfjs, 'tf.min.js'), 'lib/tf.min.js');
  const scripts = ['lib/tf.min.js'];
  let webgpu: string | undefined;
  try {
    webgpu = distOf('@tensorflow/tfjs-backend-webgpu');
  } catch {
    // not installed (an optional dependency)
  }
  if (webgpu) {
    await copy(path.join(webgpu, 'tf-backend-webgpu.min.js'), 'lib/tf-backend-webgpu.min.js');
    scripts.push('lib/tf-backend-webgpu.min.js');
  }
  const wasm = distOf('@tensorflow/tfjs-backend-wasm');
  await copy(path.join(wasm, 'tf-backend-wasm.min.js'), 'lib/tf-backend-wasm.min.js');
  for (const file of (await readdir(wasm)).filter((f) => f.endsWith('.wasm'))) await copy(path.join(wasm, file), `lib/${file}`);
  scripts.push('lib/tf-backend-wasm.min.js');
  return scripts;
}

/**
 * A page module as the browser loads it: tsc's output when running built, else the source with its types stripped
 * (esbuild, which tsx runs on, is there whenever the source runs).
 */
async function compiledModule(module: string): Promise<string> {
  return withGlobalTf(module, await compiledSource(module));
}

async function compiledSource(module: string): Promise<string> {
  if (!fromSource) return readFile(path.join(codeRoot, `${module}.js`), 'utf8');
  const { transform } = await import('esbuild');
  const source = await readFile(path.join(codeRoot, `${module}.ts`), 'utf8');
  return (await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' })).code;
}

/** A module's tfjs import (a name the browser cannot resolve) as the page's global tf, which is loaded before it. */
function withGlobalTf(module: string, code: string): string {
  const imports = code.match(TFJS_IMPORT)?.length ?? 0;
  if (imports > 1 || (imports === 0 && /from ['"]@tensorflow\/tfjs['"]/.test(code))) throw new Error(`${module}: imports tfjs in a form the page cannot rewrite`);
  return code.replace(TFJS_IMPORT, 'const tf = globalThis.tf; // the page\'s tfjs (lib/tf.min.js), loaded before this module');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
