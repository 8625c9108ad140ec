/**
 * LevelStorage: the conformance suite (with close + reopen as the restart),
 * then what only a durable backend has: identity checks, use after close,
 * a locked directory, and the mirror never running ahead of a failed batch.
 */
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { LevelStorage } from "../../src/storage/level-storage.ts";
import { ENTRY_CACHE_BYTES_DEFAULT } from "../../src/storage/stored-entries.ts";
import { storageConformance } from "./conformance.ts";
import { TempDirs, dump, entries } from "./helpers.ts";

const dirs = new TempDirs();
const open: LevelStorage[] = [];

async function openAt(dir: string, nodeId = "n1", extra: { clusterId?: string } = {}): Promise<LevelStorage> {
  const s = await LevelStorage.open(dir, { nodeId, ...extra });
  open.push(s);
  return s;
}

async function closeAll(): Promise<void> {
  for (const s of open.splice(0)) await s.close();
  await dirs.cleanup();
}

storageConformance("LevelStorage", () => ({
  create: async (bootstrap) => {
    const s = await LevelStorage.open(await dirs.make(), { nodeId: "n1", ...(bootstrap ? { bootstrap } : {}) });
    open.push(s);
    return s;
  },
  restart: async (s) => {
    if (!(s instanceof LevelStorage)) throw new TypeError("not a LevelStorage");
    await s.close();
    return openAt(s.dir, s.identity.nodeId);
  },
  cleanup: closeAll,
}));

// The same suite with no entry data cached beyond the newest entry: every other read comes back from LevelDB.
storageConformance("LevelStorage (entry data read back from disk)", () => ({
  create: async (bootstrap) => {
    const s = await LevelStorage.open(await dirs.make(), { nodeId: "n1", entryCacheBytes: 0, ...(bootstrap ? { bootstrap } : {}) });
    open.push(s);
    return s;
  },
  restart: async (s) => {
    if (!(s instanceof LevelStorage)) throw new TypeError("not a LevelStorage");
    await s.close();
    const r = await LevelStorage.open(s.dir, { nodeId: s.identity.nodeId, entryCacheBytes: 0 });
    open.push(r);
    return r;
  },
  cleanup: closeAll,
}));

describe("LevelStorage: memory", () => {
  afterEach(closeAll);

  it("holds at most entryCacheBytes of entry data however long the log grows (issue 14), and reads the rest back", async () => {
    // A log between snapshots may hold 64 MiB and more; its memory must not grow with it.
    const cache = 16 * 1024;
    const s = await LevelStorage.open(await dirs.make(), { nodeId: "n1", entryCacheBytes: cache });
    open.push(s);
    for (let lo = 1; lo <= 400; lo += 20) {
      await s.write({ entries: entries(lo, new Array<number>(20).fill(1), 1024) }, { sync: false });
      expect(s.memoryBytes()).toBeLessThanOrEqual(cache);
    }
    expect(s.lastIndex()).toBe(400);
    expect(s.entries(1, 401, Number.POSITIVE_INFINITY)).toEqual(entries(1, new Array<number>(400).fill(1), 1024));
    // maxBytes counts entries whose data is on disk by their size, as for those in memory.
    expect(s.entries(1, 401, 3 * 1048)).toHaveLength(3);
    await s.close();
    const reopened = await openAt(s.dir);
    expect(reopened.memoryBytes()).toBeLessThanOrEqual(ENTRY_CACHE_BYTES_DEFAULT);
    expect(reopened.entries(390, 401, Number.POSITIVE_INFINITY)).toEqual(entries(390, new Array<number>(11).fill(1), 1024));
  });

  it("reads back no entry that a compaction is deleting: the mirror lets go of them before the batch is written", async () => {
    const db = new Level<Uint8Array, Uint8Array>(await dirs.make(), { keyEncoding: "view", valueEncoding: "view" });
    const s = await LevelStorage.openDb(db, "compaction-order", { nodeId: "n1", entryCacheBytes: 0 });
    open.push(s);
    await s.write({ entries: entries(1, [1, 1, 1, 1, 1], 64) }, { sync: true });
    const firstIndexAtBatch: number[] = [];
    const batch = db.batch.bind(db) as (ops: never, o: never) => Promise<void>;
    (db as unknown as { batch: unknown }).batch = (ops: never, o: never) => {
      firstIndexAtBatch.push(s.firstIndex());
      return batch(ops, o);
    };
    await s.compact({ index: 4, term: 1, conf: { voters: ["n1"], learners: [] } }, 3);
    expect(firstIndexAtBatch).toEqual([3]);
    expect(s.entries(3, 6, Number.POSITIVE_INFINITY)).toEqual(entries(3, [1, 1, 1], 64));
  });
});

