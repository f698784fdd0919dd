// The options of a run, one row each: `dcgan train`'s flags are built from this table, config.json stores what they
// parsed to, and a stored value is checked by the same rules when a run is read again (run/runs.ts readConfig). Each
// row also says what `--resume` may do with it. Nothing here loads TensorFlow.js or sharp: --help reads it.
import { InvalidArgumentError } from 'commander';
import os from 'node:os';
import { BACKEND_NAMES } from '../backend/names.js';
import { datasetChannels, datasetDefaults, isSpriteSet } from '../data/catalog.js';
import { DATASET_OPTIONS } from '../data/options.js';
import { ARCH_NAMES, ARCH_TITLES } from '../model/catalog.js';
import { parsePolicy, policyText } from '../train/augment-policy.js';
import { flagName, optionKey, storedValueProblem, type OptionSpec } from '../util/option-spec.js';
import { nonNegativeInt, nonNegativeNumber, oneOf, positiveInt, positiveNumber, unitInterval } from '../util/parse.js';

/**
 * What a resume does with an option: `run` — it is the run's own, kept from config.json, and a different value given
 * on the command line is refused; `may-change` — the run's value unless given again; `invocation` — about this command
 * only, not stored.
 */
export type ResumeRule = 'run' | 'may-change' | 'invocation';

export interface RunOptionSpec extends OptionSpec {
  resume: ResumeRule;
  /**
   * What a run from before this option existed did (its config.json lacks the key): a resume continues it so, not
   * with today's default. Undefined: such runs take the default.
   */
  legacy?: unknown;
}

export const archOptionSpec = (): OptionSpec => ({
  flag: '--arch <name>',
  help: `architecture: ${ARCH_NAMES.map((n) => `${n} (${ARCH_TITLES[n]})`).join('; ')}`,
  choices: ARCH_NAMES, default: 'd2l',
});

export const backendOptionSpec = (): OptionSpec => ({
  flag: '--backend <name>', help: 'compute backend (auto picks a GPU when there is one)', choices: BACKEND_NAMES, default: 'auto',
});

export const threadsOptionSpec = (): OptionSpec => ({
  flag: '--threads <n>', help: 'CPU threads for the wasm backend (at most 8; other backends ignore it)',
  parse: positiveInt, default: os.availableParallelism(), defaultText: 'every core',
});

const run = (spec: OptionSpec & { legacy?: unknown }): RunOptionSpec => ({ ...spec, resume: 'run' });
const mayChange = (spec: OptionSpec): RunOptionSpec => ({ ...spec, resume: 'may-change' });
const invocation = (spec: OptionSpec): RunOptionSpec => ({ ...spec, resume: 'invocation' });

/** --augment's value, checked as the flag's and as config.json's: the policy as DiffAugment's names it. */
function augmentPolicy(text: string): string {
  try {
    return policyText(parsePolicy(text));
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--augment [^:]*: /, ''));
  }
}

/** --minibatch-stddev: off, book, or a group size of at least 2. */
function minibatchMode(text: string): string {
  const t = text.trim();
  if (t === 'off' || t === 'book') return t;
  if (/^\d+$/.test(t) && Number(t) >= 2) return String(Number(t));
  throw new InvalidArgumentError('must be off, book, or a group size of at least 2 (Karras et al. use 4).');
}

/**
 * --fade-kimg's default for progan: 4 thousand images a phase, so that a CPU run of a few thousand steps grows all the
 * way (at 64 px, batch 16: 8 phases of 250 steps before the final size, from step 2000) and has steps left at it.
 */
export const PROGAN_FADE_KIMG = 4;

/** --style-mixing's default for stylegan: the share of images drawn from two codes in training (the paper's 90 %). */
export const STYLEGAN_STYLE_MIXING = 0.9;

/**
 * --loss where not given: progan's paper's WGAN-GP (with the non-saturating loss it collapsed on the sprites:
 * docs/image-quality.md), every other architecture's source's GAN loss.
 */
export const defaultLoss = (arch: unknown): 'gan' | 'wgan-gp' => (arch === 'progan' ? 'wgan-gp' : 'gan');

