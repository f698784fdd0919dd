// `dcgan export --web` and `dcgan serve`: the exported page opened in a real headless Chromium (puppeteer-core, no
// network beyond the local server), its canvas compared with `dcgan sample` and with tfjs in Node.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import sharp from 'sharp';
import { serveFolder, type StaticServer } from '../src/export/serve.js';
import { exportWeb } from '../src/export/web.js';
import { styleWalkImages } from '../src/generate/style.js';
import { tileGrid, toUint8, type RawImage } from '../src/image/grid.js';
import { buildGenerator } from '../src/model/build.js';
import { d2l } from '../src/model/d2l.js';
import { mlp } from '../src/model/mlp.js';
import { progan } from '../src/model/progan.js';
import { stylegan } from '../src/model/stylegan.js';
import { latents } from '../src/model/generator.js';
import { saveModel } from '../src/model/io.js';
import { loadGenerator } from '../src/run/runs.js';
import { Rng } from '../src/util/rng.js';
import { slerp } from '../src/util/slerp.js';
import { buildIfStale } from './cli-run.js';
import { readmeSnippet, tf, tmpDir, useTestBackend } from './helpers.js';

const CLI = path.resolve('dist/cli.js');
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
const LATENT = 8;
const TOLERANCE = 2; // per pixel, of 255

/** Chromium on PATH (Debian's `chromium`), or DCGAN_CHROMIUM. */
function findChromium(): string | undefined {
  if (process.env.DCGAN_CHROMIUM) return process.env.DCGAN_CHROMIUM;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      const file = path.join(dir, name);
      if (existsSync(file) && statSync(file).isFile()) return file;
    }
  }
  return undefined;
}
const chromium = findChromium();
const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const noChromium = 'no chromium on PATH: apt-get install -y chromium (or set DCGAN_CHROMIUM)';
/** A browser test: in CI a missing Chromium fails it; elsewhere it is skipped with the reason. */
const browserTest = (name: string, fn: (t: TestContext) => Promise<void>) =>
  test(name, { skip: !chromium && !inCI ? noChromium : false }, async (t) => {
    assert.ok(chromium, noChromium);
    await fn(t);
  });

/** A DCGAN generator (the real architecture, 16×16 colour) with weights and batch-norm statistics far from the
 * initial ones, so that images differ strongly between latents and inference-mode batch norm matters. */
function variedGenerator(): tf.LayersModel {
  const G = buildGenerator(d2l, { imageSize: 16, width: 8, latent: LATENT, channels: 3, classes: 0 }, 1);
  const rng = new Rng(7);
  G.setWeights(G.weights.map((w: tf.LayerVariable) => {
    const shape = w.shape as number[];
    const r = rng.normals(shape.reduce((a, b) => a * b, 1));
    const kind = w.name.split('/').pop();
    const value = (x: number) =>
      kind === 'kernel' ? (1.5 * x) / Math.sqrt(shape[3] * 4)
        : kind === 'gamma' ? 1 + 0.3 * x
          : kind === 'moving_variance' ? 1 + 0.3 * Math.abs(x)
            : 0.3 * x; // beta, moving_mean
    return tf.tensor(Array.from(r, value), shape);
  }));
  return G;
}

/** A conditional generator as `dcgan train --conditional` builds it (the mlp architecture, 8×8 grey), with a class
 * embedding strong enough that the classes draw clearly different images. */
function conditionalGenerator(classes: number): tf.LayersModel {
  const G = buildGenerator(mlp, { imageSize: 8, width: 8, latent: LATENT, channels: 1, classes }, 3);
  const embedding = G.getLayer('class_embedding');
  embedding.setWeights([tf.tensor(Array.from(new Rng(9).normals(classes * LATENT), (x) => 2 * x), [classes, LATENT])]);
  return G;
}

/** ProGAN's and StyleGAN's generators (16×16 colour): their custom layers are what the page must register to load them.
 * StyleGAN's noise made to matter (its strengths are zeros as built) and its w̄ off zero. */
