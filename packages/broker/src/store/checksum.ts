/**
 * Every broker record carries a checksum, verified whenever it is read
 * (TigerBeetle's rule, and what the Raft log's records already do): a value
 * is stored as `crc32(value)` (4 bytes, big-endian) followed by the value.
 *
 * It is applied as the databases' abstract-level value encoding, so every
 * read path — get, getMany, iterators, snapshots — verifies and every write
 * path frames, without a caller being able to forget. The checksum is a pure
 * function of the value, so replicas that hold the same values hold the same
 * bytes. A value that fails verification throws StorageCorruptError; the
 * database wraps it (`LEVEL_DECODE_ERROR` with the error as its cause), and
 * {@link storageCorruption} finds it again.
 */
import { StorageCorruptError, crc32 } from "../raft-api.ts";

/** Bytes of the frame before the value. */
const HEADER_BYTES = 4;

/** Frames `value` with its checksum. */
export function frameValue(value: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + value.length);
  new DataView(out.buffer).setUint32(0, crc32(value));
  out.set(value, HEADER_BYTES);
  return out;
}

/** The value inside a stored frame; throws StorageCorruptError when the frame is short or its checksum is wrong. */
export function unframeValue(stored: Uint8Array): Uint8Array {
  if (stored.length < HEADER_BYTES) {
    throw new StorageCorruptError("broker record", `${stored.length} bytes is shorter than its ${HEADER_BYTES}-byte checksum`);
  }
  const value = stored.subarray(HEADER_BYTES);
  const expected = new DataView(stored.buffer, stored.byteOffset, HEADER_BYTES).getUint32(0);
  const actual = crc32(value);
  if (expected !== actual) {
    throw new StorageCorruptError("broker record", `checksum mismatch (stored ${hex(expected)}, computed ${hex(actual)} over ${value.length} bytes)`);
  }
  return value;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

/** The value encoding every broker database is opened with (see the module comment). */
export const CHECKED_VALUES = {
  name: "raftbus-checked-view",
  format: "view",
  encode: frameValue,
  decode: unframeValue,
} as const;

/**
 * The StorageCorruptError behind `err`, if a checksum (or another
 * corruption check) failed somewhere below: the error itself or one of its
 * causes (the database wraps decode failures).
 */
export function storageCorruption(err: unknown): StorageCorruptError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof StorageCorruptError) return e;
  }
  return undefined;
}
