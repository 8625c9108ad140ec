/**
 * Durable Raft storage on LevelDB. The core reads storage synchronously, so
 * the log is mirrored in memory (a MemoryStorage loaded and verified at
 * open); LevelDB is the durable copy. Each write is ONE atomic batch (the
 * driver's group commit, STYLE.md practice 6), and the mirror changes only
 * after that batch succeeded, so memory never runs ahead of disk.
 */
import { Level } from "level";
import { assert } from "../core/assert.ts";
import type { InitialState, Storage, StorageUpdate } from "../core/storage.ts";
import type { ConfState, Entry, HardState, SnapshotMeta } from "../core/types.ts";
import { unsafe } from "../unsafe.ts";
import { StorageClosedError, wrapIo } from "./errors.ts";
import type { Identity } from "./level-codec.ts";
import type { LevelDb } from "./level-load.ts";
import { batchOptions, loadOrInit } from "./level-load.ts";
import type { BatchOp } from "./level-plan.ts";
import { planCompact, planWrite } from "./level-plan.ts";
import type { MemoryStorage } from "./memory-storage.ts";
import { ENTRY_CACHE_BYTES_DEFAULT, StoredEntries } from "./stored-entries.ts";

/** Options of LevelStorage.open. */
export interface LevelStorageOptions {
  /** This node's id; an existing directory must have been created by the same node. */
  readonly nodeId: string;
  /** Initial membership, recorded only when the directory is created. */
  readonly bootstrap?: ConfState;
  /** Recorded at creation; when both sides know one, they must match. */
  readonly clusterId?: string;
  /**
   * Most bytes of entry data the in-memory mirror keeps (the newest
   * entries); older entries are read back from LevelDB when needed. Default
   * ENTRY_CACHE_BYTES_DEFAULT (8 MiB).
   */
  readonly entryCacheBytes?: number;
}

/** Options of one write. */
export interface WriteOptions {
  /** fsync before resolving: required when the Ready says `mustSync` (§5.1: votes and entries must be durable before replying). */
  readonly sync: boolean;
}

/** Storage the driver can write to: the core's read view plus durable, awaited mutations. */
export interface WritableStorage extends Storage {
  /** Applies one update atomically (snapshot, entries, hard state). */
  write(update: StorageUpdate, opts: WriteOptions): Promise<void>;
  /** Records a snapshot the application took and drops log entries below `keepFrom`. */
  compact(meta: SnapshotMeta, keepFrom: number): Promise<void>;
  /** The persisted hard state. */
  getHardState(): HardState;
  /** entrySize() of entry `index` (in the log) without reading its data: the driver's snapshot and tail accounting. */
  entryBytes(index: number): number;
  /** Releases resources; later writes fail with STORAGE_CLOSED. */
  close(): Promise<void>;
}

/**
 * Writes queued behind one another. The driver awaits each write, so more
 * than a handful in flight means a caller forgot to await: a bug.
 */
const PENDING_WRITES_MAX = 64;

/** A Raft log, hard state and snapshot metadata persisted in a LevelDB directory. */
export class LevelStorage implements WritableStorage {
  /** Serialises mutations: each plan is computed from the mirror after the previous batch applied. */
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private closed = false;

  private constructor(
    private readonly db: LevelDb,
    /** The directory, for messages. */
    readonly dir: string,
    /** Who the directory belongs to, as recorded when it was created. */
    readonly identity: Identity,
    /**
     * The persisted state: changed after a batch that adds to it succeeds,
     * before one that only removes from it (compaction) is written, so it
     * never holds an entry the database lacks.
     */
    private readonly mirror: MemoryStorage,
    /** Reads back entries whose data the mirror no longer holds; owns the batches held back by follower-no-fsync. */
    private readonly stored: StoredEntries,
  ) {}

  /** Bytes of entry data held in memory (bounded by entryCacheBytes, or the newest entry alone). */
  memoryBytes(): number {
    return this.mirror.memoryBytes();
  }

  /** Batches held back by the chaos tests' follower-no-fsync switch (unsafe.ts); empty otherwise. */
  private get volatile(): BatchOp[] {
    return this.stored.held;
  }

