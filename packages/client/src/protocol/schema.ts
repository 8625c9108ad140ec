/**
 * A tiny validation vocabulary for values that come off the wire (STYLE.md
 * practice 9): decode into `unknown`, check against a schema, then use.
 *
 * A `Schema<T>` is a guard for `T`. `obj<T>()` takes one schema per field of
 * the interface `T`, so the compiler fails when an interface and its schema
 * drift apart (a missing, extra or wrongly typed field). Schemas only check;
 * they never transform, so a checked value is the decoded value itself.
 */

interface SchemaBase<T> {
  /** Returns undefined when `value` conforms, else a message naming the offending path. */
  readonly check: (value: unknown, path: string) => string | undefined;
  /** Phantom field carrying `T` (never set at runtime). */
  readonly _type?: T;
}

/** A guard for values of type `T`. */
export interface Schema<T> extends SchemaBase<T> {
  /** Never true: an optional schema cannot stand for a required field. */
  readonly optional?: false;
}

/** A schema for a field that may be absent (or `undefined`). */
export interface OptionalSchema<T> extends SchemaBase<T> {
  readonly optional: true;
}

type OptionalKeys<T> = { [K in keyof T]-?: Partial<Pick<T, K>> extends Pick<T, K> ? K : never }[keyof T];

/** One schema per field of `T`: optional fields need an {@link opt} schema. */
export type Fields<T> = {
  readonly [K in keyof T]-?: K extends OptionalKeys<T> ? OptionalSchema<Exclude<T[K], undefined>> : Schema<T[K]>;
};

/** Largest array or record a schema walks; a frame is size-bounded anyway, this bounds the work. */
const ELEMENTS_MAX = 100_000;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "bytes";
  return typeof value;
}

function fail(path: string, expected: string, value: unknown): string {
  return `${path}: expected ${expected}, got ${describe(value)}`;
}

/** True for a plain object (what msgpack maps decode to), not an array, bytes or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Build a schema from a predicate. */
export function guard<T>(expected: string, test: (value: unknown) => boolean): Schema<T> {
  return { check: (value, path) => (test(value) ? undefined : fail(path, expected, value)) };
}

/** Any string. */
export const str: Schema<string> = guard("string", (v) => typeof v === "string");
/** A non-empty string. */
export const nonEmptyStr: Schema<string> = guard("non-empty string", (v) => typeof v === "string" && v.length > 0);
/** A boolean. */
export const bool: Schema<boolean> = guard("boolean", (v) => typeof v === "boolean");
/** A finite number. */
export const num: Schema<number> = guard("finite number", (v) => typeof v === "number" && Number.isFinite(v));
/** A safe integer ≥ 0 (offsets, indexes, counts). */
export const nat: Schema<number> = guard("integer >= 0", (v) => Number.isSafeInteger(v) && (v as number) >= 0);
/** A safe integer ≥ 1. */
export const pos: Schema<number> = guard("integer >= 1", (v) => Number.isSafeInteger(v) && (v as number) >= 1);
/** A safe integer (may be negative). */
export const int: Schema<number> = guard("integer", (v) => Number.isSafeInteger(v));
/** Raw bytes. */
export const bytes: Schema<Uint8Array> = guard("bytes", (v) => v instanceof Uint8Array);

/** Exactly `literal`. */
export function lit<const L extends string | number | boolean>(literal: L): Schema<L> {
  return guard(JSON.stringify(literal), (v) => v === literal);
}

/** One of the listed strings. */
export function oneOf<const L extends string>(values: readonly L[]): Schema<L> {
  const set: ReadonlySet<unknown> = new Set(values);
  return guard(`one of ${values.join("|")}`, (v) => set.has(v));
}

/** A field that may be absent. */
export function opt<T>(schema: Schema<T>): OptionalSchema<T> {
  return { optional: true, check: (value, path) => (value === undefined ? undefined : schema.check(value, path)) };
}

/** `T` or `null`. */
export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return { check: (value, path) => (value === null ? undefined : schema.check(value, path)) };
}

/** An array of `T`, at most `maxLength` long. */
export function arr<T>(schema: Schema<T>, maxLength = ELEMENTS_MAX): Schema<readonly T[]> {
  return {
    check(value, path) {
      if (!Array.isArray(value)) return fail(path, "array", value);
      if (value.length > maxLength) return `${path}: at most ${maxLength} elements allowed, got ${value.length}`;
      for (let i = 0; i < value.length; i++) {
        const err = schema.check(value[i], `${path}[${i}]`);
        if (err !== undefined) return err;
      }
      return undefined;
    },
  };
}

/** A string-keyed map of `T` with at most `maxKeys` keys. */
export function record<T>(schema: Schema<T>, maxKeys = ELEMENTS_MAX): Schema<Readonly<Record<string, T>>> {
  return {
    check(value, path) {
      if (!isPlainObject(value)) return fail(path, "map", value);
      const keys = Object.keys(value);
      if (keys.length > maxKeys) return `${path}: at most ${maxKeys} keys allowed, got ${keys.length}`;
      for (const key of keys) {
        const err = schema.check(value[key], `${path}.${key}`);
        if (err !== undefined) return err;
      }
      return undefined;
    },
  };
}

/** An object with the given fields (unknown extra fields are allowed and ignored). */
export function obj<T>(fields: Fields<T>): Schema<T> {
  const entries = Object.entries(fields) as [string, SchemaBase<unknown> & { readonly optional?: boolean }][];
  return {
    check(value, path) {
      if (!isPlainObject(value)) return fail(path, "map", value);
      for (const [key, schema] of entries) {
        const field = Object.hasOwn(value, key) ? value[key] : undefined;
        if (field === undefined && schema.optional !== true) return `${path}.${key}: required`;
        const err = schema.check(field, `${path}.${key}`);
        if (err !== undefined) return err;
      }
      return undefined;
    },
  };
}

/** The first of `schemas` that matches, tried in order (use for small unions). */
export function anyOf<T>(expected: string, schemas: readonly Schema<T>[]): Schema<T> {
  return {
    check(value, path) {
      for (const schema of schemas) if (schema.check(value, path) === undefined) return undefined;
      return fail(path, expected, value);
    },
  };
}

/** True when `value` conforms to `schema` (a type guard). */
export function conforms<T>(schema: Schema<T>, value: unknown): value is T {
  return schema.check(value, "value") === undefined;
}
