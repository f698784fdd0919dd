import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { readJsonl, writeJson } from '../src/run/files.js';
import { runFiles } from '../src/run/layout.js';
import { latestEval, renderReport, timelineEpochs, type EvalEntry } from '../src/report/html.js';
import type { EpochRecord, RunConfig } from '../src/run/records.js';
import { writeReport } from '../src/report/report.js';
import { progressDisplay } from '../src/train/display.js';
import { train, type TrainOptions } from '../src/train/train.js';
import { syntheticImageSet, tmpDir, useTestBackend } from './helpers.js';

const backend = { name: 'wasm' as const, device: 'wasm (test)', skipped: [], hooks: {} };
let runDir: string;
const lines: string[] = [];

before(async () => {
  await useTestBackend();
  runDir = await tmpDir();
  const o: TrainOptions = {
    // lr: d2l's γ, β ~ N(0, 0.02) start the generator at one grey for every z; 12 steps at 0.05 get the grid's images apart
    out: runDir, resume: false, epochs: 3, batchSize: 8, lr: 0.05, beta1: 0.5, beta2: 0.999, seed: 1,
    arch: 'd2l', model: { imageSize: 16, width: 4, latent: 8, channels: 3, classes: 0 }, logEvery: 5, gridImages: 6, gridColumns: 3,
    evalEvery: 2, evalN: 16,
  };
  await train(o, syntheticImageSet(32, 16), backend, { log: (l) => lines.push(l), listeners: [progressDisplay((l) => lines.push(l), { bars: false })] });
  await writeJson(path.join(runDir, 'config.json'), {
    options: { dataset: 'pokesprite', imageSize: 16, epochs: 3, note: '<script>alert(1)</script>' },
    dataset: { description: 'synthetic discs', count: 32 }, backend: 'wasm', device: 'wasm (test)', time: '2026-01-01T00:00:00Z',
    command: 'train --epochs 3', resumes: [{ backend: 'cpu', device: 'cpu (pure JavaScript)', time: '2026-01-02T00:00:00Z' }],
  });
});

test('training redraws plot.png after each epoch and records diversity and, every --eval-every epochs and at the end, the figures', async () => {
  const plot = await sharp(runFiles(runDir).plot).metadata();
  assert.deepEqual([plot.format, plot.width, plot.height], ['png', 960, 640]);
  const epochs = await readJsonl<EpochRecord>(path.join(runDir, 'metrics.jsonl'));
  assert.deepEqual(epochs.map((e) => e.epoch), [1, 2, 3]);
  assert.deepEqual(epochs.map((e) => Boolean(e.eval)), [false, true, true]); // epoch 2 (every 2) and 3 (the last)
  for (const e of epochs) assert.ok(typeof e.diversity === 'number' && e.diversity > 0, `diversity ${e.diversity}`);
  const f = epochs[1].eval!;
  assert.deepEqual(Object.keys(f.swd_x1e3).sort(), ['16', 'avg']);
  assert.ok(f.swd_x1e3.avg > 0 && f.nn_generated > 0 && f.nn_real > 0);
  assert.equal(f.n, 16);
  assert.ok(lines.some((l) => /SWD ×10³ \(16 generated vs 16 real images\): 16px \d/.test(l)), lines.join('\n'));
});

test('report.html is one file whose images are inlined PNGs that decode', async () => {
  const file = await writeReport(runDir);
  assert.equal(file, runFiles(runDir).report);
  assert.ok(existsSync(file));
  const html = await readFile(file, 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  const sources = [...html.matchAll(/<img [^>]*src="([^"]+)"/g)].map((m) => m[1]);
  // latest grid, loss plot, SWD plot, three timeline grids
  assert.equal(sources.length, 6);
  for (const src of sources) {
    const m = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(src);
    assert.ok(m, `not an inline PNG: ${src.slice(0, 40)}`);
    const meta = await sharp(Buffer.from(m[1], 'base64')).metadata();
    assert.equal(meta.format, 'png');
  }
  assert.ok(!/(src|href)="(?!data:)/.test(html), 'nothing is fetched from elsewhere');
  for (const text of ['Training curves', 'Quality', 'Timeline', 'Configuration', 'synthetic discs', 'wasm (test)', 'Resumes', 'cpu (pure JavaScript)', 'SWD ×10³', 'epoch 3']) {
    assert.ok(html.includes(text), `missing ${text}`);
  }
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;') && !html.includes('<script>alert'), 'config values are escaped');
});

test('the timeline shows every epoch up to 30, else 30 evenly spaced ones with the first and last', () => {
  assert.deepEqual(timelineEpochs([1, 2, 3]), [1, 2, 3]);
  const many = timelineEpochs(Array.from({ length: 200 }, (_, i) => i + 1));
  assert.equal(many.length, 30);
  assert.equal(many[0], 1);
  assert.equal(many.at(-1), 200);
  const gaps = many.slice(1).map((e, i) => e - many[i]);
  assert.ok(Math.max(...gaps) - Math.min(...gaps) <= 1, `gaps ${gaps}`);
});

test('the latest figures are those of the highest step, from training or dcgan eval', () => {
  const figures = (avg: number) => ({ n: 8, seed: 0, swd_x1e3: { '16': avg, avg }, nn_generated: 0.2, nn_real: 0.1, nn_queries: 2, nn_reference: 8, seconds: 1 });
  const evals: EvalEntry[] = [
    { epoch: 4, step: 40, source: 'training', figures: figures(4) },
    { epoch: 5, step: 50, time: '2026-01-01T00:00:00Z', source: 'dcgan eval', figures: figures(5) },
    { epoch: 5, step: 50, time: '2026-01-02T00:00:00Z', source: 'dcgan eval', figures: figures(6) },
    { epoch: 2, step: 20, source: 'training', figures: figures(2) },
  ];
  assert.equal(latestEval(evals)?.figures.swd_x1e3.avg, 6);
  const html = renderReport({ runDir: 'r', config: {} as RunConfig, epochs: [], evals: [], grids: [], generatedAt: 'now' });
  assert.match(html, /No quality figures yet: train with <code>--eval-every K<\/code>/);
});

test('a conditional run’s report shows the class agreement', () => {
  const figures = { n: 10, seed: 0, swd_x1e3: { 16: 1, avg: 1 }, nn_generated: 0.2, nn_real: 0.2, nn_queries: 2, nn_reference: 8, class_agreement: 0.375, seconds: 1 };
  const html = renderReport({ runDir: 'r', config: {} as RunConfig, epochs: [], evals: [{ epoch: 1, step: 5, source: 'dcgan eval', figures }], grids: [], generatedAt: 'now' });
  assert.match(html, /Class agreement: D's class head names the class G was asked for in <b>37\.5%<\/b>/);
});
