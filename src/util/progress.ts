// Progress on stderr: a one-line bar redrawn in place on a terminal, a plain line every tenth of the way (or minute)
// otherwise, so that logs of non-interactive runs stay readable. Lines printed while a bar is shown (printLine) go above
// it and the bar is drawn again beneath: nothing the program says is overwritten by the bar.

export interface Progress {
  /** `done` of `total`; `fields` are shown after the counts, in the order ProgressOptions.fields names them */
  update(done: number, fields?: Record<string, string | number>): void;
  /** a word on what happens now that is not counted ("evaluating…"): on the bar, or as a line without a terminal */
  note(text: string): void;
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  /** what is counted, e.g. "epoch 3/20" */
  label: string;
  /** extra fields shown after the counts, in this order */
  fields?: string[];
  /** where the count starts (a resumed epoch): the bar is drawn from there */
  start?: number;
  stream?: NodeJS.WriteStream;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 200;

/** The bar on screen now, if any: printLine draws around it. */
let shown: { stream: NodeJS.WriteStream; clear(): void; redraw(): void } | undefined;

/** Prints a line on stderr (or `stream`) above the bar on screen, if any, and draws the bar again under it. */
export function printLine(line: string, stream: NodeJS.WriteStream = process.stderr): void {
  if (shown && shown.stream === stream) {
    shown.clear();
    stream.write(line + '\n');
    shown.redraw();
  } else {
    stream.write(line + '\n');
  }
}

/** Seconds as 42s, 3:07, 2:05:09. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  const fields = o.fields ?? [];
  const started = Date.now();
  let done = o.start ?? 0;
  let values: Record<string, string | number> = {};
  let noteText = '';
  const extras = () => [...fields.map((f) => values[f]).filter((v) => v !== undefined && v !== ''), noteText].filter(Boolean).join(' | ');

  if (stream.isTTY) {
    let lastDraw = 0;
    let stopped = false;
    const text = () => {
      const filled = o.total ? Math.round((BAR_WIDTH * Math.min(done, o.total)) / o.total) : BAR_WIDTH;
      const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
      const tail = extras();
      const line = `${o.label} |${bar}| ${done}/${o.total}${tail ? ' | ' + tail : ''}`;
      // a line longer than the terminal wraps, and \r then redraws only its last part
      const width = stream.columns ? stream.columns - 1 : Infinity;
      return line.length > width ? line.slice(0, Math.max(0, width - 1)) + '…' : line;
    };
    const draw = () => {
      lastDraw = Date.now();
      stream.write(`\r${text()}\x1b[K`);
    };
    const self = { stream, clear: () => stream.write('\r\x1b[K'), redraw: draw };
    shown = self;
    draw();
    return {
      update(d, v) {
        done = d;
        if (v) values = { ...v };
        if (!stopped && (Date.now() - lastDraw >= REDRAW_MS || d >= o.total)) draw();
      },
      note(t) {
        noteText = t;
        if (!stopped) draw();
      },
      stop() {
        if (stopped) return;
        stopped = true;
        noteText = '';
        draw();
        stream.write('\n');
        if (shown === self) shown = undefined;
      },
    };
  }

  let lastLine = 0;
  let lastTenth = -1;
  let lastPrinted = -1;
  const line = () => {
    lastPrinted = done;
    const pct = o.total ? Math.floor((100 * done) / o.total) : 100;
    const tail = extras();
    stream.write(`${o.label} ${done}/${o.total} (${pct}%)${tail ? ' | ' + tail : ''} | ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    lastLine = Date.now();
  };
  return {
    update(d, v) {
      done = d;
      if (v) values = { ...v };
      const tenth = o.total ? Math.floor((10 * done) / o.total) : 10;
      if (tenth > lastTenth || Date.now() - lastLine > 60_000) {
        lastTenth = tenth;
        line();
      }
    },
    note(t) {
      noteText = t;
      line();
    },
    stop() {
      noteText = '';
      if (lastTenth < 10 && lastPrinted !== done) line();
      lastTenth = 10;
    },
  };
}
