import { rm } from "node:fs/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareKeys, logKey, pendingKey, prefixRange, readU64, writeU64 } from "../../src/store/keys.ts";
import { BrokerStore } from "../../src/store/store.ts";
import { Txn } from "../../src/store/txn.ts";
import { tempDir } from "../helpers/harness.ts";

describe("keys: fixed-width big-endian, so byte order is numeric order", () => {
  it("u64 round-trips up to 2^53", () => {
    fc.assert(fc.property(fc.maxSafeNat(), (n) => {
      const b = new Uint8Array(8);
      writeU64(b, 0, n);
      expect(readU64(b, 0)).toBe(n);
    }));
  });
  it("log keys sort by (topic, offset) and pending keys by (sub, priority, seq)", () => {
    fc.assert(fc.property(fc.nat(2 ** 32 - 1), fc.maxSafeNat(), fc.nat(2 ** 32 - 1), fc.maxSafeNat(), (t1, o1, t2, o2) => {
      const want = t1 !== t2 ? Math.sign(t1 - t2) : Math.sign(o1 - o2);
      expect(Math.sign(compareKeys(logKey(t1, o1), logKey(t2, o2)))).toBe(want);
    }));
    fc.assert(fc.property(fc.nat(3), fc.maxSafeNat(), fc.nat(3), fc.maxSafeNat(), (p1, s1, p2, s2) => {
      const want = p1 !== p2 ? Math.sign(p1 - p2) : Math.sign(s1 - s2);
      expect(Math.sign(compareKeys(pendingKey(7, p1, s1), pendingKey(7, p2, s2)))).toBe(want);
    }));
  });
  it("prefixRange covers exactly the keys with the prefix", () => {
    const r = prefixRange(Uint8Array.of(1, 0xff));
    expect([...r.gte]).toEqual([1, 0xff]);
    expect([...r.lt]).toEqual([2]);
  });
});

describe("Txn: reads see the database plus the write set", () => {
  it("scan merges stored keys and the overlay like a sorted map (property)", async () => {
    const dir = await tempDir();
    const store = await BrokerStore.open(dir);
    try {
      const key = fc.nat(40).map((n) => Uint8Array.of(0x10, n));
      const ops = fc.array(fc.tuple(fc.boolean(), key, fc.nat(255)), { maxLength: 30 });
      await fc.assert(fc.asyncProperty(ops, ops, fc.nat(40), fc.nat(40), fc.nat(10), async (stored, overlay, a, b, limit) => {
        await store.db.clear();
        const model = new Map<number, number>();
        for (const [put, k, v] of stored) {
          if (put) {
            await store.db.put(k, Uint8Array.of(v));
            model.set(k[1] as number, v);
          } else {
            await store.db.del(k);
            model.delete(k[1] as number);
          }
        }
        const txn = new Txn(store.db);
        for (const [put, k, v] of overlay) {
          if (put) {
            txn.put(k, Uint8Array.of(v));
            model.set(k[1] as number, v);
          } else {
            txn.del(k);
            model.delete(k[1] as number);
          }
        }
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const got: [number, number][] = [];
        for await (const [k, v] of txn.scan({ gte: Uint8Array.of(0x10, lo), lt: Uint8Array.of(0x10, hi) }, limit)) got.push([k[1] as number, v[0] as number]);
        const want = [...model.entries()].filter(([k]) => k >= lo && k < hi).sort((x, y) => x[0] - y[0]).slice(0, limit);
        expect(got).toEqual(want);
        for (const [k, v] of model) expect((await txn.get(Uint8Array.of(0x10, k)))?.[0]).toBe(v);
      }), { numRuns: 60 });
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
