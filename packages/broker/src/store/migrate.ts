/**
 * Value rewrites that carry broker records from an older store format to
 * {@link STORE_FORMAT} (format.ts lists the formats). The store copies every
 * record through {@link upgradeRecord} into a new generation (store.ts).
 */
import { GUARANTEES } from "@raftbus/client/protocol";
import { StorageCorruptError } from "../raft-api.ts";
import { TAG, encodePendingValue, logKey, readU32, readU64 } from "./keys.ts";
import { decodeMessage } from "./records.ts";

/** Length of a pending reference value before format 3 (tid:4 offset:8 expiresAt:8). */
const PENDING_VALUE_V2_BYTES = 20;

/** Reads a record's plain (unframed) value from the store being migrated. */
export type ReadPlain = (key: Uint8Array) => Promise<Uint8Array | undefined>;

/**
 * The format-{@link STORE_FORMAT} value of the record at `key`, given its
 * plain value in the old store.
 * 2 → 3: a pending reference gains its message's guarantee and maxRetries
 * (so a first delivery is recorded without reading the message); they are
 * read from the message record it points at.
 */
export async function upgradeRecord(key: Uint8Array, value: Uint8Array, read: ReadPlain, label: string): Promise<Uint8Array> {
  if (key[0] !== TAG.pending || value.length !== PENDING_VALUE_V2_BYTES) return value;
  const tid = readU32(value, 0);
  const offset = readU64(value, 4);
  const message = await read(logKey(tid, offset));
  if (message === undefined) {
    throw new StorageCorruptError(`broker state ${label}`, `pending reference to topic ${tid} offset ${offset} names no message`);
  }
  const rec = decodeMessage(message);
  return encodePendingValue({ tid, offset, expiresAt: readU64(value, 12), guarantee: GUARANTEES.indexOf(rec.guarantee), maxRetries: rec.maxRetries });
}
