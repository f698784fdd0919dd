import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { chartSvg, ema, niceTicks, svgToPng } from '../src/image/plot.js';
import { lossPlotSvg, smoothingSpan, swdPlotSvg } from '../src/report/plots.js';
import type { StepRecord } from '../src/run/records.js';

test('niceTicks steps by 1, 2 or 5 × 10^k and covers the range', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(1, 380, 8), [50, 100, 150, 200, 250, 300, 350]);
  assert.deepEqual(niceTicks(-3, 7, 5), [-2, 0, 2, 4, 6]);
  assert.deepEqual(niceTicks(2, 2), [2]);
});

test('ema: debiased (starts at the first value), follows a constant exactly, passes over gaps', () => {
  assert.deepEqual(Array.from(ema([5, 5, 5], 9)), [5, 5, 5]);
  const s = ema([0, 10, null, 10], 3); // weight 0.5
  assert.equal(s[0], 0);
  assert.ok(Math.abs(s[1] - 10 * 0.5 / 0.75) < 1e-12);
  assert.equal(s[2], s[1]);
  assert.deepEqual(Array.from(ema([1, 2, 3], 1)), [1, 2, 3]);
  assert.equal(smoothingSpan(10), 1);
  assert.equal(smoothingSpan(1000), 20);
});

const steps: StepRecord[] = Array.from({ length: 120 }, (_, i) => ({
  step: i + 1, epoch: Math.floor(i / 30) + 1, loss_D: 0.6 + 0.1 * Math.sin(i), loss_G: i === 50 ? null : 2 + Math.cos(i), D_x: 0.7, D_G_z: 0.3,
}));

test('the loss plot has two panels with titles, axis labels, legends, and renders as PNG', async () => {
  const svg = lossPlotSvg(steps);
  for (const text of ['Losses (EMA over ~2 steps', 'Discriminator outputs', '>loss_D<', '>loss_G<', '>D(x), real<', '>D(G(z)), generated<', '>step (vertical lines: epoch ends)<', '>mean sigmoid output<']) {
    assert.ok(svg.includes(text), `missing ${text}`);
  }
  assert.equal((svg.match(/<clipPath/g) ?? []).length, 2);
  assert.equal((svg.match(/stroke="#d8d8e8"/g) ?? []).length, 2 * 3, 'three epoch ends per panel');
  const png = await svgToPng(svg);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 960, 640]);
  // text is drawn: the title row holds dark pixels (librsvg found a font)
  const { data, info } = await sharp(png).extract({ left: 72, top: 10, width: 300, height: 20 }).greyscale().raw().toBuffer({ resolveWithObject: true });
  const dark = data.filter((v) => v < 100).length;
  assert.ok(dark > 100, `${dark} dark pixels of ${info.width * info.height} in the title`);
});

test('the SWD plot has a point per evaluation and a line per level plus the average', async () => {
  const svg = swdPlotSvg([1, 2, 3].map((epoch) => ({ epoch, swd_x1e3: { '32': 100 / epoch, '16': 50 / epoch, avg: 75 / epoch } })));
  assert.equal((svg.match(/<circle/g) ?? []).length, 9);
  for (const label of ['>32×32<', '>16×16<', '>average<', '>epoch<']) assert.ok(svg.includes(label), label);
  assert.ok(!/>1\.5</.test(svg), 'epochs are whole numbers');
  assert.equal((await sharp(await svgToPng(svg)).metadata()).format, 'png');
});

test('labels are escaped', () => {
  const svg = chartSvg([{ title: 'a < b & c', xLabel: 'x', yLabel: 'y', series: [{ label: '<i>', colour: '#000', xs: [0, 1], ys: [0, 1] }] }]);
  assert.ok(svg.includes('a &lt; b &amp; c') && svg.includes('&lt;i&gt;') && !svg.includes('<i>'));
});
