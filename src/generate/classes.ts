// `--class` on a conditional run: which class each generated image is drawn for.
import type { Generator } from '../model/generator.js';
import { UsageError } from '../util/errors.js';

/** A class by its name or index, or every class ('all'); undefined where the run is unconditional and none was asked. */
export type ClassChoice = number | 'all' | undefined;

/** Reads --class against the run's classes (names from classes.json, else the indices). */
export function chooseClass(spec: string | undefined, G: Generator, names: string[] | undefined): ClassChoice {
  if (!G.classes) {
    if (spec !== undefined) throw new UsageError(`--class ${spec}: this run is not conditional (it was trained without --conditional)`);
    return undefined;
  }
  if (spec === undefined) return undefined;
  if (spec === 'all') return 'all';
  const byName = names?.indexOf(spec) ?? -1;
  if (byName >= 0) return byName;
  if (/^\d+$/.test(spec) && Number(spec) < G.classes) return Number(spec);
  const known = names ? `${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}` : `0 to ${G.classes - 1}`;
  throw new UsageError(`--class ${spec}: the run's classes are ${known} (a name, an index from 0 to ${G.classes - 1}, or all)`);
}

/**
 * The class of each of `n` images: the chosen one, or all classes in turn (image i draws class i mod classes) when none
 * was chosen; undefined for an unconditional G. ('all' is laid out by the caller: a row per class.)
 */
export function classesFor(choice: ClassChoice, n: number, G: Generator): number[] | undefined {
  if (!G.classes) return undefined;
  if (typeof choice === 'number') return Array(n).fill(choice);
  return Array.from({ length: n }, (_, i) => i % G.classes);
}
