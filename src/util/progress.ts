// Progress on stderr: a cli-progress bar on a terminal, a plain line every tenth of the way (or minute) otherwise, so
// logs of non-interactive runs stay readable.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  /** what is counted, e.g. "epoch 3/20" */
  label: string;
  /** extra fields shown after the counts, in this order */
  fields?: string[];
  stream?: NodeJS.WriteStream;
}

export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  const fields = o.fields ?? [];
  const tail = fields.map((f) => `{${f}}`).join(' | ');
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${o.label} |{bar}| {value}/{total} | ETA {eta_formatted}${tail ? ' | ' + tail : ''}`,
        barsize: 24,
        hideCursor: true,
        etaBuffer: 20,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(o.total, 0, Object.fromEntries(fields.map((f) => [f, ''])));
    return {
      update: (done, values) => bar.update(done, values),
      stop: () => bar.stop(),
    };
  }
  const started = Date.now();
  let lastLine = 0;
  let lastTenth = -1;
  let lastDone = 0;
  const line = (done: number, values?: Record<string, string | number>) => {
    const pct = o.total ? Math.floor((100 * done) / o.total) : 100;
    const extra = values ? fields.map((f) => values[f]).filter((v) => v !== undefined && v !== '').join(' | ') : '';
    stream.write(`${o.label} ${done}/${o.total} (${pct}%)${extra ? ' | ' + extra : ''} | ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    lastLine = Date.now();
  };
  let lastValues: Record<string, string | number> | undefined;
  return {
    update(done, values) {
      lastDone = done;
      lastValues = values ?? lastValues;
      const tenth = o.total ? Math.floor((10 * done) / o.total) : 10;
      if (tenth > lastTenth || Date.now() - lastLine > 60_000) {
        lastTenth = tenth;
        line(done, lastValues);
      }
    },
    stop() {
      if (lastTenth < 10) line(lastDone, lastValues);
    },
  };
}
