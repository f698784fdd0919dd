// `--augment`'s vocabulary: DiffAugment's operation names and the policy text, without TensorFlow.js (the option
// table checks the flag before anything heavy loads). augment.ts applies them.
import { UsageError } from '../util/errors.js';

export const AUGMENT_OPS = ['color', 'translation', 'cutout'] as const;
export type AugmentOp = (typeof AUGMENT_OPS)[number];
/** The operations in the order they are applied; empty: no augmentation (`--augment none`). */
export type AugmentPolicy = readonly AugmentOp[];

const ALLOWED = `${AUGMENT_OPS.join(', ')} (a comma list, applied in its order) or none`;

/** `--augment`'s value: 'none', or a comma list of DiffAugment's operations, each at most once. */
export function parsePolicy(text: string): AugmentPolicy {
  const trimmed = text.trim();
  if (trimmed === 'none') return [];
  const names = trimmed.split(',').map((s) => s.trim());
  const policy: AugmentOp[] = [];
  for (const name of names) {
    if (!(AUGMENT_OPS as readonly string[]).includes(name)) {
      throw new UsageError(`--augment ${text}: ${name === '' ? 'an empty name' : `unknown operation '${name}'`}; the operations are ${ALLOWED}`);
    }
    if (policy.includes(name as AugmentOp)) throw new UsageError(`--augment ${text}: ${name} is named twice; the operations are ${ALLOWED}`);
    policy.push(name as AugmentOp);
  }
  return policy;
}

/** The policy as `--augment` takes it (what config.json records). */
export const policyText = (policy: AugmentPolicy): string => (policy.length ? policy.join(',') : 'none');
