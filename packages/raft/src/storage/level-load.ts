/**
 * Start-up of a LevelDB data directory: initialise a fresh one, or read back
 * every record of an existing one, verify it (frames, types, identity, log
 * invariants) and rebuild the in-memory mirror the core reads from. Nothing
 * that fails verification becomes part of the log: it throws
 * StorageCorruptError naming the record and what was wrong.
 */
import type { AbstractBatchOptions, AbstractLevel } from "abstract-level";
import type { ConfState, HardState, SnapshotMeta } from "../core/types.ts";
import { REBUILD_HINT, StorageCorruptError, StorageTooNewError, StorageWrongNodeError } from "./errors.ts";
import type { Base, Identity } from "./level-codec.ts";
import {
  FORMAT_VERSION, decodeAs, decodeEntry, encodeRecord, hardStateRecord, isBase, isHardState,
  isIdentity, isSnapshotMeta, snapshotRecord,
} from "./level-codec.ts";
import { BASE_KEY, HARD_STATE_KEY, IDENTITY_KEY, LOG_KEY_END, SNAPSHOT_KEY, describeKey, logKey, parseLogKey } from "./keys.ts";
import { MemoryStorage } from "./memory-storage.ts";
import type { EntryBodies } from "./memory-storage.ts";

/**
 * A LevelDB-API database with binary keys and values: classic-level on disk
 * in production, any other abstract-level backend (memory-level, the
 * simulator's hostile disk) behind the same interface.
 */
export type LevelDb = AbstractLevel<string | Uint8Array, Uint8Array, Uint8Array>;

/** Batch options: abstract-level's plus classic-level's `sync` (fsync before resolving). */
export type SyncBatchOptions = AbstractBatchOptions<Uint8Array, Uint8Array> & { readonly sync: boolean };

/** Options of a batch that is fsync'd (`sync` true) or not. */
export function batchOptions(sync: boolean): SyncBatchOptions {
  return { sync };
}

/** Who is opening the directory, and the membership to start from if it is fresh. */
export interface OpenIdentity {
  readonly nodeId: string;
  readonly clusterId?: string;
  readonly bootstrap?: ConfState;
}

/** What start-up recovered: the directory's identity and a mirror holding exactly the persisted state. */
export interface Loaded {
  readonly identity: Identity;
  readonly mirror: MemoryStorage;
}

/** Initialises `db` if it is empty, else verifies and loads it. `dir` is only for messages; `bodies` goes to the mirror. */
export async function loadOrInit(db: LevelDb, dir: string, who: OpenIdentity, bodies?: EntryBodies): Promise<Loaded> {
  const rawIdentity = await db.get(IDENTITY_KEY);
  if (rawIdentity === undefined) {
    await assertEmpty(db);
    return init(db, who, bodies);
  }
  const identity = decodeAs(IDENTITY_KEY, rawIdentity, isIdentity, "identity record");
  checkIdentity(identity, dir, who);
  return { identity, mirror: await loadMirror(db, bodies) };
}

/** A directory without an identity must hold nothing: records without one mean damage. */
async function assertEmpty(db: LevelDb): Promise<void> {
  const keys = await db.keys({ limit: 1 }).all();
  const first = keys[0];
  if (first !== undefined) {
    throw new StorageCorruptError("identity", `record is missing but the database holds data (e.g. ${describeKey(first)})`);
  }
}

async function init(db: LevelDb, who: OpenIdentity, bodies?: EntryBodies): Promise<Loaded> {
  const identity: Identity = { format: FORMAT_VERSION, nodeId: who.nodeId, clusterId: who.clusterId ?? null };
  const conf: ConfState = who.bootstrap ?? { voters: [], learners: [] };
  const mirror = new MemoryStorage(conf, bodies);
  const base: Base = { index: 0, term: 0 };
  // One synced batch: a crash leaves either nothing (still fresh) or a complete directory.
  await db.batch([
    { type: "put", key: IDENTITY_KEY, value: encodeRecord(IDENTITY_KEY, identity) },
    { type: "put", key: HARD_STATE_KEY, value: encodeRecord(HARD_STATE_KEY, hardStateRecord(mirror.getHardState())) },
    { type: "put", key: SNAPSHOT_KEY, value: encodeRecord(SNAPSHOT_KEY, snapshotRecord(mirror.snapshot())) },
    { type: "put", key: BASE_KEY, value: encodeRecord(BASE_KEY, base) },
  ], batchOptions(true));
  return { identity, mirror };
}

