// The exported page: draws a grid from the run's generator in the browser, as `dcgan sample` does in Node — the same
// latents (Rng, compiled from src/util/rng.ts and shipped beside this file), G.predict with batch norm in inference
// mode, the same tiling. It walks latent space with slerp (src/util/slerp.ts) and picks a class on conditional runs.
// On a StyleGAN generator it walks in w instead, as `dcgan sample --interpolate` does (src/generate/style.ts): each
// end's latent through the mapping network, the straight line (lerp) between the two codes, the point through the
// synthesis network with the same w at every layer.
// tfjs comes from lib/ as a classic script (the global `tf`); only its types are imported here. The custom layers of
// ProGAN and StyleGAN come compiled from src/model/ (export/web.ts points their tfjs import at the global).
import type * as TF from '@tensorflow/tfjs';
import type { ExportManifest } from '../web.js';
import { Rng } from '../../util/rng.js';
import { lerp, slerp } from '../../util/slerp.js';

declare const tf: typeof TF & { wasm?: { setWasmPaths(prefix: string): void } };

const BACKENDS = ['webgpu', 'webgl', 'wasm'] as const;
type Backend = (typeof BACKENDS)[number];
/** as in `dcgan sample` (tileGrid): 2 px of white around each tile */
const PAD = 2;
const BATCH = 64;
const MAX_IMAGES = 1024;
/** how long a walk takes from one seed to the next */
const WALK_MS = 3000;

interface View {
  seed: number;
  /** while walking, or for a point of a walk: the seed it goes to, and how far (0..1) */
  to?: number;
  t: number;
  classIndex: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const randomSeed = () => Math.floor(Math.random() * 2 ** 31);

class PageError extends Error {}

function intParam(params: URLSearchParams, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new PageError(`?${name}=${raw}: expected a whole number from ${min} to ${max}`);
  }
  return value;
}

async function fetchJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new PageError(`${url}: ${res.status} ${res.statusText}`);
  return (await res.json()) as T;
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new PageError(`${src} did not load`));
    document.head.append(script);
  });
}

/** Why WebGPU cannot run here, if it cannot: asked first, so that tfjs does not try and log its own failure. */
async function webgpuMissing(): Promise<string | undefined> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return 'this browser has no WebGPU';
  return (await gpu.requestAdapter().catch(() => null)) ? undefined : 'no WebGPU adapter (no GPU, or GPU access is off)';
}

