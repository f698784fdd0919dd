// Each preset against its source: layer shapes as the source's comments give them, and parameter counts worked out
// from the source's layer list (PyTorch: conv weights, bias=False, BN γ and β; Keras: kernels, biases, BN γ and β
// trainable, moving mean and variance not), never read off our own models.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { takesImageSize } from '../src/model/architecture.js';
import { architecture, ARCH_NAMES } from '../src/model/architectures.js';
import { buildDiscriminator, buildGenerator } from '../src/model/build.js';
import { asDiscriminator, asGenerator } from '../src/model/generator.js';
import { tf, useTestBackend } from './helpers.js';

before(useTestBackend);

const size = (shape: (number | null)[]) => shape.reduce<number>((p, d) => p * (d ?? 1), 1);
const trainable = (m: tf.LayersModel) => m.trainableWeights.reduce((s, w) => s + size(w.shape), 0);
const nonTrainable = (m: tf.LayersModel) => m.nonTrainableWeights.reduce((s, w) => s + size(w.shape), 0);
const shapesOf = (m: tf.LayersModel, suffix: RegExp) =>
  m.layers.filter((l) => suffix.test(l.name)).map((l) => (l.outputShape as number[]).slice(1));

function build(name: string, shape: { imageSize: number; width: number; latent: number; channels: 1 | 3 }) {
  const arch = architecture(name);
  const full = { ...shape, classes: 0 };
  return { G: buildGenerator(arch, full, 1), D: buildDiscriminator(arch, full, 1) };
}

test('dcgan28 (PyTorch MNIST DCGAN): 100 → 256·4² → 128·8² → 64·16² → 1·28²; D 14 → 7 → 4 → 1', () => {
  const { G, D } = build('dcgan28', { imageSize: 28, width: 64, latent: 100, channels: 1 });
  assert.deepEqual(shapesOf(G, /_relu$|^g_tanh$/), [[4, 4, 256], [8, 8, 128], [16, 16, 64], [28, 28, 1]]);
  assert.deepEqual(shapesOf(D, /_lrelu$/), [[14, 14, 64], [7, 7, 128], [4, 4, 256]]);
  // G: ConvT 100·256·4² + 256·128·4² + 128·64·4² + 64·1·4², BN γ, β on 256 + 128 + 64
  assert.equal(trainable(G), 100 * 256 * 16 + 256 * 128 * 16 + 128 * 64 * 16 + 64 * 16 + 2 * (256 + 128 + 64));
  // D: Conv 1·64·4² + 64·128·4² + 128·256·3² + 256·1·4², BN on 64 + 128 + 256
  assert.equal(trainable(D), 64 * 16 + 64 * 128 * 16 + 128 * 256 * 9 + 256 * 16 + 2 * (64 + 128 + 256));
  G.dispose();
  D.dispose();
});

test('keras28 (Hands-on ML DCGAN): Dense → 7·7·128 → 64·14² → 1·28²; Keras summary counts', () => {
  const { G, D } = build('keras28', { imageSize: 28, width: 64, latent: 100, channels: 1 });
  assert.deepEqual(shapesOf(G, /^g0_reshape$|^g1_deconv$|^g_out$/), [[7, 7, 128], [14, 14, 64], [28, 28, 1]]);
  assert.deepEqual(shapesOf(D, /_conv$/), [[14, 14, 64], [7, 7, 128]]);
  // G: Dense 100→6272 (+bias) 633,472; BN(128) γβ 256; ConvT 5·5·64·128 + 64 = 204,864; BN(64) 128; ConvT 5·5·1·64 + 1
  assert.equal(trainable(G), 633_472 + 256 + 204_864 + 128 + 1_601); // 840,321
  assert.equal(nonTrainable(G), 2 * (128 + 64)); // moving mean and variance: Keras' 384
  // D: Conv 5·5·1·64 + 64, Conv 5·5·64·128 + 128, Dense 6272 + 1
  assert.equal(trainable(D), 1_664 + 204_928 + 6_273); // 212,865
  G.dispose();
  D.dispose();
});

test('anime96 (AnimeGAN): 100 → 512·4² → 256·8² → 128·16² → 64·32² → 3·96²; D 32 → 16 → 8 → 4 → 1', () => {
  const { G, D } = build('anime96', { imageSize: 96, width: 64, latent: 100, channels: 3 });
  assert.deepEqual(shapesOf(G, /_lrelu$|^g_tanh$/), [[4, 4, 512], [8, 8, 256], [16, 16, 128], [32, 32, 64], [96, 96, 3]]);
  assert.deepEqual(shapesOf(D, /_lrelu$/), [[32, 32, 64], [16, 16, 128], [8, 8, 256], [4, 4, 512]]);
  assert.equal(trainable(G), 100 * 512 * 16 + 512 * 256 * 16 + 256 * 128 * 16 + 128 * 64 * 16 + 64 * 3 * 25 + 2 * (512 + 256 + 128 + 64));
  // D: the first convolution has kernel 5 and no batch norm after it
  assert.equal(trainable(D), 3 * 64 * 25 + 64 * 128 * 16 + 128 * 256 * 16 + 256 * 512 * 16 + 512 * 16 + 2 * (128 + 256 + 512));
  G.dispose();
  D.dispose();
});

