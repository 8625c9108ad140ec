/**
 * Every broker record carries a checksum verified on read (issue 13 item 7):
 * damage written under the broker's own encoding is caught at open for the
 * records open reads (STORAGE_CORRUPT, naming the broker state) and on read
 * for the rest; a volume that forgets the encoding is refused.
 */
import { join } from "node:path";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { BrokerStateMachine } from "../../src/broker-state-machine.ts";
import { frameValue, storageCorruption, unframeValue } from "../../src/store/checksum.ts";
import { logKey, topicKey } from "../../src/store/keys.ts";
import { BrokerStore } from "../../src/store/store.ts";
import type { BinaryDb, StoreVolume } from "../../src/store/volume.ts";
import { Harness, json } from "../helpers/harness.ts";

/** Opens the live state directory raw (no checksum encoding), lets `fn` damage it, closes it. */
async function damageRaw(dir: string, fn: (db: Level<Uint8Array, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(join(dir, "state-1"), { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

async function flipLastByte(db: Level<Uint8Array, Uint8Array>, key: Uint8Array): Promise<void> {
  const v = await db.get(key);
  if (v === undefined) throw new Error("test setup: key missing");
  const copy = Uint8Array.from(v);
  copy[copy.length - 1]! ^= 0x01;
  await db.put(key, copy);
}

describe("broker record checksums", () => {
  it("frame/unframe round-trips any value, and any single flipped bit is caught", () => {
    const value = json({ hello: "world", n: 42 });
    const framed = frameValue(value);
    expect([...unframeValue(framed)]).toEqual([...value]);
    for (let bit = 0; bit < framed.length * 8; bit++) {
      const bad = Uint8Array.from(framed);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => unframeValue(bad)).toThrow(expect.objectContaining({ code: "STORAGE_CORRUPT" }) as Error);
    }
    expect(() => unframeValue(Uint8Array.of(1, 2))).toThrow(/shorter than its 4-byte checksum/);
    expect([...unframeValue(frameValue(new Uint8Array(0)))]).toEqual([]);
  });

  it("a damaged topic record: the broker refuses to open with STORAGE_CORRUPT", async () => {
    const h = await Harness.open();
    await h.publish([{ topic: "orders", payload: json({ n: 1 }) }]);
    await h.bsm.close();
    await damageRaw(h.dir, (db) => flipLastByte(db, topicKey(1)));
    const err: unknown = await BrokerStateMachine.open(h.dir).then(async (b) => {
      await b.close();
      return new Error("opened a damaged broker state");
    }, (e: unknown) => e);
    expect(err).toMatchObject({ code: "STORAGE_CORRUPT", name: "StorageCorruptError" });
    expect((err as Error).message).toMatch(/broker state \(.*\).*checksum mismatch/);
  });

  it("a damaged message: the broker opens, and reading that message fails with STORAGE_CORRUPT (never garbage)", async () => {
    const h = await Harness.open();
    await h.publish([{ topic: "orders", payload: json({ n: 1 }) }, { topic: "orders", payload: json({ n: 2 }) }]);
    await h.bsm.close();
    await damageRaw(h.dir, (db) => flipLastByte(db, logKey(1, 1)));
    const bsm = await BrokerStateMachine.open(h.dir);
    try {
      const err: unknown = await bsm.readMessages("orders", 0, 10).then(() => new Error("read a damaged message"), (e: unknown) => e);
      expect(storageCorruption(err)?.message).toMatch(/checksum mismatch/);
      expect((await bsm.readMessages("orders", 0, 1)).map((m) => m.offset)).toEqual([0]);
    } finally {
      await bsm.close();
    }
  });

  it("a volume that opens databases without the checksum encoding is refused", async () => {
    const plain: StoreVolume = {
      label: "plain",
      readCurrent: () => Promise.resolve(1),
      writeCurrent: () => Promise.resolve(),
      generations: () => Promise.resolve([1]),
      open: async () => {
        const { MemoryLevel } = await import("memory-level");
        const db = new MemoryLevel<Uint8Array, Uint8Array>({ storeEncoding: "view", keyEncoding: "view", valueEncoding: "view" });
        await db.open();
        return db as unknown as BinaryDb;
      },
      remove: () => Promise.resolve(),
    };
    await expect(BrokerStore.open(plain)).rejects.toThrow(/must carry checksums/);
  });
});
