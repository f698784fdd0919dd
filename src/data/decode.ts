// Image files → uint8 pixels of the model's size, with sharp (libvips).
import sharp from 'sharp';
import { cutSquare, findContent } from './crop.js';
import type { PreprocessOptions } from './types.js';

/** Undecoded pixels, e.g. one IDX image: uint8, row-major, interleaved channels. */
export interface RawImage {
  raw: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

export interface ImageInput {
  /** for messages: a path relative to the source */
  name: string;
  read: () => Promise<Buffer | string | RawImage>;
}

/** An image that decodes but shows nothing (`--crop content`: no visible pixel): skipped, and counted apart. */
export class BlankImageError extends Error {
  constructor() {
    super('no visible pixel');
  }
}

/**
 * Decodes one image (first frame of an animation), flattens alpha, resizes, returns size·size·channels bytes. With
 * `crop: 'content'` the image is first cut to what it shows, centred on a square (./crop.ts); one that shows nothing
 * throws a BlankImageError.
 */
export async function decodeImage(input: Buffer | string | RawImage, o: PreprocessOptions): Promise<Uint8Array> {
  let img = open(input);
  let background: string | { r: number; g: number; b: number } = o.background;
  let fit = o.fit;
  if (o.crop === 'content') {
    const { data, info } = await img.toColourspace('srgb').ensureAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`decoded to ${info.channels} channels, expected RGBA`);
    const rgba = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const content = findContent(rgba, info.width, info.height);
    if (content.kind === 'blank') throw new BlankImageError();
    if (content.kind === 'box') {
      const { pixels, side } = cutSquare(rgba, info.width, info.height, content.box);
      img = sharp(pixels, { raw: { width: side, height: side, channels: 4 } });
      // an opaque image's padding takes its own background colour (MNIST's black paper), not --background
      if (content.fill) background = { r: content.fill[0], g: content.fill[1], b: content.fill[2] };
      fit = 'fill'; // already square
    } else {
      img = sharp(rgba, { raw: { width: info.width, height: info.height, channels: 4 } });
    }
  }
  img = img.flatten({ background }).resize(o.size, o.size, { fit, background, kernel: 'lanczos3' });
  img = o.channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
  const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== o.channels || info.width !== o.size || info.height !== o.size || data.length !== o.size * o.size * o.channels) {
    throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}, expected ${o.size}×${o.size}×${o.channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function open(input: Buffer | string | RawImage): sharp.Sharp {
  return typeof input === 'string' || Buffer.isBuffer(input)
    ? sharp(input, { animated: false, failOn: 'error' })
    : sharp(input.raw, { raw: { width: input.width, height: input.height, channels: input.channels } });
}

export interface DecodeResult {
  pixels: Uint8Array;
  count: number;
  /** names of the inputs that did not decode, in input order */
  skipped: string[];
  /** names of the inputs that decoded but show nothing (`crop: 'content'`), in input order */
  blank: string[];
  /** for each decoded image, the index of its input: what keeps per-input labels aligned after a skip */
  kept: Uint32Array;
}

/**
 * Decodes many images a few at a time (sharp runs each on libuv's pool; a handful in flight keeps the cores busy).
 * Each result goes straight into its slot of one preallocated array, so peak memory is the set plus a few images.
 * Inputs that fail to read or decode, or show nothing, are skipped and named in the result, not fatal.
 */
export async function decodeAll(
  inputs: ImageInput[],
  o: PreprocessOptions,
  onProgress?: (done: number, total: number) => void,
  concurrency = 8,
): Promise<DecodeResult> {
  const imageBytes = o.size * o.size * o.channels;
  const pixels = new Uint8Array(inputs.length * imageBytes);
  // per input: 1 decoded, 0 unreadable, 2 blank
  const ok = new Uint8Array(inputs.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const i = next++;
      try {
        pixels.set(await decodeImage(await inputs[i].read(), o), i * imageBytes);
        ok[i] = 1;
      } catch (err) {
        // counted below; the caller reports the names
        if (err instanceof BlankImageError) ok[i] = 2;
      }
      onProgress?.(++done, inputs.length);
    }
  };
  // libvips' operation cache only helps when the same image is processed again, which a dataset never does; it costs
  // time (about 10–20 % here) and memory, so it is off while decoding and restored after.
  const saved = sharp.cache();
  sharp.cache(false);
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
  } finally {
    sharp.cache({ memory: saved.memory.max, files: saved.files.max, items: saved.items.max });
  }
  // close the gaps left by skipped inputs, in place
  let count = 0;
  const skipped: string[] = [];
  const blank: string[] = [];
  const kept = new Uint32Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    if (ok[i] !== 1) {
      (ok[i] === 2 ? blank : skipped).push(inputs[i].name);
      continue;
    }
    if (count !== i) pixels.copyWithin(count * imageBytes, i * imageBytes, (i + 1) * imageBytes);
    kept[count++] = i;
  }
  return {
    pixels: count === inputs.length ? pixels : pixels.subarray(0, count * imageBytes),
    count,
    skipped,
    blank,
    kept: kept.subarray(0, count),
  };
}
