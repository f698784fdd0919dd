// The presets of `--arch`: one row per architecture, each built from one file.
import type { Architecture } from './architecture.js';
import { d2l } from './d2l.js';

export const ARCHITECTURES = { d2l } as const satisfies Record<string, Architecture>;
export type ArchName = keyof typeof ARCHITECTURES;
export const ARCH_NAMES = Object.keys(ARCHITECTURES) as ArchName[];
export const DEFAULT_ARCH: ArchName = 'd2l';

export function architecture(name: string | undefined): Architecture {
  const arch = (ARCHITECTURES as Record<string, Architecture>)[name ?? DEFAULT_ARCH];
  if (!arch) throw new Error(`unknown architecture "${name}" (choose from ${ARCH_NAMES.join(', ')})`);
  return arch;
}
