// Parsers for flag values: each throws commander's InvalidArgumentError, which commander prints as one line.
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a whole number ≥ 0.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0.');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number ≥ 0.');
  return n;
}

/** For Adam's betas: [0, 1). */
export function unitInterval(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('must be a number in [0, 1).');
  return n;
}

/** For the truncation ψ: [0, 1], both ends included. */
export function closedUnitInterval(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be a number in [0, 1].');
  return n;
}

export function oneOf<T extends number>(allowed: readonly T[]) {
  return (value: string): T => {
    const n = Number(value) as T;
    if (!allowed.includes(n)) throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}.`);
    return n;
  };
}
