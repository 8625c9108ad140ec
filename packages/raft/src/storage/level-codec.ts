/**
 * How Raft records are stored as LevelDB values: msgpack, framed with a
 * length and a CRC-32 so that a flipped bit or a torn write is caught when
 * the record is read back instead of becoming part of the log.
 *
 *   u32be payloadLength ‖ u32be crc32(key ‖ payload) ‖ payload (msgpack)
 *
 * The CRC covers the key too, so a record that ends up under another key
 * (e.g. log entry 7's bytes stored at index 8) also fails verification.
 * Decoding goes through `unknown` and type guards (STYLE.md practice 9).
 */
import { Packr } from "msgpackr";
import { assert } from "../core/assert.ts";
import type { ConfState, Entry, EntryType, HardState, SnapshotMeta } from "../core/types.ts";
import { crc32 } from "./checksum.ts";
import { StorageCorruptError } from "./errors.ts";
import { describeKey, parseLogKey } from "./keys.ts";

/** Bytes of the frame header: payload length + CRC. */
export const RECORD_HEADER_BYTES = 8;
/**
 * Largest payload we write or accept (64 MiB). Far above any sane entry;
 * a length field beyond it is damage, not data, and must not drive an allocation.
 */
export const RECORD_PAYLOAD_BYTES_MAX = 64 * 1024 * 1024;
/** On-disk format version, recorded in the identity record. */
export const FORMAT_VERSION = 1;

// Plain maps only: record structures would make a value depend on packer state.
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: "number" });

/** Who a data directory belongs to. `clusterId` is null when none was given at creation. */
export interface Identity {
  readonly format: number;
  readonly nodeId: string;
  readonly clusterId: string | null;
}

/** The compaction point: index and term of the entry just before the first one kept. */
export interface Base {
  readonly index: number;
  readonly term: number;
}

/** Frames `value` as msgpack with length and CRC, for storage under `key`. */
export function encodeRecord(key: Uint8Array, value: unknown): Uint8Array {
  const payload = packr.pack(value);
  // Upper layers bound payloads far below this (PAYLOAD_TOO_LARGE); reaching it is a bug.
  assert(payload.length <= RECORD_PAYLOAD_BYTES_MAX,
    () => `record ${describeKey(key)} is ${payload.length} bytes, over the ${RECORD_PAYLOAD_BYTES_MAX}-byte limit`);
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc32(payload, crc32(key)));
  out.set(payload, RECORD_HEADER_BYTES);
  return out;
}

/** Verifies the frame of a record read from `key` and decodes its payload into `unknown`. */
export function decodeRecord(key: Uint8Array, record: Uint8Array): unknown {
  const where = describeKey(key);
  if (record.length < RECORD_HEADER_BYTES) {
    throw new StorageCorruptError(where, `record is ${record.length} bytes, shorter than its ${RECORD_HEADER_BYTES}-byte header`);
  }
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const length = view.getUint32(0);
  if (length > RECORD_PAYLOAD_BYTES_MAX || length !== record.length - RECORD_HEADER_BYTES) {
    throw new StorageCorruptError(where, `length field says ${length} bytes but ${record.length - RECORD_HEADER_BYTES} follow (truncated or overwritten)`);
  }
  const payload = record.subarray(RECORD_HEADER_BYTES);
  const expected = view.getUint32(4);
  const actual = crc32(payload, crc32(key));
  if (actual !== expected) {
    throw new StorageCorruptError(where, `checksum mismatch (stored ${hex(expected)}, computed ${hex(actual)})`);
  }
  return unpackValue(payload, where);
}

/** Encodes `value` as msgpack into a fresh buffer (plain maps, no shared structures). */
export function packValue(value: unknown): Uint8Array {
  return Uint8Array.from(packr.pack(value));
}

/** Decodes msgpack `bytes` into `unknown`; `where` names the record if they are not valid msgpack. */
export function unpackValue(bytes: Uint8Array, where: string): unknown {
  try {
    return packr.unpack(bytes) as unknown;
  } catch (err) {
    throw new StorageCorruptError(where, `payload is not valid msgpack (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

/** Decodes and validates the log entry stored at `key`; its index must match the key's. */
export function decodeEntry(key: Uint8Array, record: Uint8Array): Entry {
  const value = decodeRecord(key, record);
  const where = describeKey(key);
  if (!isEntry(value)) throw new StorageCorruptError(where, `not a log entry: ${preview(value)}`);
  const keyIndex = parseLogKey(key);
  if (value.index !== keyIndex) {
    throw new StorageCorruptError(where, `entry claims index ${value.index} but is stored under index ${String(keyIndex)}`);
  }
  // msgpackr yields Buffers; hand out plain Uint8Array views like the in-memory log holds.
  return { index: value.index, term: value.term, type: value.type, data: plainBytes(value.data) };
}

/** Decodes a singleton record and checks it with `guard`; `what` names the expected kind. */
export function decodeAs<T>(key: Uint8Array, record: Uint8Array, guard: (v: unknown) => v is T, what: string): T {
  const value = decodeRecord(key, record);
  if (!guard(value)) throw new StorageCorruptError(describeKey(key), `not a valid ${what}: ${preview(value)}`);
  return value;
}

/** Entry fields only, in a fixed order, so that equal entries encode to equal bytes. */
export function entryRecord(e: Entry): unknown {
  return { index: e.index, term: e.term, type: e.type, data: e.data };
}

/** Hard state fields only, so that no extra properties reach the disk. */
export function hardStateRecord(hs: HardState): unknown {
  return { term: hs.term, vote: hs.vote, commit: hs.commit };
}

/** Snapshot metadata fields only (conf copied to plain arrays). */
export function snapshotRecord(meta: SnapshotMeta): unknown {
  return { index: meta.index, term: meta.term, conf: { voters: [...meta.conf.voters], learners: [...meta.conf.learners] } };
}

function plainBytes(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

function preview(value: unknown): string {
  try {
    const s = JSON.stringify(value) ?? String(value);
    return s.length > 120 ? s.slice(0, 120) + "…" : s;
  } catch {
    return typeof value;
  }
}

const ENTRY_TYPES: ReadonlySet<unknown> = new Set<EntryType>(["normal", "noop", "conf"]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/** A stored log entry: index ≥ 1, term ≥ 1, known type, bytes. */
export function isEntry(v: unknown): v is Entry {
  return isRecord(v) && isIndex(v["index"]) && v["index"] >= 1 && isIndex(v["term"]) && v["term"] >= 1 &&
    ENTRY_TYPES.has(v["type"]) && v["data"] instanceof Uint8Array;
}

/** A stored hard state. */
export function isHardState(v: unknown): v is HardState {
  return isRecord(v) && isIndex(v["term"]) && isIndex(v["commit"]) &&
    (v["vote"] === null || typeof v["vote"] === "string");
}

/** A stored membership. */
export function isConfState(v: unknown): v is ConfState {
  return isRecord(v) && isStringArray(v["voters"]) && isStringArray(v["learners"]);
}

/** Stored snapshot metadata. */
export function isSnapshotMeta(v: unknown): v is SnapshotMeta {
  return isRecord(v) && isIndex(v["index"]) && isIndex(v["term"]) && isConfState(v["conf"]);
}

/** A stored compaction point. */
export function isBase(v: unknown): v is Base {
  return isRecord(v) && isIndex(v["index"]) && isIndex(v["term"]);
}

/** A stored identity record. */
export function isIdentity(v: unknown): v is Identity {
  return isRecord(v) && isIndex(v["format"]) && typeof v["nodeId"] === "string" &&
    (v["clusterId"] === null || typeof v["clusterId"] === "string");
}
