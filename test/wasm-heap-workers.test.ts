// HeapWorkers: a plain-JavaScript job over shares of a range, on worker threads that share a WebAssembly memory.
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

test('every index of the range is done exactly once, in contiguous shares, one per thread', () => {
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
    pool.run(heap, 0, [0, 1000], 10); // shares of ceil(10 / 3) = 4: [0, 4), [4, 8), [8, 10)
    assert.deepEqual(Array.from(heap.subarray(0, 10)), [1, 1, 1, 1, 4001, 4001, 4001, 4001, 8001, 8001]);
  } finally {
    pool.close();
  }
});

test('a job that throws on a worker makes run() throw, and the next run works', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
  const pool = new HeapWorkers(memory, 2, [markShare, failOnSecondShare]);
  try {
    const heap = new Float32Array(memory.buffer);
    assert.throws(() => pool.run(heap, 1, [], 10), /a heap worker failed/);
    heap.fill(0);
    pool.run(heap, 0, [0, 0], 6);
    assert.deepEqual(Array.from(heap.subarray(0, 7)), [1, 1, 1, 1, 1, 1, 0]);
  } finally {
    pool.close();
  }
});
