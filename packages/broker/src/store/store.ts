/**
 * The broker's database on a volume (see volume.ts), with streamed snapshots
 * and crash-safe restore.
 *
 * The volume's CURRENT names the live database generation. A restore loads
 * the snapshot into a NEW generation, syncs it, then atomically moves
 * CURRENT: a crash at any moment leaves CURRENT naming either the old,
 * complete state or the new, complete state, never a half-loaded one.
 * Generations CURRENT does not name are leftovers of an interrupted restore
 * and are removed at open.
 */
import { createHash } from "node:crypto";
import { SnapshotEncoder, decodeSnapshot } from "./snapshot-codec.ts";
import type { BinaryDb, StoreVolume, SyncOption } from "./volume.ts";
import { assert } from "../raft-api.ts";
import { CHECKED_VALUES, unframeValue } from "./checksum.ts";
import { upgradeRecord } from "./migrate.ts";
import { DirectoryVolume } from "./volume-directory.ts";
import { FORMAT_KEY, REPLICATED_KEYS_FROM, STORE_FORMAT, detectFormat, markerValue } from "./format.ts";
import type { DetectedFormat } from "./format.ts";

/** Target size of one pairs record of a snapshot (bytes of keys and values). */
export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;
/** Entries per LevelDB batch while loading a snapshot. */
const RESTORE_BATCH_ENTRIES = 4096;

/** The broker's database handle and the volume around it. */
export class BrokerStore {
  private constructor(
    private readonly volume: StoreVolume,
    private generation: number,
    private database: BinaryDb,
  ) {}

  /** Opens (creating if needed) the broker database on `volume` (a directory path means a DirectoryVolume). */
  static async open(volume: StoreVolume | string): Promise<BrokerStore> {
    const v = typeof volume === "string" ? new DirectoryVolume(volume) : volume;
    let generation = await v.readCurrent();
    if (generation === undefined) {
      generation = 1;
      await v.writeCurrent(generation);
    }
    for (const g of await v.generations()) if (g !== generation) await v.remove(g);
    const db = await openChecked(v, generation);
    let found: DetectedFormat;
    try {
      found = await detectFormat(db, v.label);
    } catch (err) {
      await db.close();
      throw err;
    }
    if (found.kind === "format" && found.format < STORE_FORMAT) {
      return BrokerStore.migrate(v, generation, db, found.format);
    }
    if (found.kind === "fresh" || !found.marked) await db.put(FORMAT_KEY, markerValue());
    return new BrokerStore(v, generation, db);
  }

  /**
   * Rewrites a store of an older format into a new generation in the
   * current one, then moves CURRENT (crash-safe as restore is: an
   * interrupted migration leaves the old generation live and is redone).
   * 1 → 2: every value gets its checksum frame (the new database's value
   * encoding adds it as the plain values are copied). 2 → 3: see migrate.ts.
   */
  private static async migrate(v: StoreVolume, generation: number, old: BinaryDb, from: number): Promise<BrokerStore> {
    assert(from >= 1 && from < STORE_FORMAT, () => `no migration from broker store format ${from}`);
    // Format-1 values are plain; later ones carry the frame the checked encoding verifies.
    const plain = (stored: Uint8Array): Uint8Array => (from === 1 ? stored : unframeValue(stored));
    const read = async (k: Uint8Array): Promise<Uint8Array | undefined> => {
      const stored = (await old.get(k, { valueEncoding: "view" })) as Uint8Array | undefined;
      return stored === undefined ? undefined : plain(stored);
    };
    const next = generation + 1;
    await v.remove(next);
    const fresh = await openChecked(v, next);
    try {
      let batch = fresh.batch();
      for await (const [k, value] of old.iterator({ valueEncoding: "view", gte: REPLICATED_KEYS_FROM })) {
        batch.put(k, await upgradeRecord(k, plain(value as Uint8Array), read, v.label));
        if (batch.length >= RESTORE_BATCH_ENTRIES) {
          await batch.write();
          batch = fresh.batch();
        }
      }
      batch.put(FORMAT_KEY, markerValue());
      await batch.write({ sync: true } as SyncOption);
    } catch (err) {
      await fresh.close();
      await v.remove(next);
      throw err;
    }
    await v.writeCurrent(next);
    await old.close();
    await v.remove(generation);
    return new BrokerStore(v, next, fresh);
  }

  /** Names the volume in messages. */
  get label(): string {
    return this.volume.label;
  }

