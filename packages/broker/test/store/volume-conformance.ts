/**
 * The store conformance suite (abstract-level's pattern): every StoreVolume
 * backend must give the BrokerStore the same behaviour — data survives a
 * reopen, a restore replaces everything and leaves only the new generation,
 * a leftover generation of an interrupted restore is removed at open, and a
 * restore whose verification fails leaves the old state in place.
 */
import { describe, expect, it } from "vitest";
import { logKey } from "../../src/store/keys.ts";
import { BrokerStore } from "../../src/store/store.ts";
import type { StoreVolume } from "../../src/store/volume.ts";

/** How the suite gets volumes; `cleanup` runs after each test. */
export interface VolumeFactory {
  create(): Promise<StoreVolume>;
  cleanup(): Promise<void>;
}

/** Defines the conformance tests for the backend `name`. */
export function volumeConformance(name: string, factory: VolumeFactory): void {
  describe(`store conformance: ${name}`, () => {
    it("what was written is found again after close and reopen", async () => {
      const v = await factory.create();
      try {
        const s = await BrokerStore.open(v);
        await s.db.put(Uint8Array.of(1, 2), Uint8Array.of(3));
        const before = await s.digest();
        await s.close();
        const again = await BrokerStore.open(v);
        expect(await again.digest()).toBe(before);
        expect(bytes(await again.db.get(Uint8Array.of(1, 2)))).toEqual([3]);
        await again.close();
      } finally {
        await factory.cleanup();
      }
    });

    it("restore replaces everything with the snapshot as of its call; only the new generation remains", async () => {
      const src = await BrokerStore.open(await factory.create());
      const dv = await factory.create();
      const dst = await BrokerStore.open(dv);
      try {
        for (let i = 0; i < 3000; i++) await src.db.put(logKey(1, i), new Uint8Array(100).fill(i % 256));
        await dst.db.put(Uint8Array.of(0x99), Uint8Array.of(1)); // must disappear
        const chunks = src.snapshotChunks();
        await src.db.put(logKey(1, 99999), Uint8Array.of(1)); // after the snapshot point: not included
        await dst.restore(chunks, async () => undefined);
        await src.db.del(logKey(1, 99999));
        expect(await dst.digest()).toBe(await src.digest());
        expect(await dv.generations()).toEqual([2]);
        expect(await dv.readCurrent()).toBe(2);
      } finally {
        await src.close();
        await dst.close();
        await factory.cleanup();
      }
    });

    it("a leftover generation of an interrupted restore is removed at open", async () => {
      const v = await factory.create();
      try {
        const s = await BrokerStore.open(v);
        await s.db.put(Uint8Array.of(7), Uint8Array.of(7));
        await s.close();
        // A crash in the middle of a restore: generation 2 half loaded, CURRENT still names 1.
        const half = await v.open(2);
        await half.put(Uint8Array.of(8), Uint8Array.of(8));
        await half.close();
        const reopened = await BrokerStore.open(v);
        expect(await v.generations()).toEqual([1]);
        expect(await reopened.db.get(Uint8Array.of(8))).toBeUndefined();
        expect(bytes(await reopened.db.get(Uint8Array.of(7)))).toEqual([7]);
        await reopened.close();
      } finally {
        await factory.cleanup();
      }
    });

    it("a restore whose verification fails leaves the old state in place", async () => {
      const store = await BrokerStore.open(await factory.create());
      const other = await BrokerStore.open(await factory.create());
      try {
        await store.db.put(Uint8Array.of(1), Uint8Array.of(1));
        const before = await store.digest();
        await other.db.put(Uint8Array.of(2), Uint8Array.of(2));
        await expect(store.restore(other.snapshotChunks(), async () => { throw new Error("wrong index"); })).rejects.toThrow("wrong index");
        expect(await store.digest()).toBe(before);
      } finally {
        await store.close();
        await other.close();
        await factory.cleanup();
      }
    });
  });
}

/** Bytes as a plain array (LevelDB returns Buffers, memory-level Uint8Arrays). */
function bytes(v: Uint8Array | undefined): number[] | undefined {
  return v === undefined ? undefined : [...v];
}
