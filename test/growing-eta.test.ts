// A growing run's ETA (src/train/grow.ts GrowingEta): the steps each phase trains, a model's multiply-adds and the
// seconds left, all worked by hand. The schedule: 8×8 images (phases 0, 1, 2), 12 images a phase (--fade-kimg 0.012).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { GrowingEta, multiplyAdds, stepsByPhase } from '../src/train/grow.js';
import { tf, useTestBackend } from './helpers.js';

before(useTestBackend);

const schedule = (batchSize: number) => ({ networks: { shape: { imageSize: 8 } } as never, fadeKimg: 0.012, batchSize });

test('steps by phase: step k is in the phase of k × batch images seen, the last phase without end', () => {
  // batch 4: images 0, 4, 8 → phase 0; 12, 16, 20 → phase 1; 24 … → phase 2
  assert.deepEqual([...stepsByPhase(schedule(4), 0, 10)], [[0, 3], [1, 3], [2, 4]]);
  assert.deepEqual([...stepsByPhase(schedule(4), 4, 7)], [[1, 2], [2, 1]]);
  assert.deepEqual([...stepsByPhase(schedule(4), 7, 7)], []);
  // batch 5: images 0, 5, 10 → phase 0; 15, 20 → phase 1; 25 … → phase 2
  assert.deepEqual([...stepsByPhase(schedule(5), 0, 8)], [[0, 3], [1, 2], [2, 3]]);
  assert.deepEqual([...stepsByPhase(schedule(5), 2, 4)], [[0, 1], [1, 1]]);
});

test("multiply-adds: a convolution's kernel at each output position, a dense layer's kernel once; biases and the rest not", () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [5, 5, 2], filters: 4, kernelSize: 3, padding: 'same' }), // 25 × 3·3·2·4 = 1800
      tf.layers.conv2d({ filters: 1, kernelSize: 2, strides: 2 }), //                               2·2 × 2·2·4·1 = 64
      tf.layers.flatten(),
      tf.layers.dense({ units: 3 }), //                                                              4 × 3 = 12
      tf.layers.leakyReLU(),
    ],
  });
  assert.equal(multiplyAdds(model), 1800 + 64 + 12);
  model.dispose();
});

test('seconds left: each phase measured at its own mean, the others on the line through the cheapest and dearest measured', () => {
  const cost = [10, 50, 90];
  const eta = new GrowingEta(schedule(4), (phase) => cost[phase.index]);
  assert.equal(eta.secondsLeft(0, 10), 0); // nothing measured yet
  eta.record({ index: 0, resolution: 4, fading: false, alpha: 1 }, 1);
  eta.record({ index: 0, resolution: 4, fading: false, alpha: 1 }, 3);
  // one phase measured (2 s a step): every step at that
  assert.equal(eta.secondsLeft(2, 10), 8 * 2);
  eta.record({ index: 1, resolution: 8, fading: true, alpha: 0 }, 6);
  // the line through (10, 2 s) and (50, 6 s): 1 s + 0.1 s per unit; phase 2: 1 + 0.1 · 90 = 10 s
  // steps 2 (phase 0: 2 s), 3–5 (phase 1: 6 s each), 6–9 (phase 2: 10 s each)
  assert.equal(eta.secondsLeft(2, 10), 2 + 3 * 6 + 4 * 10);
  assert.equal(eta.secondsLeft(6, 8), 2 * 10);
});