/** The first backend of WebGPU, WebGL, wasm that starts (or the one asked for), and why the ones before it did not. */
async function pickBackend(asked: Backend | undefined): Promise<{ name: Backend; skipped: string[] }> {
  tf.wasm?.setWasmPaths(new URL('lib/', location.href).href);
  const skipped: string[] = [];
  for (const name of asked ? [asked] : BACKENDS) {
    const unavailable = !tf.findBackendFactory(name) ? 'not available' : name === 'webgpu' ? await webgpuMissing() : undefined;
    if (unavailable) {
      skipped.push(`${name}: ${unavailable}`);
      continue;
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name, skipped };
      }
      skipped.push(`${name}: did not start`);
    } catch (err) {
      skipped.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new PageError(`no backend started (${skipped.join('; ')})`);
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const n = intParam(params, 'n', 1, MAX_IMAGES) ?? 21;
  const cols = Math.min(intParam(params, 'cols', 1) ?? 7, n);
  const askedBackend = params.get('backend') ?? undefined;
  if (askedBackend !== undefined && !(BACKENDS as readonly string[]).includes(askedBackend)) {
    throw new PageError(`?backend=${askedBackend}: expected one of ${BACKENDS.join(', ')}`);
  }
  const tParam = params.get('t');
  const t = tParam === null ? 0 : Number(tParam);
  if (tParam !== null && (tParam.trim() === '' || !(t >= 0 && t <= 1))) throw new PageError(`?t=${tParam}: expected a number from 0 to 1`);
  const view: View = { seed: intParam(params, 'seed', 0) ?? randomSeed(), to: intParam(params, 'to', 0), t, classIndex: 0 };

  const manifest = await fetchJson<ExportManifest>('export.json');
  for (const src of manifest.scripts) await loadScript(src);
  const backend = await pickBackend(askedBackend as Backend | undefined);

  // ProGAN's and StyleGAN's layers, registered with the tfjs just loaded, so that their generators load
  await import('../../model/progan-layers.js');
  await import('../../model/stylegan-layers.js');
  const { everyLayer, isStyleGenerator, styleModels } = await import('../../model/style-models.js');
  const G = await tf.loadLayersModel('generator/model.json');
  const latent = G.inputs[0].shape[1];
  const [, size, width, channels] = G.outputs[0].shape;
  if (typeof latent !== 'number' || typeof size !== 'number' || size !== width || (channels !== 1 && channels !== 3)) {
    throw new PageError(`generator/model.json: expected z → [n, size, size, 1 or 3] images, got ${JSON.stringify(G.inputs[0].shape)} → ${JSON.stringify(G.outputs[0].shape)}`);
  }
  if (G.inputs.length > 2 || (G.inputs.length === 2 && JSON.stringify(G.inputs[1].shape) !== '[null,1]')) {
    throw new PageError(`generator/model.json: expected the inputs z [n, ${latent}] and a class [n, 1], got ${JSON.stringify(G.inputs.map((i) => i.shape))}`);
  }
  const names = G.inputs.length === 2 ? (await fetchJson<{ names: string[] }>('classes.json')).names : undefined;
  /** a StyleGAN G cut in two, for walks in w */
  const style = isStyleGenerator(G) ? styleModels(G) : undefined;
  if (names) {
    view.classIndex = intParam(params, 'class', 0, names.length - 1) ?? 0;
    const select = $<HTMLSelectElement>('class');
    names.forEach((name, i) => select.append(new Option(name, String(i), false, i === view.classIndex)));
    $('class-picker').hidden = false;
  }

  const canvas = $<HTMLCanvasElement>('grid');
  const ctx = canvas.getContext('2d')!;
  const rows = Math.ceil(n / cols);
  canvas.width = cols * (size + PAD) + PAD;
  canvas.height = rows * (size + PAD) + PAD;
  const scale = Math.max(1, Math.floor(Math.min(innerWidth - 32, 960) / canvas.width));
  canvas.style.width = `${canvas.width * scale}px`;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);

  const trained = manifest.epoch === undefined ? '' : `, ${manifest.epoch} epoch${manifest.epoch === 1 ? '' : 's'}`;
  $('about').textContent = `the generator of run ${manifest.run}${trained}: ${size}×${size} ${channels === 3 ? 'colour' : 'grey'}, ` +
    `latent ${latent}${names ? `, ${names.length} classes` : ''} — running in this page with TensorFlow.js ${tf.version.tfjs}`;

  // the two ends of a walk stay the same for many frames
  let cached: Map<number, Float32Array> = new Map();
  /** `dcgan sample`'s latents for a seed (src/generate/sample.ts `latents`) */
  const latentsOf = (...seeds: number[]) => {
    const next = new Map(seeds.map((seed) => [seed, cached.get(seed) ?? new Rng(seed).normals(n * latent)]));
    cached = next;
    return seeds.map((seed) => next.get(seed)!);
  };

  const latentsOfView = (v: View): Float32Array => {
    if (v.to === undefined || v.t === 0) return latentsOf(v.seed)[0];
    const [from, to] = latentsOf(v.seed, v.to);
    const z = new Float32Array(n * latent);
    for (let i = 0; i < n; i++) z.set(slerp(from.subarray(i * latent, (i + 1) * latent), to.subarray(i * latent, (i + 1) * latent), v.t), i * latent);
    return z;
  };

  /** G's inputs for latents start … start + count − 1 of z: z, and on a conditional run the class */
  const inputsOf = (z: Float32Array, start: number, count: number, classIndex: number) => {
    const zs = tf.tensor2d(z.subarray(start * latent, (start + count) * latent), [count, latent]);
    return names ? [zs, tf.fill([count, 1], classIndex)] : zs;
  };

  // StyleGAN: the codes w of a walk's two ends, [n × size] each, mapped once per seed and class
  let codes: Map<string, Float32Array> = new Map();
  const codesOf = async (v: View, seeds: number[]): Promise<Float32Array[]> => {
    const { mapping } = style!;
    const d = mapping.outputs[0].shape[1] as number;
    const zs = latentsOf(...seeds);
    const next = new Map<string, Float32Array>();
    for (const [k, seed] of seeds.entries()) {
      const key = `${seed} ${v.classIndex}`;
      let w = codes.get(key) ?? next.get(key);
      if (!w) {
        w = new Float32Array(n * d);
        for (let start = 0; start < n; start += BATCH) {
          const count = Math.min(BATCH, n - start);
          const batch = tf.tidy(() => mapping.predict(inputsOf(zs[k], start, count, v.classIndex)) as TF.Tensor);
          w.set((await batch.data()) as Float32Array, start * d);
          batch.dispose();
        }
      }
      next.set(key, w);
    }
    codes = next;
    return seeds.map((seed) => next.get(`${seed} ${v.classIndex}`)!);
  };

  /** A point of a StyleGAN walk: w per layer ([n × layers × size]), the line from seed's codes to `to`'s at t */
  const codesOfWalk = async (v: View & { to: number }): Promise<Float32Array> => {
    const [from, to] = await codesOf(v, [v.seed, v.to]);
    const d = from.length / n;
    const w = new Float32Array(n * d);
    for (let i = 0; i < n; i++) w.set(lerp(from.subarray(i * d, (i + 1) * d), to.subarray(i * d, (i + 1) * d), v.t), i * d);
    return everyLayer(w, n, style!.layers, d);
  };

  const draw = async (v: View) => {
    // a StyleGAN walk goes through w; every other view is G on latents
    const ws = style && v.to !== undefined && v.t > 0 ? await codesOfWalk({ ...v, to: v.to }) : undefined;
    const z = ws ? undefined : latentsOfView(v);
    const tile = ctx.createImageData(size, size);
    for (let start = 0; start < n; start += BATCH) {
      const count = Math.min(BATCH, n - start);
      const images = tf.tidy(() => {
        if (!ws) return G.predict(inputsOf(z!, start, count, v.classIndex)) as TF.Tensor;
        const perImage = ws.length / n;
        const [, layers, d] = style!.synthesis.inputs[0].shape as number[];
        return style!.synthesis.predict(tf.tensor3d(ws.subarray(start * perImage, (start + count) * perImage), [count, layers, d])) as TF.Tensor;
      });
      const pixels = (await images.data()) as Float32Array;
      images.dispose();
      for (let k = 0; k < count; k++) {
        const image = pixels.subarray(k * size * size * channels, (k + 1) * size * size * channels);
        for (let p = 0; p < size * size; p++) {
          for (let c = 0; c < 3; c++) {
            // [-1, 1] → uint8 as `dcgan sample` rounds (toUint8 in src/image/grid.ts)
            const x = image[p * channels + (channels === 3 ? c : 0)];
            tile.data[p * 4 + c] = Math.round(Math.min(1, Math.max(-1, x)) * 127.5 + 127.5);
          }
          tile.data[p * 4 + 3] = 255;
        }
        const index = start + k;
        ctx.putImageData(tile, PAD + (index % cols) * (size + PAD), PAD + Math.floor(index / cols) * (size + PAD));
      }
    }
    document.body.dataset.drawn = describe(v);
  };

  const describe = (v: View) =>
    `seed ${v.seed}` + (v.to !== undefined && v.t > 0 ? ` to ${v.to} t ${v.t}` : '') + (names ? ` class ${v.classIndex}` : '');

  const skipped = backend.skipped.length ? ` (${backend.skipped.join('; ')})` : '';
  const status = (v: View) => {
    const where = v.to !== undefined && v.t > 0 ? `walking from seed ${v.seed} to ${v.to}, t = ${v.t.toFixed(2)}` : `seed ${v.seed}`;
    const cls = names ? `, class ${names[v.classIndex]}` : '';
    $('status').textContent = `${where}${cls} · ${n} images on ${backend.name}${skipped}`;
  };

  const showInUrl = (v: View) => {
    const next = new URLSearchParams(location.search);
    next.set('seed', String(v.seed));
    if (v.to !== undefined && v.t > 0) {
      next.set('to', String(v.to));
      next.set('t', String(Number(v.t.toFixed(4))));
    } else {
      next.delete('to');
      next.delete('t');
    }
    if (names) next.set('class', String(v.classIndex));
    history.replaceState(null, '', `?${next}`);
  };

  // One drawing at a time; a change made meanwhile is drawn next (the latest one only).
  let busy = false;
  let pending = false;
  const render = async () => {
    if (busy) {
      pending = true;
      return;
    }
    busy = true;
    try {
      do {
        pending = false;
        const v = { ...view };
        status(v);
        await draw(v);
      } while (pending);
    } finally {
      busy = false;
    }
  };

  const seedInput = $<HTMLInputElement>('seed');
  seedInput.value = String(view.seed);
  let walking = false;
  const walkButton = $<HTMLButtonElement>('walk');
  const setWalking = (on: boolean) => {
    walking = on;
    walkButton.setAttribute('aria-pressed', String(on));
    walkButton.textContent = on ? 'stop' : 'walk';
    if (!on) showInUrl(view);
  };
  const walk = async () => {
    view.to ??= randomSeed();
    let last = performance.now();
    while (walking) {
      const now = performance.now();
      view.t = Math.min(1, view.t + (now - last) / WALK_MS);
      last = now;
      await render();
      if (view.t >= 1) {
        view.seed = view.to!;
        view.to = randomSeed();
        view.t = 0;
        seedInput.value = String(view.seed);
      }
      await new Promise(requestAnimationFrame);
    }
  };

  const fail = (err: unknown) => showError(err);
  seedInput.addEventListener('change', () => {
    if (!/^\d+$/.test(seedInput.value) || !Number.isSafeInteger(Number(seedInput.value))) return;
    setWalking(false);
    Object.assign(view, { seed: Number(seedInput.value), to: undefined, t: 0 });
    showInUrl(view);
    render().catch(fail);
  });
  $('new-seed').addEventListener('click', () => {
    setWalking(false);
    Object.assign(view, { seed: randomSeed(), to: undefined, t: 0 });
    seedInput.value = String(view.seed);
    showInUrl(view);
    render().catch(fail);
  });
  walkButton.addEventListener('click', () => {
    setWalking(!walking);
    if (walking) walk().catch(fail);
  });
  $<HTMLSelectElement>('class').addEventListener('change', (e) => {
    view.classIndex = Number((e.target as HTMLSelectElement).value);
    if (!walking) showInUrl(view);
    render().catch(fail);
  });
  $('controls').addEventListener('submit', (e) => e.preventDefault());

  await render();
  document.body.dataset.backend = backend.name;
  document.body.dataset.state = 'ready';
}

function showError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  document.body.dataset.state = `error: ${message}`;
  const box = $('error');
  box.textContent = `Error: ${message}`;
  box.hidden = false;
  $('status').textContent = '';
  if (!(err instanceof PageError)) console.error(err);
}

main().catch(showError);
