/**
 * Turns a StorageUpdate (or a compaction) into the LevelDB operations of one
 * atomic batch, computed against the in-memory mirror before anything is
 * written. Every invariant the loader checks at start-up (contiguous log,
 * terms never going down, snapshot inside the log) is asserted here first,
 * so a bug crashes at the write instead of leaving a directory that no
 * longer opens.
 */
import { assert } from "../core/assert.ts";
import type { Storage, StorageUpdate } from "../core/storage.ts";
import type { Entry, HardState, SnapshotMeta } from "../core/types.ts";
import type { Base } from "./level-codec.ts";
import { encodeRecord, entryRecord, hardStateRecord, snapshotRecord } from "./level-codec.ts";
import { BASE_KEY, HARD_STATE_KEY, SNAPSHOT_KEY, logKey } from "./keys.ts";

/** One operation of a LevelDB batch. */
export type BatchOp =
  | { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "del"; readonly key: Uint8Array };

/** The persisted state a plan starts from: the mirror's read view plus its hard state. */
export interface PlanSource extends Storage {
  getHardState(): HardState;
}

/** The log's shape while a plan is being built (it changes once a snapshot is applied). */
interface Shape {
  base: Base;
  last: number;
  snap: SnapshotMeta;
  term: (index: number) => number | undefined;
}

/** Batch operations for `update`, in the order MemoryStorage.write applies it. */
export function planWrite(src: PlanSource, update: StorageUpdate): BatchOp[] {
  const ops: BatchOp[] = [];
  let shape: Shape = {
    base: { index: src.firstIndex() - 1, term: src.term(src.firstIndex() - 1) ?? 0 },
    last: src.lastIndex(),
    snap: src.snapshot(),
    term: (i) => src.term(i),
  };
  if (update.snapshot) shape = planSnapshot(ops, shape, update.snapshot);
  if (update.entries.length > 0) planEntries(ops, shape, update.entries);
  if (update.hardState) planHardState(ops, src.getHardState(), update.hardState);
  return ops;
}

/** An incoming snapshot replaces the whole log: delete every stored entry. */
function planSnapshot(ops: BatchOp[], shape: Shape, meta: SnapshotMeta): Shape {
  assert(meta.index >= shape.snap.index, () => `installing snapshot ${meta.index} older than ${shape.snap.index}`);
  assert(meta.index === 0 || meta.term >= 1, () => `snapshot ${meta.index} has term ${meta.term}`);
  deleteRange(ops, shape.base.index + 1, shape.last);
  const base: Base = { index: meta.index, term: meta.term };
  ops.push(put(SNAPSHOT_KEY, snapshotRecord(meta)), put(BASE_KEY, base));
  return { base, last: meta.index, snap: meta, term: (i) => (i === meta.index ? meta.term : undefined) };
}

/**
 * New entries overwrite from their first index; anything stored beyond the
 * new last index is a conflicting suffix and is deleted in the same batch.
 */
function planEntries(ops: BatchOp[], shape: Shape, entries: readonly Entry[]): void {
  const first = entries[0]!;
  assert(first.index > shape.base.index, () => `append at ${first.index} below compaction point ${shape.base.index}`);
  assert(first.index <= shape.last + 1, () => `append at ${first.index} leaves a gap after ${shape.last}`);
  let prevTerm = shape.term(first.index - 1);
  assert(prevTerm !== undefined, () => `no term for ${first.index - 1} before appended entries`);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    assert(e.index === first.index + i, () => `appended entries must be contiguous: ${e.index} at position ${i} after ${first.index}`);
    assert(e.term >= 1 && e.term >= prevTerm, () => `entry ${e.index} has term ${e.term} below ${prevTerm} before it`);
    prevTerm = e.term;
    ops.push(put(logKey(e.index), entryRecord(e)));
  }
  const newLast = first.index + entries.length - 1;
  checkSnapshotKept(shape.snap, first.index, newLast, entries);
  deleteRange(ops, newLast + 1, shape.last);
}

/**
 * Entries covered by a snapshot are committed, and committed entries are
 * never truncated (§5.4): the log must still reach the snapshot index with
 * the snapshot's term there.
 */
function checkSnapshotKept(snap: SnapshotMeta, first: number, newLast: number, entries: readonly Entry[]): void {
  if (first > snap.index) return;
  assert(newLast >= snap.index, () => `append ${first}..${newLast} would truncate the log below snapshot ${snap.index}`);
  const at = entries[snap.index - first];
  assert(at === undefined || at.term === snap.term,
    () => `append would replace entry ${snap.index} (term ${snap.term}, in the snapshot) with term ${at?.term}`);
}

function planHardState(ops: BatchOp[], current: HardState, next: HardState): void {
  assert(next.term >= current.term, () => `term regressed ${current.term} → ${next.term}`);
  ops.push(put(HARD_STATE_KEY, hardStateRecord(next)));
}

/**
 * Batch operations recording `meta` and dropping entries below `keepFrom`,
 * with MemoryStorage.compact's semantics: keepFrom is clamped to
 * [firstIndex, meta.index + 1], so the log always reaches the snapshot.
 */
export function planCompact(src: PlanSource, meta: SnapshotMeta, keepFrom: number): BatchOp[] {
  const snap = src.snapshot();
  assert(meta.index >= snap.index, () => `snapshot ${meta.index} older than ${snap.index}`);
  assert(meta.index <= src.lastIndex() && src.term(meta.index) === meta.term,
    () => `snapshot ${meta.index}/${meta.term} does not match the log`);
  const keep = Math.min(Math.max(keepFrom, src.firstIndex()), meta.index + 1);
  const baseTerm = src.term(keep - 1);
  assert(baseTerm !== undefined, () => `no term for compaction point ${keep - 1}`);
  const ops: BatchOp[] = [];
  deleteRange(ops, src.firstIndex(), keep - 1);
  const base: Base = { index: keep - 1, term: baseTerm };
  ops.push(put(SNAPSHOT_KEY, snapshotRecord(meta)), put(BASE_KEY, base));
  return ops;
}

/** Deletes of every log key in [lo, hi] (nothing when hi < lo). The mirror bounds the count. */
function deleteRange(ops: BatchOp[], lo: number, hi: number): void {
  for (let i = lo; i <= hi; i++) ops.push({ type: "del", key: logKey(i) });
}

function put(key: Uint8Array, value: unknown): BatchOp {
  return { type: "put", key, value: encodeRecord(key, value) };
}