describe("LevelStorage: identity", () => {
  afterEach(closeAll);

  it("records node and cluster id on a fresh directory", async () => {
    const dir = await dirs.make();
    await (await openAt(dir, "n1", { clusterId: "c1" })).close();
    const s = await openAt(dir, "n1");
    expect(s.identity).toEqual({ format: 1, nodeId: "n1", clusterId: "c1" });
  });

  it("a directory of another node refuses to start, naming both ids", async () => {
    const dir = await dirs.make();
    await (await openAt(dir, "alpha")).close();
    const err: unknown = await LevelStorage.open(dir, { nodeId: "beta" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "STORAGE_WRONG_NODE", name: "StorageWrongNodeError" });
    expect(String(err)).toMatch(/"alpha"/);
    expect(String(err)).toMatch(/"beta"/);
    // The refused open released the directory: its owner can still open it.
    expect((await openAt(dir, "alpha")).identity.nodeId).toBe("alpha");
  });

  it("a directory of another cluster refuses to start", async () => {
    const dir = await dirs.make();
    await (await openAt(dir, "n1", { clusterId: "east" })).close();
    await expect(LevelStorage.open(dir, { nodeId: "n1", clusterId: "west" }))
      .rejects.toMatchObject({ code: "STORAGE_WRONG_NODE", message: expect.stringMatching(/"east".*"west"|"west".*"east"/) });
  });
});

describe("LevelStorage: failures", () => {
  afterEach(closeAll);

  it("writes after close fail with STORAGE_CLOSED; reads still answer", async () => {
    const s = await openAt(await dirs.make());
    await s.write({ entries: entries(1, [1]) }, { sync: true });
    await s.close();
    await expect(s.write({ entries: entries(2, [1]) }, { sync: true })).rejects.toMatchObject({ code: "STORAGE_CLOSED" });
    await expect(s.compact({ index: 1, term: 1, conf: { voters: [], learners: [] } }, 1)).rejects.toMatchObject({ code: "STORAGE_CLOSED" });
    expect(s.lastIndex()).toBe(1);
  });

  it("a directory held by another process/handle fails with STORAGE_IO", async () => {
    const dir = await dirs.make();
    await openAt(dir);
    await expect(LevelStorage.open(dir, { nodeId: "n1" })).rejects.toMatchObject({ code: "STORAGE_IO" });
  });

  it("a failed batch leaves the mirror untouched (memory never runs ahead of disk)", async () => {
    const s = await openAt(await dirs.make());
    await s.write({ entries: entries(1, [1, 1]) }, { sync: true });
    const before = dump(s);
    const db = (s as unknown as { db: { batch: () => Promise<void> } }).db;
    const real = db.batch;
    db.batch = () => Promise.reject(new Error("disk on fire"));
    await expect(s.write({ entries: entries(2, [2, 2]), hardState: { term: 2, vote: null, commit: 0 } }, { sync: true }))
      .rejects.toMatchObject({ code: "STORAGE_IO", message: expect.stringMatching(/disk on fire/) });
    expect(dump(s)).toEqual(before);
    db.batch = real;
    // The queue keeps going after a failure.
    await s.write({ entries: entries(3, [1]) }, { sync: true });
    expect(s.lastIndex()).toBe(3);
  });

  it("an empty update is a no-op", async () => {
    const s = await openAt(await dirs.make());
    const before = dump(s);
    await s.write({ entries: [] }, { sync: true });
    expect(dump(s)).toEqual(before);
  });

  it("writes issued without awaiting are applied in order", async () => {
    const s = await openAt(await dirs.make());
    const all = [1, 2, 3, 4, 5].map((i) => s.write({ entries: entries(i, [i]) }, { sync: false }));
    await Promise.all(all);
    expect(s.entries(1, 6, Number.POSITIVE_INFINITY)).toEqual(entries(1, [1, 2, 3, 4, 5]));
  });
});
