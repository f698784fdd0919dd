// The progress bar on a terminal: lines printed while it is shown stay whole above it; notes; ETAs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProgress, formatDuration, printLine } from '../src/util/progress.js';

/** A terminal of one column of lines that understands what the bar writes: \r, \n, and ESC[K (clear to the end). */
function fakeTerminal(columns = 100) {
  const lines: string[] = [''];
  let col = 0;
  const stream = {
    isTTY: true,
    columns,
    write(chunk: string) {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i];
        const row = lines.length - 1;
        if (c === '\r') col = 0;
        else if (c === '\n') {
          lines.push('');
          col = 0;
        } else if (chunk.startsWith('\x1b[K', i)) {
          lines[row] = lines[row].slice(0, col);
          i += 2;
        } else {
          lines[row] = lines[row].slice(0, col) + c + lines[row].slice(col + 1);
          col++;
        }
      }
      return true;
    },
  };
  return { stream: stream as unknown as NodeJS.WriteStream, screen: () => lines.filter((l, i) => l || i < lines.length - 1) };
}

test('a line printed while the bar is shown stays whole, and the bar is drawn again under it', () => {
  const t = fakeTerminal();
  const bar = createProgress({ total: 10, label: 'epoch 1/3', fields: ['eta', 'losses'], stream: t.stream });
  bar.update(4, { eta: 'ETA 12s, run 1:02', losses: 'D 0.512 G 11.356' });
  printLine('SIGINT: stopping after this step', t.stream);
  bar.update(5, { eta: 'ETA 10s, run 1:00', losses: 'D 0.500 G 11.356' });
  bar.stop();
  printLine('resume with: dcgan train --out x --resume --epochs 209', t.stream);
  const screen = t.screen();
  assert.equal(screen[0], 'SIGINT: stopping after this step');
  assert.match(screen[1], /^epoch 1\/3 \|█+░+\| 5\/10 \| ETA 10s, run 1:00 \| D 0\.500 G 11\.356$/);
  // the last line is exactly what was printed: no remains of the bar after it
  assert.equal(screen[2], 'resume with: dcgan train --out x --resume --epochs 209');
  assert.equal(screen.length, 3);
});

test('a bar wider than the terminal is cut, so that redrawing in place still works', () => {
  const t = fakeTerminal(40);
  const bar = createProgress({ total: 10, label: 'epoch 1/3', fields: ['losses'], stream: t.stream });
  bar.update(10, { losses: 'D 0.512 G 11.356 and a lot more text' });
  bar.stop();
  assert.ok(t.screen().every((l) => l.length <= 39), JSON.stringify(t.screen()));
});

test('a resumed epoch starts its bar where it stopped; a note says what happens between counts', () => {
  const t = fakeTerminal();
  const bar = createProgress({ total: 20, start: 12, label: 'epoch 2/3', stream: t.stream });
  assert.match(t.screen()[0], /12\/20/);
  bar.note('evaluating…');
  assert.match(t.screen()[0], /12\/20 \| evaluating…$/);
  bar.stop();
});

test('without a terminal: a line every tenth, with the fields and the note', () => {
  const written: string[] = [];
  const stream = { isTTY: false, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  const bar = createProgress({ total: 20, label: 'epoch 1/1', fields: ['eta'], stream });
  for (let i = 1; i <= 20; i++) bar.update(i, { eta: `ETA ${20 - i}s` });
  bar.note('evaluating…');
  bar.stop();
  assert.equal(written.filter((l) => /^epoch 1\/1 \d+\/20/.test(l)).length, 12); // 1, 2, 4, …, 20, then the note
  assert.match(written[0], /^epoch 1\/1 1\/20 \(5%\) \| ETA 19s \| /);
  assert.match(written.at(-1)!, /20\/20 \(100%\) \| ETA 0s \| evaluating… \|/);
});

test('durations read as people write them', () => {
  assert.equal(formatDuration(42.4), '42s');
  assert.equal(formatDuration(187), '3:07');
  assert.equal(formatDuration(9 * 3600 + 5 * 60 + 9), '9:05:09');
  assert.equal(formatDuration(NaN), '?');
});
