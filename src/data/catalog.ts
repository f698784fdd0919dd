// The datasets by name, and what depends on the name alone, readable without loading sharp or TensorFlow.js (the
// command line checks --dataset and fills defaults first). index.ts holds the loaders.
export const DATASET_NAMES = ['pokesprite', 'pokemon', 'mnist', 'mnist-10k', 'fashion-mnist'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** The environment variable that names a mirror of d2l's pokemon.zip. */
export const POKEMON_URL_ENV = 'DCGAN_POKEMON_URL';

/** The channels a dataset naturally has: grey for the MNISTs, RGB otherwise. */
export function datasetChannels(dataset: string | undefined): 1 | 3 {
  return dataset === 'mnist' || dataset === 'mnist-10k' || dataset === 'fashion-mnist' ? 1 : 3;
}
