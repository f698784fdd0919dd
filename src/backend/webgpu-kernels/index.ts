// Kernels that replace tfjs-backend-webgpu's own where those leave the GPU idle (see docs/webgpu-kernels.md).
import { registerWebgpuConv2DBackpropFilter, unregisterWebgpuConv2DBackpropFilter } from './conv2d-backprop-filter.js';
import { registerWebgpuConv2DBackpropInput, unregisterWebgpuConv2DBackpropInput } from './conv2d-backprop-input.js';

/** The kernels this directory replaces, by tfjs kernel name, with how to put each in and take it out again. */
const KERNELS = {
  Conv2DBackpropFilter: { register: registerWebgpuConv2DBackpropFilter, unregister: unregisterWebgpuConv2DBackpropFilter },
  Conv2DBackpropInput: { register: registerWebgpuConv2DBackpropInput, unregister: unregisterWebgpuConv2DBackpropInput },
} as const;

export type CustomKernelName = keyof typeof KERNELS;
export const CUSTOM_KERNELS = Object.keys(KERNELS) as CustomKernelName[];

/**
 * The kernels to leave to tfjs, from the value of DCGAN_TFJS_KERNELS: comma-separated kernel names (case and spaces
 * do not matter), or `all`. Throws on a name that is not one of ours, so that a misspelt A/B does not silently time
 * our kernel against itself. Pure.
 */
export function parseTfjsKernels(value: string | undefined): Set<CustomKernelName> {
  const names = (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const keep = new Set<CustomKernelName>();
  for (const name of names) {
    if (name.toLowerCase() === 'all') {
      for (const k of CUSTOM_KERNELS) keep.add(k);
      continue;
    }
    const match = CUSTOM_KERNELS.find((k) => k.toLowerCase() === name.toLowerCase());
    if (match == null) {
      throw new Error(`DCGAN_TFJS_KERNELS names "${name}", which is none of this project's webgpu kernels ` +
        `(${CUSTOM_KERNELS.join(', ')}, or all)`);
    }
    keep.add(match);
  }
  return keep;
}

/**
 * Registers every kernel here for the 'webgpu' backend, except those that `tfjsKernels` (by default the environment
 * variable DCGAN_TFJS_KERNELS) hands to tfjs: for those, tfjs's own kernel is put back if ours was in. Call it after
 * tfjs-backend-webgpu is imported. Idempotent. Returns the kernels of ours that are now registered.
 */
export function registerWebgpuKernels(tfjsKernels: string | undefined = process.env.DCGAN_TFJS_KERNELS):
  CustomKernelName[] {
  const keep = parseTfjsKernels(tfjsKernels);
  const ours: CustomKernelName[] = [];
  for (const name of CUSTOM_KERNELS) {
    if (keep.has(name)) {
      KERNELS[name].unregister();
    } else {
      KERNELS[name].register();
      ours.push(name);
    }
  }
  return ours;
}