function customLayerGenerators(): { progan: tf.LayersModel; stylegan: tf.LayersModel } {
  const shape = { imageSize: 16, width: 8, latent: LATENT, channels: 3 as const, classes: 0 };
  const style = buildGenerator(stylegan, shape, 5);
  for (const layer of style.layers.filter((l) => l.getClassName() === 'NoiseInjection')) {
    layer.setWeights(layer.getWeights().map((w, i) => (i === 0 ? tf.fill(w.shape, 0.5) : w.clone())));
  }
  style.getLayer('w_average').setWeights([tf.fill([LATENT], 0.3)]);
  return { progan: buildGenerator(progan, shape, 6), stylegan: style };
}

/** What the page must draw, computed by tfjs in Node: G on `dcgan sample`'s latents (or points between two seeds). */
function reference(G: tf.LayersModel, z: Float32Array, n: number, cols: number, classIndex?: number): RawImage {
  const images = tf.tidy(() => {
    const zs = tf.tensor2d(z, [n, LATENT]);
    return G.predict(classIndex === undefined ? zs : [zs, tf.fill([n, 1], classIndex)]) as tf.Tensor;
  });
  const [, size, , channels] = images.shape;
  const pixels = toUint8(images.dataSync() as Float32Array);
  images.dispose();
  return tileGrid(pixels, n, size, channels as 1 | 3, cols);
}

async function readPng(file: string): Promise<RawImage> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels as 3 };
}

interface Canvas { width: number; height: number; rgba: number[] }

const readCanvas = (page: Page): Promise<Canvas> =>
  page.evaluate(() => {
    const c = document.getElementById('grid') as HTMLCanvasElement;
    return { width: c.width, height: c.height, rgba: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data) };
  });

/** The largest difference of any channel of any pixel, of 255 (grey images: R, G and B each hold the grey). */
function maxDiff(canvas: Canvas, expected: RawImage | Canvas): number {
  const want = 'rgba' in expected ? expected : asCanvas(expected);
  assert.deepEqual([canvas.width, canvas.height], [want.width, want.height], 'canvas size');
  let max = 0;
  for (let i = 0; i < want.rgba.length; i++) max = Math.max(max, Math.abs(canvas.rgba[i] - want.rgba[i]));
  return max;
}

/** An image as the canvas would hold it (RGBA). */
function asCanvas(img: RawImage): Canvas {
  const rgba: number[] = [];
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++) rgba.push(img.data[p * img.channels + (img.channels === 1 ? 0 : c)]);
    rgba.push(255);
  }
  return { width: img.width, height: img.height, rgba };
}

let root: string;
let plainRun: string;
let condRun: string;
let plainG: tf.LayersModel;
let condG: tf.LayersModel;
/** runs of the architectures with custom layers, by name */
const customRuns: Record<'progan' | 'stylegan', string> = { progan: '', stylegan: '' };
const CLASSES = ['circle', 'square', 'star'];

before(async () => {
  await buildIfStale(); // dist/cli.js as the sources are now (npm test has built it; a mutation copy has not)
  await useTestBackend();
  root = await tmpDir();
  plainRun = path.join(root, 'plain-run');
  condRun = path.join(root, 'cond-run');
  plainG = variedGenerator();
  await saveModel(plainG, path.join(plainRun, 'generator'));
  await writeFile(path.join(plainRun, 'state.json'), JSON.stringify({ epoch: 3 }));
  condG = conditionalGenerator(CLASSES.length);
  await saveModel(condG, path.join(condRun, 'generator'));
  await writeFile(path.join(condRun, 'classes.json'), JSON.stringify({ names: CLASSES }));
  for (const [name, G] of Object.entries(customLayerGenerators()) as [keyof typeof customRuns, tf.LayersModel][]) {
    customRuns[name] = path.join(root, `${name}-run`);
    await saveModel(G, path.join(customRuns[name], 'generator'));
    G.dispose();
  }
});

after(() => {
  plainG?.dispose();
  condG?.dispose();
});

