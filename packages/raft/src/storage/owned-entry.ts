/**
 * Entries a log keeps for minutes must not pin memory they do not use. An
 * entry's `data` often arrives as a view: msgpack encoders hand out slices
 * of a shared buffer of a megabyte or more, and a transport decodes many
 * entries out of one frame. Kept as they come, the log mirror holds every
 * such buffer whole: measured on a leader, 200 entries of ~130 KB pinned
 * 1.41 MB each, 10× what the log's byte limits (snapshotBytes,
 * trailingBytes) allow for.
 */
import type { Entry } from "../core/types.ts";

/** `bytes` itself when it spans its whole buffer, else a copy that does. */
export function ownedBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  return Uint8Array.prototype.slice.call(bytes);
}

/** `e` when its data owns its buffer, else the same entry with owned data. */
export function ownedEntry(e: Entry): Entry {
  const data = ownedBytes(e.data);
  return data === e.data ? e : { ...e, data };
}
