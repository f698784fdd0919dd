// Kernels that replace tfjs-backend-webgpu's own where those leave the GPU idle (see docs/webgpu-kernels.md).
import { registerWebgpuConv2DBackpropFilter } from './conv2d-backprop-filter.js';

/** Registers every kernel here for the 'webgpu' backend; call it after tfjs-backend-webgpu is imported. Idempotent. */
export function registerWebgpuKernels(): void {
  registerWebgpuConv2DBackpropFilter();
}
