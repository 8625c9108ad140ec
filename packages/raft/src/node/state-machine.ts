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
   * Streams the state as of the current applied index. The stream must
   * describe one consistent point even if apply() runs while it is being
   * read (e.g. a LevelDB iterator snapshot).
   *
   * The stream is a sequence of BYTES; how it is cut into chunks carries no
   * meaning. The snapshot store may split chunks, and the peer transport
   * re-cuts the stream into fixed-size pieces (a piece may end inside one of
   * your records and hold the start of the next), so restore() and
   * verifySnapshot() see other boundaries than snapshot() yielded. The
   * format must therefore frame itself (length-prefixed or delimited
   * records), and should end with a trailer so a truncated stream is told
   * from a complete one.
   */
  snapshot(): AsyncIterable<Uint8Array>;
  /**
   * Replaces the whole state with a snapshot's; afterwards appliedIndex() =
   * meta.index. `chunks` carries the bytes snapshot() produced, cut
   * arbitrarily (see snapshot()).
   */
  restore(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  /**
   * Optional: reads a snapshot received from a leader through, without
   * changing the state, and throws if restore() would fail on it (truncated,
   * damaged, another format or index). A snapshot that fails is refused
   * before it becomes the node's snapshot, so a bad transfer can never make
   * every later start fail (see snapshotSinkFor). Runs concurrently with
   * apply().
   */
  verifySnapshot?(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void>;
}
