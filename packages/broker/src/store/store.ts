/**
 * The broker's LevelDB on disk, with streamed snapshots and crash-safe
 * restore.
 *
 * Layout: `<dir>/CURRENT` names the live database directory
 * (`<dir>/state-<n>`). A restore loads the snapshot into a NEW directory,
 * syncs it, then atomically renames a new CURRENT into place: a crash at any
 * moment leaves CURRENT naming either the old, complete state or the new,
 * complete state, never a half-loaded one. Directories CURRENT does not name
 * are leftovers of an interrupted restore and are removed at open.
 */
import { createHash } from "node:crypto";
import { mkdir, open as openFile, readFile, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Level } from "level";
import { pack, unpack } from "../msgpack.ts";
import { assert } from "../raft-api.ts";
import type { BinaryDb } from "./txn.ts";

/** First chunk of every snapshot stream. */
export const SNAPSHOT_FORMAT = "raftbus-broker-snapshot";
/** Version of the snapshot stream format. */
export const SNAPSHOT_VERSION = 1;
/** Target size of one snapshot chunk (bytes of keys and values). */
export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;
/** Entries per LevelDB batch while loading a snapshot. */
const RESTORE_BATCH_ENTRIES = 4096;

const CURRENT = "CURRENT";
const STATE_DIR_RE = /^state-(\d+)$/;

/** The broker's database handle and the directory around it. */
export class BrokerStore {
  private constructor(
    private readonly dir: string,
    private generation: number,
    private database: BinaryDb,
  ) {}

  /** Opens (creating if needed) the broker database under `dir`. */
  static async open(dir: string): Promise<BrokerStore> {
    await mkdir(dir, { recursive: true });
    let generation = await readCurrent(dir);
    if (generation === undefined) {
      generation = 1;
      await writeCurrent(dir, generation);
    }
    for (const name of await readdir(dir)) {
      const m = STATE_DIR_RE.exec(name);
      if (m !== null && Number(m[1]) !== generation) await rm(join(dir, name), { recursive: true, force: true });
    }
    const db = await openLevel(join(dir, stateDirName(generation)));
    return new BrokerStore(dir, generation, db);
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
   * synchronously by this call, before any later batch), as msgpack chunks:
   * a header `{ format, version }`, then arrays `[k0, v0, k1, v1, ...]`.
   */
  snapshotChunks(): AsyncIterable<Uint8Array> {
    const db = this.database;
    const snapshot = db.snapshot();
    const iterator = db.iterator({ snapshot });
    return (async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        yield pack({ format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION });
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
            yield pack(pairs);
            pairs = [];
            bytes = 0;
          }
        }
        if (pairs.length > 0) yield pack(pairs);
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
    const next = this.generation + 1;
    const nextDir = join(this.dir, stateDirName(next));
    await rm(nextDir, { recursive: true, force: true });
    const fresh = await openLevel(nextDir);
    try {
      await loadChunks(fresh, chunks);
      await verify(fresh);
      // One synced write makes the whole load durable: LevelDB syncs table files as
      // it writes them, and this fsyncs the write-ahead log holding the rest.
      await fresh.batch([{ type: "del", key: Uint8Array.of(0) }], { sync: true });
    } catch (err) {
      await fresh.close();
      await rm(nextDir, { recursive: true, force: true });
      throw err;
    }
    await writeCurrent(this.dir, next);
    const old = this.database;
    const oldDir = join(this.dir, stateDirName(this.generation));
    this.database = fresh;
    this.generation = next;
    await old.close();
    await rm(oldDir, { recursive: true, force: true });
  }

  /** SHA-256 over every key and value in order: equal digests mean byte-identical state. */
  async digest(): Promise<string> {
    const hash = createHash("sha256");
    const len = Buffer.alloc(4);
    for await (const [k, v] of this.database.iterator()) {
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
  let first = true;
  let batch = db.batch();
  for await (const chunk of chunks) {
    const value = unpack(chunk);
    if (first) {
      const h = value as Record<string, unknown> | null;
      assert(typeof h === "object" && h !== null && h["format"] === SNAPSHOT_FORMAT && h["version"] === SNAPSHOT_VERSION,
        "snapshot stream does not start with a broker snapshot header");
      first = false;
      continue;
    }
    assert(Array.isArray(value) && value.length % 2 === 0, "malformed snapshot chunk");
    for (let i = 0; i < value.length; i += 2) {
      const k: unknown = value[i];
      const v: unknown = value[i + 1];
      assert(k instanceof Uint8Array && v instanceof Uint8Array, "malformed snapshot entry");
      batch.put(Uint8Array.from(k), Uint8Array.from(v));
      if (batch.length >= RESTORE_BATCH_ENTRIES) {
        await batch.write();
        batch = db.batch();
      }
    }
  }
  assert(!first, "empty snapshot stream");
  if (batch.length > 0) await batch.write();
  else await batch.close();
}

async function openLevel(path: string): Promise<BinaryDb> {
  const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  return db;
}

function stateDirName(generation: number): string {
  return `state-${generation}`;
}

async function readCurrent(dir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, CURRENT), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const m = STATE_DIR_RE.exec(text.trim());
  assert(m !== null, () => `${join(dir, CURRENT)} is corrupt: ${JSON.stringify(text.slice(0, 40))}`);
  return Number(m[1]);
}

/** Atomically points CURRENT at `generation`: write a temp file, fsync, rename, fsync the directory. */
async function writeCurrent(dir: string, generation: number): Promise<void> {
  const tmp = join(dir, `${CURRENT}.tmp`);
  const fh = await openFile(tmp, "w");
  try {
    await fh.writeFile(`${stateDirName(generation)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, CURRENT));
  const dh = await openFile(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