/** Bad input: non-zero exit, exactly one line on stderr. */
function assertRefused(args: string[], message: RegExp) {
  const r = cli(args);
  assert.notEqual(r.status, 0, `exit 0 for ${args.join(' ')}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `more than one line for ${args.join(' ')}:\n${r.stderr}`);
  assert.match(lines[0], message);
}

test('dcgan export --web writes a self-contained folder: page, generator, tfjs and its backends, no CDN', async () => {
  const dir = path.join(root, 'web');
  const r = cli(['export', '--web', dir, '--run', plainRun]);
  assert.equal(r.status, 0, r.stderr);
  // The hint is the pasteable command line of this very invocation (node dist/cli.js … or npx dcgan …).
  assert.match(r.stderr, new RegExp(`(dcgan|cli\\.[jt]s) serve --dir ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
  for (const f of ['index.html', 'style.css', 'export.json', 'generator/model.json', 'generator/weights.bin', 'lib/tf.min.js',
    'lib/tf-backend-webgpu.min.js', 'lib/tf-backend-wasm.min.js', 'lib/tfjs-backend-wasm.wasm', 'lib/tfjs-backend-wasm-simd.wasm',
    'js/export/page/app.js', 'js/util/rng.js', 'js/util/slerp.js']) {
    assert.ok(existsSync(path.join(dir, f)), `${f} missing`);
  }
  assert.deepEqual(await readFile(path.join(dir, 'generator/weights.bin')), await readFile(path.join(plainRun, 'generator/weights.bin')));
  assert.equal(existsSync(path.join(dir, 'classes.json')), false);
  const html = await readFile(path.join(dir, 'index.html'), 'utf8');
  assert.match(html, /<title>plain-run · dcgan<\/title>/);
  for (const f of ['index.html', 'js/export/page/app.js', 'style.css']) {
    assert.doesNotMatch(await readFile(path.join(dir, f), 'utf8'), /https?:\/\//, `${f} refers to the network`);
  }
  const manifest = JSON.parse(await readFile(path.join(dir, 'export.json'), 'utf8'));
  assert.deepEqual([manifest.run, manifest.epoch], ['plain-run', 3]);
  // ProGAN's and StyleGAN's layers, for the page to register: tfjs is the page's global, not a module it cannot find
  for (const f of ['js/model/progan-layers.js', 'js/model/stylegan-layers.js', 'js/model/step-seed.js', 'js/model/style-models.js']) {
    const code = await readFile(path.join(dir, f), 'utf8');
    assert.doesNotMatch(code, /@tensorflow\/tfjs['"]/, `${f} imports tfjs by name`);
    if (f !== 'js/model/step-seed.js') assert.match(code, /^const tf = globalThis\.tf;/m, f);
  }

  // a previous export is replaced (test/export-safety.test.ts: only while its files are as it wrote them)
  const again = cli(['export', '--web', dir, '--run', plainRun]);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual((await readdir(root)).filter((f) => f.startsWith('.')), [], 'staging folders left behind');
});

test('dcgan export refuses, in one line and writing nothing: no generator, a file, a folder that is not an export', async () => {
  const dir = await tmpDir();
  const out = path.join(dir, 'out');
  await mkdir(path.join(dir, 'empty-run'));
  assertRefused(['export', '--web', out, '--run', path.join(dir, 'empty-run')], /no generator in .*empty-run/);
  await assert.rejects(exportWeb({ run: path.join(dir, 'missing'), dir: out }), /no generator in .*missing/);
  assert.equal(existsSync(out), false);
  assertRefused(['export', '--run', plainRun], /required option '--web <dir>'/);

  const file = path.join(dir, 'file');
  await writeFile(file, 'keep');
  assertRefused(['export', '--web', file, '--run', plainRun], /--web .*file: exists and is not a folder/);
  assert.equal(await readFile(file, 'utf8'), 'keep');

  const foreign = path.join(dir, 'foreign');
  await mkdir(foreign);
  await writeFile(path.join(foreign, 'notes.txt'), 'keep');
  // (in-process from here on: the same function the command calls, without starting node each time)
  await assert.rejects(exportWeb({ run: plainRun, dir: foreign }), /--web .*foreign: the folder is not empty and is not a previous export/);
  assert.deepEqual(await readdir(foreign), ['notes.txt']);

  const exported = path.join(dir, 'exported');
  await exportWeb({ run: plainRun, dir: exported });
  await writeFile(path.join(exported, 'mine.txt'), 'keep');
  await assert.rejects(exportWeb({ run: plainRun, dir: exported }), /a previous export, but .*mine\.txt was not written by dcgan export; move it away first/);
  assert.equal(await readFile(path.join(exported, 'mine.txt'), 'utf8'), 'keep');

  const noClasses = path.join(dir, 'no-classes');
  await cp(path.join(condRun, 'generator'), path.join(noClasses, 'generator'), { recursive: true });
  await assert.rejects(exportWeb({ run: noClasses, dir: out }), /classes\.json is missing/);
  assert.deepEqual((await readdir(dir)).sort(), ['empty-run', 'exported', 'file', 'foreign', 'no-classes']);
});

test('dcgan serve prints its address, serves the page on 127.0.0.1 and stops cleanly on Ctrl-C', async (t) => {
  const child = spawn(process.execPath, [CLI, 'serve', '--run', plainRun, '--port', '0']);
  t.after(() => child.kill());
  let stdout = '', stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(stdout.trim());
    });
    child.on('exit', () => reject(new Error(`serve exited: ${stderr}`)));
  });
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>plain-run · dcgan<\/title>/);
  assert.equal((await fetch(new URL('lib/tfjs-backend-wasm.wasm', url))).headers.get('content-type'), 'application/wasm');
  assert.equal((await fetch(`${url}..%2f..%2f..%2fetc%2fpasswd`)).status, 403);
  assert.equal((await fetch(new URL('nothing-here', url))).status, 404);
  assertRefused(['serve', '--run', plainRun, '--port', new URL(url).port], new RegExp(`--port ${new URL(url).port}: already in use`));
  const folder = stderr.match(/serving .* from (\S+) at/)?.[1];
  assert.ok(folder && existsSync(folder), stderr);
  child.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /stopped/);
  await assert.rejects(fetch(url), 'still serving after Ctrl-C');
  assert.equal(existsSync(folder), false, 'the temp export is left behind');
});