  /** The live database. Changes after a restore: do not keep it across awaits of restore(). */
  get db(): BinaryDb {
    return this.database;
  }

  /** Closes the database. */
  async close(): Promise<void> {
    await this.database.close();
  }

  /**
   * Streams every key and value as of NOW (an explicit LevelDB snapshot taken
   * synchronously by this call, before any later batch), in the
   * self-framing format of snapshot-codec.ts. Each yielded chunk happens to
   * be one record, but readers must not rely on that.
   */
  snapshotChunks(): AsyncIterable<Uint8Array> {
    const db = this.database;
    const snapshot = db.snapshot();
    // Local records (the format marker) describe this copy, not the replicated state.
    const iterator = db.iterator({ snapshot, gte: REPLICATED_KEYS_FROM });
    return (async function* chunks(): AsyncGenerator<Uint8Array> {
      const encoder = new SnapshotEncoder();
      try {
        yield encoder.header();
        let pairs: Uint8Array[] = [];
        let bytes = 0;
        for (;;) {
          const page = await iterator.nextv(1024);
          if (page.length === 0) break;
          for (const [k, v] of page) {
            pairs.push(k, v);
            bytes += k.length + v.length;
          }
          if (bytes >= SNAPSHOT_CHUNK_BYTES) {
            yield encoder.pairsRecord(pairs);
            pairs = [];
            bytes = 0;
          }
        }
        if (pairs.length > 0) yield encoder.pairsRecord(pairs);
        yield encoder.trailer();
      } finally {
        await iterator.close();
        await snapshot.close();
      }
    })();
  }

  /**
   * Replaces the whole database with a snapshot stream (see the module
   * comment for why this is crash-safe). `verify` checks the loaded data
   * before it replaces the live state. The caller must hold off every other
   * use of the database while this runs.
   */
  async restore(chunks: AsyncIterable<Uint8Array>, verify: (db: BinaryDb) => Promise<void>): Promise<void> {
    const v = this.volume;
    const next = this.generation + 1;
    await v.remove(next);
    const fresh = await openChecked(v, next);
    try {
      await loadChunks(fresh, chunks);
      await verify(fresh);
      // One synced write makes the whole load durable: LevelDB syncs table files as
      // it writes them, and this fsyncs the write-ahead log holding the rest.
      const sync: SyncOption = { sync: true };
      await fresh.batch([{ type: "put", key: FORMAT_KEY, value: markerValue() }], sync);
    } catch (err) {
      await fresh.close();
      await v.remove(next);
      throw err;
    }
    await v.writeCurrent(next);
    const old = this.database;
    const oldGeneration = this.generation;
    this.database = fresh;
    this.generation = next;
    await old.close();
    await v.remove(oldGeneration);
  }

  /** SHA-256 over every key and value in order: equal digests mean byte-identical state. */
  async digest(): Promise<string> {
    const hash = createHash("sha256");
    const len = Buffer.alloc(4);
    for await (const [k, v] of this.database.iterator({ gte: REPLICATED_KEYS_FROM })) {
      len.writeUInt32BE(k.length);
      hash.update(len).update(k);
      len.writeUInt32BE(v.length);
      hash.update(len).update(v);
    }
    return hash.digest("hex");
  }

  /** Asks LevelDB to compact the whole key range (a local, physical operation). */
  async compact(): Promise<void> {
    const db = this.database as unknown as { compactRange?: (a: Uint8Array, b: Uint8Array) => Promise<void> };
    if (typeof db.compactRange === "function") await db.compactRange(Uint8Array.of(0), Uint8Array.of(0xff, 0xff));
  }
}

async function loadChunks(db: BinaryDb, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  let batch = db.batch();
  await decodeSnapshot(chunks, async (pairs) => {
    for (const [k, v] of pairs) {
      batch.put(k, v);
      if (batch.length >= RESTORE_BATCH_ENTRIES) {
        await batch.write();
        batch = db.batch();
      }
    }
  });
  if (batch.length > 0) await batch.write();
  else await batch.close();
}

/**
 * Opens a generation and checks the volume opened it with the checksummed
 * value encoding: a volume that forgot would store records nobody verifies.
 */
async function openChecked(volume: StoreVolume, generation: number): Promise<BinaryDb> {
  const db = await volume.open(generation);
  assert(db.valueEncoding().name === CHECKED_VALUES.name,
    () => `volume ${volume.label} opened generation ${generation} with value encoding ${db.valueEncoding().name}, not ${CHECKED_VALUES.name} (broker records must carry checksums)`);
  return db;
}