test('mlp (Keras-GAN gan.py) at 28×28×1: Keras summary counts 1,493,520 (G) and 533,505 (D)', () => {
  const { G, D } = build('mlp', { imageSize: 28, width: 256, latent: 100, channels: 1 });
  assert.equal(trainable(G) + nonTrainable(G), 1_493_520);
  assert.equal(nonTrainable(G), 3_584);
  assert.equal(trainable(D), 533_505);
  assert.deepEqual(G.outputs[0].shape, [null, 28, 28, 1]);
  G.dispose();
  D.dispose();
});

test('mlp takes any image size; the convolutional presets only their own', () => {
  const { G, D } = build('mlp', { imageSize: 20, width: 8, latent: 4, channels: 3 });
  assert.deepEqual(G.outputs[0].shape, [null, 20, 20, 3]);
  G.dispose();
  D.dispose();
  const takes = (name: string) => [3, 4, 16, 20, 28, 32, 48, 64, 96, 128, 256, 257].filter((n) => takesImageSize(architecture(name), n));
  assert.deepEqual(takes('mlp'), [4, 16, 20, 28, 32, 48, 64, 96, 128, 256]);
  assert.deepEqual(takes('d2l'), [16, 32, 64, 128]);
  assert.deepEqual(takes('dcgan28'), [28]);
  assert.deepEqual(takes('keras28'), [28]);
  assert.deepEqual(takes('anime96'), [96]);
  assert.equal(takesImageSize(architecture('mlp'), 28.5), false);
});

test('each preset trains with its source’s settings', () => {
  // from the sources: d2l's train(lr 0.005, num_epochs, latent_dim 100), batch_size 256, Adam betas [0.5, 0.999];
  // pytorch/examples dcgan/main.py: --batchSize 64, --nz 100, --ngf 64, --lr 0.0002, --beta1 0.5; AnimeGAN the same at
  // --imageSize 96; Hands-on ML: batch_size 32, codings_size 100, optimizer="rmsprop" (Keras' lr 0.001; the betas
  // are Keras Adam's defaults, unused); Keras-GAN gan.py: latent_dim 100, Adam(0.0002, 0.5), batch_size 32, Dense(256)
  const expected = {
    d2l: { imageSize: 64, width: 64, latent: 100, batchSize: 256, lr: 0.005, beta1: 0.5, beta2: 0.999 },
    dcgan28: { imageSize: 28, width: 64, latent: 100, batchSize: 64, lr: 0.0002, beta1: 0.5, beta2: 0.999 },
    anime96: { imageSize: 96, width: 64, latent: 100, batchSize: 64, lr: 0.0002, beta1: 0.5, beta2: 0.999 },
    keras28: { imageSize: 28, width: 64, latent: 100, batchSize: 32, lr: 0.001, beta1: 0.9, beta2: 0.999 },
    mlp: { imageSize: 28, width: 256, latent: 100, batchSize: 32, lr: 0.0002, beta1: 0.5, beta2: 0.999 },
    // progressive_growing_of_gans config.py and NVlabs/stylegan's: Adam(0.001, β1 0, β2 0.99), minibatch_base 16;
    // latent 128 and width 16 (the official 512 and fmap_base 8192) to train on a CPU
    progan: { imageSize: 64, width: 16, latent: 128, batchSize: 16, lr: 0.001, beta1: 0, beta2: 0.99 },
    stylegan: { imageSize: 64, width: 16, latent: 128, batchSize: 16, lr: 0.001, beta1: 0, beta2: 0.99 },
  };
  for (const name of ARCH_NAMES) assert.deepEqual(architecture(name).defaults, expected[name], name);
  assert.throws(() => architecture('dcgan'), /unknown architecture "dcgan" \(choose from d2l, dcgan28, keras28, anime96, mlp, progan, stylegan\)/);
  assert.equal(architecture(undefined).name, 'd2l');
});