  /**
   * Opens (creating if needed) the storage in `dir`. A fresh directory
   * records `nodeId`, `clusterId` and the `bootstrap` membership; an existing
   * one is verified record by record. Throws STORAGE_WRONG_NODE when the
   * directory belongs to another node, STORAGE_CORRUPT when a record fails
   * verification, STORAGE_IO when LevelDB cannot open it (e.g. locked).
   */
  static async open(dir: string, opts: LevelStorageOptions): Promise<LevelStorage> {
    return LevelStorage.openDb(new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" }), dir, opts);
  }

  /**
   * Opens the storage in `db`, a database with binary keys and values of any
   * abstract-level backend (the simulator passes its simulated disk); `label`
   * names it in errors. Same checks and errors as open(). Takes ownership:
   * close() closes `db`.
   */
  static async openDb(db: LevelDb, label: string, opts: LevelStorageOptions): Promise<LevelStorage> {
    assert(opts.nodeId.length > 0, "nodeId must not be empty");
    const dir = label;
    try {
      await db.open();
    } catch (err) {
      throw wrapIo(`opening LevelDB at ${dir}`, err);
    }
    try {
      const stored = new StoredEntries(db, opts.entryCacheBytes ?? ENTRY_CACHE_BYTES_DEFAULT);
      const { identity, mirror } = await loadOrInit(db, dir, opts, stored);
      return new LevelStorage(db, dir, identity, mirror, stored);
    } catch (err) {
      await db.close();
      throw wrapIo(`loading LevelDB at ${dir}`, err);
    }
  }

  /**
   * Persists `update` in one atomic batch: the snapshot (deleting the whole
   * old log), the entries (deleting any conflicting suffix beyond them), the
   * hard state. With `sync`, resolves only once the batch is fsync'd.
   */
  write(update: StorageUpdate, opts: WriteOptions): Promise<void> {
    return this.exclusive("write", () => planWrite(this.mirror, update), opts.sync, () => this.mirror.write(update));
  }

  /**
   * Records a snapshot the application took at `meta.index` and deletes log
   * entries below `keepFrom` (clamped so the log still reaches meta.index),
   * keeping a tail so slightly lagging followers catch up from the log.
   * Synced: losing it would only cost disk space, but it is rare and cheap.
   */
  compact(meta: SnapshotMeta, keepFrom: number): Promise<void> {
    // The mirror drops the entries first: while the deleting batch is written, the core must
    // not ask for an entry that the mirror no longer holds in memory and LevelDB no longer has.
    return this.exclusive("compact", () => {
      const ops = planCompact(this.mirror, meta, keepFrom);
      this.mirror.compact(meta, keepFrom);
      return ops;
    }, true, () => undefined);
  }

  /**
   * follower-no-fsync (test-only): keep an unsynced batch in memory for up to
   * 5 s (Linux's default dirty-page writeback interval), as an OS page cache
   * that a power cut (here: kill -9) loses.
   */
  private holdVolatile(ops: BatchOp[]): void {
    if (this.volatile.length === 0) {
      setTimeout(() => {
        this.tail = this.tail.then(async () => {
          const held = this.volatile.splice(0);
          if (held.length > 0 && !this.closed) await this.db.batch(held, batchOptions(false));
        }).catch(() => undefined);
      }, 5000);
    }
    this.volatile.push(...ops);
  }

  /** Waits for queued writes, then closes LevelDB. Reads keep answering from memory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    const held = this.volatile.splice(0); // only ever non-empty under follower-no-fsync
    if (held.length > 0) await this.db.batch(held, batchOptions(true)).catch(() => undefined);
    try {
      await this.db.close();
    } catch (err) {
      throw wrapIo(`closing LevelDB at ${this.dir}`, err);
    }
  }

  /** Runs plan → batch → mirror update after every earlier mutation, one at a time. */
  private exclusive(op: string, plan: () => BatchOp[], sync: boolean, apply: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new StorageClosedError(`LevelStorage at ${this.dir}`));
    assert(this.pending < PENDING_WRITES_MAX, () => `${this.pending} storage writes in flight: callers must await each write`);
    this.pending++;
    const run = async (): Promise<void> => {
      try {
        let ops = plan();
        if (!sync && ops.length > 0 && unsafe("follower-no-fsync")) {
          this.holdVolatile(ops);
          apply();
          return;
        }
        ops = [...this.volatile.splice(0), ...ops];
        try {
          // An empty Ready (nothing to persist) costs no LevelDB call.
          if (ops.length > 0) await this.db.batch(ops, batchOptions(sync));
        } catch (err) {
          throw wrapIo(`${op} batch to LevelDB at ${this.dir}`, err);
        }
        apply();
      } finally {
        this.pending--;
      }
    };
    const result = this.tail.then(run);
    // The queue continues after a failure; the failure itself goes to this caller.
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** @inheritDoc */
  initialState(): InitialState {
    return this.mirror.initialState();
  }

  /** @inheritDoc */
  term(index: number): number | undefined {
    return this.mirror.term(index);
  }

  /** @inheritDoc */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.mirror.entries(lo, hi, maxBytes);
  }

  /** @inheritDoc */
  firstIndex(): number {
    return this.mirror.firstIndex();
  }

  /** @inheritDoc */
  lastIndex(): number {
    return this.mirror.lastIndex();
  }

  /** @inheritDoc */
  snapshot(): SnapshotMeta {
    return this.mirror.snapshot();
  }

  /** The persisted hard state. */
  getHardState(): HardState {
    return this.mirror.getHardState();
  }

  /** @inheritDoc */
  entryBytes(index: number): number {
    return this.mirror.entryBytes(index);
  }
}
