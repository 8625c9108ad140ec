/**
 * The broker's one msgpackr configuration, for commands, stored records and
 * snapshot chunks. Plain maps and arrays only (no record extension, whose
 * shared structures would make bytes depend on history), `undefined` fields
 * skipped, and 64-bit integers decoded as numbers (the broker keeps every
 * integer below 2^53). Encoding is a pure function of the value, which is
 * what makes replicas byte-identical (STYLE.md practice 7).
 */
import { Packr } from "msgpackr";

// `skipValues` is supported by msgpackr 2 but missing from its type declarations.
const options = { useRecords: false, mapsAsObjects: true, int64AsType: "number" as const, skipValues: [undefined] };
const packr = new Packr(options);

/** Encodes `value` to msgpack bytes. */
export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes msgpack bytes into an unchecked value; throws on malformed input. */
export function unpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
