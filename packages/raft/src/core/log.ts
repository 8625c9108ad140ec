/**
 * The core's view of the log: entries already in stable storage, followed by
 * an unstable tail (and possibly an incoming snapshot) that the driver has
 * not persisted yet (etcd-io/raft log.go + log_unstable.go).
 */
import { assert } from "./assert.ts";
import type { Storage } from "./storage.ts";
import { entrySize } from "./storage.ts";
import type { Entry, SnapshotMeta } from "./types.ts";

/** Entries and a snapshot that are not yet in stable storage. */
interface Unstable {
  /** Incoming snapshot waiting to be persisted; it precedes `entries`. */
  snapshot: SnapshotMeta | undefined;
  /** entries[i] has index offset + i. */
  entries: Entry[];
  offset: number;
}

/** Storage plus the unstable tail, with commit and apply cursors. Invariant: applied ≤ committed ≤ lastIndex. */
export class RaftLog {
  private unstable: Unstable;
  /** Highest index known to be committed. */
  committed: number;
  /** Highest index handed to the application. */
  applied: number;

  constructor(readonly storage: Storage, applied: number) {
    this.unstable = { snapshot: undefined, entries: [], offset: storage.lastIndex() + 1 };
    const snapIndex = storage.snapshot().index;
    assert(applied >= snapIndex,
      () => `application applied index ${applied} is behind the stored snapshot ${snapIndex}: restore the snapshot first`);
    assert(applied <= storage.lastIndex(), () => `application applied index ${applied} beyond the log (${storage.lastIndex()})`);
    // The hard state's commit may lag what the application already applied (separate writes).
    this.committed = Math.max(storage.initialState().hardState.commit, applied, snapIndex);
    assert(this.committed <= storage.lastIndex(),
      () => `committed ${this.committed} beyond last stored index ${storage.lastIndex()}`);
    this.applied = applied;
  }

  firstIndex(): number {
    return this.unstable.snapshot ? this.unstable.snapshot.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    const n = this.unstable.entries.length;
    if (n > 0) return this.unstable.offset + n - 1;
    if (this.unstable.snapshot) return this.unstable.snapshot.index;
    return this.storage.lastIndex();
  }

  /** Last index already in stable storage (what this node could acknowledge). */
  stableLastIndex(): number {
    return this.unstable.snapshot ? this.unstable.snapshot.index - 1 : this.unstable.offset - 1;
  }

  /** Term of the entry at `index`, or undefined when compacted or beyond the log. */
  term(index: number): number | undefined {
    const snap = this.unstable.snapshot;
    if (snap) {
      if (index === snap.index) return snap.term;
      if (index < snap.index) return undefined;
    }
    if (index >= this.unstable.offset) {
      return this.unstable.entries[index - this.unstable.offset]?.term;
    }
    if (snap) return undefined;
    return this.storage.term(index);
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert(t !== undefined, () => `no term for last index ${this.lastIndex()}`);
    return t;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Append entries from the leader after (prevIndex, prevTerm) matched.
   * Returns the index of the last new entry, or undefined on mismatch.
   * Entries at or below the commit index are known to match and are skipped.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      assert(conflict > this.committed, () => `entry ${conflict} conflicts with committed entry (commit ${this.committed})`);
      this.append(entries.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** First index whose entry differs from ours (0 if none differ and none are new). */
  private findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (e.index <= this.committed && e.index < this.firstIndex()) continue; // compacted: committed, so it matches
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast back-off hint (thesis §5.3 optimisation): the largest index ≤ `index`
   * whose term is ≤ `term`, with that term (0 when unknown/compacted).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = Math.min(index, this.lastIndex()); i >= 0; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  /** Put entries into the unstable tail, truncating anything at or after the first one. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.index > this.committed, () => `append at ${first.index} would overwrite committed ${this.committed}`);
    assert(first.index <= this.lastIndex() + 1, () => `append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    const u = this.unstable;
    if (first.index === u.offset + u.entries.length) {
      u.entries.push(...entries);
    } else if (first.index <= u.offset) {
      // Replaces part of the stable log: the driver's write truncates it there.
      u.offset = first.index;
      u.entries = entries.slice();
    } else {
      u.entries = u.entries.slice(0, first.index - u.offset).concat(entries);
    }
  }

  /** Entries in [lo, lastIndex], at most `maxBytes` (at least one) and `maxCount`. */
  entriesFrom(lo: number, maxBytes: number, maxCount: number): Entry[] {
    const hi = Math.min(this.lastIndex() + 1, lo + maxCount);
    return this.slice(lo, hi, maxBytes);
  }

  /** Entries in [lo, hi), stopping once over `maxBytes` (at least one). Requires lo ≥ firstIndex. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1, () => `slice [${lo}, ${hi}) out of range`);
    if (lo >= hi) return [];
    const u = this.unstable;
    let out: Entry[] = [];
    if (lo < u.offset) {
      out = this.storage.entries(lo, Math.min(hi, u.offset), maxBytes);
      if (out.length < Math.min(hi, u.offset) - lo) return out; // hit maxBytes inside storage
    }
    let bytes = out.reduce((s, e) => s + entrySize(e), 0);
    for (let i = Math.max(lo, u.offset); i < hi; i++) {
      const e = u.entries[i - u.offset];
      assert(e !== undefined, () => `missing unstable entry ${i}`);
      bytes += entrySize(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), () => `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Committed entries not yet applied, up to `maxBytes`; none while a snapshot is pending. */
  nextCommitted(maxBytes: number): Entry[] {
    if (this.unstable.snapshot) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (lo > this.committed) return [];
    return this.slice(lo, this.committed + 1, maxBytes);
  }

  hasNextCommitted(): boolean {
    return !this.unstable.snapshot && this.committed > this.applied;
  }

  appliedTo(index: number): void {
    assert(index <= this.committed && index >= this.applied,
      () => `applied ${index} outside [${this.applied}, ${this.committed}]`);
    this.applied = index;
  }

  /** Replace the log with an incoming snapshot (persisted through the next Ready). */
  restore(snapshot: SnapshotMeta): void {
    assert(snapshot.index > this.committed, () => `restoring snapshot ${snapshot.index} at or below commit ${this.committed}`);
    this.committed = snapshot.index;
    this.unstable = { snapshot, entries: [], offset: snapshot.index + 1 };
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable.entries;
  }

  unstableSnapshot(): SnapshotMeta | undefined {
    return this.unstable.snapshot;
  }

  /** The driver persisted entries up to (index, term): drop them from the unstable tail. */
  stableTo(index: number, term: number): void {
    const u = this.unstable;
    if (index < u.offset || this.term(index) !== term) return; // overwritten meanwhile
    u.entries = u.entries.slice(index + 1 - u.offset);
    u.offset = index + 1;
  }

  /** The driver persisted the incoming snapshot at `index`. */
  stableSnapTo(index: number): void {
    if (this.unstable.snapshot?.index === index) this.unstable.snapshot = undefined;
    if (this.applied < index) this.applied = index;
  }

  /** The snapshot a lagging follower should receive. */
  snapshot(): SnapshotMeta {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }
}
