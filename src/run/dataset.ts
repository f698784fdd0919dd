// Which images a run trained on, as config.json records it: a resume on other images (some deleted, others added,
// another preprocessing) would quietly train a different run.
import { createHash } from 'node:crypto';
import type { ImageSet } from '../data/types.js';
import type { DatasetIdentity } from './records.js';

/** The count and a fingerprint of the decoded pixels (SHA-256 over the uint8 data and its shape: ~0.2 s per 100 MB). */
export function datasetIdentity(data: ImageSet): DatasetIdentity {
  const hash = createHash('sha256');
  hash.update(`${data.count}x${data.size}x${data.size}x${data.channels}\n`);
  hash.update(data.pixels);
  return { count: data.count, fingerprint: hash.digest('hex').slice(0, 16) };
}

/** How the data differs from what a run recorded, in words; undefined when it is the same (or nothing was recorded). */
export function datasetChange(recorded: Partial<DatasetIdentity> | undefined, now: DatasetIdentity): string | undefined {
  if (!recorded) return undefined;
  if (typeof recorded.count === 'number' && recorded.count !== now.count) {
    return `it had ${recorded.count} images, now ${now.count}`;
  }
  if (typeof recorded.fingerprint === 'string' && recorded.fingerprint !== now.fingerprint) {
    return `the same number of images (${now.count}), but other pixels (fingerprint ${recorded.fingerprint}, now ${now.fingerprint})`;
  }
  return undefined;
}