for (const name of ARCH_NAMES) {
  test(`${name}: builds at its defaults, unconditional and with 3 classes, and runs G → D`, () => {
    const arch = architecture(name);
    const { imageSize, width, latent } = arch.defaults;
    for (const classes of [0, 3]) {
      const shape = { imageSize, width: Math.min(width, 8), latent, channels: 3 as const, classes };
      const G = asGenerator(buildGenerator(arch, shape, 2));
      const D = asDiscriminator(buildDiscriminator(arch, shape, 2));
      tf.tidy(() => {
        const images = G.generate(tf.randomNormal([2, latent]), classes ? tf.tensor1d([0, 2], 'int32') : undefined);
        assert.deepEqual(images.shape, [2, imageSize, imageSize, 3]);
        const { logits, classLogits } = D.judge(images);
        assert.deepEqual(logits.shape, [2]);
        assert.deepEqual(classLogits?.shape, classes ? [2, 3] : undefined);
      });
      G.model.dispose();
      D.model.dispose();
    }
  });
}

/**
 * A model's layers as a source lists its modules: conv, convT, dense (with a fused activation after a +), bn, relu,
 * lrelu(α), drop(rate), flatten, tanh. Shape-only layers (input, reshape, PyTorch's padding and cropping) left out.
 */
function layerList(m: tf.LayersModel): string[] {
  const out: string[] = [];
  for (const l of m.layers) {
    const c = l.getConfig();
    const fused = c.activation && c.activation !== 'linear' ? `+${c.activation}` : '';
    const name = ({
      Conv2D: `conv${fused}`, Conv2DTranspose: `convT${fused}`, Dense: `dense${fused}`, BatchNormalization: 'bn', ReLU: 'relu',
      LeakyReLU: `lrelu(${c.alpha})`, Dropout: `drop(${c.rate})`, Flatten: 'flatten', Activation: String(c.activation),
    } as Record<string, string>)[l.getClassName()];
    if (name) out.push(name);
  }
  return out;
}

test('each preset’s layers in the order of its source', () => {
  const block = (...layers: string[]) => layers;
  const expected: Record<string, { shape: { imageSize: number; width: number; latent: number; channels: 1 | 3 }; G: string[]; D: string[] }> = {
    // d2l: G_block = ConvTranspose2d, BatchNorm2d, ReLU (×4), ConvTranspose2d, Tanh; D_block = Conv2d, BatchNorm2d,
    // LeakyReLU(0.2) (×4), Conv2d (the logit; flattened here)
    d2l: {
      shape: { imageSize: 64, width: 4, latent: 8, channels: 3 },
      G: [...block('convT', 'bn', 'relu'), ...block('convT', 'bn', 'relu'), ...block('convT', 'bn', 'relu'), ...block('convT', 'bn', 'relu'), 'convT', 'tanh'],
      D: [...block('conv', 'bn', 'lrelu(0.2)'), ...block('conv', 'bn', 'lrelu(0.2)'), ...block('conv', 'bn', 'lrelu(0.2)'), ...block('conv', 'bn', 'lrelu(0.2)'), 'conv', 'flatten'],
    },
    // AnimeGAN models.py (its 96×96 _netG_1/_netD_1): LeakyReLU(0.2) in G too; D's first convolution has no batch norm
    anime96: {
      shape: { imageSize: 96, width: 4, latent: 8, channels: 3 },
      G: [...block('convT', 'bn', 'lrelu(0.2)'), ...block('convT', 'bn', 'lrelu(0.2)'), ...block('convT', 'bn', 'lrelu(0.2)'), ...block('convT', 'bn', 'lrelu(0.2)'), 'convT', 'tanh'],
      D: ['conv', 'lrelu(0.2)', ...block('conv', 'bn', 'lrelu(0.2)'), ...block('conv', 'bn', 'lrelu(0.2)'), ...block('conv', 'bn', 'lrelu(0.2)'), 'conv', 'flatten'],
    },
    // Hands-on ML: Dense, Reshape, BatchNormalization, Conv2DTranspose(relu), BatchNormalization, Conv2DTranspose(tanh);
    // Conv2D(LeakyReLU(0.2)), Dropout(0.4) twice, Flatten, Dense (the logit)
    keras28: {
      shape: { imageSize: 28, width: 4, latent: 8, channels: 1 },
      G: ['dense', 'bn', 'convT+relu', 'bn', 'convT+tanh'],
      D: ['conv', 'lrelu(0.2)', 'drop(0.4)', 'conv', 'lrelu(0.2)', 'drop(0.4)', 'flatten', 'dense'],
    },
    // Keras-GAN gan.py: (Dense, LeakyReLU(0.2), BatchNormalization(momentum 0.8)) ×3, Dense(tanh), Reshape;
    // Flatten, (Dense, LeakyReLU(0.2)) ×2, Dense (the logit)
    mlp: {
      shape: { imageSize: 8, width: 4, latent: 8, channels: 1 },
      G: [...block('dense', 'lrelu(0.2)', 'bn'), ...block('dense', 'lrelu(0.2)', 'bn'), ...block('dense', 'lrelu(0.2)', 'bn'), 'dense+tanh'],
      D: ['flatten', 'dense', 'lrelu(0.2)', 'dense', 'lrelu(0.2)', 'dense'],
    },
  };
  for (const [name, e] of Object.entries(expected)) {
    const { G, D } = build(name, e.shape);
    assert.deepEqual(layerList(G), e.G, `${name} G`);
    assert.deepEqual(layerList(D), e.D, `${name} D`);
    G.dispose();
    D.dispose();
  }
  // pytorch/examples' _netG, three blocks at 28×28: (ConvTranspose2d, BatchNorm2d, ReLU) ×3, ConvTranspose2d, Tanh
  const { G, D } = build('dcgan28', { imageSize: 28, width: 4, latent: 8, channels: 1 });
  assert.deepEqual(layerList(G), [...block('convT', 'bn', 'relu'), ...block('convT', 'bn', 'relu'), ...block('convT', 'bn', 'relu'), 'convT', 'tanh']);
  G.dispose();
  D.dispose();
});

