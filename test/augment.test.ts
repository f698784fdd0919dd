// DiffAugment's operations (src/train/augment.ts) against hand-worked expectations from the official definitions
// (mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py): translated images are the originals moved by whole pixels
// with the fill, cutout blanks exactly its square, the colour operations follow their formulas; the gradient equals a
// finite-difference estimate; the random draws follow the documented order and ranges. Each runs on cpu and wasm, and
// on both ways of computing it (in JavaScript on the host, and as tfjs ops as a GPU runs it); where Dawn finds a WebGPU
// adapter (CI: lavapipe), the tfjs ops on webgpu are compared with the host.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { initBackend } from '../src/backend/index.js';
import { probeAdapter, shutdownWebgpu, startWebgpu } from '../src/backend/webgpu.js';
import {
  applyAugmentation, augment, cutoutSize, defaultCompute, drawAugmentation, OFFICIAL_FILL, parsePolicy, policyText, translationLimit,
  type AugmentCompute, type AugmentFill, type AugmentPolicy, type AugmentRng, type AugmentStep,
} from '../src/train/augment.js';
import { UsageError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { maxAbsDiff, tf } from './helpers.js';

before(() => initBackend('wasm')); // registers our wasm kernels and gradients; each test then picks its backend

const WAYS: [backend: 'cpu' | 'wasm', compute: AugmentCompute][] = [['cpu', 'host'], ['cpu', 'tensors'], ['wasm', 'host'], ['wasm', 'tensors']];

/** Runs `check` on each backend and way of computing, naming them in a failure. */
async function everyWay(check: (where: string, compute: AugmentCompute) => Promise<void> | void): Promise<void> {
  for (const [backend, compute] of WAYS) {
    assert.ok(await tf.setBackend(backend));
    await check(`${backend}, ${compute}`, compute);
  }
}

/** The augmented values of a batch given as numbers, [n, H, W, C]; the images given stay as they were. */
async function run(values: number[], shape: [number, number, number, number], steps: AugmentStep[], compute: AugmentCompute,
  fill: AugmentFill = OFFICIAL_FILL): Promise<number[]> {
  const x = tf.tensor4d(values, shape);
  const y = applyAugmentation(x, steps, fill, compute);
  const out = Array.from(await y.data());
  assert.deepEqual(Array.from(await x.data()), Array.from(Float32Array.from(values)), 'the input images were written');
  tf.dispose([x, y]);
  return out;
}

const ints = (...v: number[]) => Int32Array.from(v);
const floats = (...v: number[]) => Float64Array.from(v);
const translation = (rows: number[], cols: number[]): AugmentStep => ({ op: 'translation', rows: ints(...rows), cols: ints(...cols) });
const cutout = (rows: number[], cols: number[]): AugmentStep => ({ op: 'cutout', rows: ints(...rows), cols: ints(...cols) });
const color = (brightness: number[], saturation: number[], contrast: number[]): AugmentStep =>
  ({ op: 'color', brightness: floats(...brightness), saturation: floats(...saturation), contrast: floats(...contrast) });

/** An image from rows of text: '.' the image's value, '#' the fill; as 0/1 per pixel (1: filled). */
const maskOf = (rows: string[]) => rows.join('').split('').map((ch) => (ch === '#' ? 1 : 0));

describe('--augment', () => {
  test('a comma list of the operations in its order, or none', () => {
    assert.deepEqual(parsePolicy('color,translation,cutout'), ['color', 'translation', 'cutout']);
    assert.deepEqual(parsePolicy(' translation , cutout '), ['translation', 'cutout']);
    assert.deepEqual(parsePolicy('cutout,color'), ['cutout', 'color']);
    assert.deepEqual(parsePolicy('none'), []);
    assert.equal(policyText(parsePolicy('translation,cutout')), 'translation,cutout');
    assert.equal(policyText(parsePolicy('none')), 'none');
  });

  test('a bad name is one line naming --augment and the operations', () => {
    for (const [text, problem] of [
      ['colour', "unknown operation 'colour'"],
      ['color,,cutout', 'an empty name'],
      ['', 'an empty name'],
      ['none,color', "unknown operation 'none'"],
      ['cutout,cutout', 'cutout is named twice'],
    ]) {
      assert.throws(() => parsePolicy(text), (err: Error) => {
        assert.ok(err instanceof UsageError, text);
        assert.ok(err.message.startsWith(`--augment ${text}: ${problem}; `), err.message);
        assert.match(err.message, /color, translation, cutout .*or none$/);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      });
    }
  });
});

describe('the random parameters', () => {
  test('the official sizes: translation up to int(side/8 + 0.5), cutout a square of int(side/2 + 0.5)', () => {
    assert.deepEqual([4, 12, 28, 32, 64, 96].map(translationLimit), [1, 2, 4, 4, 8, 12]);
    assert.deepEqual([7, 8, 9, 28, 32, 64].map(cutoutSize), [4, 4, 5, 14, 16, 32]);
  });

  test('drawn in the documented order: per operation in policy order, per parameter, per image', () => {
    const n = 3;
    const rng = new Rng(7);
    const steps = drawAugmentation(['cutout', 'color', 'translation'], n, 32, 28, rng);
    const twin = new Rng(7);
    const u = () => Array.from({ length: n }, () => twin.uniform());
    // cutout at 32×28: squares of 16 and 14 (even), offsets in [0, 32] and [0, 28]
    const cutRows = u().map((v) => Math.floor(v * 33));
    const cutCols = u().map((v) => Math.floor(v * 29));
    const brightness = u().map((v) => v - 0.5);
    const saturation = u().map((v) => v * 2);
    const contrast = u().map((v) => v + 0.5);
    // translation at 32×28: up to 4 both ways
    const rows = u().map((v) => Math.floor(v * 9) - 4);
    const cols = u().map((v) => Math.floor(v * 9) - 4);
    assert.deepEqual(steps, [cutout(cutRows, cutCols), color(brightness, saturation, contrast), translation(rows, cols)]);
    assert.deepEqual(rng.state, twin.state, 'nothing more is drawn');
  });

  test('the ranges: brightness ±0.5, saturation ×[0, 2), contrast ×[0.5, 1.5) (a stub at u = 0 and u → 1)', () => {
    const stub = (u: number): AugmentRng => ({
      uniform: () => u,
      integers: (count, k) => Int32Array.from({ length: count }, () => Math.floor(u * k)),
    });
    const low = drawAugmentation(['color', 'translation', 'cutout'], 1, 32, 32, stub(0));
    assert.deepEqual(low, [color([-0.5], [0], [0.5]), translation([-4], [-4]), cutout([0], [0])]);
    const high = drawAugmentation(['color', 'translation', 'cutout'], 1, 32, 32, stub(1 - 2 ** -53));
    assert.deepEqual(high, [color([0.5 - 2 ** -53], [2 - 2 ** -52], [1.5 - 2 ** -53]), translation([4], [4]), cutout([32], [32])]);
  });

  test('every whole shift in [−s, s] and every cutout offset turns up, and nothing outside', () => {
    const seen = (values: Int32Array) => [...new Set(values)].sort((a, b) => a - b);
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    const rng = new Rng(3);
    const [t] = drawAugmentation(['translation'], 4000, 32, 16, rng) as Extract<AugmentStep, { op: 'translation' }>[];
    assert.deepEqual(seen(t.rows), range(-4, 4));
    assert.deepEqual(seen(t.cols), range(-2, 2), 'columns by the width');
    const [t64] = drawAugmentation(['translation'], 4000, 64, 64, rng) as Extract<AugmentStep, { op: 'translation' }>[];
    assert.deepEqual(seen(t64.rows), range(-8, 8));
    // an even square (16 of 32, 4 of 7) has one offset more than an odd one (5 of 9): randint(0, side + 1 − k % 2)
    const [c] = drawAugmentation(['cutout'], 4000, 32, 7, rng) as Extract<AugmentStep, { op: 'cutout' }>[];
    assert.deepEqual(seen(c.rows), range(0, 32));
    assert.deepEqual(seen(c.cols), range(0, 7));
    const [odd] = drawAugmentation(['cutout'], 4000, 9, 9, rng) as Extract<AugmentStep, { op: 'cutout' }>[];
    assert.deepEqual(seen(odd.rows), range(0, 8));
  });

  test('an empty policy returns the images themselves and draws nothing', () => {
    const x = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
    const rng = new Rng(5);
    const before = rng.state;
    assert.equal(augment(x, parsePolicy('none'), rng), x);
    assert.deepEqual(rng.state, before);
    x.dispose();
  });
});

// A 4×4 image of one channel, 1…16 row after row; a second image of the batch adds 100.
const IMAGE = Array.from({ length: 16 }, (_, i) => i + 1);
const BATCH = [...IMAGE, ...IMAGE.map((v) => v + 100)];

describe('translation', () => {
  test('each image moved by its own whole pixels, the fill where it came from outside (hand-worked)', async () => {
    // image 0: out[i][j] = x[i + 1][j − 1], the picture one up and one right; image 1: x[i − 1][j], one down
    const expected = [
      0, 5, 6, 7,
      0, 9, 10, 11,
      0, 13, 14, 15,
      0, 0, 0, 0,

      0, 0, 0, 0,
      101, 102, 103, 104,
      105, 106, 107, 108,
      109, 110, 111, 112,
    ];
    const white = (v: number) => (v === 0 ? 1 : v);
    await everyWay(async (where, compute) => {
      const step = translation([1, -1], [-1, 0]);
      assert.deepEqual(await run(BATCH, [2, 4, 4, 1], [step], compute), expected, where);
      const fill: AugmentFill = { translation: { background: [1] }, cutout: 'zero' };
      assert.deepEqual(await run(BATCH, [2, 4, 4, 1], [step], compute, fill), expected.map(white), `${where}, white`);
    });
  });

  test('all channels of a pixel move together; a background colour fills each channel', async () => {
    // two channels: v and −v; moved one left (out[i][j] = x[i][j + 1]); fill (0.5, −0.25)
    const values = IMAGE.flatMap((v) => [v, -v]);
    const expected = [
      2, -2, 3, -3, 4, -4, 0.5, -0.25,
      6, -6, 7, -7, 8, -8, 0.5, -0.25,
      10, -10, 11, -11, 12, -12, 0.5, -0.25,
      14, -14, 15, -15, 16, -16, 0.5, -0.25,
    ];
    await everyWay(async (where, compute) => {
      const fill: AugmentFill = { translation: { background: [0.5, -0.25] }, cutout: 'zero' };
      assert.deepEqual(await run(values, [1, 4, 4, 2], [translation([0], [1])], compute, fill), expected, where);
      // one value: every channel
      const grey: AugmentFill = { translation: { background: [0.5] }, cutout: 'zero' };
      const expectedGrey = expected.map((v) => (v === -0.25 ? 0.5 : v));
      assert.deepEqual(await run(values, [1, 4, 4, 2], [translation([0], [1])], compute, grey), expectedGrey, `${where}, one value`);
    });
  });

  test('at 16×16, every shift in [−2, 2]² moves the picture by exactly that', async () => {
    const side = 16;
    const image = Array.from({ length: side * side }, (_, i) => i + 1);
    const shifts = [-2, -1, 0, 1, 2].flatMap((a) => [-2, -1, 0, 1, 2].map((b) => [a, b]));
    const batch = shifts.flatMap(() => image);
    const step = translation(shifts.map(([a]) => a), shifts.map(([, b]) => b));
    // the value k + 1 sits at (⌊k/16⌋, k mod 16): after the move, out[i][j] = x[i + a][j + b] where that lies inside
    const expected = shifts.flatMap(([a, b]) => image.map((_, k) => {
      const [i, j] = [Math.floor(k / side) + a, (k % side) + b];
      return i >= 0 && i < side && j >= 0 && j < side ? i * side + j + 1 : 0;
    }));
    await everyWay(async (where, compute) => {
      assert.deepEqual(await run(batch, [shifts.length, side, side, 1], [step], compute), expected, where);
    });
  });
});

describe('cutout', () => {
  // 8×8: squares of 4, rows and columns from offset − 2
  const SQUARES = [
    // offset (2, 5): rows 0–3, columns 3–6
    ['...####.', '...####.', '...####.', '...####.', '........', '........', '........', '........'],
    // offset (0, 8): rows −2…1 and columns 6…9, cut at the border
    ['......##', '......##', '........', '........', '........', '........', '........', '........'],
    // offset (8, 0): rows 6…9, columns −2…1
    ['........', '........', '........', '........', '........', '........', '##......', '##......'],
  ];

  test('blanks exactly its square, cut at the border (hand-drawn)', async () => {
    const image = Array.from({ length: 64 }, (_, i) => i + 1);
    const step = cutout([2, 0, 8], [5, 8, 0]);
    await everyWay(async (where, compute) => {
      const zero = await run([...image, ...image, ...image], [3, 8, 8, 1], [step], compute);
      const grey = await run([...image, ...image, ...image], [3, 8, 8, 1], [step], compute, { translation: 'zero', cutout: { background: [-0.5] } });
      SQUARES.forEach((square, b) => {
        const mask = maskOf(square);
        assert.deepEqual(zero.slice(b * 64, (b + 1) * 64), image.map((v, k) => (mask[k] ? 0 : v)), `${where}, image ${b}`);
        assert.deepEqual(grey.slice(b * 64, (b + 1) * 64), image.map((v, k) => (mask[k] ? -0.5 : v)), `${where}, image ${b}, grey`);
      });
    });
  });

  test('an odd square: 5 of 9, rows from offset − 2', async () => {
    const image = Array.from({ length: 81 }, (_, i) => i + 1);
    const mask = maskOf([
      '.........',
      '.........',
      '.........',
      '..#####..',
      '..#####..',
      '..#####..',
      '..#####..',
      '..#####..',
      '.........',
    ]); // offset (5, 4): rows 3–7, columns 2–6
    await everyWay(async (where, compute) => {
      assert.deepEqual(await run(image, [1, 9, 9, 1], [cutout([5], [4])], compute), image.map((v, k) => (mask[k] ? 0 : v)), where);
    });
  });
});

describe('color', () => {
  // two pixels of three channels: A = (0.2, −0.4, 0.8), B = (0.3, 0.6, −0.3); both have the channel mean 0.2, and the
  // image's mean is 0.2
  const PIXELS = [0.2, -0.4, 0.8, 0.3, 0.6, -0.3];
  const cases: [name: string, step: AugmentStep, expected: number[]][] = [
    ['brightness + 0.25', color([0.25], [1], [1]), [0.45, -0.15, 1.05, 0.55, 0.85, -0.05]],
    // m + (x − m)·0.5
    ['saturation × 0.5', color([0], [0.5], [1]), [0.2, -0.1, 0.5, 0.25, 0.4, -0.05]],
    ['saturation × 0: grey', color([0], [0], [1]), [0.2, 0.2, 0.2, 0.2, 0.2, 0.2]],
    // 0.2 + (x − 0.2)·1.5
    ['contrast × 1.5', color([0], [1], [1.5]), [0.2, -0.7, 1.1, 0.35, 0.8, -0.55]],
    // +0.1: A (0.3, −0.3, 0.9), B (0.4, 0.7, −0.2), channel means 0.3; × 0.5: A (0.3, 0, 0.6), B (0.35, 0.5, 0.05);
    // image mean 0.3; 0.3 + (x − 0.3)·0.5
    ['all three', color([0.1], [0.5], [0.5]), [0.3, 0.15, 0.45, 0.325, 0.4, 0.175]],
  ];
  for (const [name, step, expected] of cases) {
    test(`${name} (hand-worked)`, async () => {
      await everyWay(async (where, compute) => {
        const out = await run(PIXELS, [1, 1, 2, 3], [step], compute);
        assert.ok(maxAbsDiff(out, expected) < 1e-6, `${where}: ${out}`);
      });
    });
  }

  test('each image its own factors; one channel (saturation leaves it as it is) and two', async () => {
    // image 0 as "all three" above; image 1 = (1, 0, −1), (−1, 0, 1), brightness −0.5: (0.5, −0.5, −1.5),
    // (−1.5, −0.5, 0.5), channel means −0.5; saturation × 2: (1.5, −0.5, −2.5), (−2.5, −0.5, 1.5); contrast × 1
    const out = [0.3, 0.15, 0.45, 0.325, 0.4, 0.175, 1.5, -0.5, -2.5, -2.5, -0.5, 1.5];
    const grey = [0.7, -0.2, 0.4, 0.2]; // one channel, saturation 0, contrast 1: brightness alone (+0.1)
    await everyWay(async (where, compute) => {
      const both = await run([...PIXELS, 1, 0, -1, -1, 0, 1], [2, 1, 2, 3], [color([0.1, -0.5], [0.5, 2], [0.5, 1])], compute);
      assert.ok(maxAbsDiff(both, out) < 1e-6, `${where}: ${both}`);
      const single = await run([0.6, -0.3, 0.3, 0.1], [1, 2, 2, 1], [color([0.1], [0], [1])], compute);
      assert.ok(maxAbsDiff(single, grey) < 1e-6, `${where}: ${single}`);
      // two channels: (0.4, −0.2), (0.1, 0.5); + 0.1: (0.5, −0.1), (0.2, 0.6), channel means 0.2 and 0.4; × 0.5 about
      // them: (0.35, 0.05), (0.3, 0.5); image mean 0.3; 0.3 + (x − 0.3)·1.5
      const two = await run([0.4, -0.2, 0.1, 0.5], [1, 1, 2, 2], [color([0.1], [0.5], [1.5])], compute);
      assert.ok(maxAbsDiff(two, [0.375, -0.075, 0.3, 0.6]) < 1e-6, `${where}: ${two}`);
    });
  });
});

describe('in policy order', () => {
  test('color then cutout leaves the square at the fill; cutout then color brightens it', async () => {
    // a 4×4 of 0.5; cutout's square of 2 at offset (1, 1): rows and columns 0–1; brightness +0.25
    const x = new Array<number>(16).fill(0.5);
    const square = maskOf(['##..', '##..', '....', '....']);
    const steps = [color([0.25], [1], [1]), cutout([1], [1])];
    await everyWay(async (where, compute) => {
      assert.deepEqual(await run(x, [1, 4, 4, 1], steps, compute), square.map((s) => (s ? 0 : 0.75)), where);
      assert.deepEqual(await run(x, [1, 4, 4, 1], [...steps].reverse(), compute), square.map((s) => (s ? 0.25 : 0.75)), where);
    });
  });

  test('translation then cutout, and cutout then translation, each with its own fill', async () => {
    const fill: AugmentFill = { translation: { background: [0.5] }, cutout: { background: [-1] } };
    // translation out[i][j] = x[i + 1][j − 1], then the square at offset (0, 0): pixel (0, 0) alone
    const after = [
      -1, 5, 6, 7,
      0.5, 9, 10, 11,
      0.5, 13, 14, 15,
      0.5, 0.5, 0.5, 0.5,
    ];
    // the same square first blanks x's (0, 0); translation out[i][j] = x[i − 1][j + 1] then reads x's (0, 0) at (1, −1),
    // outside: only x's (0, 1…3) show, on row 1
    const before = [
      0.5, 0.5, 0.5, 0.5,
      2, 3, 4, 0.5,
      6, 7, 8, 0.5,
      10, 11, 12, 0.5,
    ];
    // and out[i][j] = x[i − 1][j]: x's (0, 0), blanked, lands at (1, 0)
    const down = [
      0.5, 0.5, 0.5, 0.5,
      -1, 2, 3, 4,
      5, 6, 7, 8,
      9, 10, 11, 12,
    ];
    await everyWay(async (where, compute) => {
      assert.deepEqual(await run(IMAGE, [1, 4, 4, 1], [translation([1], [-1]), cutout([0], [0])], compute, fill), after, where);
      assert.deepEqual(await run(IMAGE, [1, 4, 4, 1], [cutout([0], [0]), translation([-1], [1])], compute, fill), before, where);
      assert.deepEqual(await run(IMAGE, [1, 4, 4, 1], [cutout([0], [0]), translation([-1], [0])], compute, fill), down, where);
    });
  });

  test('augment draws, then applies: a stub rng forces the shift', async () => {
    // u = 0.9 at 4×4: translation int(0.9·3) − 1 = +1 both ways: out[i][j] = x[i + 1][j + 1]
    const stub: AugmentRng = { uniform: () => 0.9, integers: (count, k) => Int32Array.from({ length: count }, () => Math.floor(0.9 * k)) };
    await everyWay(async (where) => {
      const x = tf.tensor4d(IMAGE, [1, 4, 4, 1]);
      const y = augment(x, ['translation'], stub);
      assert.deepEqual(Array.from(await y.data()), [6, 7, 8, 0, 10, 11, 12, 0, 14, 15, 16, 0, 0, 0, 0, 0], where);
      tf.dispose([x, y]);
    });
  });

  test('on cpu and wasm it runs on the host, where tfjs kernels cost several times more', async () => {
    for (const backend of ['cpu', 'wasm']) {
      assert.ok(await tf.setBackend(backend));
      assert.equal(defaultCompute(), 'host', backend);
    }
  });

  test('a fill colour of the wrong length or outside [−1, 1] is refused', () => {
    const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const step = [translation([1], [1])];
    assert.throws(() => applyAugmentation(x, step, { translation: { background: [1, 1] }, cutout: 'zero' }), /1 or 3 values/);
    assert.throws(() => applyAugmentation(x, step, { translation: 'zero', cutout: { background: [2] } }), /\[-1, 1\]/);
    assert.throws(() => applyAugmentation(x, step, { translation: 'zero', cutout: { background: [NaN] } }), /\[-1, 1\]/);
    x.dispose();
  });
});

describe('gradients, backends, memory', () => {
  const POLICIES: AugmentPolicy[] = [['color'], ['translation'], ['cutout'], ['color', 'translation', 'cutout'], ['cutout', 'translation', 'color']];
  const SHAPE: [number, number, number, number] = [2, 4, 4, 3];
  const size = SHAPE.reduce((a, b) => a * b);
  const randoms = (seed: number) => Array.from(new Rng(seed).normals(size), (v) => v * 0.5);

  for (const policy of POLICIES) {
    test(`d Σ w·augment(x) / dx equals central differences: ${policyText(policy)}`, async () => {
      const steps = drawAugmentation(policy, SHAPE[0], SHAPE[1], SHAPE[2], new Rng(11));
      // the draws move something: a shift that is not zero (cutout's square always overlaps the image)
      for (const s of steps) if (s.op === 'translation') assert.ok([...s.rows, ...s.cols].some((r) => r !== 0));
      const fill: AugmentFill = { translation: { background: [1, 0.5, -1] }, cutout: 'zero' };
      const x0 = randoms(1);
      const w = tf.tensor4d(randoms(2), SHAPE);
      await everyWay(async (where, compute) => {
        const f = (x: tf.Tensor) => applyAugmentation(x as tf.Tensor4D, steps, fill, compute).mul(w).sum();
        const x = tf.tensor4d(x0, SHAPE);
        const grad = tf.grad(f)(x);
        const analytic = Array.from(await grad.data());
        const value = (v: number[]) => tf.tidy(() => f(tf.tensor4d(v, SHAPE)).dataSync()[0]);
        const eps = 0.05;
        const numeric = x0.map((_, i) => {
          const up = [...x0], down = [...x0];
          up[i] += eps;
          down[i] -= eps;
          return (value(up) - value(down)) / (2 * eps);
        });
        assert.ok(numeric.some((g) => Math.abs(g) > 0.1), 'the gradient is not all zero');
        assert.ok(maxAbsDiff(analytic, numeric) < 2e-3, `${where}: |analytic − numeric| = ${maxAbsDiff(analytic, numeric)}`);
        tf.dispose([x, grad]);
      });
      w.dispose();
    });
  }

  test("a tiny G's weight gradient through augment equals central differences", async () => {
    // G(z) = tanh(z·K), K [2, 48], reshaped to [n, 4, 4, 3]; loss Σ w·augment(G(z))
    const policy: AugmentPolicy = ['color', 'translation', 'cutout'];
    const steps = drawAugmentation(policy, 2, 4, 4, new Rng(12));
    const k0 = Array.from(new Rng(4).normals(2 * 48), (v) => v * 0.3);
    await everyWay(async (where, compute) => {
      const z = tf.tensor2d([0.5, -1, 1.5, 0.25], [2, 2]);
      const w = tf.tensor4d(randoms(3), SHAPE);
      const loss = (k: tf.Tensor) => applyAugmentation(tf.tanh(tf.matMul(z, k)).reshape(SHAPE) as tf.Tensor4D, steps, OFFICIAL_FILL, compute)
        .mul(w).sum() as tf.Scalar;
      const K = tf.variable(tf.tensor2d(k0, [2, 48]));
      const { value, grads } = tf.variableGrads(() => loss(K), [K]);
      const analytic = Array.from(await grads[K.name].data());
      const at = (v: number[]) => tf.tidy(() => loss(tf.tensor2d(v, [2, 48])).dataSync()[0]);
      const eps = 1e-2;
      const numeric = k0.map((_, i) => {
        const up = [...k0], down = [...k0];
        up[i] += eps;
        down[i] -= eps;
        return (at(up) - at(down)) / (2 * eps);
      });
      assert.ok(numeric.some((g) => Math.abs(g) > 0.1));
      assert.ok(maxAbsDiff(analytic, numeric) < 5e-3, `${where}: |analytic − numeric| = ${maxAbsDiff(analytic, numeric)}`);
      tf.dispose([z, w, K, value, ...Object.values(grads)]);
    });
  });

  test('the same rng state gives the same images on cpu and wasm, on the host and as tensors', async () => {
    const shape: [number, number, number, number] = [8, 8, 8, 3];
    const x0 = Array.from(new Rng(9).normals(8 * 8 * 8 * 3), (v) => Math.tanh(v));
    const outputs: { where: string; values: number[] }[] = [];
    const policies = [parsePolicy('translation,cutout'), parsePolicy('color,translation,cutout')];
    await everyWay(async (where, compute) => {
      for (const policy of policies) {
        const rng = new Rng(21);
        const x = tf.tensor4d(x0, shape);
        const steps = drawAugmentation(policy, 8, 8, 8, rng);
        const y = applyAugmentation(x, steps, OFFICIAL_FILL, compute);
        outputs.push({ where: `${where}, ${policyText(policy)}`, values: Array.from(await y.data()) });
        tf.dispose([x, y]);
      }
    });
    const spatial = outputs.filter((_, i) => i % 2 === 0);
    const all = outputs.filter((_, i) => i % 2 === 1);
    for (const o of spatial) assert.deepEqual(o.values, spatial[0].values, `${o.where}: moves values, bit for bit`);
    for (const o of all) assert.ok(maxAbsDiff(o.values, all[0].values) < 1e-6, o.where);
    assert.ok(maxAbsDiff(all[0].values, x0) > 0.1, 'it changed the images');
  });

  test('no tensor is left behind, forward or backward', async () => {
    const policy = parsePolicy('color,translation,cutout');
    await everyWay(async (where, compute) => {
      const x = tf.randomUniform([4, 8, 8, 3], -1, 1) as tf.Tensor4D;
      const rng = new Rng(1);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        const steps = drawAugmentation(policy, 4, 8, 8, rng);
        tf.dispose(applyAugmentation(x, steps, OFFICIAL_FILL, compute));
        tf.dispose(tf.grad((v: tf.Tensor) => applyAugmentation(v as tf.Tensor4D, steps, OFFICIAL_FILL, compute).sum())(x));
        tf.dispose(augment(x, policy, rng));
      }
      assert.equal(tf.memory().numTensors, before, where);
      x.dispose();
    });
  });
});

