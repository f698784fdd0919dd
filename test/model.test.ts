import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { architecture, ARCH_NAMES } from '../src/model/architectures.js';
import { activationsPerImage, buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { d2l } from '../src/model/d2l.js';
import { asDiscriminator, asGenerator, generateImages } from '../src/model/generator.js';
import { loadModel, saveModel } from '../src/model/io.js';
import { dropout, setRandomStep } from '../src/model/layers.js';
import { Rng } from '../src/util/rng.js';
import { tf, tmpDir, unshrinkBatchNorm, useTestBackend } from './helpers.js';

before(useTestBackend);

const shapeOf = (imageSize: number, width: number, latent = 100, channels: 1 | 3 = 3, classes = 0) => ({ imageSize, width, latent, channels, classes });
const outputShapes = (m: tf.LayersModel, match: (name: string) => boolean) =>
  m.layers.filter((l) => match(l.name)).map((l) => (l.outputShape as number[]).slice(1));

test('generator at 64×64, width 64 is exactly d2l’s: 100 → 512·4² → 256·8² → 128·16² → 64·32² → 3·64²', () => {
  const G = buildGenerator(d2l, shapeOf(64, 64), 0);
  assert.deepEqual(outputShapes(G, (n) => n.endsWith('_relu') || n === 'g_tanh'), [[4, 4, 512], [8, 8, 256], [16, 16, 128], [32, 32, 64], [64, 64, 3]]);
  // no bias anywhere, as in d2l (use_bias=False); batch norm carries the shifts
  for (const l of G.layers.filter((l) => l.getClassName() === 'Conv2DTranspose')) assert.equal(l.getWeights().length, 1, l.name);
  // d2l's parameter count: ConvT 100·512·16 + 512·256·16 + 256·128·16 + 128·64·16 + 64·3·16, and γ, β per BN channel
  const convs = 100 * 512 * 16 + 512 * 256 * 16 + 256 * 128 * 16 + 128 * 64 * 16 + 64 * 3 * 16;
  assert.equal(G.countParams(), convs + 2 * (512 + 256 + 128 + 64) + 2 * (512 + 256 + 128 + 64));
  G.dispose();
});

test('discriminator at 64×64 mirrors it: 3·64² → 64·32² → 128·16² → 256·8² → 512·4² → 1 logit', () => {
  const D = buildDiscriminator(d2l, shapeOf(64, 64), 0);
  assert.deepEqual(outputShapes(D, (n) => n.endsWith('_lrelu')), [[32, 32, 64], [16, 16, 128], [8, 8, 256], [4, 4, 512]]);
  assert.deepEqual(D.outputs[0].shape, [null, 1]);
  D.dispose();
});

test('d2l at 128×128 adds one block: 4 → 8 → 16 → 32 → 64 → 128', () => {
  const G = buildGenerator(d2l, shapeOf(128, 8), 0);
  assert.deepEqual(outputShapes(G, (n) => n.endsWith('_relu')).map((s) => s[0]), [4, 8, 16, 32, 64]);
  assert.deepEqual(G.outputs[0].shape, [null, 128, 128, 3]);
  G.dispose();
});

for (const imageSize of [16, 32, 64]) {
  for (const channels of [1, 3] as const) {
    test(`G and D shapes at ${imageSize}×${imageSize}×${channels}, width 8`, () => {
      const shape = shapeOf(imageSize, 8, 12, channels);
      const G = asGenerator(buildGenerator(d2l, shape, 1));
      const D = asDiscriminator(buildDiscriminator(d2l, shape, 1));
      assert.deepEqual([G.latent, G.imageSize, G.channels, G.classes], [12, imageSize, channels, 0]);
      tf.tidy(() => {
        const images = G.generate(tf.randomNormal([2, 12]));
        assert.deepEqual(images.shape, [2, imageSize, imageSize, channels]);
        const { logits, classLogits } = D.judge(images);
        assert.deepEqual(logits.shape, [2]);
        assert.equal(classLogits, undefined);
      });
      G.model.dispose();
      D.model.dispose();
    });
  }
}

test('conditional: G takes (z, class), D adds class logits; the generator interface reads the classes back', () => {
  const shape = shapeOf(16, 4, 8, 1, 10);
  const G = asGenerator(buildGenerator(d2l, shape, 1));
  const D = asDiscriminator(buildDiscriminator(d2l, shape, 1));
  assert.equal(G.classes, 10);
  assert.equal(D.classes, 10);
  tf.tidy(() => {
    const z = tf.randomNormal([3, 8]) as tf.Tensor2D;
    assert.throws(() => G.generate(z), /conditional/);
    const images = G.generate(z, tf.tensor1d([0, 4, 9], 'int32'));
    assert.deepEqual(images.shape, [3, 16, 16, 1]);
    // the class changes the image for the same z
    const other = G.generate(z, tf.tensor1d([1, 4, 9], 'int32'));
    assert.ok(images.slice([0], [1]).sub(other.slice([0], [1])).abs().max().dataSync()[0] > 0);
    assert.equal(images.slice([1], [2]).sub(other.slice([1], [2])).abs().max().dataSync()[0], 0);
    const { logits, classLogits } = D.judge(images);
    assert.deepEqual(logits.shape, [3]);
    assert.deepEqual(classLogits!.shape, [3, 10]);
  });
  G.model.dispose();
  D.model.dispose();
});

test('conditional: the class embedding multiplies z, as in tfjs-examples mnist-acgan (layers.multiply), not adds to it', () => {
  // mlp: Glorot-initialised, so its images depend clearly on z (d2l's N(0, 0.02) kernels leave them near-constant)
  const model = buildGenerator(architecture('mlp'), shapeOf(8, 8, 8, 1, 3), 1);
  // class 0 embeds as all zeros, class 1 as all ones, class 2 as all twos
  model.getLayer('class_embedding').setWeights([tf.tensor2d([0, 1, 2].flatMap((c) => Array(8).fill(c)), [3, 8])]);
  const G = asGenerator(model);
  tf.tidy(() => {
    const z = tf.tensor2d(new Rng(3).normals(2 * 8), [2, 8]);
    const draw = (latents: tf.Tensor2D, cls: number) => G.generate(latents, tf.tensor1d([cls, cls], 'int32'));
    const differ = (a: tf.Tensor, b: tf.Tensor) => a.sub(b).abs().max().dataSync()[0];
    assert.ok(differ(draw(z, 1).slice([0], [1]), draw(z, 1).slice([1], [1])) > 1e-3, 'the generator hardly depends on z');
    // z ⊙ 0 = 0 for every z: class 0 draws one image, whatever z (z + 0 would draw two)
    const zero = draw(z, 0);
    assert.ok(differ(zero.slice([0], [1]), zero.slice([1], [1])) < 1e-6, 'class 0 (a zero embedding) still depends on z');
    // z ⊙ 2 = (2z) ⊙ 1 (z + 2 ≠ 2z + 1)
    assert.ok(differ(draw(z, 2), draw(z.mul(2) as tf.Tensor2D, 1)) < 1e-5, 'class 2 is not z times its embedding');
  });
  model.dispose();
});

test('generateImages runs 256 images a batch and says after each how many are done', async () => {
  const G = asGenerator(buildGenerator(architecture('mlp'), shapeOf(4, 2, 2, 1), 1));
  for (const [n, expected] of [[600, [256, 512, 600]], [512, [256, 512]], [1, [1]]] as const) {
    const done: number[] = [];
    await generateImages(G, new Rng(1).normals(n * 2), n, undefined, (k) => done.push(k));
    assert.deepEqual(done, expected, `${n} images`);
  }
  G.model.dispose();
});

test('weights start as N(0, 0.02) and the same seed gives the same weights', async () => {
  const shape = shapeOf(32, 16);
  const [a, b, c] = [5, 5, 6].map((seed) => buildGenerator(d2l, shape, seed));
  const kernel = async (m: tf.LayersModel) => (await m.getLayer('g1_deconv').getWeights()[0].data()) as Float32Array;
  const [ka, kb, kc] = await Promise.all([kernel(a), kernel(b), kernel(c)]);
  assert.deepEqual(ka, kb);
  assert.notDeepEqual(ka, kc);
  const mean = ka.reduce((s, x) => s + x, 0) / ka.length;
  const std = Math.sqrt(ka.reduce((s, x) => s + (x - mean) ** 2, 0) / ka.length);
  assert.ok(Math.abs(mean) < 0.002, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.02) < 0.002, `std ${std}`);
  for (const m of [a, b, c]) m.dispose();
});

