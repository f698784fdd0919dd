// ProGAN's tricks as options of the DCGAN presets (ModelShape.tricks): where each goes, what it changes, and that
// turning one on moves nothing else. With none asked for, the presets are their sources' (test/presets.test.ts,
// test/d2l-fixtures.test.ts).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { ModelShape, Tricks } from '../src/model/architecture.js';
import { architecture } from '../src/model/architectures.js';
import { buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { conv2d } from '../src/model/tricks.js';
import { tf, useTestBackend } from './helpers.js';

before(useTestBackend);

const ALL: Tricks = { minibatchStddev: {}, equalizedLr: true, pixelNorm: true };
const SHAPES: Record<string, ModelShape> = {
  d2l: { imageSize: 16, width: 4, latent: 8, channels: 3, classes: 0 },
  dcgan28: { imageSize: 28, width: 4, latent: 8, channels: 1, classes: 0 },
  keras28: { imageSize: 28, width: 4, latent: 8, channels: 1, classes: 0 },
  anime96: { imageSize: 96, width: 2, latent: 8, channels: 3, classes: 0 },
};
const classes = (m: tf.LayersModel) => m.layers.map((l) => l.getClassName());
const weightsOf = (m: tf.LayersModel) => new Map(m.weights.map((w) => [w.originalName, w.read().dataSync()]));

for (const [name, shape] of Object.entries(SHAPES)) {
  test(`${name}: pixel norm after each of G's hidden blocks, equalized layers throughout, stddev before D's head`, () => {
    const arch = architecture(name);
    const plainG = buildGenerator(arch, shape, 3);
    const plainD = buildDiscriminator(arch, shape, 3);
    const G = buildGenerator(arch, { ...shape, tricks: ALL }, 3);
    const D = buildDiscriminator(arch, { ...shape, tricks: ALL }, 3);
    // G: the same layers, stock convolutions and dense layers swapped for equalized ones, and one pixel norm after
    // each hidden block (before every weight layer but the first)
    const swapped = (c: string) => ({ Conv2D: 'EqualizedConv2D', Conv2DTranspose: 'EqualizedConv2DTranspose', Dense: 'EqualizedDense' } as Record<string, string>)[c] ?? c;
    const weightLayers = classes(G).filter((c) => c.startsWith('Equalized')).length;
    assert.equal(classes(G).filter((c) => c === 'PixelNorm').length, weightLayers - 1);
    assert.deepEqual(classes(G).filter((c) => c !== 'PixelNorm'), classes(plainG).map(swapped));
    for (const [i, c] of classes(G).entries()) {
      if (c === 'PixelNorm') assert.ok(!classes(G)[i + 1].startsWith('Batch'), `${name}: pixel norm goes after batch norm`);
    }
    // D: one stddev layer, right before the head (keras28: before its flatten), one more channel into it
    const stddev = D.layers.findIndex((l) => l.getClassName() === 'MinibatchStddev');
    assert.deepEqual(classes(D).filter((c) => c !== 'MinibatchStddev'), classes(plainD).map(swapped));
    const into = D.layers[stddev].inboundNodes[0].inputTensors[0].shape;
    assert.deepEqual(D.layers[stddev].outputShape, [...into.slice(0, -1), (into.at(-1) as number) + 1]);
    const after = classes(D).slice(stddev + 1).filter((c) => c !== 'Flatten' && c !== 'ZeroPadding2D');
    assert.deepEqual(after.slice(0, 1), [name === 'keras28' ? 'EqualizedDense' : 'EqualizedConv2D']);
    // He's gain: 1 for the output layers (G's image, D's logit), √2 for the rest: scale² · fan_in = gain²
    const gainSquared = (m: tf.LayersModel, layer: string) => {
      const l = m.getLayer(layer) as unknown as { scale: number; getWeights(): tf.Tensor[]; getClassName(): string };
      const shape = l.getWeights()[0].shape;
      const transposed = l.getClassName() === 'EqualizedConv2DTranspose'; // tfjs's [k, k, out, in]
      const fanIn = shape.reduce((p, d) => p * d, 1) / shape[transposed ? 2 : shape.length - 1];
      return Math.round(l.scale ** 2 * fanIn * 1e6) / 1e6;
    };
    assert.deepEqual([gainSquared(G, 'g_out'), gainSquared(D, 'd_out'), gainSquared(D, 'd0_conv')], [1, 1, 2]);
    // the outputs are the same shapes, and the networks run (finite numbers)
    assert.deepEqual(G.outputs[0].shape, plainG.outputs[0].shape);
    assert.deepEqual(D.outputs[0].shape, plainD.outputs[0].shape);
    tf.tidy(() => {
      const logits = D.apply(G.apply(tf.randomNormal([4, shape.latent], 0, 1, 'float32', 1), { training: true }), { training: true }) as tf.Tensor;
      assert.deepEqual(logits.shape, [4, 1]);
      assert.ok(logits.dataSync().every(Number.isFinite), 'logits.dataSync().every(Number.isFinite)');
    });
    for (const m of [plainG, plainD, G, D]) m.dispose();
  });
}

test('d2l with equalized learning rate: each weight the stock draw over its N(0, 0.02) scale, He\'s constant at run time', () => {
  const shape = SHAPES.d2l;
  const arch = architecture('d2l');
  const plain = buildGenerator(arch, shape, 5);
  const G = buildGenerator(arch, { ...shape, tricks: { equalizedLr: true } }, 5);
  const before = weightsOf(plain);
  const after = weightsOf(G);
  assert.deepEqual([...after.keys()], [...before.keys()]);
  for (const [name, stored] of after) {
    const stock = before.get(name)!;
    if (name.endsWith('kernel')) {
      // the same seed's standard normals: N(0, 1) stored where d2l draws N(0, 0.02)
      for (let i = 0; i < stock.length; i++) assert.ok(Math.abs(stored[i] * 0.02 - stock[i]) <= 1e-6 * Math.abs(stock[i]) + 1e-12, name);
    } else {
      assert.deepEqual(stored, stock, `${name}: batch norm's draws are untouched`);
    }
  }
  // He's constant: g0 a 4×4 transposed convolution from latent 8 (fan_in 16·8), gain √2; g_out (16·4 in) gain 1
  const scale = (layer: string) => (G.getLayer(layer) as unknown as { scale: number }).scale;
  assert.equal(scale('g0_deconv'), Math.SQRT2 / Math.sqrt(16 * 8));
  assert.equal(scale('g_out'), 1 / Math.sqrt(16 * 4));
  plain.dispose();
  G.dispose();
});

test('the book\'s minibatch stddev unless a group size is given (Karras et al.\'s)', () => {
  const D1 = buildDiscriminator(architecture('dcgan28'), { ...SHAPES.dcgan28, tricks: { minibatchStddev: {} } }, 1);
  const D4 = buildDiscriminator(architecture('dcgan28'), { ...SHAPES.dcgan28, tricks: { minibatchStddev: { groupSize: 4 } } }, 1);
  assert.equal(D1.getLayer('d_stddev').getConfig().groupSize, null);
  assert.equal(D4.getLayer('d_stddev').getConfig().groupSize, 4);
  D1.dispose();
  D4.dispose();
});

test('a trick turned off explicitly builds what none asked builds; mlp refuses them in one line', () => {
  const shape = SHAPES.keras28;
  const arch = architecture('keras28');
  const plain = buildGenerator(arch, shape, 2);
  const off = buildGenerator(arch, { ...shape, tricks: { minibatchStddev: false, equalizedLr: false, pixelNorm: false } }, 2);
  assert.deepEqual(classes(off), classes(plain));
  assert.deepEqual([...weightsOf(off)], [...weightsOf(plain)]);
  const mlp = architecture('mlp');
  const mlpShape = { imageSize: 8, width: 4, latent: 4, channels: 1 as const, classes: 0 };
  assert.throws(() => buildGenerator(mlp, { ...mlpShape, tricks: { pixelNorm: true } }, 1), /^Error: mlp takes none of ProGAN's tricks \(asked for pixelNorm\)/);
  assert.throws(() => buildDiscriminator(mlp, { ...mlpShape, tricks: { minibatchStddev: {} } }, 1), /mlp takes none of ProGAN's tricks \(asked for minibatchStddev\)/);
  assert.equal(mlp.tricks, undefined);
  assert.deepEqual(architecture('d2l').tricks, { minibatchStddev: false, equalizedLr: false, pixelNorm: false });
  plain.dispose();
  off.dispose();
});

test('equalized layers take a stock layer\'s square kernel and strides given as pairs, and refuse others', () => {
  const t = { minibatchStddev: false as const, equalizedLr: true, pixelNorm: false };
  const layer = conv2d(t, { filters: 2, kernelSize: [3, 3], strides: [2, 2], padding: 'same' });
  assert.deepEqual([layer.getClassName(), layer.getConfig().kernelSize, layer.getConfig().strides], ['EqualizedConv2D', 3, 2]);
  assert.throws(() => conv2d(t, { filters: 2, kernelSize: [3, 5] }), /equalized layers take square kernels and strides/);
});
