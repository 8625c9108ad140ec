/**
 * A hostile simulated disk holding one LevelDB-API database (one directory),
 * for the real LevelStorage and the real broker store to run on. The process
 * sees a memory-level database; the disk decides what survives a crash:
 *
 * - writes take time (latency per write, fsync slower, now and then a stall
 *   long enough to make a leader step down), and complete in call order;
 * - a batch is atomic (LevelDB's write-ahead log record has a checksum: a torn
 *   record is dropped on recovery, with everything after it);
 * - a process crash keeps every completed write (the OS page cache has it)
 *   and a prefix of the writes still in flight; reopening makes what it
 *   reads durable (LevelDB's recovery rewrites the recovered log into a
 *   table file and syncs it before open() returns);
 * - a power cut keeps what was fsync'd, plus a random prefix of the later
 *   writes (unsynced writes are lost or torn off at a batch boundary);
 * - "reported read corruption": a reopen may read one value with a flipped
 *   bit. LevelStorage must detect it (CRC) and refuse to start; the disk
 *   itself is intact, so a later restart reads it cleanly.
 *
 * Nothing here is random by itself: every choice comes from the run's PRNG.
 */
import type { SeededRand } from "../../src/core/rand.ts";
import { MemoryLevel } from "memory-level";
import type { NodeClock } from "./virtual-time.ts";

/** How slow and unreliable a disk is (milliseconds of the node's clock). */
export interface DiskProfile {
  /** Latency of a write without fsync: uniform in [0, writeMs]. */
  writeMs: number;
  /** Latency of an fsync'd write: uniform in [0, syncMs]. */
  syncMs: number;
  /** Probability that a write stalls for stallMs more. */
  stallChance: number;
  stallMs: number;
}

/** A disk that answers at once (scenario tests). */
export const INSTANT_DISK: DiskProfile = { writeMs: 0, syncMs: 0, stallChance: 0, stallMs: 0 };

/** One put or del, as abstract-level hands it to _batch. */
interface Op {
  readonly type: "put" | "del";
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
}

interface Write {
  readonly ops: readonly Op[];
  readonly sync: boolean;
}

/** How a node went down. */
export type CrashKind = "process" | "power";

/** Counters of what the disk did. */
export interface DiskStats {
  writes: number;
  syncs: number;
  stalls: number;
  /** Unsynced batches a power cut lost. */
  lostWrites: number;
  /** In-flight batches a crash cut off. */
  cutWrites: number;
  corruptReads: number;
}

/** Map key for bytes (latin1: one char per byte, order irrelevant here). */
function keyOf(k: Uint8Array): string {
  let s = "";
  for (let i = 0; i < k.length; i++) s += String.fromCharCode(k[i]!);
  return s;
}

/** One directory's worth of LevelDB on a simulated disk. */
export class SimDisk {
  /** What an fsync made durable: survives anything. */
  private durable = new Map<string, readonly [Uint8Array, Uint8Array]>();
  /** Completed writes not yet fsync'd, oldest first (the OS page cache holds them). */
  private unsynced: Write[] = [];
  /** Writes called but not completed, in call order. */
  private inflight: Write[] = [];
  /** When the last queued write completes (writes complete in order). */
  private lastCompletion = 0;
  /** The running process's handle, if any. */
  private live: SimLevel | undefined;
  /** The next open reads one value with a flipped bit. */
  corruptNextOpen = false;
  /** The last open read a flipped bit. */
  lastOpenCorrupt = false;
  /** Called once at the next write, while it is in flight (a crash point). */
  onNextWrite: (() => void) | undefined;
  /** Bumped on every change of the durable image (cache key for readers). */
  durableVersion = 0;
  readonly stats: DiskStats = { writes: 0, syncs: 0, stalls: 0, lostWrites: 0, cutWrites: 0, corruptReads: 0 };

  constructor(readonly name: string, private readonly rand: SeededRand, public profile: DiskProfile) {}

  /**
   * A fresh database handle for a (re)started process whose clock is
   * `clock`: it holds every write the OS kept. Open it before use.
   */
  open(clock: NodeClock, options: SimLevelOptions = {}): SimLevel {
    const db = new SimLevel(this, clock, options);
    this.flush(); // recovery syncs what the OS kept
    const image = new Map(this.durable);
    this.lastOpenCorrupt = false;
    if (this.corruptNextOpen && image.size > 0) {
      this.corruptNextOpen = false;
      this.stats.corruptReads++;
      const keys = [...image.keys()];
      const k = keys[this.rand.int(keys.length)]!;
      const [key, value] = image.get(k)!;
      if (value.length > 0) {
        const bad = value.slice();
        bad[this.rand.int(bad.length)]! ^= 1 << this.rand.int(8);
        image.set(k, [key, bad]);
        this.lastOpenCorrupt = true;
      }
    }
    db.preload(image);
    this.live = db;
    return db;
  }

  /** The process died (`process`) or the machine lost power (`power`): decide what the disk keeps. */
  crash(kind: CrashKind): void {
    this.live = undefined;
    // Writes in flight: a prefix of them reached the OS (in order), the rest never happened.
    let landed = 0;
    while (landed < this.inflight.length && this.rand.chance(0.5)) landed++;
    this.stats.cutWrites += this.inflight.length - landed;
    for (let i = 0; i < landed; i++) this.unsynced.push({ ops: this.inflight[i]!.ops, sync: false });
    this.inflight = [];
    this.lastCompletion = 0;
    if (kind === "power") {
      // Only a prefix of the unsynced batches made it to the platter; a torn one is dropped with all after it.
      let kept = 0;
      while (kept < this.unsynced.length && this.rand.chance(0.5)) kept++;
      this.stats.lostWrites += this.unsynced.length - kept;
      this.unsynced = this.unsynced.slice(0, kept);
      this.flush();
    }
  }

