// The memvp command's flags: node:util's parseArgs in strict mode (an unknown flag, a flag without its value or a
// stray argument is a usage error), and range checks of the values parseArgs leaves as strings.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** The command's exit codes (memvp --help lists them). */
export const EXIT = {
  ok: 0,
  /** The work failed: the model package could not be loaded, no backend, inference failed, outputs differ. */
  failure: 1,
  /** Usage or bad input: flags, numbers out of range, an unreadable image, an empty or too long question. */
  usage: 2,
} as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseFlags<T extends ParseArgsOptionsConfig>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A numeric flag's value, `fallback` when absent; UsageError unless it is a number (an integer if asked) in [min, max]. */
export function numberFlag(value: string | undefined, flag: string, fallback: number, range: { min: number; max: number; integer?: boolean }): number {
  if (value === undefined) return fallback;
  const n = value.trim() === '' ? NaN : Number(value);
  const kind = range.integer ? 'an integer' : 'a number';
  if (!Number.isFinite(n) || (range.integer && !Number.isInteger(n)) || n < range.min || n > range.max) {
    throw new UsageError(`--${flag} must be ${kind} from ${range.min} to ${range.max}, got "${value}"`);
  }
  return n;
}

/** A flag that takes one of `choices`, `fallback` when absent. */
export function choiceFlag<C extends string>(value: string | undefined, flag: string, choices: readonly C[], fallback: C): C {
  if (value === undefined) return fallback;
  if (!choices.includes(value as C)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got "${value}"`);
  return value as C;
}
