// `dcgan eval`: a run's generator against the run's own data (reloaded with the run's preprocessing from config.json);
// prints the figures and appends them to eval.jsonl in the run folder.
import { existsSync } from 'node:fs';
import { loadImageSet } from '../data/index.js';
import { datasetOptionsFrom } from '../data/options.js';
import { loadGenerator } from '../generate/sample.js';
import { reportFiles } from '../report/files.js';
import { readState } from '../train/checkpoint.js';
import { appendJsonl, readJson, runFiles } from '../train/run-folder.js';
import { createProgress } from '../util/progress.js';
import { evaluateGenerator, type EvalFigures } from './evaluate.js';

export interface EvalCommandOptions {
  run: string;
  n: number;
  seed: number;
}

/** One line of eval.jsonl: the figures and the point of training they describe. */
export interface EvalRecord extends EvalFigures {
  epoch: number;
  step: number;
  time: string;
}

interface RunConfig {
  options: Record<string, unknown>;
}

export async function evalCommand(o: EvalCommandOptions, log: (line: string) => void): Promise<EvalRecord> {
  const configFile = runFiles(o.run).config;
  const G = await loadGenerator(o.run);
  try {
    if (!existsSync(configFile)) throw new Error(`no config.json in ${o.run}: cannot tell which data the run was trained on`);
    const { options } = await readJson<RunConfig>(configFile);
    const limit = options.limit as number | undefined;
    let bar: ReturnType<typeof createProgress> | undefined;
    const data = await loadImageSet({
      ...datasetOptionsFrom(options, Number(options.imageSize), Number(options.channels) as 1 | 3, limit),
      onProgress: (done, total) => {
        bar ??= createProgress({ total, label: 'decoding images' });
        bar.update(done);
      },
    });
    bar?.stop();
    log(`data: ${data.description} (${data.size}×${data.size}×${data.channels})`);
    const state = await readState(o.run);
    const figures = await evaluateGenerator(G, data, { n: o.n, seed: o.seed });
    const record: EvalRecord = { epoch: state.epoch, step: state.step, time: new Date().toISOString(), ...figures };
    await appendJsonl(reportFiles(o.run).evals, record);
    return record;
  } finally {
    G.dispose();
  }
}
