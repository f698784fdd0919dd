// The architectures by name, with what they are, readable without building anything: the command line lists them in
// --help and checks --arch before TensorFlow.js is loaded. architectures.ts holds the builders, one row each.
export const ARCH_TITLES = {
  d2l: 'DCGAN (Radford et al.) as "Dive into Deep Learning" teaches it: Pokémon at 64×64',
  dcgan28: 'the PyTorch MNIST DCGAN (pytorch/examples dcgan at 28×28)',
  keras28: 'the Keras DCGAN of "Hands-on Machine Learning" (Fashion-MNIST, 28×28)',
  anime96: 'AnimeGAN (jayleicn/animeGAN): a DCGAN at 96×96',
  mlp: 'the fully connected GAN of the Keras tutorials (Keras-GAN gan.py)',
  progan: 'ProGAN (Karras et al. 2018, "Progressive Growing of GANs"): grown from 4×4, equalized learning rate, pixel norm, minibatch stddev',
  stylegan: 'StyleGAN (Karras et al. 2019) as the book describes its generator: mapping network, AdaIN, noise; ProGAN\'s D',
} as const;

export type ArchName = keyof typeof ARCH_TITLES;
export const ARCH_NAMES = Object.keys(ARCH_TITLES) as ArchName[];
export const DEFAULT_ARCH: ArchName = 'd2l';
