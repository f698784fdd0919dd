// Sample grids: a batch of images in [-1, 1] laid out in rows, written as PNG.
import sharp from 'sharp';
import { writeFileAtomic } from '../util/fs.js';

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** [-1, 1] floats → uint8, rounding to nearest; out-of-range values clamp. */
export function toUint8(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.round(Math.min(1, Math.max(-1, x[i])) * 127.5 + 127.5);
  return out;
}

/**
 * Tiles n images (NHWC, uint8) into a grid of `cols` columns with a `pad`-pixel border of `padValue` around each tile,
 * like torchvision's make_grid.
 */
export function tileGrid(pixels: Uint8Array, n: number, size: number, channels: 1 | 3, cols: number, pad = 2, padValue = 255): RawImage {
  const rows = Math.ceil(n / cols);
  const width = cols * (size + pad) + pad;
  const height = rows * (size + pad) + pad;
  const data = new Uint8Array(width * height * channels).fill(padValue);
  const rowBytes = size * channels;
  for (let k = 0; k < n; k++) {
    const x0 = pad + (k % cols) * (size + pad);
    const y0 = pad + Math.floor(k / cols) * (size + pad);
    for (let y = 0; y < size; y++) {
      const src = (k * size + y) * rowBytes;
      data.set(pixels.subarray(src, src + rowBytes), ((y0 + y) * width + x0) * channels);
    }
  }
  return { data, width, height, channels };
}

export async function encodePng(img: RawImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: img.channels },
  })
    .png()
    .toBuffer();
}

export async function writePng(file: string, img: RawImage): Promise<void> {
  await writeFileAtomic(file, await encodePng(img));
}
