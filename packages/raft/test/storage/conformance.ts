/**
 * The storage conformance suite (abstract-level's pattern): one set of
 * scenarios every backend must pass. Each scenario runs twice, once as is
 * and once after a restart, so a durable backend must recover exactly the
 * state it reported before (the in-memory one "restarts" from a clone).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ConfState, SnapshotMeta } from "../../src/core/types.ts";
import type { WritableStorage } from "../../src/storage/level-storage.ts";
import { dump, entries, entry } from "./helpers.ts";

/** How the suite makes and restarts a backend. */
export interface StorageFactory {
  /** A fresh, empty storage whose initial membership is `bootstrap`. */
  create(bootstrap?: ConfState): Promise<WritableStorage>;
  /** Closes `s` and returns what a restarted node finds: only what `s` persisted. */
  restart(s: WritableStorage): Promise<WritableStorage>;
  /** Releases everything created (temp directories…), after each test. */
  cleanup(): Promise<void>;
}

const CONF: ConfState = { voters: ["a", "b", "c"], learners: ["d"] };
const INF = Number.POSITIVE_INFINITY;

/** Defines the conformance tests for the backend `name`. */
export function storageConformance(name: string, makeFactory: () => StorageFactory): void {
  describe(`storage conformance: ${name}`, () => {
    const factory = makeFactory();
    afterEach(() => factory.cleanup());

    for (const restarted of [false, true]) {
      const when = restarted ? " (after restart)" : "";
      /** Returns the storage as is, or as a restart recovers it, checking the recovery is exact. */
      const settle = async (s: WritableStorage): Promise<WritableStorage> => {
        if (!restarted) return s;
        const before = dump(s);
        const r = await factory.restart(s);
        expect(dump(r)).toEqual(before);
        return r;
      };
      defineScenarios(factory, settle, when);
    }
  });
}

type Settle = (s: WritableStorage) => Promise<WritableStorage>;

function defineScenarios(factory: StorageFactory, settle: Settle, when: string): void {
  defineLogScenarios(factory, settle, when);
  defineCompactionScenarios(factory, settle, when);
  defineStateScenarios(factory, settle, when);
}

