import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeBackendFailure } from '../src/backend/index.js';

test('a wasm abort (its heap could not grow) becomes one line with half the batch size', async () => {
  const abort = new Error('Aborted(). Build with -sASSERTIONS for more info.');
  const message = await describeBackendFailure(abort, 'wasm', 256);
  assert.match(message ?? '', /^the wasm backend aborted at batch size 256, most likely out of memory .*try --batch-size 128$/);
  assert.equal(message!.includes('\n'), false);
});

test('other errors are left alone', async () => {
  assert.equal(await describeBackendFailure(new Error('the dataset has 3 images'), 'wasm', 256), null);
  assert.equal(await describeBackendFailure(new Error('Aborted()'), 'cpu', 256), null);
});
