// Flag parsing shared by the subcommands: numbers and choices checked, with clear errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad flag: the CLI prints the message and exits with status 2. */
export class UsageError extends Error {}

type Flags = NonNullable<ParseArgsConfig['options']>;

/** Parses argv against flags; unknown flags and stray arguments are usage errors. */
export function parseFlags<T extends Flags>(argv: string[], flags: T, positionals = false) {
  try {
    return parseArgs({ args: argv, options: flags, strict: true, allowPositionals: positionals });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Reads an integer flag in [min, max]. */
export function integerFlag(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

/** Reads a non-negative number flag (seconds, ms), fractions allowed. */
export function numberFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${name} must be a number >= 0, got '${value}'`);
  }
  return n;
}

/** Reads a flag that must be one of choices. */
export function choiceFlag<C extends string>(name: string, value: string | undefined, choices: readonly C[], fallback: C): C {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${value}'`);
  }
  return value as C;
}