test('pytorch/examples\' weights_init (dcgan28, anime96): convolutions N(0, 0.02), batch norm γ N(1, 0.02), β 0', () => {
  for (const [name, imageSize] of [['dcgan28', 28], ['anime96', 96]] as const) {
    const { G, D } = build(name, { imageSize, width: 16, latent: 100, channels: 3 });
    const all = (m: tf.LayersModel, suffix: string) => m.weights.filter((w) => w.originalName.endsWith(suffix)).flatMap((w) => Array.from(w.read().dataSync()));
    const stats = (v: number[]) => {
      const mean = v.reduce((s, a) => s + a, 0) / v.length;
      return { mean, sd: Math.sqrt(v.reduce((s, a) => s + (a - mean) ** 2, 0) / v.length), n: v.length };
    };
    const gamma = stats([...all(G, '/gamma'), ...all(D, '/gamma')]);
    const kernel = stats([...all(G, '/kernel'), ...all(D, '/kernel')]);
    // ≥ 160 γ draws: the mean's standard error is ≤ 0.0016
    assert.ok(Math.abs(gamma.mean - 1) < 0.01 && Math.abs(gamma.sd - 0.02) < 0.005, `${name} γ: ${JSON.stringify(gamma)}`);
    assert.ok(Math.abs(kernel.mean) < 0.001 && Math.abs(kernel.sd - 0.02) < 0.001, `${name} kernels: ${JSON.stringify(kernel)}`);
    assert.ok([...all(G, '/beta'), ...all(D, '/beta')].every((b) => b === 0), `${name} β`);
    G.dispose();
    D.dispose();
  }
});

test('each preset\'s batch norms as its source sets them: PyTorch momentum 0.1 (Keras 0.9), ε 1e-5; Keras 0.99, ε 1e-3; Keras-GAN momentum 0.8', () => {
  // PyTorch's nn.BatchNorm2d defaults (momentum=0.1, eps=1e-5) in d2l, pytorch/examples and AnimeGAN; Keras'
  // BatchNormalization defaults (momentum=0.99, epsilon=1e-3) in Hands-on ML; Keras-GAN gan.py: BatchNormalization(momentum=0.8)
  const expected: Record<string, { momentum: number; epsilon: number }> = {
    d2l: { momentum: 0.9, epsilon: 1e-5 },
    dcgan28: { momentum: 0.9, epsilon: 1e-5 },
    anime96: { momentum: 0.9, epsilon: 1e-5 },
    keras28: { momentum: 0.99, epsilon: 1e-3 },
    mlp: { momentum: 0.8, epsilon: 1e-3 },
  };
  // (progan and stylegan normalise by pixel norm and AdaIN, not batch norm)
  for (const name of Object.keys(expected)) {
    const arch = architecture(name);
    const shape = { imageSize: arch.defaults.imageSize, width: 4, latent: 8, channels: 1 as const, classes: 0 };
    const models = [buildGenerator(arch, shape, 1), buildDiscriminator(arch, shape, 1)];
    const norms = models.flatMap((m) => m.layers.filter((l) => l.getClassName() === 'BatchNormalization').map((l) => l.getConfig()));
    assert.ok(norms.length > 0, `${name}: no batch norms`); // which layers have one: "each preset's layers in the order of its source"
    for (const config of norms) assert.deepEqual([config.momentum, config.epsilon], [expected[name].momentum, expected[name].epsilon], `${name} ${config.name}`);
    for (const m of models) m.dispose();
  }
});
