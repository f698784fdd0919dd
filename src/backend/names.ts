// The backends by name, readable without loading TensorFlow.js (the command line checks --backend first).
export const BACKEND_NAMES = ['auto', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
