/**
 * Reads log entries back from LevelDB synchronously, for a mirror that no
 * longer holds their data (memory-storage.ts, EntryBodies). The core reads
 * storage synchronously; classic-level's getSync serves the rare read of an
 * older entry (a follower catching up from further back than the cache
 * reaches) from LevelDB's block cache or the page cache. Batches held back
 * by the follower-no-fsync test switch are not in the database yet: they
 * are looked up first.
 */
import { StorageCorruptError } from "./errors.ts";
import type { Entry } from "../core/types.ts";
import { decodeEntry } from "./level-codec.ts";
import type { LevelDb } from "./level-load.ts";
import type { BatchOp } from "./level-plan.ts";
import { describeKey, logKey } from "./keys.ts";
import type { EntryBodies } from "./memory-storage.ts";
import { ownedEntry } from "./owned-entry.ts";

/** Entry data kept in memory by default: the newest entries, which apply and replication read next. */
export const ENTRY_CACHE_BYTES_DEFAULT = 8 * 1024 * 1024;

/** EntryBodies over a LevelDB log (keys and records of level-codec.ts). */
export class StoredEntries implements EntryBodies {
  /** Batches written to the mirror but not yet to the database (follower-no-fsync only), oldest first. */
  readonly held: BatchOp[] = [];

  /** `cacheBytesMax` applies when the database reads synchronously; otherwise every entry stays in memory. */
  constructor(private readonly db: LevelDb, cacheBytesMax: number) {
    // level-supports' manifest type predates getSync; abstract-level 3 sets the flag.
    const syncReads = (db.supports as { readonly getSync?: boolean }).getSync === true;
    this.cacheBytesMax = syncReads ? cacheBytesMax : Number.POSITIVE_INFINITY;
  }

  readonly cacheBytesMax: number;

  /** @inheritDoc */
  read(index: number): Entry {
    const key = logKey(index);
    const held = this.heldOp(key);
    const record = held !== undefined ? (held.type === "put" ? held.value : undefined) : this.db.getSync(key);
    if (record === undefined) throw new StorageCorruptError(describeKey(key), "record is missing though the log holds it");
    // A copy of its own: the entry may live on in a message queue, without pinning the record.
    return ownedEntry(decodeEntry(key, record));
  }

  /** The latest held operation on `key`. */
  private heldOp(key: Uint8Array): BatchOp | undefined {
    for (let i = this.held.length - 1; i >= 0; i--) {
      const op = this.held[i]!;
      if (Buffer.compare(op.key, key) === 0) return op;
    }
    return undefined;
  }
}
