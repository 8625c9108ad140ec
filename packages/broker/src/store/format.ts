/**
 * The broker store's on-disk format, recorded in a local marker record and
 * migrated forward when a newer build opens an older store:
 *
 *   1  values stored as they are (releases before record checksums)
 *   2  every value framed with its CRC32 (checksum.ts)
 *   3  pending references carry their message's guarantee and maxRetries
 *      (keys.ts; migrate.ts fills them in from the message records)
 *
 * Keys starting with 0x00 are LOCAL: they describe this copy of the store
 * (the format marker), not the replicated state, so snapshots, backups and
 * digests leave them out. Every replicated key starts with a tag ≥ 0x01
 * (keys.ts uses ASCII letters).
 *
 * Stores written before the marker existed carry no marker: their meta
 * record tells format 1 from format 2 (it verifies as a framed value), and
 * an unmarked framed store is taken as format 2 (the 2 → 3 rewrite leaves
 * pending values that are already in format 3 as they are). A store whose marker names a newer format is refused
 * (STORAGE_TOO_NEW): formats migrate forward only.
 */
import { StorageCorruptError, StorageTooNewError } from "../raft-api.ts";
import { pack, unpack } from "../msgpack.ts";
import { unframeValue } from "./checksum.ts";
import { META_KEY } from "./keys.ts";
import { decodeMeta } from "./records.ts";
import type { BinaryDb } from "./volume.ts";

/** The format this build writes. */
export const STORE_FORMAT = 3;

/** The local marker record naming the store's format. */
export const FORMAT_KEY = Uint8Array.of(0x00, 0x66); // "\0f"

/** The first replicated key: snapshots, backups and digests start here. */
export const REPLICATED_KEYS_FROM = Uint8Array.of(0x01);

/** What {@link detectFormat} found. */
export type DetectedFormat = { readonly kind: "fresh" } | { readonly kind: "format"; readonly format: number; readonly marked: boolean };

/**
 * The format of the store in `db` (opened with the checked value encoding).
 * @throws StorageTooNewError for a newer format; StorageCorruptError when
 *   neither the marker nor the meta record can be read.
 */
export async function detectFormat(db: BinaryDb, label: string): Promise<DetectedFormat> {
  const marker = (await db.get(FORMAT_KEY, { valueEncoding: "view" })) as Uint8Array | undefined;
  if (marker !== undefined) {
    const format = readMarker(marker, label);
    if (format > STORE_FORMAT) throw new StorageTooNewError(`broker state ${label}`, format, STORE_FORMAT);
    return { kind: "format", format, marked: true };
  }
  const meta = (await db.get(META_KEY, { valueEncoding: "view" })) as Uint8Array | undefined;
  if (meta === undefined) {
    const any = await db.keys({ limit: 1 }).all();
    if (any.length === 0) return { kind: "fresh" };
    throw new StorageCorruptError(`broker state ${label}`, "records without a meta record or a format marker");
  }
  if (readsAsMeta(() => unframeValue(meta))) return { kind: "format", format: 2, marked: false };
  if (readsAsMeta(() => meta)) return { kind: "format", format: 1, marked: false };
  throw new StorageCorruptError(`broker state ${label}`, "the meta record is neither a checksummed nor a plain broker meta record");
}

/** The marker's value (written through the checked encoding). */
export function markerValue(format: number = STORE_FORMAT): Uint8Array {
  return pack({ format });
}

function readMarker(stored: Uint8Array, label: string): number {
  let value: unknown;
  try {
    value = unpack(unframeValue(stored));
  } catch (err) {
    throw new StorageCorruptError(`broker state ${label}`, `unreadable format marker: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const format = (value as { format?: unknown } | null)?.format;
  if (typeof format !== "number" || !Number.isSafeInteger(format) || format < 1) {
    throw new StorageCorruptError(`broker state ${label}`, `format marker holds ${JSON.stringify(value)}`);
  }
  return format;
}

function readsAsMeta(bytes: () => Uint8Array): boolean {
  try {
    decodeMeta(bytes());
    return true;
  } catch {
    return false;
  }
}
