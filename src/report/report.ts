// `dcgan report`: gathers a run folder (config, metrics, steps, grids, evaluations) into report.html beside them.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { svgToPng } from '../image/plot.js';
import type { EvalRecord } from '../metrics/command.js';
import { listSampleGrids, readState } from '../train/checkpoint.js';
import { readJson, runFiles } from '../train/run-folder.js';
import { writeFileAtomic } from '../util/fs.js';
import { readJsonl, reportFiles } from './files.js';
import { renderReport, type EpochRecord, type EvalEntry, type ReportInput, type RunConfig } from './html.js';
import { lossPlotPng, swdPlotSvg, type StepRecord } from './plots.js';

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
  if (!existsSync(files.config)) throw new Error(`${runDir} is not a run folder (no config.json)`);
  const config = await readJson<RunConfig>(files.config);
  const epochs = await readJsonl<EpochRecord>(files.metrics);
  const steps = await readJsonl<StepRecord>(files.steps);
  const evals = evalEntries(epochs, await readJsonl<EvalRecord>(reportFiles(runDir).evals));
  // the SWD curve compares like with like: the training-time figures (one n), else those of dcgan eval
  const training = evals.filter((e) => e.source === 'training');
  const curve = training.length ? training : evals;
  const grids = await Promise.all(
    (await listSampleGrids(runDir)).map(async (file) => ({ epoch: Number(/(\d+)\.png$/.exec(file)![1]), png: await readFile(file) })),
  );
  grids.sort((a, b) => a.epoch - b.epoch);
  let state: ReportInput['state'];
  if (existsSync(path.join(runDir, 'state.json'))) {
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
  const file = reportFiles(runDir).report;
  await writeFileAtomic(file, html);
  return file;
}