test('activationsPerImage counts every layer output of both networks, per image', () => {
  const G = buildGenerator(d2l, shapeOf(16, 2, 4, 1), 0);
  // latent 4 | reshape 1·1·4 | ConvT, BN, ReLU at 4×4×4 | ConvT, BN, ReLU at 8×8×2 | ConvT 16×16×1, tanh
  assert.equal(activationsPerImage(G), 4 + 4 + 3 * 64 + 3 * 128 + 2 * 256);
  G.dispose();
});

test('the architecture table: every entry builds at its default size', () => {
  assert.ok(ARCH_NAMES.includes('d2l'));
  assert.throws(() => architecture('nope'), /unknown architecture "nope"/);
});

test('dropout masks follow the step: new for each call in a step and each step, the same again for the same step', async () => {
  const net = () => tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [256] }), dropout(0.5, 42, 'drop')] });
  const mask = async (m: tf.LayersModel) => {
    const y = tf.tidy(() => (m.apply(tf.ones([1, 256]), { training: true }) as tf.Tensor).greater(0));
    const out = Array.from(await y.data());
    y.dispose();
    return out.join('');
  };
  const a = net();
  setRandomStep(1);
  const [first, second] = [await mask(a), await mask(a)]; // D runs twice in a step: real, then fake
  setRandomStep(2);
  const next = await mask(a);
  assert.notEqual(first, second, 'two calls in one step drew the same mask');
  assert.notEqual(first, next, 'two steps drew the same mask');
  // about half the units are kept
  assert.ok(Math.abs(first.split('').filter((c) => c === '1').length - 128) < 40, first);
  // a resumed run (a new model from the same seed) at step 1 draws what the first did
  const b = net();
  setRandomStep(1);
  assert.deepEqual([await mask(b), await mask(b)], [first, second]);
  // inference keeps everything
  const kept = tf.tidy(() => (a.predict(tf.ones([1, 256])) as tf.Tensor).greater(0).all());
  assert.equal((await kept.data())[0], 1);
  kept.dispose();
  a.dispose();
  b.dispose();
});

