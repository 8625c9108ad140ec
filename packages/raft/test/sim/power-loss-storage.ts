/**
 * A LevelStorage that can lose power. Writes the driver makes without fsync
 * (the core only ever asks for that when nothing but the commit index
 * changed) sit in a simulated page cache until the next synced write, an
 * explicit OS writeback, or a crash: a process crash still lets the OS write
 * them back, a power cut loses them. A synced write carries the cached
 * state with it, as LevelDB's sequential write-ahead log does.
 *
 * `durable` shadows exactly what reached LevelDB, so a restart can check
 * that LevelStorage.open recovers the persisted state and nothing else.
 */
import { assert } from "../../src/core/assert.ts";
import type { InitialState, StorageUpdate } from "../../src/core/storage.ts";
import type { ConfState, Entry, HardState, SnapshotMeta } from "../../src/core/types.ts";
import type { WritableStorage, WriteOptions } from "../../src/storage/level-storage.ts";
import { LevelStorage } from "../../src/storage/level-storage.ts";
import { MemoryStorage } from "../../src/storage/memory-storage.ts";

/** LevelStorage plus a page cache for unsynced writes and a shadow of what is on disk. */
export class PowerLossStorage implements WritableStorage {
  /** The newest unsynced hard state not yet handed to LevelDB. */
  private cached: HardState | undefined;
  /** Unsynced writes a power cut discarded (for the run's statistics). */
  lostWrites = 0;

  private constructor(private readonly level: LevelStorage, readonly durable: MemoryStorage) {}

  /**
   * Opens `dir`. When `durable` (the shadow of an earlier incarnation) is
   * given, the recovered state must equal it exactly; a difference throws.
   */
  static async open(dir: string, nodeId: string, bootstrap: ConfState, durable?: MemoryStorage): Promise<PowerLossStorage> {
    const level = await LevelStorage.open(dir, { nodeId, bootstrap });
    if (durable !== undefined) {
      const found = fingerprint(level, level.getHardState());
      const expected = fingerprint(durable, durable.getHardState());
      if (found !== expected) {
        await level.close();
        throw new Error(`${nodeId}: LevelDB recovered a different state than was persisted:\n  found    ${found}\n  expected ${expected}`);
      }
    }
    return new PowerLossStorage(level, durable ?? new MemoryStorage(bootstrap));
  }

  /** Synced writes go to LevelDB with fsync (with the cached state); unsynced ones stay in the page cache. */
  async write(update: StorageUpdate, opts: WriteOptions): Promise<void> {
    if (!opts.sync) {
      const hs = update.hardState;
      const current = this.getHardState();
      assert(update.entries.length === 0 && update.snapshot === undefined && hs !== undefined,
        "an unsynced write carries only a hard state (the core syncs entries and snapshots)");
      assert(hs.term === current.term && hs.vote === current.vote,
        () => `an unsynced write changes term/vote ${current.term}/${current.vote} → ${hs.term}/${hs.vote}`);
      this.cached = hs;
      return;
    }
    // A newer hard state in the update supersedes the cached one.
    const hardState = update.hardState ?? this.cached;
    const merged: StorageUpdate = hardState === undefined ? update : { ...update, hardState };
    this.cached = undefined;
    await this.level.write(merged, { sync: true });
    this.durable.write(merged);
  }

  /** The OS writes the page cache back: the cached state now survives a power cut. */
  async writeback(): Promise<void> {
    const hs = this.cached;
    if (hs === undefined) return;
    this.cached = undefined;
    await this.level.write({ entries: [], hardState: hs }, { sync: false });
    this.durable.setHardState(hs);
  }

  /** @inheritDoc */
  async compact(meta: SnapshotMeta, keepFrom: number): Promise<void> {
    await this.writeback();
    await this.level.compact(meta, keepFrom);
    this.durable.compact(meta, keepFrom);
  }

  /** Process crash: the OS still flushes the page cache. Closes LevelDB. */
  async processCrash(): Promise<void> {
    await this.writeback();
    await this.level.close();
  }

  /** Power cut: the page cache is lost. Closes LevelDB. */
  async powerCut(): Promise<void> {
    if (this.cached !== undefined) this.lostWrites++;
    this.cached = undefined;
    await this.level.close();
  }

  /** @inheritDoc */
  async close(): Promise<void> {
    await this.processCrash();
  }

  /** @inheritDoc */
  getHardState(): HardState {
    return this.cached ?? this.level.getHardState();
  }

  /** @inheritDoc */
  initialState(): InitialState {
    return { hardState: this.getHardState(), confState: this.level.initialState().confState };
  }

  /** @inheritDoc */
  term(index: number): number | undefined {
    return this.level.term(index);
  }

  /** @inheritDoc */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.level.entries(lo, hi, maxBytes);
  }

  /** @inheritDoc */
  firstIndex(): number {
    return this.level.firstIndex();
  }

  /** @inheritDoc */
  lastIndex(): number {
    return this.level.lastIndex();
  }

  /** @inheritDoc */
  snapshot(): SnapshotMeta {
    return this.level.snapshot();
  }
}

/** Everything a restart must reproduce, as one comparable string. */
export function fingerprint(s: Pick<WritableStorage, "firstIndex" | "lastIndex" | "term" | "entries" | "snapshot" | "initialState">, hs: HardState): string {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const log = last >= first ? s.entries(first, last + 1, Number.POSITIVE_INFINITY) : [];
  const entries = log.map((e) => `${e.index}/${e.term}/${e.type}/${Buffer.from(e.data).toString("hex")}`).join(",");
  return JSON.stringify({
    first, last, baseTerm: s.term(first - 1), snapshot: s.snapshot(), conf: s.initialState().confState, hs, entries,
  });
}
