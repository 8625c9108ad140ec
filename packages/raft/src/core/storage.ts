/**
 * The read-only view of stable storage the core needs (etcd-io/raft's
 * Storage). The driver writes to storage; the core only reads it. Every
 * implementation (in-memory, LevelDB) passes the same conformance suite.
 */
import type { ConfState, Entry, HardState, SnapshotMeta } from "./types.ts";

/** What a node recovers at start-up. */
export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/** Read-only stable storage, consulted synchronously by the core. */
export interface Storage {
  initialState(): InitialState;
  /**
   * Term of the entry at `index`, for firstIndex()-1 ≤ index ≤ lastIndex()
   * (firstIndex()-1 is the compaction point, whose term is remembered).
   * Undefined when the entry was compacted away or does not exist yet.
   */
  term(index: number): number | undefined;
  /**
   * Entries in [lo, hi), at least one if lo < hi, stopping early once their
   * data exceeds `maxBytes`. Requires firstIndex() ≤ lo ≤ hi ≤ lastIndex()+1.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Index of the first entry still in the log (compaction point + 1). */
  firstIndex(): number;
  /** Index of the last entry in the log (the compaction point if the log is empty). */
  lastIndex(): number;
  /** Metadata of the latest snapshot (index 0 when there is none). */
  snapshot(): SnapshotMeta;
}

/**
 * One batch of changes to stable storage, as the driver derives it from a
 * Ready. Applied in this order: snapshot (discards the log up to and
 * including it), entries (truncating any conflicting suffix), hardState.
 */
export interface StorageUpdate {
  readonly snapshot?: SnapshotMeta;
  readonly entries: readonly Entry[];
  readonly hardState?: HardState;
}

/** Byte size of an entry for batching and in-flight limits. */
export function entrySize(e: Entry): number {
  return entrySizeOf(e.data.byteLength);
}

/** entrySize() of an entry whose data is `dataBytes` long (for logs that keep sizes, not always data). */
export function entrySizeOf(dataBytes: number): number {
  return dataBytes + 24;
}
