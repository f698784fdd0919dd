// The exported page's modules, without a browser (test/export-web.test.ts opens them in Chromium): every import one of
// them makes is a file of the export (a browser resolves no package names, and a file the export lacks is a 404 that
// stops the page), and ProGAN's and StyleGAN's layers, as exported, load a generator that draws what the run's does.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, test } from 'node:test';
import { exportWeb } from '../src/export/web.js';
import { buildGenerator } from '../src/model/build.js';
import { fileIOHandler, saveModel } from '../src/model/io.js';
import { progan } from '../src/model/progan.js';
import { stylegan } from '../src/model/stylegan.js';
import { tmpDir, useTestBackend } from './helpers.js';

const shape = { imageSize: 8, width: 8, latent: 8, channels: 3 as const, classes: 0 };
let root: string;
const exported: Record<'progan' | 'stylegan', string> = { progan: '', stylegan: '' };
const runs: Record<'progan' | 'stylegan', string> = { progan: '', stylegan: '' };

before(async () => {
  await useTestBackend();
  root = await tmpDir();
  for (const [name, arch] of [['progan', progan], ['stylegan', stylegan]] as const) {
    const G = buildGenerator(arch, shape, 4);
    runs[name] = path.join(root, `${name}-run`);
    await saveModel(G, path.join(runs[name], 'generator'));
    G.dispose();
    exported[name] = path.join(root, `${name}-web`);
    await exportWeb({ run: runs[name], dir: exported[name] });
  }
});

/** Every module specifier a script imports: `from '…'`, `import '…'` and `import('…')`. */
const specifiers = (code: string) =>
  [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]);

async function scripts(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const at = path.posix.join(rel, e.name);
    if (e.isDirectory()) out.push(...(await scripts(dir, at)));
    else if (e.name.endsWith('.js')) out.push(at);
  }
  return out;
}

test("the page's modules import only files the export holds (no package names), ProGAN's and StyleGAN's layers among them", async () => {
  const dir = exported.stylegan;
  const modules = await scripts(dir, 'js');
  // what the page reaches from its script, following the imports (a browser's resolution: relative to the importer)
  const reached = new Set<string>();
  const visit = async (rel: string): Promise<void> => {
    if (reached.has(rel)) return;
    reached.add(rel);
    for (const spec of specifiers(await readFile(path.join(dir, rel), 'utf8'))) {
      assert.match(spec, /^\.{1,2}\//, `${rel} imports ${spec}, which a page cannot resolve`);
      const target = path.posix.join(path.posix.dirname(rel), spec);
      assert.ok(existsSync(path.join(dir, target)), `${rel} imports ${spec}: ${target} is not in the export`);
      await visit(target);
    }
  };
  await visit('js/export/page/app.js');
  for (const module of ['js/model/progan-layers.js', 'js/model/stylegan-layers.js', 'js/model/style-models.js']) assert.ok(reached.has(module), `the page never imports ${module}`);
  assert.deepEqual(modules.filter((m) => !reached.has(m)), [], 'exported modules the page never loads');
});

for (const name of ['progan', 'stylegan'] as const) {
  test(`${name}: the exported layers, on a global tf as the page has it, load the run's generator and draw what it draws`, async () => {
    // the exported modules as ES modules in Node (a package.json says so), with tfjs as the page's global
    const js = path.join(await tmpDir(), 'js');
    await cp(path.join(exported[name], 'js'), js, { recursive: true });
    await writeFile(path.join(js, 'package.json'), '{"type": "module"}\n');
    (globalThis as { tf?: unknown }).tf = tf;
    const registered = () => Object.fromEntries(Object.entries(tf.serialization.SerializationMap.getMap().classNameMap).map(([k, [cls]]) => [k, cls]));
    const before = registered();
    const imported = [await import(pathToFileURL(path.join(js, 'model/progan-layers.js')).href), await import(pathToFileURL(path.join(js, 'model/stylegan-layers.js')).href)];
    const now = registered();
    // the generator's custom layers are now the exported modules' classes
    const topology = JSON.parse(await readFile(path.join(exported[name], 'generator', 'model.json'), 'utf8')).modelTopology;
    const classes = new Set<string>(topology.config.layers.map((l: { class_name: string }) => l.class_name));
    const custom = [...classes].filter((c) => imported.some((m) => Object.values(m).some((v) => (v as { className?: string })?.className === c)));
    assert.ok(custom.length >= (name === 'stylegan' ? 6 : 3), `${name}: custom layers ${custom}`);
    for (const c of custom) assert.notEqual(now[c], before[c], `${c} is not registered by the exported module`);

    const fromExport = await tf.loadLayersModel(fileIOHandler(path.join(exported[name], 'generator')));
    const z = tf.randomNormal([3, shape.latent], 0, 1, 'float32', 2);
    // the run's generator as the project builds it (the same seed: the same weights), through the project's classes
    const G = buildGenerator(name === 'progan' ? progan : stylegan, shape, 4);
    const [a, b] = [fromExport.predict(z) as tf.Tensor, G.predict(z) as tf.Tensor];
    assert.deepEqual(a.shape, [3, 8, 8, 3]);
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    assert.ok(diff < 1e-5, `${name}: the exported layers draw otherwise (${diff})`);
    tf.dispose([z, a, b]);
    fromExport.dispose();
    G.dispose();
    // put the project's classes back for whatever runs after
    for (const c of custom) tf.serialization.registerClass(before[c] as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
  });
}