// As test/backend-webgpu.test.ts: skipped without an adapter, unless DCGAN_REQUIRE_WEBGPU=1 (CI) makes that a failure.
const noAdapter = await probeAdapter().then(() => undefined, (err: Error) => err.message);
const webgpuSkip = noAdapter && process.env.DCGAN_REQUIRE_WEBGPU !== '1' ? `no WebGPU adapter (${noAdapter})` : false;

describe('on webgpu', { skip: webgpuSkip }, () => {
  after(shutdownWebgpu);

  test('as tensors by default, with the images and the gradient of the host on cpu', async () => {
    const shape: [number, number, number, number] = [2, 8, 8, 3];
    const size = 2 * 8 * 8 * 3;
    const x0 = Array.from(new Rng(13).normals(size), (v) => Math.tanh(v));
    const w0 = Array.from(new Rng(14).normals(size));
    const steps = drawAugmentation(parsePolicy('color,translation,cutout'), 2, 8, 8, new Rng(15));
    const fill: AugmentFill = { translation: { background: [1] }, cutout: 'zero' };
    const imagesAndGradient = async (compute: AugmentCompute) => {
      const [x, w] = [tf.tensor4d(x0, shape), tf.tensor4d(w0, shape)];
      const y = applyAugmentation(x, steps, fill, compute);
      const g = tf.grad((v: tf.Tensor) => applyAugmentation(v as tf.Tensor4D, steps, fill, compute).mul(w).sum())(x);
      const out = [Array.from(await y.data()), Array.from(await g.data())];
      tf.dispose([x, w, y, g]);
      return out;
    };
    assert.ok(await tf.setBackend('cpu'));
    const [images, gradient] = await imagesAndGradient('host');
    await startWebgpu({ allowSoftware: true });
    assert.equal(tf.getBackend(), 'webgpu');
    assert.equal(defaultCompute(), 'tensors');
    const [gpuImages, gpuGradient] = await imagesAndGradient('tensors');
    assert.ok(maxAbsDiff(gpuImages, images) < 1e-5, `images: ${maxAbsDiff(gpuImages, images)}`);
    assert.ok(maxAbsDiff(gpuGradient, gradient) < 1e-5, `gradient: ${maxAbsDiff(gpuGradient, gradient)}`);
  });
});
