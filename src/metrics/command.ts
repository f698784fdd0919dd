// `dcgan eval`: a run's generator against the run's own data (reloaded with the run's preprocessing from config.json);
// prints the figures and appends them to eval.jsonl in the run folder.
import { loadImageSet } from '../data/index.js';
import { datasetOptionsFrom } from '../data/options.js';
import { readState } from '../run/checkpoint.js';
import { appendJsonl } from '../run/files.js';
import { runFiles } from '../run/layout.js';
import type { EvalRecord } from '../run/records.js';
import { generatorDir, loadDiscriminator, loadGenerator, readBest, readConfig, type GeneratorChoice } from '../run/runs.js';
import { createProgress } from '../util/progress.js';
import { evaluateGenerator } from './evaluate.js';

export interface EvalCommandOptions {
  run: string;
  n: number;
  seed: number;
  /** --raw, --best: which of the run's generators (default: the average of G's weights where the run keeps one) */
  generator?: GeneratorChoice;
}

export async function evalCommand(o: EvalCommandOptions, log: (line: string) => void): Promise<EvalRecord> {
  const G = await loadGenerator(o.run, o.generator);
  try {
    const { options } = await readConfig(o.run);
    // the point of training the figures describe: the latest checkpoint's, or the best epoch's (--best)
    const state = o.generator?.best ? await readBest(o.run) : await readState(o.run); // read (and checked) before the data is decoded
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
    const D = G.classes ? await loadDiscriminator(o.run) : undefined;
    const figures = await evaluateGenerator(G, data, { n: o.n, seed: o.seed }, D).finally(() => D?.model.dispose());
    const record: EvalRecord = { epoch: state.epoch, step: state.step, time: new Date().toISOString(), generator: generatorDir(o.run, o.generator).what, ...figures };
    await appendJsonl(runFiles(o.run).evals, record);
    return record;
  } finally {
    G.model.dispose();
  }
}
