// The presets of `--arch`: one row per architecture, each built from one file.
import type { Architecture } from './architecture.js';
import { ARCH_NAMES, DEFAULT_ARCH, type ArchName } from './catalog.js';
import { anime96 } from './anime96.js';
import { d2l } from './d2l.js';
import { dcgan28 } from './dcgan28.js';
import { keras28 } from './keras28.js';
import { mlp } from './mlp.js';
import { progan } from './progan.js';
import { stylegan } from './stylegan.js';

export const ARCHITECTURES = { d2l, dcgan28, keras28, anime96, mlp, progan, stylegan } as const satisfies Record<ArchName, Architecture>;
export { ARCH_NAMES, DEFAULT_ARCH, type ArchName };

export function architecture(name: string | undefined): Architecture {
  const arch = (ARCHITECTURES as Record<string, Architecture>)[name ?? DEFAULT_ARCH];
  if (!arch) throw new Error(`unknown architecture "${name}" (choose from ${ARCH_NAMES.join(', ')})`);
  return arch;
}
