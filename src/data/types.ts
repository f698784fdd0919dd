/** Every dataset ends as this: N square images of the model's size and channels, uint8, NHWC, row-major. */
export interface ImageSet {
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
}

export interface PreprocessOptions {
  size: number;
  channels: 1 | 3;
  /** colour that transparent pixels are flattened onto, any CSS colour sharp accepts */
  background: string;
  /** 'fill' stretches to a square like d2l's Resize((64, 64)); 'contain' pads with the background */
  fit: 'fill' | 'contain';
}
