// The ablation behind `dcgan train`'s defaults (docs/image-quality.md): the same number of steps for each
// configuration, then `dcgan eval` on each, a table, and the final grids side by side with their labels.
//   npx tsx scripts/ablation.ts SUITE [--out DIR] [--only NAME,NAME] [--eval-n 2048] [--cli dist/cli.js] [--dry-run]
// Suites: sprites32 (d2l at 32×32, width 32, batch 64, ≥ 3,000 steps), sprites64 (d2l's recipe at 64×64, shorter),
// digits (dcgan28, conditional, mnist-10k, 5 epochs). A configuration whose run already finished is not trained again
// (its eval is); one that was stopped is resumed. Everything a run prints goes to DIR/NAME.log.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

interface Config {
  name: string;
  /** the row's label in the table and under the grid */
  label: string;
  args: string[];
  epochs: number;
}

interface Suite {
  /** flags every configuration shares */
  common: string[];
  configs: Config[];
  /** steps per epoch, for the table: images / batch (a mirrored set has twice the images) */
  evalN: number;
}

// pokesprite: 5,117 sprites → 79 steps an epoch at batch 64, 159 mirrored. 38 × 79 = 3,002 and 19 × 159 = 3,021 steps.
const OLD = ['--crop', 'none', '--no-mirror', '--augment', 'none', '--ema', '0'];
// the defaults this ablation chose for pokesprite (src/run/options.ts), spelled out so that the runs do not depend on them
const NEW = ['--crop', 'content', '--mirror', '--augment', 'translation,cutout', '--augment-fill', 'background', '--ema', '10', '--ema-statistics', 'standing'];
const SUITES: Record<string, Suite> = {
  sprites32: {
    common: ['--dataset', 'pokesprite', '--image-size', '32', '--width', '32', '--batch-size', '64', '--seed', '0', '--eval-every', '0'],
    evalN: 2048,
    configs: [
      { name: 'old', label: 'old default (fill)', args: [...OLD], epochs: 38 },
      { name: 'crop', label: '+ crop', args: ['--crop', 'content', '--no-mirror', '--augment', 'none', '--ema', '0'], epochs: 38 },
      { name: 'crop-mirror', label: '+ crop + mirror', args: ['--crop', 'content', '--mirror', '--augment', 'none', '--ema', '0'], epochs: 19 },
      // zero fill: DiffAugment's own (mid grey in [-1, 1]); background fill: the sprites' white
      { name: 'tc', label: '+ augment translation,cutout (zero fill)', args: ['--crop', 'content', '--mirror', '--augment', 'translation,cutout', '--augment-fill', 'zero', '--ema', '0'], epochs: 19 },
      { name: 'tc-bg', label: '+ augment translation,cutout (white fill)', args: ['--crop', 'content', '--mirror', '--augment', 'translation,cutout', '--augment-fill', 'background', '--ema', '0'], epochs: 19 },
      { name: 'ctc', label: '+ augment color,translation,cutout', args: ['--crop', 'content', '--mirror', '--augment', 'color,translation,cutout', '--augment-fill', 'zero', '--ema', '0'], epochs: 19 },
      // tc-bg with the average: training is the same step for step (the average never feeds back), so its G is tc-bg's
      { name: 'all', label: '+ EMA 10 kimg (white fill)', args: ['--crop', 'content', '--mirror', '--augment', 'translation,cutout', '--augment-fill', 'background', '--ema', '10', '--ema-statistics', 'standing'], epochs: 19 },
    ],
  },
  sprites64: {
    common: ['--dataset', 'pokesprite', '--image-size', '64', '--seed', '0', '--eval-every', '0'],
    evalN: 1024,
    configs: [
      // the same images seen (≈ 10,000; short: the CPU is slow at 64 px): 2 epochs of the 5,117 sprites, 1 of them and their mirror images
      { name: 'd2l-old', label: "d2l's recipe, old defaults", args: [...OLD], epochs: 2 },
      { name: 'd2l-new', label: "d2l's recipe, new defaults", args: NEW, epochs: 1 },
    ],
  },
  digits: {
    common: ['--arch', 'dcgan28', '--conditional', '--dataset', 'mnist-10k', '--seed', '0', '--eval-every', '0'],
    evalN: 2048,
    configs: [
      { name: 'base', label: 'pytorch/examples (no extras)', args: ['--augment', 'none', '--ema', '0'], epochs: 5 },
      { name: 'ema', label: '+ EMA 10 kimg', args: ['--augment', 'none', '--ema', '10', '--ema-statistics', 'average'], epochs: 5 },
      // the digits stand on black: translation fills with it (grey borders would be a feature no digit has)
      { name: 'augment', label: '+ augment translation', args: ['--augment', 'translation', '--augment-fill', 'background', '--ema', '0'], epochs: 5 },
      { name: 'both', label: '+ both', args: ['--augment', 'translation', '--augment-fill', 'background', '--ema', '10'], epochs: 5 },
    ],
  },
};

