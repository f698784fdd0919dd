// A StyleGAN generator (src/model/stylegan.ts) cut into its mapping (z → w) and synthesis (w per layer → images)
// networks, and how to tell one. Built of tfjs alone, so that the exported page ships it as it is (export/web.ts) and
// walks in w as `dcgan sample --interpolate` does (generate/style.ts).
import * as tf from '@tensorflow/tfjs';

type SymbolicTensor = tf.SymbolicTensor;

/** Whether a generator is a StyleGAN's: it has the layer that holds w̄ (and so a mapping network before it). */
export function isStyleGenerator(model: tf.LayersModel): boolean {
  return model.layers.some((l) => l.getClassName() === 'WAverage');
}

/**
 * A StyleGAN G (as built, or loaded from a checkpoint) cut into its mapping model (G's inputs → w, [n, latent], after
 * w̄'s layer: tracking in training, truncation in inference), `codes` (the same before w̄'s layer: w, never tracked nor
 * truncated) and its synthesis model (w per layer, [n, layers, latent] → images). All share G's layers and weights.
 */
export function styleModels(G: tf.LayersModel): { mapping: tf.LayersModel; codes: tf.LayersModel; synthesis: tf.LayersModel; layers: number } {
  const broadcast = G.getLayer('w_broadcast');
  const average = G.getLayer('w_average');
  const mapping = tf.model({ inputs: G.inputs, outputs: average.getOutputAt(0) as SymbolicTensor, name: 'mapping' });
  const codes = tf.model({ inputs: G.inputs, outputs: average.getInputAt(0) as SymbolicTensor, name: 'codes' });
  const [, layers, d] = (broadcast.getOutputAt(0) as SymbolicTensor).shape as number[];
  const ws = tf.input({ shape: [layers, d], name: 'ws' });
  // G's layers after the broadcast, in G's (topological) order, applied again to the new input
  const made = new Map<number, SymbolicTensor>([[(broadcast.getOutputAt(0) as SymbolicTensor).id, ws]]);
  const start = G.layers.indexOf(broadcast) + 1;
  for (const layer of G.layers.slice(start)) {
    const inputs = [layer.getInputAt(0)].flat() as SymbolicTensor[];
    const mapped = inputs.map((t) => made.get(t.id));
    if (mapped.some((t) => !t)) throw new Error(`${layer.name} takes an input from before the styles: not a StyleGAN synthesis network`);
    const out = layer.apply(mapped.length === 1 ? mapped[0]! : (mapped as SymbolicTensor[])) as SymbolicTensor;
    made.set((layer.getOutputAt(0) as SymbolicTensor).id, out);
  }
  const image = made.get((G.outputs[0] as SymbolicTensor).id)!;
  return { mapping, codes, synthesis: tf.model({ inputs: ws, outputs: image, name: 'synthesis' }), layers };
}

/** n codes w ([n × size]) as w per layer ([n × layers × size]): the same w at every layer, as G itself draws. */
export function everyLayer(w: Float32Array, n: number, layers: number, size: number): Float32Array {
  const ws = new Float32Array(n * layers * size);
  for (let i = 0; i < n; i++) for (let l = 0; l < layers; l++) ws.set(w.subarray(i * size, (i + 1) * size), (i * layers + l) * size);
  return ws;
}
