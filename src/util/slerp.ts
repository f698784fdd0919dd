// Spherical interpolation of latents (and the straight line, for StyleGAN's w). A plain module with no imports: the web export ships its compiled form to the
// browser as is, so the page walks latent space with this very code.

/** Spherical interpolation from a (t = 0) to b (t = 1); nearly parallel vectors fall back to a straight line. */
export function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb))));
  const sin = Math.sin(omega);
  const [wa, wb] = sin < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / sin, Math.sin(t * omega) / sin];
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i] + wb * b[i];
  return out;
}

/** The straight line from a (t = 0) to b (t = 1), (1 − t)·a + t·b, so the ends are a and b exactly: walks in w. */
export function lerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i] + t * b[i];
  return out;
}
