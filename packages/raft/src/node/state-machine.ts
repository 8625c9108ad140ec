/**
 * The application interface of a Raft node: what the broker (or the example
 * key-value store) implements so the driver can apply committed entries and
 * move state around as snapshots.
 */
import type { Entry, SnapshotMeta } from "../core/types.ts";

/**
 * A deterministic state machine over the committed log. Replicas that apply
 * the same entries must end with the same state (STYLE.md practice 7).
 */
export interface StateMachine<Result = unknown> {
  /**
   * Applies committed entries in log order and returns one result per entry
   * (undefined for `noop` and `conf` entries). The applied index must be
   * made durable atomically with the state it produced, so a restart never
   * applies an entry twice or skips one.
   */
  apply(entries: readonly Entry[]): Promise<Result[]>;
  /** Index of the last entry whose effects are in the state (0 when fresh). */
  appliedIndex(): number;
  /**
   * Streams the state as of the current applied index, in chunks. The
   * stream must describe one consistent point even if apply() runs while it
   * is being read (e.g. a LevelDB iterator snapshot).
   */
  snapshot(): AsyncIterable<Uint8Array>;
  /** Replaces the whole state with a snapshot's; afterwards appliedIndex() = meta.index. */
  restore(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void>;
}
