// The command line's view of a training run: a progress bar per epoch (the epoch's and the whole run's time left, the
// speed, the latest losses) and a line per epoch. One listener of the loop's events (train.ts); an API caller brings
// its own.
import { formatEval } from '../metrics/evaluate.js';
import { createProgress, formatDuration, type Progress } from '../util/progress.js';
import type { TrainListener } from './train.js';

const fmt = (x: number | null) => (x !== null && Number.isFinite(x) ? x.toFixed(3) : String(x));

/** `bars: false` prints the epoch lines only (tests, and callers that draw their own progress). */
export function progressDisplay(log: (line: string) => void, o: { bars?: boolean } = {}): TrainListener {
  let bar: Progress | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    epochStart: (e) => {
      if (o.bars === false) return;
      bar = createProgress({ total: e.batches, start: e.batch, label: `epoch ${e.epoch}/${e.epochs}`, fields: ['eta', 'speed', 'losses'] });
    },
    step: (e) => {
      const eta = `ETA ${formatDuration(e.epochSecondsLeft)}` + (e.runSecondsLeft > e.epochSecondsLeft ? `, run ${formatDuration(e.runSecondsLeft)}` : '');
      bar?.update(e.batch, {
        eta, speed: `${e.imagesPerSecond.toFixed(1)} img/s`, losses: e.losses ? `D ${fmt(e.losses.D)} G ${fmt(e.losses.G)}` : '',
      });
    },
    note: (text) => bar?.note(text),
    epochEnd: ({ record, grid, best, epochs, warnings }) => {
      stop();
      log(
        `epoch ${record.epoch}/${epochs}${record.phase ? ` (${record.phase})` : ''}: loss_D ${fmt(record.loss_D)}, loss_G ${fmt(record.loss_G)}, ` +
          `D(x) ${fmt(record.D_x)}, D(G(z)) ${fmt(record.D_G_z)}, ${(record.images_per_s ?? NaN).toFixed(1)} img/s, ` +
          `${(record.seconds ?? NaN).toFixed(1)} s → ${grid}`,
      );
      if (record.eval) for (const line of formatEval(record.eval)) log(`  ${line}`);
      if (best) log(`  best so far by ${best.figure === 'swd' ? 'SWD' : 'loss_G'} (${best.value.toFixed(3)}): kept in ${best.folder}`);
      for (const w of warnings) log(`warning: ${w}`);
    },
    end: stop,
  };
}
