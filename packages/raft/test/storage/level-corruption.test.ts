/**
 * Damage on disk is caught at open and never becomes part of the log: each
 * test writes a healthy directory, damages one record through LevelDB
 * directly, and expects STORAGE_CORRUPT naming the record and the problem.
 */
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { crc32 } from "../../src/storage/checksum.ts";
import { BASE_KEY, HARD_STATE_KEY, IDENTITY_KEY, SNAPSHOT_KEY, logKey } from "../../src/storage/keys.ts";
import { encodeRecord, entryRecord } from "../../src/storage/level-codec.ts";
import { LevelStorage } from "../../src/storage/level-storage.ts";
import { TempDirs, entries, entry } from "./helpers.ts";

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** A closed directory holding entries 1..5 with terms 1,1,2,2,3 and a hard state. */
async function healthy(): Promise<string> {
  const dir = await dirs.make();
  const s = await LevelStorage.open(dir, { nodeId: "n1" });
  await s.write({ entries: entries(1, [1, 1, 2, 2, 3]), hardState: { term: 3, vote: "n1", commit: 2 } }, { sync: true });
  await s.close();
  return dir;
}

/** Opens the directory raw, lets `fn` damage it, closes it. */
async function damage(dir: string, fn: (db: Level<Uint8Array, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

async function stored(db: Level<Uint8Array, Uint8Array>, key: Uint8Array): Promise<Uint8Array> {
  const v = await db.get(key);
  if (v === undefined) throw new Error("test setup: key missing");
  return Uint8Array.from(v);
}

/** A well-framed record whose payload is `payload` (valid CRC over key and payload). */
function framed(key: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc32(payload, crc32(key)));
  out.set(payload, 8);
  return out;
}

async function expectCorrupt(dir: string, message: RegExp): Promise<void> {
  const err: unknown = await LevelStorage.open(dir, { nodeId: "n1" }).then(
    async (s) => {
      await s.close();
      return new Error("opened a damaged directory");
    },
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ code: "STORAGE_CORRUPT", name: "StorageCorruptError" });
  expect((err as Error).message).toMatch(message);
}

describe("LevelStorage: corruption is detected at open", () => {
  it("a flipped bit in an entry's payload: checksum mismatch at that index", async () => {
    const dir = await healthy();
    await damage(dir, async (db) => {
      const v = await stored(db, logKey(3));
      v[v.length - 1]! ^= 0x01;
      await db.put(logKey(3), v);
    });
    await expectCorrupt(dir, /log\[3\].*checksum mismatch/);
  });

  it("a flipped bit in the stored checksum itself", async () => {
    const dir = await healthy();
    await damage(dir, async (db) => {
      const v = await stored(db, logKey(2));
      v[5]! ^= 0x80;
      await db.put(logKey(2), v);
    });
    await expectCorrupt(dir, /log\[2\].*checksum mismatch/);
  });

  it("a truncated record: length mismatch", async () => {
    const dir = await healthy();
    await damage(dir, async (db) => db.put(logKey(4), (await stored(db, logKey(4))).subarray(0, -3)));
    await expectCorrupt(dir, /log\[4\].*truncated/);
  });

  it("a record shorter than its header", async () => {
    const dir = await healthy();
    await damage(dir, (db) => db.put(logKey(1), Uint8Array.of(0, 0, 1)));
    await expectCorrupt(dir, /log\[1\].*shorter than its 8-byte header/);
  });

  it("a missing entry: gap in the log", async () => {
    const dir = await healthy();
    await damage(dir, (db) => db.del(logKey(3)));
    await expectCorrupt(dir, /log\[3\].*missing.*gap/);
  });

  it("an entry's bytes moved under another index: the checksum covers the key", async () => {
    const dir = await healthy();
    await damage(dir, async (db) => db.put(logKey(3), await stored(db, logKey(4))));
    await expectCorrupt(dir, /log\[3\].*checksum mismatch/);
  });

  it("an entry claiming another index than its key", async () => {
    const dir = await healthy();
    await damage(dir, (db) => db.put(logKey(3), encodeRecord(logKey(3), entryRecord(entry(4, 2)))));
    await expectCorrupt(dir, /log\[3\].*claims index 4/);
  });

  it("a term going down along the log", async () => {
    const dir = await healthy();
    await damage(dir, (db) => db.put(logKey(4), encodeRecord(logKey(4), entryRecord(entry(4, 1)))));
    await expectCorrupt(dir, /log\[4\].*term 1 is lower than 2/);
  });

  it("a payload that is not msgpack (cut short inside a value)", async () => {
    const dir = await healthy();
    // fixarray of 2 holding only one element: the decoder runs out of input.
    await damage(dir, (db) => db.put(logKey(2), framed(logKey(2), Uint8Array.of(0x92, 0x01))));
    await expectCorrupt(dir, /log\[2\].*not valid msgpack/);
  });

  it("a payload with trailing bytes after the msgpack value", async () => {
    const dir = await healthy();
    await damage(dir, (db) => db.put(logKey(2), framed(logKey(2), Uint8Array.of(0x01, 0x02))));
    await expectCorrupt(dir, /log\[2\].*not valid msgpack/);
  });

  it("valid msgpack that is not an entry", async () => {
    const dir = await healthy();
    await damage(dir, (db) => db.put(logKey(2), encodeRecord(logKey(2), { index: 2, term: "two" })));
    await expectCorrupt(dir, /log\[2\].*not a log entry/);
  });

  it("a damaged hard state", async () => {
    const dir = await healthy();
    await damage(dir, async (db) => {
      const v = await stored(db, HARD_STATE_KEY);
      v[9]! ^= 0xff;
      await db.put(HARD_STATE_KEY, v);
    });
    await expectCorrupt(dir, /hardState.*checksum mismatch/);
  });

  it("a missing snapshot record", async () => {
    const dir = await healthy();
    await damage(dir, (db) => db.del(SNAPSHOT_KEY));
    await expectCorrupt(dir, /snapshot.*missing/);
  });

  it("a snapshot beyond the end of the log", async () => {
    const dir = await healthy();
    const meta = { index: 9, term: 3, conf: { voters: [], learners: [] } };
    await damage(dir, (db) => db.put(SNAPSHOT_KEY, encodeRecord(SNAPSHOT_KEY, meta)));
    await expectCorrupt(dir, /snapshot.*outside the stored log \[0, 5\]/);
  });

  it("a compaction point whose term disagrees with the first entry", async () => {
    const dir = await healthy();
    await damage(dir, (db) => db.put(BASE_KEY, encodeRecord(BASE_KEY, { index: 2, term: 7 })));
    await expectCorrupt(dir, /log\[3\].*term 2 is lower than 7/);
  });

  it("records without an identity", async () => {
    const dir = await healthy();
    await damage(dir, (db) => db.del(IDENTITY_KEY));
    await expectCorrupt(dir, /identity.*missing but the database holds data/);
  });

  it("a lost tail under a hard state that commits it: the commit index points past the log", async () => {
    const dir = await healthy();
    await damage(dir, async (db) => {
      await db.put(HARD_STATE_KEY, encodeRecord(HARD_STATE_KEY, { term: 3, vote: "n1", commit: 5 }));
      await db.del(logKey(5));
      await db.del(logKey(4));
    });
    await expectCorrupt(dir, /log: hard state commits index 5 but the log ends at 3.*lost its tail/);
  });
});
