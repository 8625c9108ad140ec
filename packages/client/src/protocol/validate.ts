/**
 * Checking decoded values against the wire schemas. A check is compiled on
 * first use (TypeBox's TypeCompiler: a generated function, fast on the
 * server's hot path); where code generation is forbidden (a browser page
 * whose Content-Security-Policy has no 'unsafe-eval') it falls back to
 * TypeBox's interpreter, which accepts exactly the same values.
 */
import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";

/** A check of one schema: undefined when `value` conforms, else a message naming the offending field under `path`. */
export type Check = (value: unknown, path: string) => string | undefined;

interface Checker {
  Check(value: unknown): boolean;
  Errors(value: unknown): Iterable<{ readonly path: string; readonly message: string; readonly value: unknown }>;
}

function checker(schema: TSchema): Checker {
  try {
    return TypeCompiler.Compile(schema);
  } catch {
    // No eval here (CSP): interpret the schema instead.
    return { Check: (v) => Value.Check(schema, v), Errors: (v) => Value.Errors(schema, v) };
  }
}

/** `/messages/3/topic` → `.messages[3].topic`. */
function pointerToPath(pointer: string): string {
  return pointer.split("/").slice(1).map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg.replace(/~1/g, "/").replace(/~0/g, "~")}`)).join("");
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "bytes";
  return typeof value;
}

/** The first (deepest-reported) error, worded as `path: message, got type`. */
function firstError(c: Checker, value: unknown, path: string): string {
  for (const e of c.Errors(value)) {
    return `${path}${pointerToPath(e.path)}: ${e.message.charAt(0).toLowerCase()}${e.message.slice(1)}, got ${describe(e.value)}`;
  }
  return `${path}: does not conform`;
}

const checkers = new WeakMap<TSchema, Checker>();

/** The check of `schema`, compiled on first use and cached. */
export function checkOf(schema: TSchema): Check {
  return (value, path) => {
    let c = checkers.get(schema);
    if (c === undefined) {
      c = checker(schema);
      checkers.set(schema, c);
    }
    return c.Check(value) ? undefined : firstError(c, value, path);
  };
}

/** True when `value` conforms to `schema`. */
export function conforms(schema: TSchema, value: unknown): boolean {
  return checkOf(schema)(value, "value") === undefined;
}

/** True for a plain object (what msgpack maps decode to), not an array, bytes or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
