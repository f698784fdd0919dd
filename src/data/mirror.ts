// `--mirror`: the set doubled with each image flipped left–right (StyleGAN's --mirror; Karras et al. 2019), for sets
// whose images could as well face the other way.
//
// The mirror images are made in memory after the cache is read, into room the read left for them: the cache holds the
// source images only, so one cache file serves both settings. Flipping 40,000 64×64×3 images takes about 1–2 s here.

/**
 * Writes the mirror image of image i (of `count`, NHWC uint8) into slot count + i of the same array, which must hold
 * 2·count images.
 */
export function mirrorImages(pixels: Uint8Array, count: number, size: number, channels: 1 | 3): void {
  const imageBytes = size * size * channels;
  if (pixels.length < 2 * count * imageBytes) throw new Error(`room for ${pixels.length / imageBytes} images, not ${2 * count}`);
  const rowBytes = size * channels;
  const half = count * imageBytes;
  for (let row = 0; row < count * size; row++) {
    // s walks the source row left to right, d its copy's row right to left
    let s = row * rowBytes;
    let d = s + half + rowBytes - channels;
    if (channels === 1) {
      for (let x = 0; x < size; x++, s++, d--) pixels[d] = pixels[s];
    } else {
      for (let x = 0; x < size; x++, s += 3, d -= 3) {
        pixels[d] = pixels[s];
        pixels[d + 1] = pixels[s + 1];
        pixels[d + 2] = pixels[s + 2];
      }
    }
  }
}
