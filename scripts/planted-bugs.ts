// Deliberate, meaningful bugs that the suite must catch (`npm run mutate -- --planted` plants each in a copy of the
// checkout and runs the tests that import its file). Each replaces one exact piece of text, found exactly once: when
// the code moves, the script says which bug no longer applies.
export interface PlantedBug {
  name: string;
  file: string;
  find: string;
  replace: string;
}

export const PLANTED_BUGS: PlantedBug[] = [
  // The losses' labels, in each of the four step forms
  {
    name: "d2l: D's labels swapped (real 0, fake 1)",
    file: 'src/train/step.ts',
    find: 'const real = term(D, see(b.X), 1, b.labels, reduction);\n    const fakes = term(D, see(fake), 0, b.fakeLabels, reduction);\n    dx = tf.keep(meanSigmoid(real.logits));\n    dgz = tf.keep(meanSigmoid(fakes.logits));\n    return real.loss.add(fakes.loss).div(2);',
    replace: 'const real = term(D, see(b.X), 0, b.labels, reduction);\n    const fakes = term(D, see(fake), 1, b.fakeLabels, reduction);\n    dx = tf.keep(meanSigmoid(real.logits));\n    dgz = tf.keep(meanSigmoid(fakes.logits));\n    return real.loss.add(fakes.loss).div(2);',
  },
  {
    name: "d2l: G's label 1 → 0",
    file: 'src/train/step.ts',
    find: 'const lossG = minimise(G, optG, () => term(D, see(generate(gan, firstNoise(b), TRAINING)), 1,',
    replace: 'const lossG = minimise(G, optG, () => term(D, see(generate(gan, firstNoise(b), TRAINING)), 0,',
  },
  {
    name: "pytorch-examples: D's labels swapped",
    file: 'src/train/step.ts',
    find: 'const real = term(D, see(b.X), 1, b.labels, reduction);\n    const fakes = term(D, see(fake), 0, b.fakeLabels, reduction);\n    dx = tf.keep(meanSigmoid(real.logits));\n    dgz = tf.keep(meanSigmoid(fakes.logits));\n    return real.loss.add(fakes.loss);',
    replace: 'const real = term(D, see(b.X), 0, b.labels, reduction);\n    const fakes = term(D, see(fake), 1, b.fakeLabels, reduction);\n    dx = tf.keep(meanSigmoid(real.logits));\n    dgz = tf.keep(meanSigmoid(fakes.logits));\n    return real.loss.add(fakes.loss);',
  },
  {
    name: "pytorch-examples: G's label 1 → 0",
    file: 'src/train/step.ts',
    find: 'minimise(G, optG, () => term(D, see(generate(gan, firstNoise(b), TRAINING)), 1, b.fakeLabels, reduction).loss));',
    replace: 'minimise(G, optG, () => term(D, see(generate(gan, firstNoise(b), TRAINING)), 0, b.fakeLabels, reduction).loss));',
  },
  {
    name: "hands-on: D's labels swapped",
    file: 'src/train/step.ts',
    find: 'tf.concat([tf.zeros([n]), tf.ones([n])])',
    replace: 'tf.concat([tf.ones([n]), tf.zeros([n])])',
  },
  {
    name: "hands-on: G's label 1 → 0",
    file: 'src/train/step.ts',
    find: 'TRAINING)), 1, b.fakeLabels2, reduction).loss);\n  return { lossD, lossG, dx, dgz };',
    replace: 'TRAINING)), 0, b.fakeLabels2, reduction).loss);\n  return { lossD, lossG, dx, dgz };',
  },
  {
    name: "keras-gan: D's real label 1 → 0",
    file: 'src/train/step.ts',
    find: 'const real = term(D, see(b.X), 1, b.labels, reduction);\n    dx = tf.keep(meanSigmoid(real.logits));\n    return real.loss;',
    replace: 'const real = term(D, see(b.X), 0, b.labels, reduction);\n    dx = tf.keep(meanSigmoid(real.logits));\n    return real.loss;',
  },
  {
    name: "keras-gan: G's label 1 → 0",
    file: 'src/train/step.ts',
    find: 'TRAINING)), 1, b.fakeLabels2, reduction).loss);\n  return { lossD: lossReal',
    replace: 'TRAINING)), 0, b.fakeLabels2, reduction).loss);\n  return { lossD: lossReal',
  },
  // Optimizers and batch norm
  {
    name: "Adam's bias correction without its square root",
    file: 'src/train/adam.ts',
    find: 'const sqrtCorrection2 = Math.sqrt(1 - beta2 ** this.step);',
    replace: 'const sqrtCorrection2 = 1 - beta2 ** this.step;',
  },
  {
    name: "Adam's first moment without bias correction",
    file: 'src/train/adam.ts',
    find: 'const correction1 = 1 - beta1 ** this.step;',
    replace: 'const correction1 = 1;',
  },
  {
    name: "RMSprop (keras): ε outside the square root",
    file: 'src/train/rmsprop.ts',
    find: "form === 'keras' ? v.add(epsilon).sqrt() : v.sqrt().add(epsilon)",
    replace: "form === 'keras' ? v.sqrt().add(epsilon) : v.sqrt().add(epsilon)",
  },
  {
    name: 'batch-norm momentum 0.9 → 0.99 (PyTorch 0.1 → 0.01)',
    file: 'src/model/layers.ts',
    find: 'torchBatchNormalization({ momentum: 0.9,',
    replace: 'torchBatchNormalization({ momentum: 0.99,',
  },
  {
    name: 'batch norm: the moving variance from the biased batch variance',
    file: 'src/model/batch-norm.ts',
    find: 'average(movingVariance, variance.mul(n / (n - 1)));',
    replace: 'average(movingVariance, variance);',
  },
  // The data order and the batches
  {
    name: 'biased shuffle: j = floor(u·i)',
    file: 'src/util/rng.ts',
    find: 'const j = Math.floor(this.uniform() * (i + 1));',
    replace: 'const j = Math.floor(this.uniform() * i);',
  },
  {
    name: 'shuffle loop stops one early',
    file: 'src/util/rng.ts',
    find: 'for (let i = n - 1; i > 0; i--) {',
    replace: 'for (let i = n - 1; i > 1; i--) {',
  },
  {
    name: 'batch slice off by one',
    file: 'src/train/train.ts',
    find: 'order.subarray(b * o.batchSize, (b + 1) * o.batchSize)',
    replace: 'order.subarray(b * o.batchSize + 1, (b + 1) * o.batchSize + 1)',
  },
  {
    name: 'the last partial batch kept instead of dropped',
    file: 'src/train/train.ts',
    find: 'const batchesPerEpoch = Math.floor(data.count / o.batchSize);',
    replace: 'const batchesPerEpoch = Math.ceil(data.count / o.batchSize);',
  },
  // Metrics
  {
    name: 'SWD without its per-set normalisation',
    file: 'src/metrics/swd.ts',
    find: 'for (const d of out) normaliseDescriptors(d, set.channels);',
    replace: '',
  },
  {
    name: 'SWD scaled ×10² instead of ×10³',
    file: 'src/metrics/swd.ts',
    find: 'levels.push(1e3 * (await',
    replace: 'levels.push(1e2 * (await',
  },
  {
    name: "held-out images leak into the memorisation check's reference set",
    file: 'src/metrics/evaluate.ts',
    find: 'const rest = split.subarray(queries);',
    replace: 'const rest = split.subarray(queries - 1);',
  },
  // Zip entry names
  {
    name: 'zip: backslash separators no longer split (..\\evil.png accepted)',
    file: 'src/data/zip.ts',
    find: "return name.split(/[\\\\/]/).some((part) => part === '..');",
    replace: "return name.split('/').some((part) => part === '..');",
  },
  {
    name: 'zip: drive letters (C:\\x.png, C:x) no longer refused',
    file: 'src/data/zip.ts',
    find: " || /^[A-Za-z]:/.test(name)",
    replace: '',
  },
  {
    name: 'zip: a leading backslash (UNC \\\\server\\share, \\x) no longer refused',
    file: 'src/data/zip.ts',
    find: "name.startsWith('/') || name.startsWith('\\\\') ||",
    replace: "name.startsWith('/') ||",
  },
  {
    name: 'zip: a NUL in a name no longer refused',
    file: 'src/data/zip.ts',
    find: " || name.includes('\\0')",
    replace: '',
  },
  {
    name: "zip-slip with '..' no longer refused",
    file: 'src/data/zip.ts',
    find: "some((part) => part === '..')",
    replace: "some((part) => part === '...')",
  },
  // Datasets: --crop content and --mirror
  {
    name: "the content box one pixel narrow (its right edge taken as exclusive)",
    file: 'src/data/crop.ts',
    find: 'width: right - left + 1, height: bottom - top + 1',
    replace: 'width: right - left, height: bottom - top + 1',
  },
  {
    name: 'mirror images with their colour channels reversed too (a row reversed byte by byte: RGB → BGR)',
    file: 'src/data/mirror.ts',
    find: 'pixels[d] = pixels[s];\n        pixels[d + 1] = pixels[s + 1];\n        pixels[d + 2] = pixels[s + 2];',
    replace: 'pixels[d] = pixels[s + 2];\n        pixels[d + 1] = pixels[s + 1];\n        pixels[d + 2] = pixels[s];',
  },
  {
    name: "eval splits a mirrored set by image, not by source: a held-out image's mirror image lands in the reference",
    file: 'src/metrics/evaluate.ts',
    find: 'const sources = data.mirrored ? data.count / 2 : data.count;',
    replace: 'const sources = data.count;',
  },
  // Sampling, checkpoints, resume
  {
    name: 'sampling in training mode (batch statistics instead of the moving ones)',
    file: 'src/model/generator.ts',
    find: 'return model.predict(inputs) as tf.Tensor4D;',
    replace: 'return model.apply(inputs, { training: true }) as tf.Tensor4D;',
  },
  {
    name: "Adam's v not restored from a checkpoint",
    file: 'src/train/adam.ts',
    find: 'this.v[i].assign(tf.tensor(moments[2 * i + 1], w.shape));',
    replace: '',
  },
  {
    name: "RMSprop's step count not restored from a checkpoint",
    file: 'src/train/rmsprop.ts',
    find: 'this.step = step;\n    tf.tidy(() => this.variables.forEach((w, i) => this.v[i]',
    replace: 'tf.tidy(() => this.variables.forEach((w, i) => this.v[i]',
  },
  {
    name: "every epoch replays the first epoch's order",
    file: 'src/train/train.ts',
    find: 'state.epochRng = orderRng.state;',
    replace: '',
  },
  // The installed package
  {
    name: "the web page's HTML and CSS read from the repo's src/ (not in the tarball) instead of beside the code",
    file: 'src/export/web.ts',
    find: "const pageAssets = path.join(codeRoot, 'export', 'page');",
    replace: "const pageAssets = path.join(path.dirname(codeRoot), 'src', 'export', 'page');",
  },
  // dcgan info
  {
    name: "dcgan info: wasm started on its default one thread, not on the threads train would use",
    file: 'src/backend/info.ts',
    find: "await attempt('wasm', async () => (await initBackend('wasm', options)));",
    replace: "await attempt('wasm', async () => (await initBackend('wasm')));",
  },
  // the cpu backend's filter gradient
  {
    name: "cpu filter gradient: a tap's sums start from the previous tap's",
    file: 'src/backend/cpu-conv2d-backprop-filter.ts',
    find: '      sums.fill(0);\n',
    replace: '',
  },
  // CI's set-up
  {
    name: 'install-lavapipe takes its mirror from a disabled apt source',
    file: 'scripts/install-lavapipe.sh',
    find: '        if (enabled == "no") next\n',
    replace: '',
  },
  // DiffAugment (src/train/augment.ts)
  {
    name: 'augment color: the image\'s mean over H and W only, not H, W and C (host)',
    file: 'src/train/augment.ts',
    find: 'const constant = ((1 - k) * sum) / size + (brighten',
    replace: 'const constant = ((1 - k) * sum) / (height * width) + (brighten',
  },
  {
    name: 'augment color: contrast around each channel\'s mean instead of the image\'s (as tensors)',
    file: 'src/train/augment.ts',
    find: 'y.mean([1, 2, 3], true), contrast)',
    replace: 'y.mean([1, 2], true), contrast)',
  },
  {
    name: 'augment translation: shifts drawn in [−s, s) (randint\'s exclusive end forgotten)',
    file: 'src/train/augment.ts',
    find: 'rng.integers(n, 2 * translationLimit(side) + 1)',
    replace: 'rng.integers(n, 2 * translationLimit(side))',
  },
  {
    name: 'augment translation: columns shifted the other way (host)',
    file: 'src/train/augment.ts',
    find: 'const shift = cols[b] * channels;',
    replace: 'const shift = -cols[b] * channels;',
  },
  {
    name: 'augment translation: the gradient shifted the same way as the images, not back (host)',
    file: 'src/train/augment.ts',
    find: 'forward ? step : opposite(step)',
    replace: 'step',
  },
  {
    name: 'augment translation/cutout: the gather\'s gradient reads the forward map, not its transpose (as tensors)',
    file: 'src/train/augment.ts',
    find: 'gatherRows(dy, [new Array<number>(channels).fill(0)], readers(map))',
    replace: 'gatherRows(dy, [new Array<number>(channels).fill(0)], map.map((q) => Math.min(q, pixels)))',
  },
  {
    name: 'augment cutout: the offset taken as the square\'s corner, not its centre',
    file: 'src/train/augment.ts',
    find: 'const top = rows[b] - Math.floor(kh / 2);',
    replace: 'const top = rows[b];',
  },
  // ProGAN's tricks and layers (Karras et al. 2018; the book's ch. 17)
  {
    name: 'pixel norm: the mean over the pixels of a row instead of over the channels',
    file: 'src/model/progan-layers.ts',
    find: 'tf.mean(tf.square(x), -1, true)',
    replace: 'tf.mean(tf.square(x), 1, true)',
  },
  {
    name: "minibatch stddev, the book's: the spread over the instances only, not the channels too",
    file: 'src/model/progan-layers.ts',
    find: 'tf.moments(x, [0, x.rank - 1])',
    replace: 'tf.moments(x, [0])',
  },
  {
    name: "minibatch stddev, Karras et al.'s: consecutive images grouped (image i in group ⌊i / G⌋), not strided",
    file: 'src/model/progan-layers.ts',
    find: 'tf.reshape(tf.tile(perGroup, [g]), [n, ...Array(x.rank - 1).fill(1)])',
    replace: 'tf.reshape(tf.stack(Array(g).fill(perGroup), 1), [n, ...Array(x.rank - 1).fill(1)])',
  },
  {
    name: "equalized learning rate: He's fan-in counted from the output channels",
    file: 'src/model/progan-layers.ts',
    find: 'this.addEqualizedWeights([k, k, channels, this.filters], k * k * channels, this.filters);',
    replace: 'this.addEqualizedWeights([k, k, channels, this.filters], k * k * this.filters, this.filters);',
  },
  {
    name: 'fade-in: α weighs the old path and 1 − α the new',
    file: 'src/model/progan-layers.ts',
    find: 'tf.add(tf.mul(alpha, fresh), tf.mul(tf.sub(1, alpha), old))',
    replace: 'tf.add(tf.mul(alpha, old), tf.mul(tf.sub(1, alpha), fresh))',
  },
  {
    name: 'box downscale: the mean over the wrong axes of the reshape',
    file: 'src/model/progan-layers.ts',
    find: 'tf.mean(tf.reshape(x, [n, h / f, f, w / f, f, c]), [2, 4])',
    replace: 'tf.mean(tf.reshape(x, [n, h / f, f, w / f, f, c]), [1, 3])',
  },
  {
    name: 'tricks: an equalized layer draws unseeded, not from the stock initialiser\'s seed',
    file: 'src/model/tricks.ts',
    find: 'return (init as Initializer | undefined)?.getConfig?.().seed as number | undefined;',
    replace: 'return undefined;',
  },
  // ProGAN's growing
  {
    name: 'schedule: each resolution fades in after its stable phase instead of before',
    file: 'src/model/progan.ts',
    find: 'const fading = index % 2 === 1;',
    replace: 'const fading = index % 2 === 0 && index > 0;',
  },
  {
    name: "D's fade: the old and new paths swapped",
    file: 'src/model/progan.ts',
    find: 'h = block.fade!.apply([old, h]) as SymbolicTensor;',
    replace: 'h = block.fade!.apply([h, old]) as SymbolicTensor;',
  },
  {
    name: "fadeReals: the reals' α and 1 − α swapped (the blurred image weighs α)",
    file: 'src/model/progan.ts',
    find: 'tf.add(tf.mul(phase.alpha, sharp), tf.mul(1 - phase.alpha, blurred))',
    replace: 'tf.add(tf.mul(1 - phase.alpha, sharp), tf.mul(phase.alpha, blurred))',
  },
  // StyleGAN
  {
    name: "AdaIN: style y_s·x + y_b with y_s the affine map alone (StyleGAN's 1 + left out)",
    file: 'src/model/stylegan-layers.ts',
    find: 'tf.add(1, tf.slice(style, [0, 0], [-1, c]))',
    replace: 'tf.slice(style, [0, 0], [-1, c])',
  },
  {
    name: 'AdaIN: normalised over the batch too (batch norm, not instance norm)',
    file: 'src/model/stylegan-layers.ts',
    find: 'tf.moments(x, [1, 2], true)',
    replace: 'tf.moments(x, [0, 1, 2], true)',
  },
  {
    name: 'noise: one map for the whole batch in training',
    file: 'src/model/stylegan-layers.ts',
    find: 'tf.randomNormal([n, h, w, 1], 0, 1,',
    replace: 'tf.randomNormal([1, h, w, 1], 0, 1,',
  },
  {
    name: "noise: drawn from the layer's seed alone, the same at every step",
    file: 'src/model/stylegan-layers.ts',
    find: "'float32', seedForCall(this, this.seed))",
    replace: "'float32', this.seed)",
  },
  {
    name: "w̄: the moving average's weights swapped (β on the batch's mean)",
    file: 'src/model/stylegan-layers.ts',
    find: 'tf.add(batch, tf.mul(tf.sub(this.average.read(), batch), this.beta))',
    replace: 'tf.add(this.average.read(), tf.mul(tf.sub(batch, this.average.read()), this.beta))',
  },
  {
    name: "style mixing: w̄ tracked from the second codes too (w₂ through the mapping's tracking layer)",
    file: 'src/train/step.ts',
    find: 'const w2 = codes.apply(inputs(styles.Z), mode)',
    replace: 'const w2 = mapping.apply(inputs(styles.Z), mode)',
  },
  {
    name: 'style mixing: the crossover taken the wrong way round (w₂ below it, w₁ from it on)',
    file: 'src/train/step.ts',
    find: 'mixStyles(w1, w2, styles.crossovers, layers)',
    replace: 'mixStyles(w2, w1, styles.crossovers, layers)',
  },
  {
    name: 'style mixing: the second codes drawn before the noise (a run shifts every z it drew)',
    file: 'src/train/train.ts',
    find: "  const first = draw();\n  const second = secondNoise(gan.recipe.step, gan.loss) ? draw() : undefined;",
    replace: "  const early = gan.styleMixing && noise.normals(n * latent);\n  const first = draw();\n  const second = secondNoise(gan.recipe.step, gan.loss) ? draw() : undefined;",
  },
  {
    name: 'library: loadGenerator takes truncation and ignores it',
    file: 'src/api.ts',
    find: 'applyTruncation(G, run, o.truncation);',
    replace: 'void run;',
  },
  {
    name: 'growing ETA: the phases ahead priced at the dearest step so far (the slope never fitted)',
    file: 'src/train/grow.ts',
    find: 'const slope = dear.cost > cheap.cost ?',
    replace: 'const slope = dear.cost < cheap.cost ?',
  },
  {
    name: "growing ETA: a phase's first step counted in the phase before (floor for ceil)",
    file: 'src/train/grow.ts',
    find: 'const first = Math.max(from, Math.ceil((index * length) / g.batchSize));',
    replace: 'const first = Math.max(from, Math.floor((index * length) / g.batchSize));',
  },
  {
    name: "progan's default loss the non-saturating one (the loss that collapsed it), not its paper's WGAN-GP",
    file: 'src/run/options.ts',
    find: "(arch === 'progan' ? 'wgan-gp' : 'gan')",
    replace: "(arch === 'progan' ? 'gan' : 'gan')",
  },
  {
    name: "a progan run's --augment defaulting to the dataset's policy, which its WGAN-GP refuses (every progan run on the sprites refused)",
    file: 'src/run/options.ts',
    find: "const training = wganGp ? { ...forData, augment: 'none', augmentFill: 'zero' } : forData;",
    replace: 'const training = forData;',
  },
  {
    name: 'truncation: w + ψ·(w̄ − w) (ψ toward w, not toward w̄)',
    file: 'src/model/stylegan-layers.ts',
    find: 'tf.add(tf.mul(psi, w), tf.mul(1 - psi, wAverage))',
    replace: 'tf.add(tf.mul(1 - psi, w), tf.mul(psi, wAverage))',
  },
  {
    name: "the mapping at the synthesis's learning rate (lr_mul 1)",
    file: 'src/model/stylegan.ts',
    find: 'new EqualizedDense({ units: latent, lrMul: MAPPING_LR_MUL,',
    replace: 'new EqualizedDense({ units: latent, lrMul: 1,',
  },
  {
    name: 'style mixing: the crossover layer itself still styled by w₁',
    file: 'src/model/stylegan.ts',
    find: '(layer < crossover ? 1 : 2)',
    replace: '(layer <= crossover ? 1 : 2)',
  },
  {
    name: 'style mixing: a crossover may be 0 (w₂ everywhere: no mixing, a second batch of w₂)',
    file: 'src/model/stylegan.ts',
    find: 'return mixes ? 1 + Math.floor(rng.uniform() * (layers - 1)) : layers;',
    replace: 'return mixes ? Math.floor(rng.uniform() * layers) : layers;',
  },
  // WGAN-GP's second-order gradients
  {
    name: "LeakyReLU's second-order gradient zero for dy (the penalty would not train D's lower layers)",
    file: 'src/backend/leaky-relu-grad.ts',
    find: 'return { dy: () => gradFunc(ddx, saved, attrs).x(), x: () => tf.zerosLike(x) };',
    replace: 'return { dy: () => tf.zerosLike(x), x: () => tf.zerosLike(x) };',
  },
  // Issue 21: bugs of code added since the previous audit that the suite let through
  {
    name: 'conditional G: the class embedding added to z instead of multiplying it',
    file: 'src/model/build.ts',
    find: "tf.layers.multiply({ name: 'latent_times_class' })",
    replace: "tf.layers.add({ name: 'latent_times_class' })",
  },
  {
    name: "mlp: G's batch norm at Keras' default momentum 0.99, not Keras-GAN's 0.8",
    file: 'src/model/mlp.ts',
    find: 'h = apply(kerasBatchNorm(`g${i}_bn`, 0.8), h);',
    replace: 'h = apply(kerasBatchNorm(`g${i}_bn`), h);',
  },
  {
    name: 'stale lock: the age test inverted (a fresh empty lock taken over, an old torn one refused)',
    file: 'src/run/lock.ts',
    find: "return age < 60_000 ? 'a trainer that is starting' : undefined;",
    replace: "return age >= 60_000 ? 'a trainer that is starting' : undefined;",
  },
  {
    name: 'resume: the eval record of the checkpoint\'s own step cut (off by one)',
    file: 'src/train/train.ts',
    find: 'await truncateJsonl(files.evals, (r) => r.step <= state.step);',
    replace: 'await truncateJsonl(files.evals, (r) => r.step < state.step);',
  },
  {
    name: 'pre-resume check: non-finite optimizer slots not looked for',
    file: 'src/run/checkpoint.ts',
    find: "  if (firstNonFinite(floats) >= 0) throw new RunFileError(slotsFile, 'it holds NaN or infinite values: the run diverged before this checkpoint');\n",
    replace: '',
  },
  {
    name: "serve: a sibling folder whose name starts with the served folder's counts as inside",
    file: 'src/export/serve.ts',
    find: 'if (file !== base && !file.startsWith(base + path.sep))',
    replace: 'if (file !== base && !file.startsWith(base))',
  },
  {
    name: 'img/s of an epoch resumed midway: only the images after the resume',
    file: 'src/train/train.ts',
    find: 'const trainedImages = (carried.timed ? batchesPerEpoch : batchesPerEpoch - firstBatch) * o.batchSize;',
    replace: 'const trainedImages = (batchesPerEpoch - firstBatch) * o.batchSize;',
  },
  {
    name: "conditional --search: the kept candidates drawn with the first candidates' classes",
    file: 'src/generate/search.ts',
    find: 'labels && best.map((k) => labels[k])',
    replace: 'labels && labels.slice(0, o.n)',
  },
  // Issue 21: deleting only what dcgan wrote, reading only regular files
  {
    name: 'owned names: an unknown file inside an owned folder skipped (as beside the run) instead of refusing the delete',
    file: 'src/util/owned.ts',
    find: "        if (top) continue;\n        return { path: rel, why: 'dcgan did not write it' };",
    replace: '        continue;',
  },
  {
    name: 'checkpoint: a part replaced as a whole folder (a file of the user\'s in generator/ deleted)',
    file: 'src/run/checkpoint.ts',
    find: 'async function replaceFiles(from: string, to: string): Promise<void> {\n  await mkdir(to, { recursive: true });',
    replace: "async function replaceFiles(from: string, to: string): Promise<void> {\n  await (await import('node:fs/promises')).rm(to, { recursive: true, force: true });\n  await mkdir(to, { recursive: true });",
  },
  {
    name: "state.json: its step checked against D's optimizer (which keras-gan's form steps twice) instead of G's",
    file: 'src/run/checkpoint.ts',
    find: 'growing ? manifest.G.step > state.step : manifest.G.step !== state.step',
    replace: 'growing ? manifest.D.step > state.step : manifest.D.step !== state.step',
  },
  {
    name: 'train --overwrite: a folder whose config.json is not a run\'s replaced all the same',
    file: 'src/train/command.ts',
    find: '  if (notRun) {\n    throw new UsageError(`--out ${out} holds',
    replace: '  if (notRun && !given.overwrite) {\n    throw new UsageError(`--out ${out} holds',
  },
  {
    name: 're-export: a file the same size as the one exported taken as unchanged (its hash not compared)',
    file: 'src/export/web.ts',
    find: 'if (!wrote.some((e) => e.size === now.size && e.sha256 === now.sha256))',
    replace: 'if (!wrote.some((e) => e.size === now.size))',
  },
  {
    name: 'export: a symbolic link in the run followed (no O_NOFOLLOW)',
    file: 'src/export/web.ts',
    find: 'fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);',
    replace: 'fh = await open(file, constants.O_RDONLY);',
  },
  {
    name: 'serve: any Host that starts with a local name answered (localhost.evil.example)',
    file: 'src/export/serve.ts',
    find: 'h === name || h === `${name}:${port}`',
    replace: 'h.startsWith(name)',
  },
  {
    name: 'staging folders: those of live processes removed too',
    file: 'src/util/signals.ts',
    find: 'pid === process.pid || processAlive(pid)',
    replace: 'pid === process.pid',
  },
  {
    name: "sample limits: only a grid's width checked against the format's largest side",
    file: 'src/generate/limits.ts',
    find: 'Math.max(width, height) > max',
    replace: 'width > max',
  },
  // issue 19: the generator average, keep-best and early stop, DiffAugment's wiring, the fill colour
  {
    name: "EMA: the half-life's ramp-up forgotten (β at the full half-life from the first step)",
    file: 'src/train/ema.ts',
    find: 'const halfLife = Math.min(kimg * 1000, imagesSeen * EMA_RAMPUP);',
    replace: 'const halfLife = kimg * 1000;',
  },
  {
    name: "EMA: β weighs G, not the average (G_ema ← (1 − β)·G_ema + β·G)",
    file: 'src/train/ema.ts',
    find: 'average.write(g.add(average.read().sub(g).mul(beta)));',
    replace: 'average.write(average.read().add(g.sub(average.read()).mul(beta)));',
  },
  {
    name: 'standing statistics: the k-th batch weighs 1 − 1/k (the first batch kept, the rest barely count)',
    file: 'src/train/ema.ts',
    find: 'for (const l of layers) l.momentum = 1 - 1 / k;',
    replace: 'for (const l of layers) l.momentum = 1 / k;',
  },
  {
    name: "d2l with --augment: G's update shows D the generated images unaugmented",
    file: 'src/train/step.ts',
    find: 'const lossG = minimise(G, optG, () => term(D, see(generate(gan, firstNoise(b), TRAINING)), 1, b.fakeLabels, reduction).loss);',
    replace: 'const lossG = minimise(G, optG, () => term(D, generate(gan, firstNoise(b), TRAINING), 1, b.fakeLabels, reduction).loss);',
  },
  {
    name: "--augment: the augmentation's random stream not checkpointed (a resume replays the first parameters)",
    file: 'src/train/train.ts',
    find: 'if (policy.length) state.augmentRng = augmentRng.state;',
    replace: 'if (policy.length) state.augmentRng = undefined;',
  },
  {
    name: '--keep-best: a higher figure counts as better (SWD and loss_G are lower-is-better)',
    file: 'src/train/train.ts',
    find: '(!state.best || figure < state.best.value)',
    replace: '(!state.best || figure > state.best.value)',
  },
  {
    name: '--early-stop N: stops after N + 1 epochs without a new best (off by one)',
    file: 'src/train/train.ts',
    find: 'if (state.epoch - since < o.earlyStop) return undefined;',
    replace: 'if (state.epoch - since <= o.earlyStop) return undefined;',
  },
  {
    name: '--augment-fill background: the colour read from the top row only (two corners), not all four',
    file: 'src/data/background.ts',
    find: 'for (const [y, x] of [[0, 0], [0, size - 1], [size - 1, 0], [size - 1, size - 1]]) {',
    replace: 'for (const [y, x] of [[0, 0], [0, size - 1]]) {',
  },
  {
    name: 'truncation: ψ 0 taken as no truncation (a falsy check)',
    file: 'src/generate/style.ts',
    find: 'if (psi === undefined) return;',
    replace: 'if (!psi) return;',
  },
  {
    name: "walks in w: t = k / steps, so a walk stops short of its end",
    file: 'src/generate/style.ts',
    find: 'const t = k / (steps - 1);',
    replace: 'const t = k / steps;',
  },
  {
    name: "style mixing: B's styles at one layer past the group's end",
    file: 'src/generate/style.ts',
    find: 'l >= range[0] && l < range[1] ? wB : wA',
    replace: 'l >= range[0] && l <= range[1] ? wB : wA',
  },
  {
    name: 'style mixing: the middle band draws B with A\'s styles (sources swapped)',
    file: 'src/generate/mix.ts',
    find: 'for (let j = 0; j < o.cols; j++) codes.push(copyStyles(wA(i), wB(j), layers, range));',
    replace: 'for (let j = 0; j < o.cols; j++) codes.push(copyStyles(wB(j), wA(i), layers, range));',
  },
  {
    name: "EMA: with --ema-statistics average, StyleGAN's w̄ averaged instead of copied",
    file: 'src/train/ema.ts',
    find: 'if (trainable.has(w) || (statistics && batchNorm.has(w))) {',
    replace: 'if (trainable.has(w) || statistics) {',
  },
  {
    name: "export --web: StyleGAN's layers shipped without step-seed.js, which they import",
    file: 'src/export/web.ts',
    find: "'model/stylegan-layers', 'model/step-seed', 'model/style-models'];",
    replace: "'model/stylegan-layers', 'model/style-models'];",
  },
  {
    name: "export --web: G's own files shipped whatever the choice (the page draws G, not the average sample draws)",
    file: 'src/export/web.ts',
    find: "await put(`generator/${file}`, await readRegularFile(path.join(generator.dir, file)));",
    replace: "await put(`generator/${file}`, await readRegularFile(path.join(o.run, 'generator', file)));",
  },
  {
    name: "export --web: a StyleGAN's walk slerps between the ends' codes w, as the page does z, not the straight line sample --interpolate takes",
    file: 'src/export/page/app.ts',
    find: 'w.set(lerp(from.subarray(i * d, (i + 1) * d), to.subarray(i * d, (i + 1) * d), v.t), i * d);',
    replace: 'w.set(slerp(from.subarray(i * d, (i + 1) * d), to.subarray(i * d, (i + 1) * d), v.t), i * d);',
  },
  {
    name: "dcgan/layers registers ProGAN's layers only: a StyleGAN generator does not load in the user's tfjs",
    file: 'src/layers.ts',
    find: "import './model/stylegan-layers.js';",
    replace: '',
  },
  // progressive growing (--fade-kimg)
  {
    name: 'growing: the models and Adam change only at a new resolution, not at the stable phase after a fade',
    file: 'src/train/grow.ts',
    find: 'const changed = phase.index !== g.phase.index;',
    replace: 'const changed = phase.resolution !== g.phase.resolution;',
  },
  {
    name: "growing: D's reals not faded as G's images are",
    file: 'src/train/train.ts',
    find: 'if (gan.growing) batch.X = fadeReals(batch.X, gan.growing.phase);',
    replace: '',
  },
  {
    name: 'growing: the phase advanced a step late (that of the step just trained)',
    file: 'src/train/train.ts',
    find: 'if (growTo(gan, state.step))',
    replace: 'if (growTo(gan, state.step - 1))',
  },
  {
    name: "growing: a resume loads the phase's G and D but not growing/ (the layers they leave out)",
    file: 'src/run/checkpoint.ts',
    find: '      await loadNetwork(model, dir);\n',
    replace: '',
  },
  {
    name: "wgan-gp: the penalty's point lerps from the fake to the real (x̂ = G(z) + u·(x − G(z)))",
    file: 'src/train/step.ts',
    find: 'const mixed = b.X.add(fake.sub(b.X).mul(b.mix!));',
    replace: 'const mixed = fake.add(b.X.sub(fake).mul(b.mix!));',
  },
  {
    name: "--ema on a growing run: only the phase's weights averaged (the official averages every weight of G)",
    file: 'src/train/train.ts',
    find: 'const [from, to] = gan.growing ? [gan.growing.networks.whole().G, wholeNetworks(gan.growing).Gema!] : [gan.G, Gema];',
    replace: 'const [from, to] = [gan.G, Gema];',
  },
];