function checkIdentity(found: Identity, dir: string, who: OpenIdentity): void {
  // Format 1 is the first; a later format comes with the migration from this one.
  if (found.format > FORMAT_VERSION) throw new StorageTooNewError(`Raft log ${dir}`, found.format, FORMAT_VERSION);
  if (found.format < 1) throw new StorageCorruptError("identity", `format version ${found.format} was never written by raftbus`);
  if (found.nodeId !== who.nodeId) throw new StorageWrongNodeError(dir, "node", who.nodeId, found.nodeId);
  if (who.clusterId !== undefined && found.clusterId !== null && found.clusterId !== who.clusterId) {
    throw new StorageWrongNodeError(dir, "cluster", who.clusterId, found.clusterId);
  }
}

/**
 * Rebuilds the mirror through its public operations, so its own invariants
 * are checked too. The log goes in as it is read: a mirror with EntryBodies
 * keeps only its newest entries' data, so start-up never holds the whole log.
 */
async function loadMirror(db: LevelDb, bodies?: EntryBodies): Promise<MemoryStorage> {
  const hardState = decodeAs(HARD_STATE_KEY, await required(db, HARD_STATE_KEY), isHardState, "hard state");
  const snap = decodeAs(SNAPSHOT_KEY, await required(db, SNAPSHOT_KEY), isSnapshotMeta, "snapshot metadata");
  const base = decodeAs(BASE_KEY, await required(db, BASE_KEY), isBase, "compaction point");
  const mirror = new MemoryStorage(snap.conf, bodies);
  mirror.installSnapshot({ index: base.index, term: base.term, conf: snap.conf });
  await readLog(db, base, mirror);
  checkSnapshotAgainstLog(snap, base, mirror);
  checkCommitAgainstLog(hardState, mirror);
  mirror.compact(snap, base.index + 1);
  mirror.setHardState(hardState);
  return mirror;
}

async function required(db: LevelDb, key: Uint8Array): Promise<Uint8Array> {
  const value = await db.get(key);
  if (value === undefined) throw new StorageCorruptError(describeKey(key), "record is missing");
  return value;
}

/**
 * Reads the log from base.index+1 to the end of the log key space; it must be
 * contiguous and its terms must never go down (Raft's Log Matching property
 * implies terms are non-decreasing along the log, §5.3).
 */
async function readLog(db: LevelDb, base: Base, into: MemoryStorage): Promise<void> {
  let prevTerm = base.term;
  for await (const [key, value] of db.iterator({ gte: logKey(base.index + 1), lt: LOG_KEY_END })) {
    const expected = into.lastIndex() + 1;
    const index = parseLogKey(key);
    if (index === undefined) throw new StorageCorruptError(describeKey(key), "malformed log key");
    if (index !== expected) {
      throw new StorageCorruptError(`log[${expected}]`, `entry is missing: the next stored entry is ${index} (gap in the log)`);
    }
    const entry = decodeEntry(key, value);
    if (entry.term < prevTerm) {
      throw new StorageCorruptError(`log[${index}]`, `term ${entry.term} is lower than ${prevTerm} before it (terms must not go down)`);
    }
    prevTerm = entry.term;
    into.append([entry]);
  }
}

/** base ≤ snapshot ≤ last, and the log agrees with the snapshot on the term at its index. */
function checkSnapshotAgainstLog(snap: SnapshotMeta, base: Base, log: MemoryStorage): void {
  const last = log.lastIndex();
  if (snap.index < base.index || snap.index > last) {
    throw new StorageCorruptError("snapshot", `index ${snap.index} is outside the stored log [${base.index}, ${last}]`);
  }
  const term = log.term(snap.index);
  if (term !== snap.term) {
    throw new StorageCorruptError("snapshot", `term ${snap.term} at index ${snap.index} disagrees with the log's term ${String(term)}`);
  }
}

/**
 * The commit index never points past the stored log. Entries and the hard
 * state that commits them are written in one synced batch, so only a lost
 * tail (a torn LevelDB write-ahead log that LevelDB recovered by dropping
 * its damaged end, or a disk that lied about a sync) leaves commit beyond
 * the last entry. Continuing would apply entries the log no longer holds.
 */
function checkCommitAgainstLog(hs: HardState, log: MemoryStorage): void {
  const last = log.lastIndex();
  if (hs.commit > last) {
    throw new StorageCorruptError("log", `hard state commits index ${hs.commit} but the log ends at ${last}: the log lost its tail (torn write or damaged disk); ${REBUILD_HINT}`);
  }
}
