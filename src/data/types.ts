/** Every dataset ends as this: N square images of the model's size and channels, uint8, NHWC, row-major. */
export interface ImageSet {
  pixels: Uint8Array;
  count: number;
  size: number;
  channels: 1 | 3;
  /** for people: where the images came from */
  description: string;
}

export interface PreprocessOptions {
  size: number;
  channels: 1 | 3;
  /** colour that transparent pixels are flattened onto, any CSS colour sharp accepts */
  background: string;
  /** 'fill' stretches to a square like d2l's Resize((64, 64)); 'contain' pads with the background */
  fit: 'fill' | 'contain';
}