  /** True once something was written and not wiped since (a directory exists). */
  get present(): boolean {
    return this.durable.size > 0 || this.unsynced.length > 0 || this.inflight.length > 0 || this.live !== undefined;
  }

  /** Deletes everything (rm -rf of the directory): at once and for good. The process must have closed it. */
  wipe(): void {
    this.durable.clear();
    this.unsynced = [];
    this.inflight = [];
    this.live = undefined;
    this.durableVersion++;
  }

  /** The durable value of `key` (what survives a power cut right now). */
  durableGet(key: Uint8Array): Uint8Array | undefined {
    return this.durable.get(keyOf(key))?.[1];
  }

  /** Every durable key and value (for whole-image checks). */
  durableEntries(): Iterable<readonly [Uint8Array, Uint8Array]> {
    return this.durable.values();
  }

  /** @internal A write from `db`: completes after the disk's latency, in call order; never if the process died. */
  write(db: SimLevel, clock: NodeClock, ops: readonly Op[], sync: boolean): Promise<void> {
    if (db !== this.live) return new Promise(() => {}); // a dead process's write never completes
    const w: Write = { ops, sync };
    this.inflight.push(w);
    this.stats.writes++;
    const hook = this.onNextWrite;
    this.onNextWrite = undefined;
    hook?.();
    if (db !== this.live) return new Promise(() => {}); // the hook crashed the node mid-write
    if (sync) this.stats.syncs++;
    const p = this.profile;
    let latency = this.rand.float() * (sync ? p.syncMs : p.writeMs);
    if (p.stallChance > 0 && this.rand.chance(p.stallChance)) {
      latency += p.stallMs;
      this.stats.stalls++;
    }
    // Latency is in the node's time; completion in true time, never before an earlier write.
    const at = Math.max(clock.trueTimeAfter(latency), this.lastCompletion);
    this.lastCompletion = at;
    return new Promise((resolve) => {
      clock.at(at, () => {
        if (db !== this.live) return;
        this.inflight.shift();
        this.unsynced.push(w);
        if (sync) this.flush();
        resolve();
      });
    });
  }

  /** An fsync: every completed write is now durable. */
  private flush(): void {
    if (this.unsynced.length === 0) return;
    for (const w of this.unsynced) applyOps(this.durable, w.ops);
    this.unsynced = [];
    this.durableVersion++;
  }
}

function applyOps(image: Map<string, readonly [Uint8Array, Uint8Array]>, ops: readonly Op[]): void {
  for (const op of ops) {
    const k = keyOf(op.key);
    if (op.type === "put") image.set(k, [op.key, op.value!]);
    else image.delete(k);
  }
}

function isBinaryOp(op: Op): boolean {
  return op.key instanceof Uint8Array && (op.type === "del" || (op.type === "put" && op.value instanceof Uint8Array));
}

/** How a process opens a simulated database. */
export interface SimLevelOptions {
  /**
   * abstract-level's value encoding (an encoding object such as the broker's
   * checksummed one); default "view", raw bytes. Keys are always raw bytes.
   */
  readonly valueEncoding?: string | object;
}

/** The private hooks of abstract-level that memory-level implements (not in its type declarations). */
interface MemoryLevelHooks {
  _batch(operations: Op[], options: object): Promise<void>;
  _put(key: Uint8Array, value: Uint8Array, options: object): Promise<void>;
  _del(key: Uint8Array, options: object): Promise<void>;
}
const MemoryLevelWithHooks = MemoryLevel as unknown as new (options: object) => MemoryLevel<Uint8Array, Uint8Array> & MemoryLevelHooks;

/**
 * The database handle a simulated process gets: memory-level (the real
 * abstract-level implementation) whose writes go through the SimDisk, so
 * they take time and are subject to its crash rules. Reads see completed
 * writes only.
 */
export class SimLevel extends MemoryLevelWithHooks {
  constructor(private readonly disk: SimDisk, private readonly clock: NodeClock, options: SimLevelOptions = {}) {
    super({ storeEncoding: "view", keyEncoding: "view", valueEncoding: options.valueEncoding ?? "view" });
    if (options.valueEncoding !== undefined) return; // values are encoded: no fast path
    // Fast path for array batches of binary keys and values on an open database (what the
    // storages write): abstract-level's per-operation encoding and cloning is most of the
    // simulator's storage cost, and with "view" encodings it changes nothing.
    const general = this.batch.bind(this);
    this.batch = ((operations?: Op[], options?: { sync?: boolean }) => {
      if (!Array.isArray(operations) || this.status !== "open" || !operations.every(isBinaryOp)) {
        return (general as (...a: unknown[]) => unknown)(...(operations === undefined ? [] : [operations, options]));
      }
      return operations.length === 0 ? Promise.resolve() : this._batch(operations, options ?? {});
    }) as typeof this.batch;
  }

  /** @internal Loads the image the disk kept, before the database is opened. */
  preload(image: Map<string, readonly [Uint8Array, Uint8Array]>): void {
    const ops: Op[] = [];
    for (const [key, value] of image.values()) ops.push({ type: "put", key, value });
    void super._batch(ops, {});
  }

  override async _batch(operations: Op[], options: { sync?: boolean }): Promise<void> {
    await this.disk.write(this, this.clock, operations, options.sync === true);
    await super._batch(operations, options);
  }

  override async _put(key: Uint8Array, value: Uint8Array, options: { sync?: boolean }): Promise<void> {
    await this._batch([{ type: "put", key, value }], options);
  }

  override async _del(key: Uint8Array, options: { sync?: boolean }): Promise<void> {
    await this._batch([{ type: "del", key }], options);
  }
}
