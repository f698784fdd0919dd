// `dcgan export --web DIR`: a run's generator as a static web page that runs it in the browser with TensorFlow.js —
// offline: tfjs and its backends are copied from our own node_modules, no CDN. The folder is a small run folder
// (generator/, classes.json) plus index.html, style.css, the page's script and lib/ (tfjs):
//
//   index.html style.css export.json generator/{model.json,weights.bin} [classes.json]
//   lib/tf.min.js lib/tf-backend-webgpu.min.js lib/tf-backend-wasm.min.js lib/*.wasm
//   js/export/page/app.js js/util/rng.js js/util/slerp.js
//
// The page's latents come from js/util/rng.js, the compiled src/util/rng.ts itself, so they cannot drift from
// `dcgan sample`'s. js/ keeps the source tree's layout so the compiled imports resolve unchanged.
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../util/errors.js';

export interface WebExportOptions {
  run: string;
  dir: string;
}

/** What the page reads about the export (export.json); it also marks the folder as ours, so a re-export may replace it. */
export interface ExportManifest {
  generatedBy: typeof GENERATED_BY;
  run: string;
  /** epochs the generator was trained for, when the run says */
  epoch?: number;
  /** tfjs, then the backend bundles, in load order */
  scripts: string[];
}

const GENERATED_BY = 'dcgan export --web';
const MANIFEST = 'export.json';
/** Everything an export writes at its top level: a folder holding anything else is not (only) ours. */
const OUR_ENTRIES = new Set(['index.html', 'style.css', MANIFEST, 'generator', 'classes.json', 'lib', 'js']);
/** The page's modules, as paths under src/ (and dist/) without the extension. */
const PAGE_MODULES = ['export/page/app', 'util/rng', 'util/slerp'];

// This file is src/export/web.ts under tsx, or dist/export/web.js when built (the build copies the page's HTML and CSS
// beside it: scripts/build.ts), so the page's files are found next to it either way.
const codeRoot = fileURLToPath(new URL('..', import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
const pageAssets = path.join(codeRoot, 'export', 'page');

export interface WebExport {
  dir: string;
  /** a conditional run's class names */
  classes?: string[];
  files: number;
  bytes: number;
}

export async function exportWeb(o: WebExportOptions): Promise<WebExport> {
  const generator = await readGenerator(o.run);
  const classes = generator.inputs === 2 ? await readClasses(o.run) : undefined;
  const dir = path.resolve(o.dir);
  const target = await checkTarget(o.dir, dir);

  await mkdir(path.dirname(dir), { recursive: true });
  const staging = await mkdtemp(path.join(path.dirname(dir), `.${path.basename(dir)}.export-`));
  try {
    let files = 0, bytes = 0;
    const put = async (rel: string, data: string | Uint8Array) => {
      await mkdir(path.dirname(path.join(staging, rel)), { recursive: true });
      await writeFile(path.join(staging, rel), data);
      files += 1;
      bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    };
    const copy = async (from: string, rel: string) => put(rel, await readFile(from));

    const scripts = await copyTfjs(copy);
    for (const file of generator.files) await copy(path.join(o.run, 'generator', file), `generator/${file}`);
    if (classes) await put('classes.json', JSON.stringify({ names: classes }) + '\n');
    for (const module of PAGE_MODULES) await put(`js/${module}.js`, await compiledModule(module));
    const runName = path.basename(path.resolve(o.run));
    const html = (await readFile(path.join(pageAssets, 'index.html'), 'utf8')).replaceAll('{{run}}', escapeHtml(runName));
    await put('index.html', html);
    await copy(path.join(pageAssets, 'style.css'), 'style.css');
    const manifest: ExportManifest = {
      generatedBy: GENERATED_BY,
      run: runName,
      ...(await trainedEpochs(o.run)),
      scripts,
    };
    await put(MANIFEST, JSON.stringify(manifest, null, 2) + '\n');

    if (target === 'export') {
      const old = `${staging}.old`;
      await rename(dir, old);
      await rename(staging, dir).catch(async (err) => {
        await rename(old, dir);
        throw err;
      });
      await rm(old, { recursive: true, force: true });
    } else {
      if (target === 'empty') await rmdir(dir);
      await rename(staging, dir);
    }
    return { dir, classes, files, bytes };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

/** The generator's weight files and number of inputs, from its model.json; a clear error naming the run if it has none. */
async function readGenerator(run: string): Promise<{ files: string[]; inputs: number }> {
  const modelFile = path.join(run, 'generator', 'model.json');
  if (!existsSync(modelFile)) throw new Error(`no generator in ${run} (${modelFile} is missing: train first, or pass --run DIR)`);
  let model: { modelTopology?: Topology; weightsManifest?: { paths: string[] }[] };
  try {
    model = JSON.parse(await readFile(modelFile, 'utf8'));
  } catch (err) {
    throw new Error(`${modelFile}: not a tfjs model (${(err as Error).message})`);
  }
  const inputs = inputCount(model.modelTopology);
  if (!model.weightsManifest || inputs === undefined) throw new Error(`${modelFile}: not a tfjs layers model`);
  const files = ['model.json', ...model.weightsManifest.flatMap((group) => group.paths)];
  for (const file of files) {
    if (file !== path.basename(file)) throw new Error(`${modelFile}: weight path ${file} lies outside the generator folder`);
    if (!existsSync(path.join(run, 'generator', file))) throw new Error(`${path.join(run, 'generator', file)} is missing (named in ${modelFile})`);
  }
  if (inputs !== 1 && inputs !== 2) throw new Error(`${modelFile}: a generator takes z, or z and a class; this one has ${inputs} inputs`);
  return { files, inputs };
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
  if (!existsSync(file)) throw new Error(`${file} is missing: the generator takes a class, and the page needs the class names`);
  let names: unknown;
  try {
    names = (JSON.parse(await readFile(file, 'utf8')) as { names?: unknown }).names;
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
  try {
    const epoch = (JSON.parse(await readFile(path.join(run, 'state.json'), 'utf8')) as { epoch?: unknown }).epoch;
    return typeof epoch === 'number' ? { epoch } : {};
  } catch {
    return {};
  }
}

/**
 * What DIR is: absent, an empty folder, or a previous export (which is replaced). Anything else is refused, so an
 * export never deletes a file it did not write.
 */
async function checkTarget(given: string, dir: string): Promise<'absent' | 'empty' | 'export'> {
  let info;
  try {
    info = await lstat(dir);
  } catch {
    return 'absent';
  }
  if (!info.isDirectory()) throw new UsageError(`--web ${given}: exists and is not a folder`);
  const entries = await readdir(dir);
  if (entries.length === 0) return 'empty';
  if (!(await isOurManifest(path.join(dir, MANIFEST)))) throw new UsageError(`--web ${given}: the folder is not empty and is not a previous export; pass a new or empty folder`);
  const foreign = entries.find((e) => !OUR_ENTRIES.has(e));
  if (foreign) throw new UsageError(`--web ${given}: a previous export, but ${path.join(given, foreign)} was not written by it; move it away first`);
  return 'export';
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
  if (!fromSource) return readFile(path.join(codeRoot, `${module}.js`), 'utf8');
  const { transform } = await import('esbuild');
  const source = await readFile(path.join(codeRoot, `${module}.ts`), 'utf8');
  return (await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' })).code;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
