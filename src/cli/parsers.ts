import { InvalidArgumentError } from 'commander';
import { parseGpuPools } from '../core/gpu-models.js';
import { nameSchema } from '../core/names.js';
import { parseDurationSeconds } from '../core/quantities.js';

/** Option-argument parsers: commander reports what they throw as a usage error naming the flag. */

export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number, e.g. 2');
  return Number(value);
}

/** Whole GPUs (`2`), or a share of one GPU (`0.5`). */
export function gpuCount(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  if (/^0?\.\d+$/.test(value) && Number(value) > 0) return Number(value);
  throw new InvalidArgumentError('must be a whole number, e.g. 2, or a share of one GPU, e.g. 0.5');
}

/** Cores, possibly fractional: `4`, `0.5`. */
export function decimal(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value) && !/^\.\d+$/.test(value)) throw new InvalidArgumentError('must be a number, e.g. 4 or 0.5');
  return Number(value);
}

export function integer(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('must be an integer, e.g. 10 or -5');
  return Number(value);
}

export function port(value: string): number {
  const n = wholeNumber(value);
  if (n > 65_535) throw new InvalidArgumentError('must be a port number between 0 and 65535');
  return n;
}

/** A percentage, 0 to 100: `5`, `0.5`. */
export function percentage(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('must be a percentage between 0 and 100, e.g. 5');
  return n;
}

/** A duration such as `30d`, `12h` or `90m` (or seconds), in ms. */
export function durationMs(value: string): number {
  const seconds = parseDurationSeconds(value);
  if (seconds === null) throw new InvalidArgumentError('must be a duration such as 30d, 12h or 90m');
  return seconds * 1000;
}

/** Accumulates repeated `KEY=VALUE` flags; the value may itself contain `=`. */
export function keyValue(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('must be KEY=VALUE');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function envVariable(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const result = keyValue(value, previous);
  const key = value.slice(0, value.indexOf('='));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new InvalidArgumentError(`"${key}" is not an environment variable name`);
  return result;
}

export function nodeName(value: string): string {
  const result = nameSchema.safeParse(value);
  if (!result.success) throw new InvalidArgumentError(result.error.issues[0]?.message ?? 'not a valid name');
  return value;
}

/** Simulated GPU pools such as `8xH100-80GB,2xA100-40GB`, checked here so a typo fails before anything starts. */
export function gpuSpec(value: string): string {
  try {
    parseGpuPools(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}
