// `--crop content`: each image cut to the box of what it shows and centred on a square with a margin, so that the
// figure fills the frame (a pokesprite box sprite's Pokémon covers a median 8 % of its 68×56 frame).
//
// What an image shows: where it has transparency, its visible pixels (alpha > 0). An opaque image shows what differs
// from its background, when it has one: its four corners of one colour (d2l's RGB sprites on white, MNIST's black
// paper). An opaque image whose corners differ (a photograph) has no background to cut away and is left whole, as is
// an image of one colour. An image with no visible pixel at all is skipped.

export const CROP_MODES = ['content', 'none'] as const;
export type CropMode = (typeof CROP_MODES)[number];

/**
 * Background on each side of the figure, as a fraction of its longer side. With 1/8 no pokesprite sprite reaches the
 * outermost pixel ring of a 32- or 64-pixel image after the Lanczos resize (a channel more than 32 below white there:
 * 0 of 1,280 sprites); with 1/16, 29 % did at 32 px, and with none, all. The median 23-pixel sprite gets 3 pixels of
 * air a side, a 29-pixel square, shown at 1.1× in 32 px.
 */
export const CROP_MARGIN = 1 / 8;

/**
 * An opaque pixel is background when no channel differs from the corners' colour by more than this: 5 % of 255, the
 * closeness Fashion-MNIST's own conversion trimmed its product photos' edges with (Xiao et al. 2017, step 2: "edges
 * that are close to the color of the corner pixels"). Lossless sprites need 0; it lets a little JPEG noise pass.
 */
export const BACKGROUND_TOLERANCE = 13;

/** A rectangle in pixels: left and top inclusive. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * What an RGBA image shows:
 * - `box`: the box of its content; `fill` is an opaque image's background colour (RGB), which the square is padded
 *   with. Without it (an image with transparency), the padding is transparent and flattened like the rest.
 * - `blank`: no visible pixel (every pixel fully transparent).
 * - `whole`: an opaque image with no background colour, or of one colour only: nothing is cut. (A one-colour image
 *   is kept: every pixel of it is visible, and it is what the user gave.)
 */
export type Content = { kind: 'box'; box: Box; fill?: [number, number, number] } | { kind: 'blank' } | { kind: 'whole' };

/** Finds what an image shows; `rgba` is width·height·4 bytes, row-major. */
export function findContent(rgba: Uint8Array, width: number, height: number, tolerance = BACKGROUND_TOLERANCE): Content {
  const n = width * height;
  let transparent = false;
  for (let i = 0; i < n && !transparent; i++) transparent = rgba[4 * i + 3] < 255;
  if (transparent) {
    const box = boundingBox(width, height, (i) => rgba[4 * i + 3] > 0);
    return box ? { kind: 'box', box } : { kind: 'blank' };
  }
  const corners = [0, width - 1, (height - 1) * width, n - 1];
  const bg: [number, number, number] = [rgba[0], rgba[1], rgba[2]];
  const differs = (i: number) =>
    Math.abs(rgba[4 * i] - bg[0]) > tolerance || Math.abs(rgba[4 * i + 1] - bg[1]) > tolerance || Math.abs(rgba[4 * i + 2] - bg[2]) > tolerance;
  if (corners.some(differs)) return { kind: 'whole' };
  const box = boundingBox(width, height, differs);
  return box ? { kind: 'box', box, fill: bg } : { kind: 'whole' };
}

/** The smallest box holding every pixel i (row-major index) for which `shown(i)`, or undefined if there is none. */
function boundingBox(width: number, height: number, shown: (i: number) => boolean): Box | undefined {
  let left = width, right = -1, top = height, bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!shown(y * width + x)) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      bottom = y;
    }
  }
  return right < 0 ? undefined : { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/**
 * The square a box is centred on: its side (the longer side plus the margin on both sides) and where the box's
 * top-left corner lands in it. An odd leftover pixel goes to the right or bottom.
 */
export function squareAround(box: Pick<Box, 'width' | 'height'>, margin = CROP_MARGIN): { side: number; x: number; y: number } {
  const long = Math.max(box.width, box.height);
  const side = long + 2 * Math.round(long * margin);
  return { side, x: Math.floor((side - box.width) / 2), y: Math.floor((side - box.height) / 2) };
}

/**
 * The square around a box, cut from an RGBA image (side·side·4 bytes): the image's own pixels where the square lies on
 * it (transparent or background colour around the box), transparent where it reaches past the image's edge.
 */
export function cutSquare(rgba: Uint8Array, width: number, height: number, box: Box, margin = CROP_MARGIN): { pixels: Uint8Array; side: number } {
  const sq = squareAround(box, margin);
  const left = box.left - sq.x, top = box.top - sq.y; // the square's corner in the image (may be negative)
  const pixels = new Uint8Array(sq.side * sq.side * 4);
  const x0 = Math.max(0, left), x1 = Math.min(width, left + sq.side);
  for (let y = Math.max(0, top); y < Math.min(height, top + sq.side); y++) {
    pixels.set(rgba.subarray((y * width + x0) * 4, (y * width + x1) * 4), ((y - top) * sq.side + (x0 - left)) * 4);
  }
  return { pixels, side: sq.side };
}
