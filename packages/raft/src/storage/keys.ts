/**
 * The LevelDB key layout of the Raft log. LevelDB sorts keys as bytes
 * (STYLE.md practice 8), so log indexes are fixed-width big-endian: byte
 * order is index order and a range scan walks the log in sequence.
 *
 *   0x01                 node identity (node id, cluster id, format version)
 *   0x02                 hard state (term, vote, commit)
 *   0x03                 snapshot metadata (index, term, conf)
 *   0x04                 base: index and term of the compaction point
 *   0x4c ‖ u64be(index)  one log entry ("L")
 */
import { assert } from "../core/assert.ts";

/** Prefix byte of every log entry key. */
export const LOG_PREFIX = 0x4c;
/** Length of a log entry key: prefix + 8-byte index. */
export const LOG_KEY_BYTES = 9;

/** Key of the node identity record. */
export const IDENTITY_KEY: Uint8Array = Uint8Array.of(0x01);
/** Key of the hard state record. */
export const HARD_STATE_KEY: Uint8Array = Uint8Array.of(0x02);
/** Key of the snapshot metadata record. */
export const SNAPSHOT_KEY: Uint8Array = Uint8Array.of(0x03);
/** Key of the compaction point (index and term of the entry before the first one kept). */
export const BASE_KEY: Uint8Array = Uint8Array.of(0x04);

/** Key of the log entry at `index` (0 ≤ index ≤ 2^53-1; 0 only as a range bound). */
export function logKey(index: number): Uint8Array {
  assert(Number.isSafeInteger(index) && index >= 0, () => `log index ${index} is not a non-negative safe integer`);
  const key = new Uint8Array(LOG_KEY_BYTES);
  const view = new DataView(key.buffer);
  key[0] = LOG_PREFIX;
  // Two 32-bit halves: exact for every safe integer, no BigInt on the hot path.
  view.setUint32(1, Math.floor(index / 2 ** 32));
  view.setUint32(5, index >>> 0);
  return key;
}

/** Upper bound (exclusive) of every log key: the prefix byte + 1. */
export const LOG_KEY_END: Uint8Array = Uint8Array.of(LOG_PREFIX + 1);

/** Index encoded in a log key, or undefined when `key` is not a well-formed log key. */
export function parseLogKey(key: Uint8Array): number | undefined {
  if (key.length !== LOG_KEY_BYTES || key[0] !== LOG_PREFIX) return undefined;
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const hi = view.getUint32(1);
  const index = hi * 2 ** 32 + view.getUint32(5);
  return Number.isSafeInteger(index) ? index : undefined;
}

const SINGLETON_NAMES: ReadonlyMap<number, string> = new Map([
  [0x01, "identity"], [0x02, "hardState"], [0x03, "snapshot"], [0x04, "base"],
]);

/** Printable form of a key for error messages: "log[42]", "hardState", or hex. */
export function describeKey(key: Uint8Array): string {
  const index = parseLogKey(key);
  if (index !== undefined) return `log[${index}]`;
  const name = key.length === 1 ? SINGLETON_NAMES.get(key[0]!) : undefined;
  return name ?? "key 0x" + Array.from(key, (b) => b.toString(16).padStart(2, "0")).join("");
}
