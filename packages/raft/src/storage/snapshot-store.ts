/**
 * Where snapshot data lives. A snapshot can be larger than memory, so its
 * data moves as a stream of chunks: saved from the state machine, read back
 * to send to a follower or to restore, received incrementally from a leader
 * (resumable after a broken connection). Two implementations pass the same
 * tests: MemorySnapshotStore (simulator, unit tests) and FileSnapshotStore.
 */
import { assert } from "../core/assert.ts";
import type { SnapshotMeta } from "../core/types.ts";
import { StorageBadOffsetError } from "./errors.ts";

/** Snapshot data keyed by index. Only complete snapshots are ever visible. */
export interface SnapshotStore {
  /** Stores the snapshot streamed by `chunks`; visible (latest/open) only once complete and durable. */
  save(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  /**
   * Streams the data of snapshot `index`. Throws STORAGE_NOT_FOUND at once
   * when it is not stored; STORAGE_CORRUPT while iterating when data fails
   * verification (a consumer must treat a partial stream as unusable).
   */
  open(index: number): AsyncIterable<Uint8Array>;
  /** Metadata of the newest complete snapshot, undefined when there is none. */
  latest(): SnapshotMeta | undefined;
  /** Deletes snapshots below `keepIndex` (never the latest one) and stale partial receives. */
  prune(keepIndex: number): Promise<void>;
  /**
   * Starts (or resumes) receiving snapshot `meta` from a leader. Calling it
   * again for the same index and term returns the receiver in progress, so a
   * sender that reconnects continues from `receivedBytes`. A different
   * snapshot supersedes (aborts) the one in progress.
   */
  beginReceive(meta: SnapshotMeta): Promise<SnapshotReceiver>;
  /** Releases resources. A receive in progress is kept (on disk) so it can resume after a restart. */
  close(): Promise<void>;
}

/** An incoming snapshot being written chunk by chunk. */
export interface SnapshotReceiver {
  /** The snapshot being received. */
  readonly meta: SnapshotMeta;
  /** Bytes of data already held: the offset the sender should continue from. */
  readonly receivedBytes: number;
  /**
   * Writes `chunk`, which starts at byte `offset` of the snapshot data.
   * Bytes already held are skipped (a resent chunk is harmless); an offset
   * beyond receivedBytes fails with STORAGE_BAD_OFFSET.
   */
  write(chunk: Uint8Array, offset: number): Promise<void>;
  /** Makes the snapshot durable and visible (latest/open). */
  commit(): Promise<void>;
  /** Discards everything received. */
  abort(): Promise<void>;
}

/** Limits of a snapshot store. */
export interface SnapshotStoreLimits {
  /** Largest chunk kept as one unit; bigger chunks are split. Also bounds what a reader allocates per chunk. */
  readonly chunkBytesMax: number;
}

/** 1 MiB chunks: big enough to amortise per-chunk overhead, small enough to stream. */
export const DEFAULT_SNAPSHOT_LIMITS: SnapshotStoreLimits = { chunkBytesMax: 1024 * 1024 };

/**
 * The part of `chunk` (starting at `offset`) that is new given `have` bytes
 * already received: empty for a full duplicate, the tail for an overlap.
 * Throws StorageBadOffsetError when it would leave a gap.
 */
export function newPart(have: number, chunk: Uint8Array, offset: number): Uint8Array {
  assert(Number.isSafeInteger(offset) && offset >= 0, () => `chunk offset ${offset} is not a non-negative integer`);
  if (offset > have) throw new StorageBadOffsetError(have, offset);
  const skip = Math.min(have - offset, chunk.length);
  return chunk.subarray(skip);
}

/** Splits `chunk` into pieces of at most `max` bytes (views, no copies). */
export function* splitChunk(chunk: Uint8Array, max: number): Generator<Uint8Array> {
  assert(max > 0, "chunkBytesMax must be positive");
  for (let at = 0; at < chunk.length; at += max) yield chunk.subarray(at, at + max);
}

/** Whether two metas name the same snapshot (same index and term). */
export function sameSnapshot(a: SnapshotMeta, b: SnapshotMeta): boolean {
  return a.index === b.index && a.term === b.term;
}

/**
 * Runs async steps one after another. A receiver may see a write from a
 * dying connection overlap the first write of its replacement; running
 * them in order lets offsets resolve as duplicates instead of racing.
 */
export class Serial {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` after every step queued before it; its failure goes to this caller only. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}
