/**
 * Snapshot stores: one behavioural suite for both implementations (round
 * trip, latest/prune, receive, resume, supersede), then what only files
 * have: corruption detected on read and at load, resume across a restart
 * with a torn tail, leftovers of interrupted saves cleaned up.
 */
import { appendFile, readdir, readFile, truncate, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SnapshotMeta } from "../../src/core/types.ts";
import { FRAME_HEADER_BYTES, trailerPayload } from "../../src/storage/snapshot-store-frame.ts";
import { FileSnapshotStore } from "../../src/storage/snapshot-store-file.ts";
import { MemorySnapshotStore } from "../../src/storage/snapshot-store-memory.ts";
import type { SnapshotStore } from "../../src/storage/snapshot-store.ts";
import { TempDirs, bytes, chunked, collect } from "./helpers.ts";

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** Small chunks so that a few hundred bytes already span several frames. */
const CHUNK_MAX = 64;
const CONF = { voters: ["a", "b", "c"], learners: [] };
const meta = (index: number, term = 2): SnapshotMeta => ({ index, term, conf: CONF });

const backends: Array<[string, () => Promise<SnapshotStore>]> = [
  ["MemorySnapshotStore", async () => new MemorySnapshotStore({ chunkBytesMax: CHUNK_MAX })],
  ["FileSnapshotStore", async () => FileSnapshotStore.load(await dirs.make("raftbus-snap-"), { chunkBytesMax: CHUNK_MAX })],
];

for (const [name, make] of backends) {
  describe(`snapshot store: ${name}`, () => {
    it("round trip: chunks of any size come back as the same bytes", async () => {
      const store = await make();
      const data = bytes(1000, 7);
      await store.save(meta(10), chunked(data, 150));
      expect(store.latest()).toEqual(meta(10));
      const back = [];
      for await (const c of store.open(10)) back.push(c);
      expect(back.every((c) => c.length <= CHUNK_MAX)).toBe(true);
      expect(await collect(store.open(10))).toEqual(data);
    });

    it("an empty snapshot round-trips", async () => {
      const store = await make();
      await store.save(meta(3), chunked(new Uint8Array(0), 1));
      expect(await collect(store.open(3))).toEqual(new Uint8Array(0));
    });

    it("open() of a snapshot that is not stored throws STORAGE_NOT_FOUND", async () => {
      const store = await make();
      expect(store.latest()).toBeUndefined();
      expect(() => store.open(5)).toThrow(expect.objectContaining({ code: "STORAGE_NOT_FOUND" }));
    });

    it("latest() is the highest index; prune keeps keepIndex and newer, never the latest", async () => {
      const store = await make();
      for (const i of [5, 20, 10]) await store.save(meta(i), chunked(bytes(10, i), 4));
      expect(store.latest()?.index).toBe(20);
      await store.prune(10);
      expect(() => store.open(5)).toThrow(expect.objectContaining({ code: "STORAGE_NOT_FOUND" }));
      expect(await collect(store.open(10))).toEqual(bytes(10, 10));
      await store.prune(1000);
      expect(store.latest()?.index).toBe(20);
      expect(await collect(store.open(20))).toEqual(bytes(10, 20));
    });

    it("a failed save leaves nothing visible", async () => {
      const store = await make();
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield bytes(100);
        throw new Error("state machine failed mid-snapshot");
      }
      await expect(store.save(meta(4), failing())).rejects.toThrow(/mid-snapshot/);
      expect(store.latest()).toBeUndefined();
    });

    it("receive: chunks written at their offsets, visible only after commit", async () => {
      const store = await make();
      const data = bytes(500, 3);
      const r = await store.beginReceive(meta(30, 4));
      expect(r.receivedBytes).toBe(0);
      for (let at = 0; at < data.length; at += 100) await r.write(data.subarray(at, at + 100), at);
      expect(store.latest()).toBeUndefined();
      await r.commit();
      expect(store.latest()).toEqual(meta(30, 4));
      expect(await collect(store.open(30))).toEqual(data);
      await expect(r.write(bytes(1), 500)).rejects.toMatchObject({ code: "STORAGE_CLOSED" });
    });

    it("resume: a reconnecting sender gets the same receiver and continues from receivedBytes", async () => {
      const store = await make();
      const data = bytes(400, 9);
      const first = await store.beginReceive(meta(8));
      await first.write(data.subarray(0, 150), 0);
      const again = await store.beginReceive(meta(8));
      expect(again.receivedBytes).toBe(150);
      await again.write(data.subarray(100, 200), 100); // overlap: only 150..200 is new
      await again.write(data.subarray(0, 50), 0); // full duplicate: ignored
      expect(again.receivedBytes).toBe(200);
      await expect(again.write(data.subarray(300), 300)).rejects.toMatchObject({ code: "STORAGE_BAD_OFFSET", have: 200 });
      await again.write(data.subarray(200), 200);
      await again.commit();
      expect(await collect(store.open(8))).toEqual(data);
    });

    it("abort discards what was received; another snapshot supersedes one in progress", async () => {
      const store = await make();
      const r = await store.beginReceive(meta(8));
      await r.write(bytes(100), 0);
      await r.abort();
      expect((await store.beginReceive(meta(8))).receivedBytes).toBe(0);
      const old = await store.beginReceive(meta(8));
      await old.write(bytes(10), 0);
      const newer = await store.beginReceive(meta(12, 3));
      expect(newer.receivedBytes).toBe(0);
      await expect(old.write(bytes(10), 10)).rejects.toMatchObject({ code: "STORAGE_CLOSED" });
      expect((await store.beginReceive(meta(8))).receivedBytes).toBe(0);
    });
  });
}

