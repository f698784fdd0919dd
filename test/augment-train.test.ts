// DiffAugment in training (--augment): in every step form D sees every batch — real, and generated in D's update and
// in G's — through the augmentation, and G learns through it; a run with it resumes bit for bit and draws the latents
// of a run without it (its own random stream). The operations themselves: test/augment.test.ts.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { backgroundColour } from '../src/data/background.js';
import type { ArchName } from '../src/model/architectures.js';
import { readState } from '../src/run/checkpoint.js';
import { trainStep, type Batch } from '../src/train/step.js';
import { createGan, disposeGan, train, type TrainOptions } from '../src/train/train.js';
import { Rng } from '../src/util/rng.js';
import { maxAbsDiff, syntheticImageSet, tf, tmpDir, useTestBackend } from './helpers.js';

before(useTestBackend);

// each form, with the images D is shown in the order the step shows them: X real, F a fake of Z, F2 a fake of Z2
const FORMS: [ArchName, number, ('X' | 'F' | 'F2' | 'FX')[]][] = [
  ['d2l', 16, ['X', 'F', 'F']], // update_D on x and G(z), update_G on G(z) again
  ['dcgan28', 28, ['X', 'F', 'F']], // pytorch-examples: errD_real, errD_fake, errG
  ['keras28', 28, ['FX', 'F2']], // hands-on: D on [G(z₁); x] at once, then G on z₂
  ['mlp', 8, ['X', 'F', 'F2']], // keras-gan: D on x, D on G(z₁), then G on z₂
];

for (const [arch, size, expected] of FORMS) {
  test(`${arch}: D sees ${expected.join(', ')} through the augmentation, and G's gradient goes through it`, async () => {
    const model = { imageSize: size, width: 4, latent: 6, channels: 1 as const, classes: 0 };
    const gan = createGan({ arch, model, seed: 1, lr: 0.01, beta1: 0.5, beta2: 0.999 });
    const rng = new Rng(7);
    const n = 4;
    const b: Batch = {
      X: tf.tidy(() => tf.tensor4d(rng.normals(n * size * size), [n, size, size, 1]).tanh() as tf.Tensor4D),
      Z: tf.tensor2d(rng.normals(n * 6), [n, 6]),
      Z2: tf.tensor2d(rng.normals(n * 6), [n, 6]),
    };
    // G's images before the step (the Keras forms make D's fake in inference mode, the PyTorch ones in training mode)
    const inference = arch === 'keras28' || arch === 'mlp';
    // (on G's weights as they are: training mode moves batch norm's statistics, which are put back after)
    const statistics = gan.G.nonTrainableWeights.map((w) => w.read().clone());
    const F = tf.tidy(() => gan.G.apply(b.Z, { training: !inference }) as tf.Tensor);
    const F2 = tf.tidy(() => gan.G.apply(b.Z2!, { training: true }) as tf.Tensor);
    gan.G.nonTrainableWeights.forEach((w, i) => w.write(statistics[i]));
    tf.dispose(statistics);
    const images = { X: b.X, F, F2, FX: tf.concat([F, b.X]) };
    // a stand-in augmentation that blanks everything: D then tells nothing apart, and G's gradient through it is zero
    const seen: tf.Tensor[] = [];
    gan.augment = (x) => {
      seen.push(tf.keep(x.clone()));
      return x.mul(0);
    };
    const G0 = gan.G.trainableWeights.map((w) => w.read().dataSync().slice());
    tf.dispose(trainStep(gan, b));
    assert.equal(seen.length, expected.length, `${seen.length} batches went through the augmentation`);
    expected.forEach((which, i) => {
      assert.deepEqual(seen[i].shape, images[which].shape, `call ${i + 1}`);
      assert.ok(maxAbsDiff(seen[i].dataSync(), images[which].dataSync()) < 1e-5, `call ${i + 1} is not ${which}`);
    });
    // G saw only a zero gradient (Adam moves nothing on zeros): its loss went through the augmentation
    gan.G.trainableWeights.forEach((w, i) => assert.ok(maxAbsDiff(w.read().dataSync(), G0[i]) === 0, `${w.originalName} moved`));
    tf.dispose([...seen, F, F2, images.FX, b.X, b.Z, b.Z2!]);
    disposeGan(gan);
  });
}

