// Sorting is most of the cost of SWD: 512 directions × two sets × (images × 128) projections per level. The rows are
// independent, so they are sorted on worker threads, one share of the rows each, in shared memory.
import os from 'node:os';
import { Worker } from 'node:worker_threads';

// Plain JavaScript, evaluated as the worker's whole program: no module to resolve, the same under tsx and from dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ buffer, rowLength, from, to }) => {
  const values = new Float32Array(buffer);
  for (let r = from; r < to; r++) values.subarray(r * rowLength, (r + 1) * rowLength).sort();
  parentPort.postMessage(null);
});
`;

// Below this many values a thread costs more than it saves.
const PARALLEL_MIN = 1 << 20;

export class RowSorter {
  private workers: Worker[] = [];

  // the calling thread only waits meanwhile, so every core can sort
  constructor(private readonly threads = Math.min(8, os.availableParallelism())) {}

  /** Sorts each row of `values` (rows of `rowLength`, ascending) in place. */
  async sortRows(values: Float32Array, rowLength: number): Promise<void> {
    const rows = values.length / rowLength;
    if (this.threads < 2 || values.length < PARALLEL_MIN || rows < 2) {
      for (let r = 0; r < rows; r++) values.subarray(r * rowLength, (r + 1) * rowLength).sort();
      return;
    }
    const shared = new Float32Array(new SharedArrayBuffer(values.byteLength));
    shared.set(values);
    while (this.workers.length < this.threads) this.workers.push(new Worker(WORKER_SOURCE, { eval: true }));
    const share = Math.ceil(rows / this.threads);
    await Promise.all(this.workers.map((w, i) => new Promise<void>((resolve, reject) => {
      const from = i * share, to = Math.min(rows, from + share);
      if (from >= to) return resolve();
      const done = () => {
        w.off('error', failed);
        resolve();
      };
      const failed = (err: Error) => {
        w.off('message', done);
        reject(err);
      };
      w.once('message', done);
      w.once('error', failed);
      w.postMessage({ buffer: shared.buffer, rowLength, from, to });
    })));
    values.set(shared);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