// ---- in the browser ----

let browser: Browser | undefined;
let server: StaticServer | undefined;
let site: string;

/** The exports of both runs (and a broken one) under one local server, and a headless Chromium with no network. */
async function openSite(): Promise<void> {
  if (browser) return;
  const webRoot = path.join(root, 'site');
  const runs = [['plain', plainRun], ['cond', condRun], ['broken', plainRun], ['progan', customRuns.progan], ['stylegan', customRuns.stylegan]];
  for (const [name, run] of runs) await exportWeb({ run, dir: path.join(webRoot, name) });
  await rm(path.join(webRoot, 'broken', 'generator'), { recursive: true });
  server = await serveFolder(webRoot, 0);
  site = server.url;
  const puppeteer = (await import('puppeteer-core')).default;
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${await tmpDir('dcgan-chromium-')}`],
  });
}

after(async () => {
  await browser?.close();
  await server?.close();
});

interface Opened {
  page: Page;
  /** console errors, uncaught exceptions, failed requests */
  problems: string[];
  /** requests to anywhere but the local server (blocked) */
  offsite: string[];
}

/** Opens a page of the site and waits until it is drawn (or has failed). */
async function open(rel: string): Promise<Opened> {
  await openSite();
  const page = await browser!.newPage();
  const problems: string[] = [], offsite: string[] = [];
  page.on('console', (m) => {
    // the browser's own request for /favicon.ico (the README's snippet names no icon) is not the page's
    if (m.type() === 'error' && !m.location().url?.endsWith('/favicon.ico')) problems.push(`console: ${m.text()} ${m.location().url ?? ''}`);
  });
  page.on('pageerror', (e) => problems.push(`exception: ${(e as Error).message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    if (r.url().startsWith(site) || r.url().startsWith('data:')) return void r.continue();
    offsite.push(r.url());
    void r.abort();
  });
  await page.goto(new URL(rel, site).href);
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', { timeout: 20_000 });
  return { page, problems, offsite };
}