function defineLogScenarios(factory: StorageFactory, settle: Settle, when: string): void {
  it(`initial state: empty log after index 0, bootstrap membership${when}`, async () => {
    const s = await settle(await factory.create(CONF));
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.term(1)).toBeUndefined();
    expect(s.entries(1, 1, INF)).toEqual([]);
    expect(s.snapshot()).toEqual({ index: 0, term: 0, conf: CONF });
    expect(s.initialState()).toEqual({ hardState: { term: 0, vote: null, commit: 0 }, confState: CONF });
  });

  it(`append: entries become readable with their terms${when}`, async () => {
    const s = await factory.create();
    await s.write({ entries: entries(1, [1, 1, 2]) }, { sync: true });
    await s.write({ entries: entries(4, [2, 3]) }, { sync: false });
    const r = await settle(s);
    expect(r.lastIndex()).toBe(5);
    expect([1, 2, 3, 4, 5].map((i) => r.term(i))).toEqual([1, 1, 2, 2, 3]);
    expect(r.entries(1, 6, INF)).toEqual(entries(1, [1, 1, 2, 2, 3]));
    expect(r.entries(2, 4, INF)).toEqual(entries(2, [1, 2]));
  });

  it(`append: an entry that is a view into a larger buffer is kept in a buffer of its own size${when}`, async () => {
    // Issue 14: a leader's log pinned a 1.41 MB msgpack buffer per ~130 KB entry.
    // The log's memory must be the bytes of its entries, whatever buffers they came in.
    const shared = new Uint8Array(1024 * 1024);
    const views = entries(1, [1, 1, 1], 64).map((e, i) => {
      const view = shared.subarray(4096 * (i + 1), 4096 * (i + 1) + e.data.length);
      view.set(e.data);
      return { ...e, data: view };
    });
    const s = await factory.create();
    await s.write({ entries: views }, { sync: true });
    shared.fill(0xee); // the encoder reuses its buffer: the log must not see it
    const r = await settle(s);
    const kept = r.entries(1, 4, INF);
    expect(kept).toEqual(entries(1, [1, 1, 1], 64));
    for (const e of kept) expect(e.data.buffer.byteLength).toBe(e.data.byteLength);
  });

  it(`append: a conflicting suffix is truncated (§5.3)${when}`, async () => {
    const s = await factory.create();
    await s.write({ entries: entries(1, [1, 1, 1, 2, 2]) }, { sync: true });
    await s.write({ entries: entries(3, [3, 3]) }, { sync: true });
    const r = await settle(s);
    expect(r.lastIndex()).toBe(4);
    expect(r.term(5)).toBeUndefined();
    expect(r.entries(1, 5, INF)).toEqual([...entries(1, [1, 1]), ...entries(3, [3, 3])]);
    // And the truncated index can be written again.
    await r.write({ entries: entries(5, [4]) }, { sync: true });
    expect((await settle(r)).entries(5, 6, INF)).toEqual(entries(5, [4]));
  });

  it(`append: a gap or a non-contiguous batch is a bug${when}`, async () => {
    const s = await settle(await factory.create());
    await s.write({ entries: entries(1, [1, 1]) }, { sync: true });
    await expect(s.write({ entries: entries(4, [1]) }, { sync: true })).rejects.toMatchObject({ code: "INVARIANT_VIOLATED" });
    await expect(s.write({ entries: [entry(3, 1), entry(5, 1)] }, { sync: true })).rejects.toMatchObject({ code: "INVARIANT_VIOLATED" });
    expect(s.lastIndex()).toBe(2);
  });

  it(`entries(): maxBytes limits the batch but returns at least one entry${when}`, async () => {
    const s = await factory.create();
    await s.write({ entries: entries(1, [1, 1, 1, 1, 1], 100) }, { sync: true });
    const r = await settle(s);
    // Each entry weighs 100 data bytes + 24 (entrySize).
    expect(r.entries(1, 6, 0)).toHaveLength(1);
    expect(r.entries(1, 6, 123)).toHaveLength(1);
    expect(r.entries(1, 6, 248)).toHaveLength(2);
    expect(r.entries(1, 6, 371)).toHaveLength(2);
    expect(r.entries(2, 6, INF)).toHaveLength(4);
  });
}

