/**
 * Stable storage held in memory: the reference implementation of the core's
 * Storage interface. The simulator uses it as a node's "disk" (what survives
 * a simulated crash), and the LevelDB storage keeps one as its in-memory
 * mirror of the log. Every storage passes the same conformance suite.
 *
 * As a mirror it may be given {@link EntryBodies}: it then keeps the index,
 * term, type and size of every entry but the data of only the newest ones,
 * up to a byte budget, and reads older entries' data back from where they
 * are durable. A log between two snapshots holds up to snapshotBytes
 * (64 MiB by default) plus the trailing tail; kept whole in memory, that was
 * most of a node's memory under a steady publish load (issue 14).
 */
import { InvariantError, assert } from "../core/assert.ts";
import type { InitialState, Storage, StorageUpdate } from "../core/storage.ts";
import { entrySizeOf } from "../core/storage.ts";
import type { ConfState, Entry, EntryType, HardState, SnapshotMeta } from "../core/types.ts";
import { ownedBytes } from "./owned-entry.ts";

/** Where a mirror reads back the data of entries it no longer holds in memory. */
export interface EntryBodies {
  /** Most bytes of entry data kept in memory (the newest entry is kept whatever its size). */
  readonly cacheBytesMax: number;
  /** Entry `index` as stored, synchronously. Only asked for entries the mirror holds, which are durable. */
  read(index: number): Entry;
}

/** What the log keeps of one entry. */
interface Slot {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** Length of the entry's data, known whether or not the data is in memory. */
  readonly bytes: number;
  /** The data; undefined once evicted (only with EntryBodies), oldest entries first. */
  data: Uint8Array | undefined;
}

/** Keeping everything in memory: the reference storage and the simulator's disk. */
const IN_MEMORY: EntryBodies = {
  cacheBytesMax: Number.POSITIVE_INFINITY,
  read: (index) => {
    throw new InvariantError(`entry ${index} has no data, but nothing is evicted without EntryBodies`);
  },
};

/** A log that starts after `base` (the compaction point) and holds `entries`. */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: null, commit: 0 };
  /** Index and term of the entry just before `entries[0]` (compacted or snapshot). */
  private base = { index: 0, term: 0 };
  /** log[i] has index base.index + 1 + i. */
  private log: Slot[] = [];
  private snap: SnapshotMeta;
  /** Bytes of entry data held in memory: the sum of `bytes` over slots whose data is present. */
  private cachedBytes = 0;
  /** Slots with an index below this one hold no data (eviction goes oldest first); at or above, they do. */
  private cachedFrom = 1;

  /** `bootstrap` is the initial membership, used until a snapshot carries another; `bodies` see the module comment. */
  constructor(bootstrap: ConfState = { voters: [], learners: [] }, private readonly bodies: EntryBodies = IN_MEMORY) {
    assert(bodies.cacheBytesMax >= 0, () => `cacheBytesMax ${bodies.cacheBytesMax} must not be negative`);
    this.snap = { index: 0, term: 0, conf: bootstrap };
  }

  /** Bytes of entry data held in memory (at most cacheBytesMax, or the newest entry alone). */
  memoryBytes(): number {
    return this.cachedBytes;
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
      const slot = this.log[i - this.base.index - 1];
      assert(slot !== undefined && slot.index === i, () => `missing entry ${i}`);
      bytes += entrySizeOf(slot.bytes);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(this.entryAt(slot));
    }
    return out;
  }

  /** entrySize() of entry `index`, which must be in the log, without touching its data. */
  entryBytes(index: number): number {
    const slot = this.log[index - this.base.index - 1];
    assert(slot !== undefined && slot.index === index, () => `entryBytes(${index}) outside the log [${this.firstIndex()}, ${this.lastIndex()}]`);
    return entrySizeOf(slot.bytes);
  }

  /** The entry of `slot`, its data from memory or read back (and checked against what the log knows). */
  private entryAt(slot: Slot): Entry {
    if (slot.data !== undefined) return { index: slot.index, term: slot.term, type: slot.type, data: slot.data };
    const e = this.bodies.read(slot.index);
    assert(e.index === slot.index && e.term === slot.term && e.type === slot.type && e.data.byteLength === slot.bytes,
      () => `entry ${slot.index} read back as ${e.index}/${e.term}/${e.type}/${e.data.byteLength} bytes, the log holds ${slot.index}/${slot.term}/${slot.type}/${slot.bytes} bytes`);
    return e;
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
    const dropped = keep - 1 - this.base.index;
    for (let i = 0; i < dropped; i++) this.forget(this.log[i]!);
    this.log = this.log.slice(dropped);
    this.base = { index: keep - 1, term: newBaseTerm };
    this.cachedFrom = Math.max(this.cachedFrom, keep);
    this.snap = meta;
  }

  /** Replace everything with an incoming snapshot (the log is discarded). */
  installSnapshot(meta: SnapshotMeta): void {
    assert(meta.index >= this.snap.index, () => `installing snapshot ${meta.index} older than ${this.snap.index}`);
    this.snap = meta;
    this.base = { index: meta.index, term: meta.term };
    this.log = [];
    this.cachedBytes = 0;
    this.cachedFrom = meta.index + 1;
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
    const keep = first.index - this.base.index - 1;
    for (let i = keep; i < this.log.length; i++) this.forget(this.log[i]!);
    this.log.length = keep;
    // A rewritten suffix may hold data below cachedFrom again: nothing above it was evicted then.
    this.cachedFrom = Math.min(this.cachedFrom, first.index);
    for (const e of entries) {
      const data = ownedBytes(e.data);
      this.log.push({ index: e.index, term: e.term, type: e.type, bytes: data.byteLength, data });
      this.cachedBytes += data.byteLength;
    }
    this.evict();
  }

  /** Accounts for a slot leaving the log. */
  private forget(slot: Slot): void {
    if (slot.data !== undefined) this.cachedBytes -= slot.bytes;
  }

  /** Drops the data of the oldest entries until the cache fits its budget, always keeping the newest entry's. */
  private evict(): void {
    const last = this.lastIndex();
    while (this.cachedBytes > this.bodies.cacheBytesMax && this.cachedFrom < last) {
      const slot = this.log[this.cachedFrom - this.base.index - 1];
      assert(slot !== undefined && slot.data !== undefined, () => `entry ${this.cachedFrom} should hold data (cached from ${this.cachedFrom})`);
      slot.data = undefined;
      this.cachedBytes -= slot.bytes;
      this.cachedFrom += 1;
    }
  }

  /** Overwrite the hard state; the term never goes back. */
  setHardState(hs: HardState): void {
    assert(hs.term >= this.hardState.term, () => `term regressed ${this.hardState.term} → ${hs.term}`);
    this.hardState = hs;
  }

  /** A deep-enough copy: what a crashed node would find on its disk. */
  clone(): MemoryStorage {
    const c = new MemoryStorage(this.snap.conf, this.bodies);
    c.hardState = this.hardState;
    c.base = { ...this.base };
    c.log = this.log.map((slot) => ({ ...slot }));
    c.snap = this.snap;
    c.cachedBytes = this.cachedBytes;
    c.cachedFrom = this.cachedFrom;
    return c;
  }
}
