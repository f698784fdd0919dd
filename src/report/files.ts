// The run folder's files that this part adds — plot.png, report.html, eval.jsonl — and a tolerant JSONL reader.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const reportFiles = (runDir: string) => ({
  /** losses and D outputs per step, redrawn after every epoch */
  plot: path.join(runDir, 'plot.png'),
  report: path.join(runDir, 'report.html'),
  /** one line per `dcgan eval` */
  evals: path.join(runDir, 'eval.jsonl'),
});

/** The records of a JSONL file ([] when it does not exist); a half-written last line (a crash mid-append) is skipped. */
export async function readJsonl<T>(file: string): Promise<T[]> {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // skipped: see above
    }
  }
  return out;
}