const argv = process.argv.slice(2);
const flag = (name: string, fallback?: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const suiteName = argv[0];
const suite = SUITES[suiteName];
if (!suite) throw new Error(`usage: scripts/ablation.ts ${Object.keys(SUITES).join('|')} [--out DIR] [--only A,B]`);
const out = path.resolve(flag('out', path.join('ablation', suiteName))!);
const only = flag('only')?.split(',');
const evalN = Number(flag('eval-n', String(suite.evalN)));
const cli = path.resolve(flag('cli', 'dist/cli.js')!);
const extra = flag('extra')?.split(' ') ?? [];
mkdirSync(out, { recursive: true });

const dcgan = (args: string[], log: string) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  writeFileSync(log, `$ dcgan ${args.join(' ')}\n${r.stdout}${r.stderr}`, { flag: 'a' });
  if (r.status !== 0) throw new Error(`dcgan ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').at(-1)}`);
  return r;
};
const readLines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);

interface Row {
  config: Config;
  steps: number;
  seconds: number;
  imagesPerSecond: number;
  swd: Record<string, number>;
  classAgreement?: number;
  nn: number;
  grid: string;
}

const rows: Row[] = [];
for (const config of suite.configs.filter((c) => !only || only.includes(c.name))) {
  const dir = path.join(out, config.name);
  const log = path.join(out, `${config.name}.log`);
  const state = existsSync(path.join(dir, 'state.json')) ? JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) : undefined;
  if (!state || state.epoch < config.epochs) {
    const args = ['train', ...suite.common, ...config.args, ...extra, '--epochs', String(config.epochs), '--out', dir, ...(state ? ['--resume'] : [])];
    console.error(`${config.name}: ${args.join(' ')}`);
    if (!argv.includes('--dry-run')) dcgan(args, log);
  }
  if (argv.includes('--dry-run')) continue;
  const metrics = readLines(path.join(dir, 'metrics.jsonl'));
  const evals = readLines(path.join(dir, 'eval.jsonl'));
  const finalStep = metrics.at(-1).step;
  let record = evals.find((e) => e.step === finalStep && e.n === Math.min(evalN, e.n) && e.seed === 0);
  if (!record) {
    console.error(`${config.name}: dcgan eval --n ${evalN}`);
    record = JSON.parse(dcgan(['eval', '--run', dir, '--n', String(evalN), '--json'], log).stdout.trim().split('\n').at(-1)!);
  }
  const seconds = metrics.reduce((s, m) => s + m.seconds, 0);
  rows.push({
    config, steps: finalStep, seconds, imagesPerSecond: metrics.reduce((s, m) => s + m.images_per_s, 0) / metrics.length,
    swd: record.swd_x1e3, classAgreement: record.class_agreement, nn: record.nn_generated / record.nn_real,
    grid: path.join(dir, 'samples', `epoch-${String(config.epochs).padStart(3, '0')}.png`),
  });
  console.error(`${config.name}: SWD ${JSON.stringify(record.swd_x1e3)}${record.class_agreement !== undefined ? `, class agreement ${record.class_agreement}` : ''}`);
}

if (rows.length) {
  const levels = Object.keys(rows[0].swd).filter((k) => k !== 'avg');
  const conditional = rows.some((r) => r.classAgreement !== undefined);
  const table = [
    `| configuration | steps | ${levels.map((l) => `SWD ${l} px`).join(' | ')} | SWD avg | ${conditional ? 'class agreement | ' : ''}NN ratio | ms/step (run) |`,
    `|---|---|${levels.map(() => '---|').join('')}---|${conditional ? '---|' : ''}---|---|`,
    ...rows.map((r) => `| ${r.config.label} | ${r.steps} | ${levels.map((l) => r.swd[l].toFixed(1)).join(' | ')} | ${r.swd.avg.toFixed(1)} | ` +
      `${conditional ? `${((r.classAgreement ?? NaN) * 100).toFixed(1)} % | ` : ''}${r.nn.toFixed(2)} | ${(1000 * r.seconds / r.steps).toFixed(0)} |`),
  ].join('\n');
  writeFileSync(path.join(out, 'table.md'), table + '\n');
  writeFileSync(path.join(out, 'rows.json'), JSON.stringify(rows, null, 2));
  console.log(table);

  // the final grids in a row, each with its label above it
  const grids = await Promise.all(rows.map(async (r) => ({ row: r, meta: await sharp(r.grid).metadata() })));
  const scale = Number(flag('scale', '2'));
  const labelHeight = 22, gap = 12;
  const cellWidth = Math.max(...grids.map((g) => g.meta.width!)) * scale;
  const height = labelHeight + Math.max(...grids.map((g) => g.meta.height!)) * scale;
  const perRow = Number(flag('per-row', '2'));
  const lines = Math.ceil(grids.length / perRow);
  const width = perRow * cellWidth + (perRow - 1) * gap;
  const total = lines * height + (lines - 1) * gap;
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const composites = await Promise.all(grids.map(async (g, i) => {
    const x = (i % perRow) * (cellWidth + gap), y = Math.floor(i / perRow) * (height + gap);
    const image = await sharp(g.row.grid).resize(g.meta.width! * scale, g.meta.height! * scale, { kernel: 'nearest' }).toBuffer();
    const label = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${cellWidth}" height="${labelHeight}"><text x="2" y="16" font-family="sans-serif" font-size="14" fill="#222">${escape(`${String.fromCharCode(97 + i)}. ${g.row.config.label}`)}</text></svg>`);
    return [{ input: label, left: x, top: y }, { input: image, left: x, top: y + labelHeight }];
  }));
  await sharp({ create: { width, height: total, channels: 3, background: '#ffffff' } }).composite(composites.flat()).png().toFile(path.join(out, 'grids.png'));
  console.error(`wrote ${path.join(out, 'table.md')} and ${path.join(out, 'grids.png')}`);
}
