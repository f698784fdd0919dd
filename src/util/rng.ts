// A small seeded PRNG whose whole state is four numbers, so a checkpoint can store it and a resumed run continues the
// exact same stream: data order and latent noise are drawn here, not by tfjs, for that reason.

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128 bits of state, passes PractRand. */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number | readonly number[]) {
    if (typeof seed === 'number') {
      this.s = new Uint32Array([0x9e3779b9, seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0, 1]);
      for (let i = 0; i < 16; i++) this.nextUint32(); // mix the seed in
    } else {
      if (seed.length !== 4) throw new Error('an Rng state is 4 numbers');
      this.s = Uint32Array.from(seed);
    }
  }

  get state(): number[] {
    return Array.from(this.s);
  }

  nextUint32(): number {
    const s = this.s;
    const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
    s[2] = (s[2] + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1) with 53 bits. */
  uniform(): number {
    return (this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11)) / 2 ** 53;
  }

  /** Standard normal samples (Box–Muller). */
  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = 1 - this.uniform(); // (0, 1]: log stays finite
      const r = Math.sqrt(-2 * Math.log(u));
      const theta = 2 * Math.PI * this.uniform();
      out[i] = r * Math.cos(theta);
      if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
    }
    return out;
  }

  /** n integers uniform in [0, k) */
  integers(n: number, k: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.uniform() * k);
    return out;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/**
 * A seed for one use of the run's seed (`'order'`, `'noise'`, `'G'`, …), by hashing: streams stay apart for every seed
 * up to 2^53 (arithmetic such as seed·3 + k loses precision above ~3e15 and makes two streams equal).
 */
export function deriveSeed(seed: number, purpose: string): number {
  let h = 0x811c9dc5; // FNV-1a of the purpose
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 0x01000193) >>> 0;
  const rng = new Rng([h, seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0, 0x6a09e667]);
  for (let i = 0; i < 16; i++) rng.nextUint32();
  return rng.nextUint32() * 2 ** 21 + (rng.nextUint32() >>> 11); // 53 bits: a safe integer
}
