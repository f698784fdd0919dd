// HeapWorkers: a plain-JavaScript job over pieces of a range, on worker threads that share a WebAssembly memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeapWorkers, type HeapJob } from '../src/backend/wasm-heap-workers.js';

// Jobs name nothing outside themselves: their source text is what the workers run.
const markShare: HeapJob = (heap, args, from, to) => {
  for (let i = from; i < to; i++) heap[args[0] + i] += 1 + args[1] * from;
};
const failOnSecondShare: HeapJob = (heap, args, from) => {
  if (from > 0) throw new Error('a job that fails');
};
/** Marks each index with 1 on the main thread, 2 on a worker (the workers' source defines workerData), and spins a while. */
const markThread: HeapJob = (heap, args, from, to) => {
  // @ts-expect-error workerData is a variable of the workers' source only
  const onWorker = typeof workerData !== 'undefined';
  for (let i = from; i < to; i++) heap[args[0] + i] += onWorker ? 2 : 1;
  for (const start = performance.now(); performance.now() - start < args[1];);
};

test('every index of the range is done exactly once, in pieces of ceil(count / (8 · threads))', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
  const pool = new HeapWorkers(memory, 3, [markShare, failOnSecondShare]);
  try {
    const heap = new Float32Array(memory.buffer);
    for (const count of [10, 2, 0]) {
      heap.fill(0);
      pool.run(heap, 0, [16, 0], count); // from offset 16 on, so a write before it would show
      assert.deepEqual(Array.from(heap.subarray(0, 16 + count + 4)), [...new Array(16).fill(0), ...new Array(count).fill(1), 0, 0, 0, 0]);
    }
    heap.fill(0);
    pool.run(heap, 0, [0, 1000], 60); // pieces of ceil(60 / 24) = 3
    assert.deepEqual(Array.from(heap.subarray(0, 61)), [...Array.from({ length: 60 }, (_, i) => 1 + 1000 * (i - (i % 3))), 0]);
  } finally {
    pool.close();
  }
});

test('a job that throws, on whichever thread, makes run() throw, and the next run works', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
  const pool = new HeapWorkers(memory, 2, [markShare, failOnSecondShare]);
  try {
    const heap = new Float32Array(memory.buffer);
    assert.throws(() => pool.run(heap, 1, [], 10), /a job that fails|a heap worker failed/);
    heap.fill(0);
    pool.run(heap, 0, [0, 0], 6);
    assert.deepEqual(Array.from(heap.subarray(0, 7)), [1, 1, 1, 1, 1, 1, 0]);
  } finally {
    pool.close();
  }
});

test('workers take pieces; thousands of short runs (offers taken or withdrawn as timing falls) each do every index once', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
  const pool = new HeapWorkers(memory, 2, [markThread]);
  try {
    const heap = new Float32Array(memory.buffer);
    let byWorkers = 0;
    for (let run = 0; run < 3000; run++) {
      const count = 1 + (run % 9);
      heap.fill(0, 0, 16);
      pool.run(heap, 0, [0, run % 3 === 0 ? 0.02 : 0], count);
      const marks = Array.from(heap.subarray(0, 16));
      assert.ok(marks.slice(0, count).every((m) => m === 1 || m === 2), `run ${run}: ${marks}`);
      assert.ok(marks.slice(count).every((m) => m === 0), `run ${run}: ${marks}`);
      byWorkers += marks.filter((m) => m === 2).length;
    }
    heap.fill(0, 0, 64);
    pool.run(heap, 0, [0, 5], 64); // 5 ms a piece: the worker is surely up for some of them
    const marks = Array.from(heap.subarray(0, 64));
    assert.ok(marks.includes(2) && marks.includes(1), `both threads took pieces: ${marks}`);
    assert.ok(byWorkers > 0, 'the worker took pieces in the short runs too');
  } finally {
    pool.close();
  }
});
