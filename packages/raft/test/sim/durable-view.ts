/**
 * What a node's Raft disk holds durably — what would survive a power cut
 * right now — decoded from the simulated disk's fsync'd image with the real
 * record codec. The checker asks it whether a vote, an acknowledgement or a
 * commit is backed by the disk, independently of what the driver believes.
 */
import type { HardState, SnapshotMeta } from "../../src/core/types.ts";
import type { Base } from "../../src/storage/level-codec.ts";
import { decodeAs, decodeEntry, isBase, isHardState, isSnapshotMeta } from "../../src/storage/level-codec.ts";
import { BASE_KEY, HARD_STATE_KEY, SNAPSHOT_KEY, logKey } from "../../src/storage/keys.ts";
import type { SimDisk } from "./sim-disk.ts";

/** Decoded records by their bytes: a record that did not change is not decoded again (the disk keeps the written arrays). */
const termOfRecord = new WeakMap<Uint8Array, number>();
const decodedRecord = new WeakMap<Uint8Array, unknown>();

/** `decode(rec)`, once per record. */
function cached<T>(rec: Uint8Array, decode: (rec: Uint8Array) => T): T {
  if (decodedRecord.has(rec)) return decodedRecord.get(rec) as T;
  const v = decode(rec);
  decodedRecord.set(rec, v);
  return v;
}

const NO_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };
const NO_SNAPSHOT: SnapshotMeta = { index: 0, term: 0, conf: { voters: [], learners: [] } };

/** The durable Raft state of one node, cached until the disk's durable image changes. */
export class DurableRaftView {
  private version = -1;
  private hard: HardState | undefined;
  private snap: SnapshotMeta | undefined;
  private base: Base | undefined;
  private readonly terms = new Map<number, number | undefined>();

  constructor(private readonly disk: SimDisk) {}

  /** Drops what was decoded once the durable image changed. */
  private refresh(): void {
    if (this.version === this.disk.durableVersion) return;
    this.version = this.disk.durableVersion;
    this.terms.clear();
    this.hard = undefined;
    this.snap = undefined;
    this.base = undefined;
  }

  /** The durable term, vote and commit. */
  hardState(): HardState {
    this.refresh();
    if (this.hard === undefined) {
      const hs = this.disk.durableGet(HARD_STATE_KEY);
      this.hard = hs === undefined ? NO_HARD_STATE : cached(hs, (r) => decodeAs(HARD_STATE_KEY, r, isHardState, "hard state"));
    }
    return this.hard;
  }

  /** Index of the durable snapshot (0 when none). */
  snapshotIndex(): number {
    this.refresh();
    if (this.snap === undefined) {
      const sn = this.disk.durableGet(SNAPSHOT_KEY);
      this.snap = sn === undefined ? NO_SNAPSHOT : cached(sn, (r) => decodeAs(SNAPSHOT_KEY, r, isSnapshotMeta, "snapshot metadata"));
    }
    return this.snap.index;
  }

  /** Term of the durable log entry at `index` (the compaction point's remembered term included). */
  termAt(index: number): number | undefined {
    this.refresh();
    if (this.base === undefined) {
      const b = this.disk.durableGet(BASE_KEY);
      this.base = b === undefined ? { index: 0, term: 0 } : cached(b, (r) => decodeAs(BASE_KEY, r, isBase, "compaction point"));
    }
    if (index === this.base.index) return this.base.term;
    if (this.terms.has(index)) return this.terms.get(index);
    const key = logKey(index);
    const rec = this.disk.durableGet(key);
    let term: number | undefined;
    if (rec !== undefined) {
      term = termOfRecord.get(rec);
      if (term === undefined) termOfRecord.set(rec, (term = decodeEntry(key, rec).term));
    }
    this.terms.set(index, term);
    return term;
  }

  /** True when the entry (index, term) — and so, by Log Matching, its whole prefix — is durable here or inside the durable snapshot. */
  holds(index: number, term: number): boolean {
    return this.termAt(index) === term || this.snapshotIndex() >= index;
  }
}