function defineCompactionScenarios(factory: StorageFactory, settle: Settle, when: string): void {
  const snapAt = (index: number, term: number): SnapshotMeta => ({ index, term, conf: CONF });

  it(`compact: term() answers at the compaction point, not below it${when}`, async () => {
    const s = await factory.create();
    await s.write({ entries: entries(1, [1, 1, 2, 2, 2, 3, 3, 3, 3, 4]) }, { sync: true });
    await s.compact(snapAt(7, 3), 5);
    const r = await settle(s);
    expect(r.firstIndex()).toBe(5);
    expect(r.term(3)).toBeUndefined();
    expect(r.term(4)).toBe(2);
    expect(r.term(10)).toBe(4);
    expect(r.term(11)).toBeUndefined();
    expect(r.snapshot()).toEqual(snapAt(7, 3));
    expect(r.entries(5, 11, INF)).toEqual(entries(5, [2, 3, 3, 3, 3, 4]));
  });

  it(`compact: keepFrom is clamped so the trailing tail reaches the snapshot${when}`, async () => {
    const s = await factory.create();
    await s.write({ entries: entries(1, [1, 1, 1, 1, 1, 1, 1, 1]) }, { sync: true });
    await s.compact(snapAt(3, 1), 1);
    expect(s.firstIndex()).toBe(1);
    await s.compact(snapAt(5, 1), 99);
    const r = await settle(s);
    expect(r.firstIndex()).toBe(6);
    expect(r.lastIndex()).toBe(8);
    expect(r.term(5)).toBe(1);
    await r.write({ entries: entries(9, [2]) }, { sync: true });
    expect((await settle(r)).entries(6, 10, INF)).toEqual(entries(6, [1, 1, 1, 2]));
  });

  it(`compact: a snapshot that does not match the log is a bug${when}`, async () => {
    const s = await settle(await factory.create());
    await s.write({ entries: entries(1, [1, 2]) }, { sync: true });
    await expect(s.compact(snapAt(2, 1), 2)).rejects.toMatchObject({ code: "INVARIANT_VIOLATED" });
    await expect(s.compact(snapAt(3, 2), 2)).rejects.toMatchObject({ code: "INVARIANT_VIOLATED" });
    expect(s.firstIndex()).toBe(1);
  });

  it(`installSnapshot: the whole log is discarded (§7)${when}`, async () => {
    const s = await factory.create();
    await s.write({ entries: entries(1, [1, 1, 2, 2, 2]) }, { sync: true });
    const conf: ConfState = { voters: ["a", "b"], learners: [] };
    await s.write({ snapshot: { index: 8, term: 3, conf }, entries: entries(9, [3]) }, { sync: true });
    const r = await settle(s);
    expect(r.firstIndex()).toBe(9);
    expect(r.lastIndex()).toBe(9);
    expect(r.term(8)).toBe(3);
    expect(r.term(5)).toBeUndefined();
    expect(r.snapshot()).toEqual({ index: 8, term: 3, conf });
    expect(r.initialState().confState).toEqual(conf);
  });

  it(`installSnapshot: a snapshot inside the log still discards the rest of it${when}`, async () => {
    const s = await factory.create();
    await s.write({ entries: entries(1, [1, 1, 2, 2, 2]) }, { sync: true });
    await s.write({ snapshot: snapAt(3, 2), entries: [] }, { sync: true });
    const r = await settle(s);
    expect([r.firstIndex(), r.lastIndex(), r.term(3), r.term(4)]).toEqual([4, 3, 2, undefined]);
    await r.write({ entries: entries(4, [5]) }, { sync: true });
    expect((await settle(r)).entries(4, 5, INF)).toEqual(entries(4, [5]));
  });
}

function defineStateScenarios(factory: StorageFactory, settle: Settle, when: string): void {
  it(`hard state: round trip, and the term never goes back${when}`, async () => {
    const s = await factory.create(CONF);
    await s.write({ entries: [], hardState: { term: 3, vote: "b", commit: 0 } }, { sync: true });
    await s.write({ entries: entries(1, [3]), hardState: { term: 3, vote: "b", commit: 1 } }, { sync: true });
    const r = await settle(s);
    expect(r.getHardState()).toEqual({ term: 3, vote: "b", commit: 1 });
    expect(r.initialState()).toEqual({ hardState: { term: 3, vote: "b", commit: 1 }, confState: CONF });
    await expect(r.write({ entries: [], hardState: { term: 2, vote: null, commit: 1 } }, { sync: true }))
      .rejects.toMatchObject({ code: "INVARIANT_VIOLATED" });
    expect(r.getHardState().term).toBe(3);
  });

  it(`restart: log, compaction, snapshot and hard state all come back${when}`, async () => {
    const s = await factory.create(CONF);
    await s.write({ entries: entries(1, [1, 1, 2, 2, 3, 3]), hardState: { term: 3, vote: "a", commit: 4 } }, { sync: true });
    await s.compact({ index: 4, term: 2, conf: CONF }, 3);
    await s.write({ entries: entries(6, [4, 4]), hardState: { term: 4, vote: null, commit: 6 } }, { sync: true });
    const r = await settle(s);
    expect(dump(r)).toMatchObject({
      first: 3, last: 7, baseTerm: 1,
      snapshot: { index: 4, term: 2, conf: CONF },
      hardState: { term: 4, vote: null, commit: 6 },
    });
    await r.write({ snapshot: { index: 20, term: 5, conf: CONF }, entries: entries(21, [5]) }, { sync: true });
    const again = await settle(r);
    expect([again.firstIndex(), again.lastIndex(), again.term(20), again.term(21)]).toEqual([21, 21, 5, 5]);
  });
}
