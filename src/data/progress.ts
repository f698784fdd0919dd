// Renders download events for people: a cli-progress bar on a terminal, a line every 10 % in logs and pipes.
import cliProgress from 'cli-progress';
import type { DownloadEvent, OnDownload } from './download.js';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

interface Stream {
  write(s: string): unknown;
  isTTY?: boolean;
}

/**
 * A download progress callback that writes to `stream` (stderr by default). `now` is injectable for tests.
 * Bytes, speed and ETA are measured over this attempt only, so a resumed download does not look impossibly fast.
 */
export function downloadReporter(stream: Stream = process.stderr, now: () => number = Date.now): OnDownload {
  let bar: cliProgress.SingleBar | undefined;
  let t0 = 0;
  let running = false;
  let attemptStart = -1;
  let lastDecile = -1;
  let lastPlainBytes = 0;
  const speedOf = (e: DownloadEvent) => {
    const secs = (now() - t0) / 1000;
    return secs > 0 ? (e.bytes - e.startBytes) / secs : 0;
  };
  const stats = (e: DownloadEvent) => {
    const speed = speedOf(e);
    const eta = e.total !== undefined && speed > 0 ? (e.total - e.bytes) / speed : NaN;
    return { speed: `${formatBytes(Math.round(speed))}/s`, remaining: formatSeconds(eta) };
  };

  return (e) => {
    if (e.state === 'downloading') {
      if (!running || e.startBytes !== attemptStart) {
        // a new attempt: restart the clock (and say where a resume picked up)
        const first = !running;
        running = true;
        t0 = now();
        attemptStart = e.startBytes;
        lastDecile = -1;
        lastPlainBytes = e.bytes;
        const size = e.total !== undefined ? ` (${formatBytes(e.total)})` : '';
        const from = e.startBytes > 0 ? `, resuming at ${formatBytes(e.startBytes)}` : '';
        if (stream.isTTY) {
          if (!bar) {
            bar = new cliProgress.SingleBar(
              {
                stream: stream as NodeJS.WritableStream,
                format: '{file} [{bar}] {percentage}% | {got}/{size} | {speed} | ETA {remaining}',
                barsize: 30,
                // a hidden cursor would stay hidden if the user interrupts the download
                hideCursor: false,
                clearOnComplete: false,
              },
              cliProgress.Presets.shades_classic,
            );
            bar.start(e.total ?? 0, e.bytes, { file: e.file, got: formatBytes(e.bytes), size: e.total ? formatBytes(e.total) : '?', speed: '', remaining: '?' });
          }
        } else if (first || from) {
          stream.write(`downloading ${e.file} from ${e.url}${size}${from}\n`);
        }
      }
      if (bar) {
        const s = stats(e);
        if (e.total !== undefined) bar.setTotal(e.total);
        bar.update(e.bytes, { got: formatBytes(e.bytes), size: e.total ? formatBytes(e.total) : '?', ...s });
      } else if (e.total) {
        const decile = Math.floor((e.bytes / e.total) * 10);
        if (decile > lastDecile) {
          if (lastDecile >= 0 && decile > 0) {
            const s = stats(e);
            stream.write(`${e.file}: ${decile * 10}% of ${formatBytes(e.total)}, ${s.speed}, ETA ${s.remaining}\n`);
          }
          lastDecile = decile;
        }
      } else if (e.bytes - lastPlainBytes >= 10 * 1024 * 1024) {
        lastPlainBytes = e.bytes;
        stream.write(`${e.file}: ${formatBytes(e.bytes)}, ${stats(e).speed}\n`);
      }
      return;
    }
    if (e.state === 'retrying') {
      bar?.stop();
      bar = undefined;
      running = false;
      stream.write(`${e.file}: ${e.message}\n`);
      return;
    }
    if (e.state === 'verifying') {
      bar?.stop();
      bar = undefined;
      return;
    }
    bar?.stop();
    bar = undefined;
    if (e.state === 'done') {
      if (!stream.isTTY) stream.write(`${e.file}: downloaded and verified (${formatBytes(e.bytes)})\n`);
    }
    running = false;
  };
}
