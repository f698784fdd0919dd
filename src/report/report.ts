// `dcgan report`: gathers a run folder (config, metrics, steps, grids, evaluations) into report.html beside them.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { svgToPng } from '../image/plot.js';
import { readState } from '../run/checkpoint.js';
import { readJsonl } from '../run/files.js';
import { runFiles } from '../run/layout.js';
import type { EpochRecord, EvalRecord, StepRecord } from '../run/records.js';
import { listSampleGrids, readConfig } from '../run/runs.js';
import { writeFileAtomic } from '../util/fs.js';
import { renderReport, type EvalEntry, type ReportInput } from './html.js';
import { lossPlotPng, swdPlotSvg } from './plots.js';

/** Quality figures from both places they are written: epoch lines (--eval-every) and eval.jsonl (dcgan eval). */
function evalEntries(epochs: EpochRecord[], evals: EvalRecord[]): EvalEntry[] {
  const fromTraining: EvalEntry[] = epochs
    .filter((e) => e.eval)
    .map((e) => ({ epoch: e.epoch, step: e.step, time: e.time, source: 'training', figures: e.eval! }));
  const fromCommand: EvalEntry[] = evals.map(({ epoch, step, time, ...figures }) => ({ epoch, step, time, source: 'dcgan eval', figures }));
  return [...fromTraining, ...fromCommand];
}

export async function collectReport(runDir: string): Promise<ReportInput> {
  const files = runFiles(runDir);
  const config = await readConfig(runDir);
  const epochs = await readJsonl<EpochRecord>(files.metrics);
  const steps = await readJsonl<StepRecord>(files.steps);
  const evals = evalEntries(epochs, await readJsonl<EvalRecord>(files.evals));
  // the SWD curve compares like with like: the training-time figures (one n), else those of dcgan eval
  const training = evals.filter((e) => e.source === 'training');
  const curve = training.length ? training : evals;
  const grids = await Promise.all((await listSampleGrids(runDir)).map(async ({ epoch, file }) => ({ epoch, png: await readFile(file) })));
  let state: ReportInput['state'];
  if (existsSync(files.state)) {
    const s = await readState(runDir);
    state = { epoch: s.epoch, step: s.step };
  }
  return {
    runDir,
    config,
    epochs,
    state,
    lossPlot: steps.length ? await lossPlotPng(steps) : undefined,
    swdPlot: curve.length ? await svgToPng(swdPlotSvg(curve.map((e) => ({ epoch: e.epoch, swd_x1e3: e.figures.swd_x1e3 })))) : undefined,
    evals,
    grids,
    generatedAt: new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'),
  };
}

/** Writes report.html into the run folder and returns its path. */
export async function writeReport(runDir: string): Promise<string> {
  const html = renderReport(await collectReport(runDir));
  const file = runFiles(runDir).report;
  await writeFileAtomic(file, html);
  return file;
}