/** `dcgan train`'s options, in the order --help lists them. */
export const TRAIN_OPTIONS: RunOptionSpec[] = [
  mayChange({ flag: '--out <dir>', help: 'run folder (default checkpoints/<dataset>-<size>)' }),
  invocation({ flag: '--resume', help: 'continue the run in --out exactly where its last checkpoint left it', default: false }),
  invocation({ flag: '--overwrite', help: "start a new run in an --out that holds one: deletes that run's files first", default: false }),
  invocation({ flag: '--allow-changed-data', help: 'with --resume: continue even though the images differ from those the run trained on', default: false }),
  run(archOptionSpec()),
  run({
    flag: '--conditional', default: false,
    help: 'class-conditional training (ACGAN): G draws the class it is asked for, D names the class; needs a dataset with classes',
  }),
  run({ flag: '--optimizer <name>', help: "adam or rmsprop, in the architecture's framework's form (default: the architecture's)", choices: ['adam', 'rmsprop'] }),
  mayChange({ flag: '--epochs <n>', help: "the run's total number of epochs", parse: positiveInt, default: 20 }),
  run({ flag: '--batch-size <n>', help: "images per step (default: the architecture's; d2l 256)", parse: positiveInt }),
  run({ flag: '--lr <x>', help: "learning rate, both networks (default: the architecture's; d2l 0.005)", parse: positiveNumber }),
  run({ flag: '--beta1 <x>', help: "Adam's β1 (default: the architecture's; d2l 0.5)", parse: unitInterval }),
  run({ flag: '--beta2 <x>', help: "Adam's β2 (default: the architecture's; d2l 0.999)", parse: unitInterval }),
  run({ flag: '--image-size <n>', help: "image side in pixels (default: the architecture's; d2l 64 and 16, 32, 128)", parse: positiveInt }),
  run({ flag: '--width <n>', help: "base width: channels of the outermost blocks (default: the architecture's; d2l 64)", parse: positiveInt }),
  run({ flag: '--latent <n>', help: "size of the noise vector z (default: the architecture's; d2l 100)", parse: positiveInt }),
  run({ flag: '--channels <n>', help: "image channels: 3 (colour) or 1 (grey); default: the dataset's", parse: oneOf([1, 3] as const) }),
  run({ flag: '--seed <n>', help: 'seed for weights, data order and noise', parse: nonNegativeInt, default: 0 }),
  run({ flag: '--limit <n>', help: 'use only the first N images (smoke tests)', parse: positiveInt }),
  mayChange({ flag: '--log-every <n>', help: 'steps between reads of the losses', parse: positiveInt, default: 10 }),
  mayChange({ flag: '--eval-every <k>', help: 'every k epochs (and after the last) compute SWD and the memorisation check; 0: never', parse: nonNegativeInt, default: 0 }),
  mayChange({ flag: '--eval-n <n>', help: 'images per set for --eval-every', parse: positiveInt, default: 512 }),
  run({
    flag: '--minibatch-stddev <mode>', parse: minibatchMode, legacy: 'off',
    help: "ProGAN's minibatch standard deviation as an extra feature map before D's last block: book (over the batch and channels, as Hands-on ML computes it), a group size such as 4 (Karras et al.), or off (default: the architecture's; progan and stylegan 4, the others off)",
  }),
  run({
    flag: '--equalized-lr', negation: 'weights drawn and trained as the architecture\'s source does', legacy: false,
    help: "ProGAN's equalized learning rate: weights drawn from N(0, 1), scaled at run time by He's √(2/fan_in) (default: the architecture's; progan and stylegan on)",
  }),
  run({
    flag: '--pixel-norm', negation: "no pixel normalisation in G", legacy: false,
    help: "ProGAN's pixel normalisation after each of G's convolutions, x / √(mean over channels of x² + 1e-8) (default: the architecture's; progan on)",
  }),
  run({
    flag: '--augment <policy>', parse: augmentPolicy, legacy: 'none',
    help: "DiffAugment (Zhao et al. 2020) of every image D sees, real and generated, in both updates: color, translation, cutout as a comma list (applied in its order), or none (default: the dataset's: translation,cutout for pokesprite and pokemon, translation for mnist-10k, else none)",
  }),
  run({
    flag: '--augment-fill <fill>', choices: ['zero', 'background'], legacy: 'zero',
    help: "what translation and cutout put where there is no image: zero (DiffAugment's own, mid-grey) or background (the data's background colour: its images' most common corner colour) (default: background where --augment defaults to a policy, else zero)",
  }),
  run({
    flag: '--ema <kimg>', parse: nonNegativeNumber, legacy: 0,
    help: "keep a moving average of G's weights with this half-life in thousands of images (StyleGAN2-ADA's ema_kimg, ramped up over the first images); grids, sample, eval, export and serve use it; 0: none (default: the dataset's: 10 for pokesprite and pokemon, else 0)",
  }),
  run({
    flag: '--ema-statistics <how>', choices: ['standing', 'average'], default: 'standing', legacy: 'standing',
    help: "with --ema: the average's batch-norm statistics, recomputed from its own weights on fresh noise (standing, BigGAN's) or averaged like the weights",
  }),
  run({
    flag: '--loss <name>', choices: ['gan', 'wgan-gp'], legacy: 'gan',
    help: "gan: the architecture's GAN loss, in its source's step; wgan-gp (--arch progan): ProGAN's WGAN-GP, λ 10, ε_drift 0.001 (Gulrajani et al. 2017; Karras et al. 2018) (default: the architecture's: wgan-gp for progan, as its paper trains, gan for the others)",
  }),
  run({
    flag: '--fade-kimg <kimg>', parse: nonNegativeNumber, legacy: 0,
    help: `--arch progan: grow from 4×4 (Karras et al. 2018), this many thousand images per fade and per stable phase (their lod_training_kimg = lod_transition_kimg, 600); 0: the final network from the start (default: ${PROGAN_FADE_KIMG}, which at 64 px and batch 16 is 250 steps a phase, the final size from step 2000)`,
  }),
  run({
    flag: '--style-mixing <p>', parse: unitInterval, legacy: 0,
    help: `--arch stylegan: style-mixing regularisation (Karras et al. 2019), this share of the images G draws in training takes two codes z₁, z₂, w₁'s styles below a layer drawn at random and w₂'s from it on; 0: none (default: ${STYLEGAN_STYLE_MIXING}, the paper's)`,
  }),
  mayChange({
    flag: '--keep-best <figure>', choices: ['none', 'loss-g', 'swd'], default: 'none',
    help: "keep the generator of the best epoch in best/: loss-g, the lowest epoch-mean loss_G (the PyTorch MNIST tutorial's rule); swd, the lowest SWD of --eval-every",
  }),
  mayChange({ flag: '--early-stop <epochs>', parse: nonNegativeInt, default: 0, help: 'with --keep-best: stop after this many epochs without a new best; 0: never' }),
  mayChange(backendOptionSpec()),
  mayChange(threadsOptionSpec()),
  ...DATASET_OPTIONS.map(run),
];