test('backgroundColour: the most common corner colour of a set', () => {
  // three 2×2 RGB images: corners white, white, black; the set stands on white
  const px = (c: number[]) => [...c, ...c, ...c, ...c];
  const set = { pixels: Uint8Array.from([...px([255, 255, 255]), ...px([255, 255, 255]), ...px([0, 0, 0])]), count: 3, size: 2, channels: 3 as const };
  assert.deepEqual(Array.from(backgroundColour(set)), [255, 255, 255]);
  // 3×3 grey images: a digit's black corners win over a white centre
  const digit = Uint8Array.from([0, 9, 0, 9, 255, 9, 0, 9, 0]);
  assert.deepEqual(Array.from(backgroundColour({ pixels: digit, count: 1, size: 3, channels: 1 })), [0]);
  // every corner counts: two 2×2 grey images whose top rows differ (10; 20) and whose bottom rows are both 200
  const rows = Uint8Array.from([10, 10, 200, 200, 20, 20, 200, 200]);
  assert.deepEqual(Array.from(backgroundColour({ pixels: rows, count: 2, size: 2, channels: 1 })), [200]);
  // the four corners exactly, in every image, RGB: four 3×3 images whose corners are (v, v+1, v+2) for v =
  // img 0: 50 60 70 80, img 1: 61 71 91 80, img 2: 81 10 20 30, img 3: 11 12 13 14 (80 in 2 corners, every other
  // value in 1), every other pixel (200, 201, 202): one wrong position counts it 3 or 4 times, more than 80
  const corners = [[50, 60, 70, 80], [61, 71, 91, 80], [81, 10, 20, 30], [11, 12, 13, 14]];
  const rgb = new Uint8Array(4 * 9 * 3);
  corners.forEach((c, k) => {
    for (let p = 0; p < 9; p++) {
      const corner = [0, 2, 6, 8].indexOf(p);
      const v = corner >= 0 ? c[corner] : 200;
      rgb.set([v, v + 1, v + 2], (k * 9 + p) * 3);
    }
  });
  assert.deepEqual(Array.from(backgroundColour({ pixels: rgb, count: 4, size: 3, channels: 3 })), [80, 81, 82]);
  // a tie goes to the first corner seen (top left, top right, bottom left, bottom right)
  assert.deepEqual(Array.from(backgroundColour({ pixels: Uint8Array.from([4, 0, 3, 0, 0, 0, 2, 0, 1]), count: 1, size: 3, channels: 1 })), [4]);
});

const backend = { name: 'wasm' as const, device: 'test', skipped: [], hooks: {} };
const data = syntheticImageSet(40, 16);
const quiet = { log: () => {} };
const options = (out: string, epochs: number, resume: boolean, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  out, resume, epochs, batchSize: 8, lr: 0.002, beta1: 0.5, beta2: 0.999, seed: 9, augment: 'color,translation,cutout', augmentFill: 'background',
  arch: 'd2l', model: { imageSize: 16, width: 8, latent: 16, channels: 3, classes: 0 }, logEvery: 3, gridImages: 6, gridColumns: 3, ...extra,
});

test('--augment: a run stopped mid-epoch resumes to the same bytes; its latents are those of a run without it', async () => {
  const straight = await tmpDir();
  await train(options(straight, 2, false), data, backend, quiet);
  const stopped = await tmpDir();
  const controller = new AbortController();
  await train(options(stopped, 2, false), data, backend, { ...quiet, signal: controller.signal, listeners: [{ step: (e) => e.step === 7 && controller.abort() }] });
  await train(options(stopped, 2, true), data, backend, quiet);
  const files = ['generator/weights.bin', 'discriminator/weights.bin', 'optimizer/slots.bin', 'state.json'];
  for (const f of files) assert.ok((await readFile(path.join(straight, f))).equals(await readFile(path.join(stopped, f))), `${f} differs`);
  const plain = await tmpDir();
  await train(options(plain, 2, false, { augment: 'none' }), data, backend, quiet);
  const [a, b] = [await readState(straight), await readState(plain)];
  assert.deepEqual(a.noiseRng, b.noiseRng); // the same noise drawn
  assert.equal(b.augmentRng, undefined);
  assert.ok(a.augmentRng);
  // and it does train differently
  assert.ok(!(await readFile(path.join(straight, 'generator/weights.bin'))).equals(await readFile(path.join(plain, 'generator/weights.bin'))));
});
