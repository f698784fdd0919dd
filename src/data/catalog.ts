// The datasets by name, and what depends on the name alone, readable without loading sharp or TensorFlow.js (the
// command line checks --dataset and fills defaults first). index.ts holds the loaders.
import type { CropMode } from './crop.js';

export const DATASET_NAMES = ['pokesprite', 'pokemon', 'mnist', 'mnist-10k', 'fashion-mnist'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** The environment variable that names a mirror of d2l's pokemon.zip. */
export const POKEMON_URL_ENV = 'DCGAN_POKEMON_URL';

/** The channels a dataset naturally has: grey for the MNISTs, RGB otherwise. */
export function datasetChannels(dataset: string | undefined): 1 | 3 {
  return dataset === 'mnist' || dataset === 'mnist-10k' || dataset === 'fashion-mnist' ? 1 : 3;
}

/**
 * What --crop and --mirror are for a dataset when not given (src/data/README.md, "Crop and mirror", has the figures):
 * - pokesprite and pokemon (sprites on a transparent or white box): crop to the figure, which fills a small part of
 *   the frame; mirror, since a Pokémon facing the other way is as much a Pokémon.
 * - mnist, mnist-10k: neither. The digits are already size-normalised into a 20×20 box and centred by their mass in
 *   28×28; cropping would change that known form, which the PyTorch and Keras references train on. A mirrored digit
 *   is not a digit.
 * - fashion-mnist: neither. Its conversion already trimmed each photo to its corner colour and scaled it to fill 28×28
 *   (Xiao et al. 2017); with 60,000 images it is not the small set flips help most.
 */
export function datasetDefaults(dataset: string | undefined): { crop: CropMode; mirror: boolean } {
  const sprites = isSpriteSet(dataset);
  return { crop: sprites ? 'content' : 'none', mirror: sprites };
}

/** Pokémon sprites (pokesprite, the default, and d2l's pokemon): small figures on a plain background. */
export const isSpriteSet = (dataset: string | undefined) => dataset === undefined || dataset === 'pokesprite' || dataset === 'pokemon';
