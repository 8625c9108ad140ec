/**
 * The building blocks of the wire schemas. Every frame and body is defined
 * once, as a TypeBox schema: its TypeScript type is derived from it
 * ({@link Wire}), decoders validate against it, and the JSON Schema files
 * and the field tables of docs/protocol.md are generated from it.
 *
 * Objects allow fields they do not list (forward compatibility: a newer
 * peer may add optional fields; receivers keep them and ignore them).
 */
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from "@sinclair/typebox";

/** Read-only all the way down, except bytes (a decoded `Uint8Array` is one value). */
export type DeepReadonly<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer E)[]
    ? readonly DeepReadonly<E>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/** The TypeScript type of values that conform to schema `S`, read-only. */
export type Wire<S extends TSchema> = DeepReadonly<Static<S>>;

/** Largest array or map a schema accepts where no tighter limit applies; a frame is size-bounded anyway, this bounds the work. */
export const ELEMENTS_MAX = 100_000;

/** A safe integer ≥ 0 (offsets, indexes, counts, ms since the epoch). */
export const nat = (description?: string) =>
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, ...(description !== undefined ? { description } : {}) });
/** A safe integer ≥ 1. */
export const pos = (description?: string) =>
  Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, ...(description !== undefined ? { description } : {}) });
/** Any string. */
export const str = (description?: string) => Type.String(description !== undefined ? { description } : {});
/** A non-empty string. */
export const nonEmptyStr = (description?: string) => Type.String({ minLength: 1, ...(description !== undefined ? { description } : {}) });
/** A finite number. */
export const num = (description?: string) => Type.Number(description !== undefined ? { description } : {});
/** A boolean. */
export const bool = (description?: string) => Type.Boolean(description !== undefined ? { description } : {});
/** Raw bytes (msgpack `bin`). */
export const bytes = (description?: string) => Type.Uint8Array(description !== undefined ? { description } : {});
/** Exactly `value`. */
export const lit = <const L extends string | number | boolean>(value: L, description?: string) =>
  Type.Literal(value, description !== undefined ? { description } : {});

/** One of the listed strings. */
export function oneOf<const L extends readonly string[]>(values: L, description?: string): TUnion<TLiteral<L[number]>[]> {
  return Type.Union(values.map((v) => Type.Literal(v)), description !== undefined ? { description } : {}) as TUnion<TLiteral<L[number]>[]>;
}

/** `T` or null. */
export const nullable = <T extends TSchema>(schema: T, description?: string) =>
  Type.Union([schema, Type.Null()], description !== undefined ? { description } : {});

/** A field that may be absent. */
export const opt = Type.Optional;

/** An array of at most `maxItems` elements. */
export const arr = <T extends TSchema>(schema: T, description?: string, maxItems = ELEMENTS_MAX) =>
  Type.Array(schema, { maxItems, ...(description !== undefined ? { description } : {}) });

/** A string-keyed map of at most `maxProperties` keys. */
export const map = <T extends TSchema>(schema: T, description?: string, maxProperties = ELEMENTS_MAX) =>
  Type.Record(Type.String(), schema, { maxProperties, ...(description !== undefined ? { description } : {}) });

/** A named object shape (its `title` names it in the documentation). Unknown fields are allowed. */
export const shape = <P extends Parameters<typeof Type.Object>[0]>(title: string, properties: P, description?: string) =>
  Type.Object(properties, { title, ...(description !== undefined ? { description } : {}) });

/** The empty body `{}` of requests and responses that carry nothing. */
export const Empty = Type.Object({}, { title: "Empty" });
