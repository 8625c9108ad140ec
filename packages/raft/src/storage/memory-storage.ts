/**
 * Stable storage held in memory: the reference implementation of the core's
 * Storage interface. The simulator uses it as a node's "disk" (what survives
 * a simulated crash), and the LevelDB storage keeps one as its in-memory
 * mirror of the log. Every storage passes the same conformance suite.
 */
import { assert } from "../core/assert.ts";
import type { InitialState, Storage, StorageUpdate } from "../core/storage.ts";
import { entrySize } from "../core/storage.ts";
import type { ConfState, Entry, HardState, SnapshotMeta } from "../core/types.ts";
import { ownedEntry } from "./owned-entry.ts";

/** A log that starts after `base` (the compaction point) and holds `entries`. */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: null, commit: 0 };
  /** Index and term of the entry just before `entries[0]` (compacted or snapshot). */
  private base = { index: 0, term: 0 };
  /** entries[i] has index base.index + 1 + i. */
  private log: Entry[] = [];
  private snap: SnapshotMeta;

  /** `bootstrap` is the initial membership, used until a snapshot carries another. */
  constructor(bootstrap: ConfState = { voters: [], learners: [] }) {
    this.snap = { index: 0, term: 0, conf: bootstrap };
  }

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.conf };
  }

  term(index: number): number | undefined {
    if (index === this.base.index) return this.base.term;
    if (index < this.base.index) return undefined;
    return this.log[index - this.base.index - 1]?.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi,
      () => `entries(${lo}, ${hi}) out of range [${this.firstIndex()}, ${this.lastIndex() + 1}]`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.log[i - this.base.index - 1];
      assert(e !== undefined && e.index === i, () => `missing entry ${i}`);
      bytes += entrySize(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  firstIndex(): number {
    return this.base.index + 1;
  }

  lastIndex(): number {
    return this.base.index + this.log.length;
  }

  snapshot(): SnapshotMeta {
    return this.snap;
  }

  /** Current hard state (what a restart would recover). */
  getHardState(): HardState {
    return this.hardState;
  }

  /** Apply one batch: snapshot first, then entries (truncating a conflicting suffix), then hard state. */
  write(update: StorageUpdate): void {
    if (update.snapshot) this.installSnapshot(update.snapshot);
    if (update.entries.length > 0) this.append(update.entries);
    if (update.hardState) this.setHardState(update.hardState);
  }

  /**
   * Record a snapshot the application took at `meta.index` (an entry in the
   * log) and discard entries below `keepFrom`, keeping a trailing tail so
   * slightly lagging followers catch up from the log rather than a snapshot.
   */
  compact(meta: SnapshotMeta, keepFrom: number): void {
    assert(meta.index >= this.snap.index, () => `snapshot ${meta.index} older than ${this.snap.index}`);
    assert(meta.index <= this.lastIndex() && this.term(meta.index) === meta.term,
      () => `snapshot ${meta.index}/${meta.term} does not match the log`);
    const keep = Math.min(Math.max(keepFrom, this.firstIndex()), meta.index + 1);
    const newBaseTerm = this.term(keep - 1);
    assert(newBaseTerm !== undefined, () => `no term for compaction point ${keep - 1}`);
    this.log = this.log.slice(keep - 1 - this.base.index);
    this.base = { index: keep - 1, term: newBaseTerm };
    this.snap = meta;
  }

  /** Replace everything with an incoming snapshot (the log is discarded). */
  installSnapshot(meta: SnapshotMeta): void {
    assert(meta.index >= this.snap.index, () => `installing snapshot ${meta.index} older than ${this.snap.index}`);
    this.snap = meta;
    this.base = { index: meta.index, term: meta.term };
    this.log = [];
  }

  /**
   * Append entries, truncating any entries at or after the first new index.
   * Each entry's data is kept as an owned copy when it is a view into a
   * larger buffer (see owned-entry.ts): the log holds entries until the next
   * snapshot, and its memory must be what its byte limits say.
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.index > this.base.index, () => `append at ${first.index} below compaction point ${this.base.index}`);
    assert(first.index <= this.lastIndex() + 1, () => `append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    for (let i = 1; i < entries.length; i++) {
      assert(entries[i]!.index === first.index + i, "appended entries must be contiguous");
    }
    this.log.length = first.index - this.base.index - 1;
    for (const e of entries) this.log.push(ownedEntry(e));
  }

  /** Overwrite the hard state; the term never goes back. */
  setHardState(hs: HardState): void {
    assert(hs.term >= this.hardState.term, () => `term regressed ${this.hardState.term} → ${hs.term}`);
    this.hardState = hs;
  }

  /** A deep-enough copy: what a crashed node would find on its disk. */
  clone(): MemoryStorage {
    const c = new MemoryStorage(this.snap.conf);
    c.hardState = this.hardState;
    c.base = { ...this.base };
    c.log = this.log.slice();
    c.snap = this.snap;
    return c;
  }
}
