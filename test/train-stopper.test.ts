import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStopper } from '../src/train/command.js';

function stopper() {
  const lines: string[] = [];
  const exits: number[] = [];
  const s = createStopper({ log: (l) => lines.push(l), exit: (c) => exits.push(c), runDir: 'runs/a' });
  return { s, lines, exits };
}

test('first Ctrl-C asks the trainer to stop after the step; a second quits at once with 130', () => {
  const { s, lines, exits } = stopper();
  s.onSignal('SIGINT');
  assert.equal(s.signal.aborted, true);
  assert.deepEqual(exits, []);
  assert.match(lines[0], /stopping after this step and saving a checkpoint/);
  s.onSignal('SIGINT');
  assert.deepEqual(exits, [130]);
  assert.match(lines[1], /quitting now; runs\/a keeps its last whole checkpoint/);
});

test('a second Ctrl-C while the checkpoint is written says so and waits; a third quits', () => {
  const { s, lines, exits } = stopper();
  s.onSignal('SIGINT');
  s.checkpointing(true);
  s.onSignal('SIGINT');
  assert.deepEqual(exits, []);
  assert.match(lines[1], /the checkpoint is being written.*waiting for it/);
  s.onSignal('SIGINT');
  assert.deepEqual(exits, [130]);
});

test('SIGTERM exits 143', () => {
  const { s, exits } = stopper();
  s.onSignal('SIGTERM');
  assert.equal(s.exitCode(), 143);
  s.onSignal('SIGTERM');
  assert.deepEqual(exits, [143]);
});
