/**
 * Reading parsed command-line arguments into checked values. yargs hands
 * over loosely typed values; every command reads them through these helpers,
 * so a bad value is always a {@link UsageError} naming the flag, the value
 * and what would be accepted.
 */
import { UsageError } from "./errors.ts";
import { DURATION_HINT, parseDuration, parseSize, SIZE_HINT } from "./units.ts";

/** Arguments as yargs parsed them (flags in kebab-case and camelCase, positionals by name). */
export type Args = Readonly<Record<string, unknown>>;

/** How a flag is shown in messages: positionals as `<name>`, flags as `--name`. */
function label(key: string, positional: boolean): string {
  return positional ? `<${key}>` : `--${key}`;
}

/** The string value of `key`, if given. Repeated single-value flags keep the last value. */
export function optString(args: Args, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.length === 0 ? undefined : String(v[v.length - 1]);
  return String(v);
}

/** The string value of a required positional or flag. */
export function reqString(args: Args, key: string, command: string, positional = true): string {
  const v = optString(args, key);
  if (v === undefined || v === "") throw new UsageError(`${label(key, positional)} is required`, command);
  return v;
}

/** Every value of a repeatable flag (`--header a=1 --header b=2`), as strings. */
export function stringList(args: Args, key: string): string[] {
  const v = args[key];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** Bounds of an integer flag. */
export interface IntBounds {
  readonly min?: number;
  readonly max?: number;
}

/** Check one integer value of `--key`. */
export function checkInt(value: unknown, key: string, command: string, bounds: IntBounds = {}): number {
  const n = typeof value === "number" ? value : typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  const min = bounds.min ?? Number.MIN_SAFE_INTEGER;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = bounds.max !== undefined ? `an integer from ${min} to ${max}` : min === 1 ? "a positive integer" : min === 0 ? "a non-negative integer" : "an integer";
    throw new UsageError(`--${key} must be ${range}, got ${JSON.stringify(value)}`, command);
  }
  return n;
}

/** An optional integer flag. */
export function optInt(args: Args, key: string, command: string, bounds: IntBounds = {}): number | undefined {
  const v = args[key];
  if (v === undefined) return undefined;
  return checkInt(Array.isArray(v) ? v[v.length - 1] : v, key, command, bounds);
}

/** Every value of a repeatable integer flag (`--id 1 --id 2`, or `--id 1 2`). */
export function intList(args: Args, key: string, command: string, bounds: IntBounds = {}): number[] | undefined {
  const v = args[key];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map((x) => checkInt(x, key, command, bounds));
}

/** Parse `text` as a duration for `--key`, at least `minMs`. */
export function checkDuration(text: string, key: string, command: string, minMs = 0): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`--${key}: ${JSON.stringify(text)} is not a duration; use ${DURATION_HINT}`, command);
  if (ms < minMs) throw new UsageError(`--${key} must be at least ${minMs}ms, got ${JSON.stringify(text)}`, command);
  return ms;
}

/** An optional duration flag, in ms. */
export function optDuration(args: Args, key: string, command: string, minMs = 0): number | undefined {
  const text = optString(args, key);
  return text === undefined ? undefined : checkDuration(text, key, command, minMs);
}

/** An optional size flag, in bytes (at least 1). */
export function optSize(args: Args, key: string, command: string): number | undefined {
  const text = optString(args, key);
  if (text === undefined) return undefined;
  const bytes = parseSize(text);
  if (bytes === undefined) throw new UsageError(`--${key}: ${JSON.stringify(text)} is not a size; use ${SIZE_HINT}`, command);
  if (bytes < 1) throw new UsageError(`--${key} must be at least 1 byte, got ${JSON.stringify(text)}`, command);
  return bytes;
}

/** A boolean flag (false when absent). */
export function flag(args: Args, key: string): boolean {
  return args[key] === true;
}