describe("snapshot store: FileSnapshotStore on disk", () => {
  async function savedFile(): Promise<{ dir: string; file: string; data: Uint8Array }> {
    const dir = await dirs.make("raftbus-snap-");
    const store = await FileSnapshotStore.load(dir, { chunkBytesMax: CHUNK_MAX });
    const data = bytes(300, 5);
    await store.save(meta(7), chunked(data, 100));
    return { dir, file: path.join(dir, (await readdir(dir)).find((n) => n.endsWith(".snap"))!), data };
  }

  async function readError(dir: string): Promise<unknown> {
    const store = await FileSnapshotStore.load(dir, { chunkBytesMax: CHUNK_MAX });
    return collect(store.open(7)).then(() => new Error("read a damaged file"), (e: unknown) => e);
  }

  it("survives a restart: a new store sees the snapshot", async () => {
    const { dir, data } = await savedFile();
    const store = await FileSnapshotStore.load(dir, { chunkBytesMax: CHUNK_MAX });
    expect(store.latest()).toEqual(meta(7));
    expect(await collect(store.open(7))).toEqual(data);
  });

  it("a flipped byte in the data is a checksum mismatch", async () => {
    const { dir, file } = await savedFile();
    const buf = await readFile(file);
    buf[150]! ^= 0x20;
    await writeFile(file, buf);
    expect(await readError(dir)).toMatchObject({ code: "STORAGE_CORRUPT", message: expect.stringMatching(/checksum mismatch/) });
  });

  it("a file cut short is detected (no END frame), even at a frame boundary", async () => {
    const { dir, file } = await savedFile();
    const size = (await readFile(file)).length;
    // 300 bytes in 100-byte chunks split at 64: 64+36 three times. Cut the END frame off whole.
    const endFrame = FRAME_HEADER_BYTES + trailerPayload({ chunks: 6, bytes: 300 }).length;
    await truncate(file, size - endFrame);
    expect(await readError(dir)).toMatchObject({ code: "STORAGE_CORRUPT", message: expect.stringMatching(/no END frame/) });
  });

  it("a file cut in the middle of a frame is detected", async () => {
    const { dir, file } = await savedFile();
    await truncate(file, 100);
    expect(await readError(dir)).toMatchObject({ code: "STORAGE_CORRUPT", message: expect.stringMatching(/truncated/) });
  });

  it("garbage after the END frame is detected", async () => {
    const { dir, file } = await savedFile();
    await appendFile(file, Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 0));
    expect(await readError(dir)).toMatchObject({ code: "STORAGE_CORRUPT" });
  });

  it("a damaged header is refused at load", async () => {
    const { dir, file } = await savedFile();
    const buf = await readFile(file);
    buf[0] = 0;
    await writeFile(file, buf);
    await expect(FileSnapshotStore.load(dir)).rejects.toMatchObject({ code: "STORAGE_CORRUPT", message: expect.stringMatching(/magic/) });
  });

  it("temp files of an interrupted save are removed at load", async () => {
    const dir = await dirs.make("raftbus-snap-");
    await writeFile(path.join(dir, "snap-0000000000000009.0.tmp"), bytes(50));
    const store = await FileSnapshotStore.load(dir);
    expect(store.latest()).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  it("resume after a restart: the partial file is kept and its torn tail cut off", async () => {
    const dir = await dirs.make("raftbus-snap-");
    const data = bytes(400, 11);
    const store = await FileSnapshotStore.load(dir, { chunkBytesMax: CHUNK_MAX });
    const r = await store.beginReceive(meta(9, 3));
    await r.write(data.subarray(0, 256), 0); // 4 frames of 64
    await store.close();
    const part = path.join(dir, (await readdir(dir)).find((n) => n.endsWith(".part"))!);
    await truncate(part, (await readFile(part)).length - 10); // a crash tore the last frame
    const reopened = await FileSnapshotStore.load(dir, { chunkBytesMax: CHUNK_MAX });
    const resumed = await reopened.beginReceive(meta(9, 3));
    expect(resumed.receivedBytes).toBe(192);
    await resumed.write(data.subarray(192), 192);
    await resumed.commit();
    expect(await collect(reopened.open(9))).toEqual(data);
    expect((await readdir(dir)).filter((n) => n.endsWith(".part"))).toEqual([]);
  });

  it("a partial file of another term at the same index is not resumed", async () => {
    const dir = await dirs.make("raftbus-snap-");
    const store = await FileSnapshotStore.load(dir);
    await (await store.beginReceive(meta(9, 3))).write(bytes(100), 0);
    await store.close();
    const reopened = await FileSnapshotStore.load(dir);
    expect((await reopened.beginReceive(meta(9, 4))).receivedBytes).toBe(0);
  });
});
