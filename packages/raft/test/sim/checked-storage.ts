/**
 * The node's real storage (LevelStorage on the simulated disk) with the
 * checker watching every write as the driver issues it: the hard state it
 * persists (terms, votes, term inflation), the entries (Log Matching), and a
 * new leader's log when its no-op goes to disk (Leader Completeness).
 */
import type { InitialState, StorageUpdate } from "../../src/core/storage.ts";
import type { Entry, HardState, NodeId, SnapshotMeta } from "../../src/core/types.ts";
import type { RaftStatus } from "../../src/core/raft.ts";
import type { WritableStorage, WriteOptions } from "../../src/storage/level-storage.ts";
import { never } from "./app.ts";
import type { Checker } from "./invariants.ts";

/** A WritableStorage that reports each write to the checker before passing it on. */
export class CheckedStorage implements WritableStorage {
  /** The node's status as it writes (set once its RaftNode exists). */
  status: (() => RaftStatus) | undefined;
  /** The hard state this process wrote last (at first: what it recovered). */
  private written: HardState;

  constructor(
    private readonly id: NodeId,
    private readonly inner: WritableStorage,
    private readonly checker: Checker,
    /** The process is dead: its writes are not checked (they never land). */
    private readonly dead: () => boolean,
    /** Turns a violation into the run's failure; false when `fn` failed. */
    private readonly guard: (fn: () => void) => boolean,
  ) {
    this.written = inner.getHardState();
  }

  write(update: StorageUpdate, opts: WriteOptions): Promise<void> {
    if (!this.dead() && !this.guard(() => this.check(update))) return never();
    return this.inner.write(update, opts);
  }

  private check(update: StorageUpdate): void {
    // The status is built only for writes that need it (a hard state, or a leader's no-op).
    const st = update.hardState !== undefined || update.entries.some((e) => e.type === "noop") ? this.status?.() : undefined;
    if (update.hardState && st !== undefined) {
      this.checker.hardStateWritten(this.id, update.hardState, this.written, st.conf.voters);
      this.written = update.hardState;
      // A follower's commit index as it goes to disk (a leader's is checked at the event it moves).
      if (update.hardState.commit > this.checker.committed && st.commit === update.hardState.commit) {
        this.checker.leaderCommit(this.id, st.term, st.commit, st.commitTerm, st.conf.voters, st.role === "leader");
      }
    }
    const first = update.entries[0];
    if (first !== undefined) {
      const prevTerm = update.snapshot !== undefined && first.index === update.snapshot.index + 1
        ? update.snapshot.term
        : this.inner.term(first.index - 1);
      this.checker.entriesWritten(update.entries, prevTerm);
      const noop = update.entries.find((e) => e.type === "noop" && st?.role === "leader" && e.term === st.term);
      if (noop !== undefined && st !== undefined) this.checkNewLeader(st, update.entries, update.snapshot);
    }
  }

  /** The new leader's log is this storage plus the entries being written. */
  private checkNewLeader(st: RaftStatus, entries: readonly Entry[], snapshot: SnapshotMeta | undefined): void {
    const first = entries[0]!;
    const termAt = (i: number): number | undefined =>
      i >= first.index ? entries[i - first.index]?.term : snapshot !== undefined && i === snapshot.index ? snapshot.term : this.inner.term(i);
    this.checker.newLeader(this.id, st.term, termAt, Math.max(snapshot?.index ?? 0, this.inner.snapshot().index, this.inner.firstIndex() - 1));
  }

  compact(meta: SnapshotMeta, keepFrom: number): Promise<void> {
    return this.inner.compact(meta, keepFrom);
  }

  getHardState(): HardState {
    return this.inner.getHardState();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  initialState(): InitialState {
    return this.inner.initialState();
  }

  term(index: number): number | undefined {
    return this.inner.term(index);
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.inner.entries(lo, hi, maxBytes);
  }

  entryBytes(index: number): number {
    return this.inner.entryBytes(index);
  }

  firstIndex(): number {
    return this.inner.firstIndex();
  }

  lastIndex(): number {
    return this.inner.lastIndex();
  }

  snapshot(): SnapshotMeta {
    return this.inner.snapshot();
  }
}
