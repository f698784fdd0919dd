import type { CropMode } from './crop.js';

/** Every dataset ends as this: N square images of the model's size and channels, uint8, NHWC, row-major. */
export interface ImageSet extends Labelling {
  pixels: Uint8Array;
  count: number;
  size: number;
  channels: 1 | 3;
  /** for people: where the images came from */
  description: string;
  /** the class of each image, where the source has classes (class folders, label files) */
  labels?: Uint16Array;
  /** class index → name */
  classNames?: string[];
  /**
   * `--mirror`: the images are twice the source's, the second half the first half's mirror images (image count/2 + i
   * is image i flipped left–right, with i's label), so the source images are the first count/2
   */
  mirrored?: boolean;
}

/** The class side of an ImageSet: labels and their names together, or neither and why. */
export interface Labelling {
  /**
   * Each image's class, an index into `classNames`, in the pixels' order. 16 bits because a byte is too small for
   * real folder sets (d2l's Pokémon has 721 classes) and 65,536 classes is more than any of ours will have.
   */
  labels?: Uint16Array;
  /** class index → name, for every class of the source (a --limit may leave some without images) */
  classNames?: string[];
  /** when there are no labels: why, in words that finish "<source> has no classes: …" */
  whyNoLabels?: string;
}

export interface PreprocessOptions {
  size: number;
  channels: 1 | 3;
  /** colour that transparent pixels are flattened onto, any CSS colour sharp accepts */
  background: string;
  /** 'fill' stretches to a square like d2l's Resize((64, 64)); 'contain' pads with the background */
  fit: 'fill' | 'contain';
  /** 'content': cut each image to what it shows first, centred on a square (./crop.ts); 'none' (the default): whole */
  crop?: CropMode;
}