const BY_KEY = new Map(TRAIN_OPTIONS.map((spec) => [optionKey(spec), spec]));

/** The row of a key as config.json and commander name it ('batchSize'), or undefined. */
export const trainOption = (key: string): RunOptionSpec | undefined => BY_KEY.get(key);

/** The keys a resume may change, and those about one invocation only (config.json does not keep them). */
export const keysWith = (rule: ResumeRule): Set<string> =>
  new Set(TRAIN_OPTIONS.filter((s) => s.resume === rule).map(optionKey));

/** '--batch-size' for 'batchSize'. */
export const flagOf = (key: string): string => {
  const spec = BY_KEY.get(key);
  return spec ? flagName(spec) : `--${key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
};

/**
 * The first stored option that breaks its flag's rules, as `"options.KEY" is VALUE: PROBLEM`, or undefined. Keys this
 * version has no flag for are left alone (a newer dcgan's run may carry more).
 */
export function storedOptionsProblem(options: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(options)) {
    const spec = BY_KEY.get(key);
    if (!spec) continue;
    const problem = storedValueProblem(spec, value);
    if (problem) return `"options.${key}" is ${JSON.stringify(value)}: ${problem} (as ${flagName(spec)} requires)`;
  }
  return undefined;
}

/**
 * --augment, --augment-fill and --ema where not given: what the ablation of docs/image-quality.md showed best at equal
 * compute (d2l at 32 px on the sprites, dcgan28 on mnist-10k; 2-core CPU, wasm):
 * - sprites (pokesprite; pokemon, the same kind of image): translation,cutout filled with the background (white), SWD
 *   28.0 → 18.2 over crop + mirror alone, and the average of G's weights (10 kimg), which smooths the figures' colours.
 * - mnist-10k: translation filled with black: SWD 24.7 → 12.8 and class agreement 59 % → 81 %; the average made both
 *   worse there (16.3 and 79 % with translation), so it is off.
 * - mnist (60,000 digits) and fashion-mnist: not measured; nothing, as their references train.
 * `--augment none --ema 0` (with `--crop none --no-mirror`) trains as the architecture's source does.
 */
export function trainingDefaults(dataset: string | undefined): { augment: string; augmentFill: 'zero' | 'background'; ema: number } {
  if (isSpriteSet(dataset)) return { augment: 'translation,cutout', augmentFill: 'background', ema: 10 };
  if (dataset === 'mnist-10k') return { augment: 'translation', augmentFill: 'background', ema: 0 };
  return { augment: 'none', augmentFill: 'zero', ema: 0 };
}

/**
 * What depends on the dataset where the caller gave nothing: its channels, whether its images are cropped to their
 * content and mirrored, how D's images are augmented and whether G's weights are averaged. The command line and the
 * API fill them the same way; config.json records the values.
 */
export function withDatasetDefaults(opts: Record<string, unknown>): Record<string, unknown> {
  const defaults = datasetDefaults(opts.dataset as string | undefined);
  // WGAN-GP (progan's default loss) takes no augmentation yet (its penalty's second gradient through it is untested)
  const wganGp = (opts.loss ?? defaultLoss(opts.arch)) === 'wgan-gp';
  const forData = trainingDefaults(opts.dataset as string | undefined);
  const training = wganGp ? { ...forData, augment: 'none', augmentFill: 'zero' } : forData;
  return {
    ...opts,
    channels: opts.channels ?? datasetChannels(opts.dataset as string | undefined),
    crop: opts.crop ?? defaults.crop,
    mirror: opts.mirror ?? defaults.mirror,
    augment: opts.augment ?? training.augment,
    augmentFill: opts.augmentFill ?? training.augmentFill,
    ema: opts.ema ?? training.ema,
  };
}

/** Every row's default, by key (rows without one are left out: the architecture's or the dataset's decide). */
export function optionDefaults(): Record<string, unknown> {
  return Object.fromEntries(TRAIN_OPTIONS.filter((spec) => spec.default !== undefined).map((spec) => [optionKey(spec), spec.default]));
}