const state = (page: Page) => page.evaluate(() => document.body.dataset.state);
const text = (page: Page, id: string) => page.evaluate((i) => document.getElementById(i)!.textContent ?? '', id);
const numTensors = (page: Page) => page.evaluate(() => (globalThis as unknown as { tf: typeof tf }).tf.memory().numTensors);
const waitDrawn = (page: Page, drawn: string) =>
  page.waitForFunction((d) => document.body.dataset.drawn === d, { timeout: 10_000 }, drawn);

async function sampleCli(seed: number, n: number, cols: number, run = plainRun): Promise<RawImage> {
  const out = path.join(root, `sample-${path.basename(run)}-${seed}-${n}-${cols}.png`);
  const r = cli(['sample', '--run', run, '--seed', String(seed), '--n', String(n), '--cols', String(cols), '--out', out, '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  return readPng(out);
}

browserTest('the page draws what dcgan sample draws for the seed (within 2/255), on the backend it picks and on wasm', async (t) => {
  const [seed, n, cols] = [12345, 10, 4];
  const expected = await sampleCli(seed, n, cols);
  const other = await sampleCli(seed + 1, n, cols);
  assert.ok(maxDiff(asCanvas(other), expected) > 100, 'the test generator hardly depends on z');

  for (const forced of [undefined, 'wasm']) {
    const { page, problems, offsite } = await open(`plain/?seed=${seed}&n=${n}&cols=${cols}${forced ? `&backend=${forced}` : ''}`);
    assert.equal(await state(page), 'ready', await text(page, 'error'));
    const backend = await page.evaluate(() => document.body.dataset.backend!);
    const status = await text(page, 'status');
    t.diagnostic(`${forced ? 'asked for wasm' : 'picked'}: ${status}`);
    if (forced) assert.equal(backend, 'wasm');
    assert.match(status, new RegExp(`^seed ${seed} · ${n} images on ${backend}`));
    if (!forced && backend !== 'webgpu') assert.match(status, /webgpu: /, 'says why not WebGPU');
    const diff = maxDiff(await readCanvas(page), expected);
    t.diagnostic(`${backend}: largest difference from dcgan sample ${diff}/255`);
    assert.ok(diff <= TOLERANCE, `${backend}: differs from dcgan sample by ${diff}/255`);
    assert.match(await text(page, 'about'), /run plain-run, 3 epochs: 16×16 colour, latent 8/);
    assert.deepEqual(await page.evaluate(() => [document.title, getComputedStyle(document.getElementById('grid')!).imageRendering]), ['plain-run · dcgan', 'pixelated']);
    assert.equal(await page.evaluate(() => document.getElementById('class-picker')!.hidden), true, 'a class picker on an unconditional run');
    assert.deepEqual(problems, []);
    assert.deepEqual(offsite, []);
    await page.close();
  }
});

browserTest("progan and stylegan runs: the page registers their layers and draws what dcgan sample draws (within 2/255)", async (t) => {
  const [seed, n, cols] = [321, 6, 3];
  for (const name of ['progan', 'stylegan'] as const) {
    const expected = await sampleCli(seed, n, cols, customRuns[name]);
    assert.ok(maxDiff(asCanvas(await sampleCli(seed + 1, n, cols, customRuns[name])), expected) > 30, `the ${name} generator hardly depends on z`);
    for (const forced of [undefined, 'wasm']) {
      const { page, problems, offsite } = await open(`${name}/?seed=${seed}&n=${n}&cols=${cols}${forced ? `&backend=${forced}` : ''}`);
      assert.equal(await state(page), 'ready', await text(page, 'error'));
      const backend = await page.evaluate(() => document.body.dataset.backend!);
      const diff = maxDiff(await readCanvas(page), expected);
      t.diagnostic(`${name} on ${backend}: largest difference from dcgan sample ${diff}/255`);
      assert.ok(diff <= TOLERANCE, `${name} on ${backend}: differs from dcgan sample by ${diff}/255`);
      assert.deepEqual(problems, []);
      assert.deepEqual(offsite, []);
      await page.close();
    }
  }
});

browserTest('the walk: a point between two seeds is their slerp; it ends at the second seed; it animates and stops', async () => {
  const [a, b, n, cols] = [5, 6, 6, 3];
  const { page, problems, offsite } = await open(`plain/?seed=${a}&to=${b}&t=1&n=${n}&cols=${cols}`);
  assert.equal(await state(page), 'ready', await text(page, 'error'));
  assert.ok(maxDiff(await readCanvas(page), await sampleCli(b, n, cols)) <= TOLERANCE, 'the end of the walk is not seed B');

  const za = latents(a, n, LATENT), zb = latents(b, n, LATENT);
  const half = new Float32Array(n * LATENT);
  for (let i = 0; i < n; i++) half.set(slerp(za.subarray(i * LATENT, (i + 1) * LATENT), zb.subarray(i * LATENT, (i + 1) * LATENT), 0.5), i * LATENT);
  await page.goto(new URL(`plain/?seed=${a}&to=${b}&t=0.5&n=${n}&cols=${cols}`, site).href);
  await waitDrawn(page, `seed ${a} to ${b} t 0.5`);
  assert.ok(maxDiff(await readCanvas(page), reference(plainG, half, n, cols)) <= TOLERANCE, 'the middle of the walk');

  // the animation: moves on from there, stops where it is, keeps no tensors, and the address it leaves draws that frame
  const before = await numTensors(page);
  await page.click('#walk');
  await page.waitForFunction(() => /to \d+ t 0\.[6-9]/.test(document.body.dataset.drawn ?? ''), { timeout: 10_000 });
  await page.click('#walk');
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  // a frame already under way when the walk stopped still holds its image until its pixels are read (seen once on a
  // loaded machine: one tensor more, two frames after the click): wait up to 5 s for the count to come back; a leak
  // per frame never does
  await page.waitForFunction((n) => (globalThis as unknown as { tf: typeof tf }).tf.memory().numTensors === n, { timeout: 5_000 }, before).catch(() => {});
  assert.equal(await numTensors(page), before, 'tensors leak per frame');
  const stoppedAt = await readCanvas(page);
  assert.ok(new URL(page.url()).searchParams.has('seed'));
  await page.goto(page.url());
  await page.waitForFunction(() => document.body.dataset.state === 'ready', { timeout: 10_000 });
  assert.ok(maxDiff(await readCanvas(page), stoppedAt) <= TOLERANCE,
    `${page.url()} does not draw the frame the walk stopped at`);
  await page.click('#new-seed');
  await page.waitForFunction((s) => !document.body.dataset.drawn!.startsWith(s), {}, `seed ${a} `);
  const seed = Number(await page.evaluate(() => (document.getElementById('seed') as HTMLInputElement).value));
  assert.equal(await page.evaluate(() => document.body.dataset.drawn), `seed ${seed}`);
  assert.equal(new URL(page.url()).searchParams.get('seed'), String(seed));
  assert.equal(await state(page), 'ready');
  assert.deepEqual(problems, []);
  assert.deepEqual(offsite, []);
  await page.close();
});

browserTest("a stylegan run's walk goes in w, as dcgan sample --interpolate: the line between the ends' codes (within 2/255)", async (t) => {
  const [a, b, n, cols] = [5, 6, 4, 2];
  const G = await loadGenerator(customRuns.stylegan);
  const za = latents(a, n, LATENT), zb = latents(b, n, LATENT);
  // `dcgan sample --interpolate 5`'s code on the page's ends (walk i: image i of seed a to image i of seed b): its
  // frame k is the point t = k/4
  const steps = 5;
  const walks = await styleWalkImages(G, za, zb, n, steps);
  const imageBytes = 16 * 16 * 3;
  const frame = (k: number) => {
    const pixels = new Uint8Array(n * imageBytes);
    for (let i = 0; i < n; i++) pixels.set(walks.subarray((i * steps + k) * imageBytes, (i * steps + k + 1) * imageBytes), i * imageBytes);
    return tileGrid(pixels, n, 16, 3, cols);
  };
  // the same point on z's great circle draws something else: a page that slerps z fails here
  const inZ = new Float32Array(n * LATENT);
  for (let i = 0; i < n; i++) inZ.set(slerp(za.subarray(i * LATENT, (i + 1) * LATENT), zb.subarray(i * LATENT, (i + 1) * LATENT), 0.25), i * LATENT);
  const zDiff = maxDiff(asCanvas(reference(G.model, inZ, n, cols)), frame(1));
  t.diagnostic(`t = 0.25: slerp in z and lerp in w differ by ${zDiff}/255`);
  assert.ok(zDiff > 3 * TOLERANCE, `slerp in z and lerp in w draw nearly the same images (${zDiff}/255)`);

  const { page, problems, offsite } = await open(`stylegan/?seed=${a}&to=${b}&t=0.25&n=${n}&cols=${cols}`);
  assert.equal(await state(page), 'ready', await text(page, 'error'));
  for (const [at, k] of [[0.25, 1], [0.75, 3], [1, 4]]) {
    if (k > 1) {
      await page.goto(new URL(`stylegan/?seed=${a}&to=${b}&t=${at}&n=${n}&cols=${cols}`, site).href);
      await waitDrawn(page, `seed ${a} to ${b} t ${at}`);
    }
    const diff = maxDiff(await readCanvas(page), frame(k));
    t.diagnostic(`t = ${at}: the page differs from frame ${k} of 5 of the walk in w by ${diff}/255`);
    assert.ok(diff <= TOLERANCE, `t = ${at} is not frame ${k} of 5 of the walk in w`);
  }
  assert.ok(maxDiff(await readCanvas(page), reference(G.model, zb, n, cols)) <= TOLERANCE, 'the end of the walk is not seed B');
  G.model.dispose();

  // the animation keeps no tensors
  await page.goto(new URL(`stylegan/?seed=${a}&to=${b}&t=0.1&n=${n}&cols=${cols}`, site).href);
  await waitDrawn(page, `seed ${a} to ${b} t 0.1`);
  const start = await numTensors(page);
  await page.click('#walk');
  await page.waitForFunction(() => /to \d+ t 0\.[5-9]/.test(document.body.dataset.drawn ?? ''), { timeout: 10_000 });
  await page.click('#walk');
  await page.waitForFunction((k) => (globalThis as unknown as { tf: typeof tf }).tf.memory().numTensors === k, { timeout: 5_000 }, start).catch(() => {});
  assert.equal(await numTensors(page), start, 'tensors leak per frame of a walk in w');
  assert.deepEqual(problems, []);
  assert.deepEqual(offsite, []);
  await page.close();
});

browserTest('a conditional run: the page offers its classes and draws the chosen one (grey 8×8, as tfjs in Node)', async () => {
  const [seed, n, cols] = [77, 5, 5];
  const { page, problems, offsite } = await open(`cond/?seed=${seed}&n=${n}&cols=${cols}&class=1`);
  assert.equal(await state(page), 'ready', await text(page, 'error'));
  assert.equal(await page.evaluate(() => document.getElementById('class-picker')!.hidden), false);
  assert.deepEqual(await page.$$eval('#class option', (os) => os.map((o) => [(o as HTMLOptionElement).value, o.textContent])), [['0', 'circle'], ['1', 'square'], ['2', 'star']]);
  const z = latents(seed, n, LATENT);
  assert.ok(maxDiff(await readCanvas(page), reference(condG, z, n, cols, 1)) <= TOLERANCE, 'class 1');
  assert.ok(maxDiff(asCanvas(reference(condG, z, n, cols, 2)), reference(condG, z, n, cols, 1)) > 50, 'the test generator hardly depends on the class');

  await page.select('#class', '2');
  await waitDrawn(page, `seed ${seed} class 2`);
  assert.ok(maxDiff(await readCanvas(page), reference(condG, z, n, cols, 2)) <= TOLERANCE, 'class 2');
  assert.equal(new URL(page.url()).searchParams.get('class'), '2');
  assert.match(await text(page, 'status'), /class star/);
  assert.deepEqual(problems, []);
  assert.deepEqual(offsite, []);
  await page.close();
});

browserTest('errors show on the page and in data-state: a folder without its generator, a bad parameter', async () => {
  const broken = await open('broken/?seed=1');
  assert.match((await state(broken.page))!, /^error: /);
  assert.match(await text(broken.page, 'error'), /^Error: .*generator\/model\.json/);
  await broken.page.close();

  const bad = await open('plain/?n=0');
  assert.equal(await state(bad.page), 'error: ?n=0: expected a whole number from 1 to 1024');
  assert.equal(await text(bad.page, 'error'), 'Error: ?n=0: expected a whole number from 1 to 1024');
  assert.deepEqual(bad.problems, []);
  await bad.page.close();
});

// ---- the README's snippets that load generator/ ----

test("the README's Node snippet loads generator/ in plain tfjs and runs it: a DCGAN's, and with dcgan/layers a StyleGAN's and a ProGAN's", async () => {
  const readme = await readmeSnippet('js', 'tf.io.fromMemory');
  const registration = "import 'dcgan/layers';";
  assert.ok(readme.includes(registration), 'the snippet does not register the layers');
  // run from the checkout, where `dcgan/layers` is the package's own export (package.json "exports": dist/layers.js)
  const runSnippet = (run: string, code = readme) => {
    const snippet = code.replace(/'checkpoints\/[^']+\/generator'/, JSON.stringify(path.join(run, 'generator')));
    assert.ok(snippet.includes(run), 'the snippet names no generator folder to replace');
    return spawnSync(process.execPath, ['--input-type=module', '--eval', snippet], { encoding: 'utf8', timeout: 60_000 });
  };
  for (const run of [plainRun, customRuns.stylegan, customRuns.progan]) {
    const r = runSnippet(run);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\[ 4, 16, 16, 3 \]/);
  }
  // without the line, StyleGAN's generator does not load: the line is what registers its layers
  const bare = runSnippet(customRuns.stylegan, readme.split('\n').filter((l) => !l.startsWith(registration)).join('\n'));
  assert.notEqual(bare.status, 0);
  assert.match(bare.stderr, /Unknown layer: (EqualizedDense|PixelNorm|ConstantInput|WAverage|AdaIN|NoiseInjection|EqualizedConv2D)/);
});

browserTest("the README's page snippet loads generator/ from an exported folder and draws: a DCGAN's and a StyleGAN's", async () => {
  await openSite();
  const snippet = await readmeSnippet('html', "tf.loadLayersModel('generator/model.json')");
  for (const name of ['plain', 'stylegan']) {
    await writeFile(path.join(root, 'site', name, 'snippet.html'), snippet);
    const { page, problems, offsite } = await open(`${name}/snippet.html`);
    await page.waitForFunction(() => document.querySelector('canvas')!.width === 16, { timeout: 10_000 })
      .catch((err) => assert.fail(`${name}: nothing drawn (${problems.join('; ') || err})`));
    const drawn = await page.evaluate(() => {
      const c = document.querySelector('canvas')!;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, 16, 16).data).filter((v, i) => i % 4 !== 3 && v !== 0).length;
    });
    assert.ok(drawn > 100, `${name}: the canvas is blank (${drawn} non-zero values)`);
    assert.deepEqual(problems, [], name);
    assert.deepEqual(offsite, [], name);
    await page.close();
  }
});
