// An option described once: commander's flag is built from it, and a value stored in a run folder (config.json) is
// checked by the same parser, so a rule cannot hold for a typed flag and not for a saved one.
import { InvalidArgumentError, Option } from 'commander';

export interface OptionSpec {
  /** commander's flag: '--batch-size <n>', '--conditional', '--no-cache' */
  flag: string;
  help: string;
  /** text → value; throws InvalidArgumentError with the rule ("must be a positive integer.") */
  parse?: (raw: string) => unknown;
  choices?: readonly string[];
  default?: unknown;
  /** how the default reads in --help where the value would not say it ('every core') */
  defaultText?: string;
  /**
   * A switch that can be said either way: also `--no-<name>`, with this help. Leaving both out leaves the key unset,
   * for a default that depends on other options (--mirror: the dataset's).
   */
  negation?: string;
}

/** 'batchSize' for '--batch-size <n>', 'cache' for '--no-cache': the key commander (and config.json) uses. */
export function optionKey(spec: Pick<OptionSpec, 'flag'>): string {
  const long = /--(?:no-)?([a-z0-9-]+)/.exec(spec.flag)?.[1];
  if (!long) throw new Error(`not a long flag: ${spec.flag}`);
  return long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The flag as people type it: '--batch-size', '--no-cache'. */
export const flagName = (spec: Pick<OptionSpec, 'flag'>) => spec.flag.split(/[ ,]/)[0];

const takesValue = (spec: OptionSpec) => /[<[]/.test(spec.flag);

export function commanderOption(spec: OptionSpec): Option {
  const option = new Option(spec.flag, spec.help);
  if (spec.parse) option.argParser(spec.parse);
  if (spec.choices) option.choices([...spec.choices]);
  if (spec.default !== undefined) option.default(spec.default, spec.defaultText);
  return option;
}

/** commander's options for a row: its flag, and for a switch with a `negation` the `--no-` flag too (one key). */
export function commanderOptions(spec: OptionSpec): Option[] {
  const options = [commanderOption(spec)];
  if (spec.negation) options.push(new Option(spec.flag.replace(/^--/, '--no-'), spec.negation));
  return options;
}

/**
 * What is wrong with `value` as a stored value of the option, by the flag's own rules (its choices, its parser, a
 * boolean for a switch), or undefined when nothing is. A parsed number must read back as itself: 1e21 is no integer
 * flag's value, whatever JSON allows.
 */
export function storedValueProblem(spec: OptionSpec, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!takesValue(spec)) return typeof value === 'boolean' ? undefined : 'not true or false';
  if (typeof value !== 'string' && typeof value !== 'number') return `not a ${spec.parse ? 'number' : 'string'}`;
  if (spec.choices && !spec.choices.includes(String(value))) return `not one of ${spec.choices.join(', ')}`;
  if (!spec.parse) return typeof value === 'string' ? undefined : 'not a string';
  try {
    const parsed = spec.parse(String(value));
    return JSON.stringify(parsed) === JSON.stringify(value) ? undefined : `it reads as ${JSON.stringify(parsed)}`;
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err.message.replace(/\.$/, '');
    throw err;
  }
}