test('generateImages in batches of 256 gives each image what generating it alone gives, its class included', async () => {
  const G = buildGenerator(d2l, shapeOf(16, 4, 4, 1, 3), 7);
  unshrinkBatchNorm(G);
  const gen = asGenerator(G);
  const n = 260, bytes = 16 * 16;
  const z = new Rng(8).normals(n * 4);
  const labels = Array.from({ length: n }, (_, i) => (i * 7) % 3);
  const before = tf.memory().numTensors;
  const all = await generateImages(gen, z, n, labels);
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  assert.equal(all.length, n * bytes);
  for (const i of [0, 1, 255, 256, 259]) {
    const alone = await generateImages(gen, z.subarray(i * 4, (i + 1) * 4), 1, [labels[i]]);
    assert.deepEqual(all.subarray(i * bytes, (i + 1) * bytes), alone, `image ${i}`);
  }
  // the class matters: image 0 as another class is another image
  const other = await generateImages(gen, z.subarray(0, 4), 1, [(labels[0] + 1) % 3]);
  assert.notDeepEqual(other, all.subarray(0, bytes));
  assert.throws(() => gen.generate(tf.zeros([1, 4]) as tf.Tensor2D), /conditional: it needs a class/);
  G.dispose();
});

test('saveModel makes the folders it needs and overwrites an earlier save; loadModel reads back the same weights', async () => {
  const dir = `${await tmpDir()}/a/b/generator`; // neither a nor b exists yet
  const first = buildGenerator(d2l, shapeOf(16, 4, 4), 1);
  const second = buildGenerator(d2l, shapeOf(16, 4, 4), 2);
  await saveModel(first, dir);
  await saveModel(second, dir); // into the same folder again
  const loaded = await loadModel(dir);
  const values = async (m: tf.LayersModel) => Promise.all(m.getWeights().map((w) => w.data()));
  assert.deepEqual(await values(loaded), await values(second));
  for (const m of [first, second, loaded]) m.dispose();
});
