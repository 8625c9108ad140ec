/**
 * The broker snapshot is a byte stream (StateMachine contract): whatever the
 * chunk boundaries the snapshot store or the peer transport choose, restore
 * must rebuild the same state, and any stream that would not restore
 * completely is refused with SNAPSHOT_INVALID before it replaces anything.
 */
import { rm } from "node:fs/promises";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerStateMachine } from "../../src/broker-state-machine.ts";
import { RecordReader, SnapshotEncoder, SnapshotFormatError, decodeSnapshot, encodeRecord } from "../../src/store/snapshot-codec.ts";
import { BrokerStore } from "../../src/store/store.ts";
import { Harness, tempDir } from "../helpers/harness.ts";

/** Concatenates a stream's chunks. */
async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

/** Re-cuts `bytes` at the given (sorted, deduplicated) offsets, as a transport would. */
async function* cutAt(bytes: Uint8Array, cuts: readonly number[]): AsyncGenerator<Uint8Array> {
  let from = 0;
  for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (c <= from || c >= bytes.byteLength) continue;
    yield bytes.subarray(from, c);
    from = c;
  }
  yield bytes.subarray(from);
}

/** Fixed-size pieces, as ChunkReader produces them. */
async function* fixedPieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

/** Every key and value of `pairs` records, decoded from a stream. */
async function decodeAll(chunks: AsyncIterable<Uint8Array>): Promise<[number[], number[]][]> {
  const out: [number[], number[]][] = [];
  await decodeSnapshot(chunks, async (pairs) => {
    for (const [k, v] of pairs) out.push([[...k], [...v]]);
  });
  return out;
}

describe("snapshot codec: records survive any re-chunking", () => {
  const pair = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.uint8Array({ maxLength: 300 }));
  const records = fc.array(fc.array(pair, { minLength: 1, maxLength: 8 }), { maxLength: 6 });

  function encodeStream(recs: readonly (readonly [Uint8Array, Uint8Array])[][]): Uint8Array {
    const enc = new SnapshotEncoder();
    return Buffer.concat([enc.header(), ...recs.map((r) => enc.pairsRecord(r.flat())), enc.trailer()]);
  }

  it("decodes the same pairs for arbitrary cut points (property)", async () => {
    await fc.assert(fc.asyncProperty(records, fc.array(fc.nat(), { maxLength: 40 }), async (recs, rawCuts) => {
      const bytes = encodeStream(recs);
      const want = recs.flat().map(([k, v]) => [[...k], [...v]]);
      const cuts = rawCuts.map((c) => c % (bytes.byteLength + 1));
      expect(await decodeAll(cutAt(bytes, cuts))).toEqual(want);
    }), { numRuns: 300 });
  });

  it("decodes one byte at a time and in fixed pieces of every small size", async () => {
    const recs = [[[Uint8Array.of(1), new Uint8Array(700).fill(7)] as const], [[Uint8Array.of(2, 3), Uint8Array.of(9)] as const]];
    const bytes = encodeStream(recs);
    for (let size = 1; size <= 40; size++) {
      expect(await decodeAll(fixedPieces(bytes, size))).toHaveLength(2);
    }
  });

  it("refuses every truncation of a stream (property)", async () => {
    await fc.assert(fc.asyncProperty(records, fc.nat(), async (recs, at) => {
      const bytes = encodeStream(recs);
      const cut = at % bytes.byteLength; // strictly shorter than the whole stream
      await expect(decodeAll(fixedPieces(bytes.subarray(0, cut), 64))).rejects.toBeInstanceOf(SnapshotFormatError);
    }), { numRuns: 200 });
  });

  it("refuses a damaged byte anywhere (property)", async () => {
    await fc.assert(fc.asyncProperty(records, fc.nat(), fc.integer({ min: 1, max: 255 }), async (recs, at, flip) => {
      const bytes = Uint8Array.from(encodeStream(recs));
      const i = at % bytes.byteLength;
      bytes[i] = (bytes[i] as number) ^ flip;
      const result = await decodeAll(fixedPieces(bytes, 50)).then(() => "accepted", (e: unknown) => e);
      // A flip inside the header's or trailer's msgpack may still decode to a value; it must then be refused by content.
      expect(result).toBeInstanceOf(SnapshotFormatError);
    }), { numRuns: 300 });
  });

  it("refuses trailing data, a missing header, an unknown version and a huge record length", async () => {
    const good = encodeStream([[[Uint8Array.of(1), Uint8Array.of(2)]]]);
    const expectRefused = async (bytes: Uint8Array, what: RegExp): Promise<void> => {
      const err = await decodeAll(fixedPieces(bytes, 7)).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(SnapshotFormatError);
      expect((err as SnapshotFormatError).code).toBe("SNAPSHOT_INVALID");
      expect((err as Error).message).toMatch(what);
    };
    await expectRefused(Buffer.concat([good, encodeRecord([Uint8Array.of(5), Uint8Array.of(6)])]), /after the trailer/);
    await expectRefused(encodeRecord([Uint8Array.of(5), Uint8Array.of(6)]), /header/);
    await expectRefused(encodeRecord({ format: "raftbus-broker-snapshot", version: 1 }), /version 1/);
    await expectRefused(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0), /exceeds/);
    await expectRefused(new Uint8Array(0), /empty/);
  });

  it("the reader never holds more than one unfinished record", () => {
    const r = new RecordReader();
    const rec = encodeRecord(["x".repeat(1000)]);
    expect(r.push(rec.subarray(0, 500))).toEqual([]);
    const done = r.push(Buffer.concat([rec.subarray(500), rec]));
    expect(done.map((d) => d.byteLength)).toEqual([rec.byteLength, rec.byteLength]);
    r.finish();
  });
});

describe("BrokerStore: a real state restored from arbitrary re-chunkings", () => {
  let h: Harness;
  let snapshotBytes: Uint8Array;
  let digest: string;

  beforeAll(async () => {
    h = await Harness.open();
    // Enough data for several pairs records (each cut near 256 KiB).
    for (let i = 0; i < 120; i++) await h.pub(`snap.t${i % 3}`, { i, pad: "p".repeat(6000) });
    await h.subscribe({ pattern: "snap.*", name: "snap-sub" } as never);
    snapshotBytes = await collect(h.bsm.snapshot());
    digest = await h.bsm.digest();
  });

  afterAll(async () => {
    await h.bsm.close();
    await rm(h.dir, { recursive: true, force: true });
  });

  it("restores byte-identical state whatever the cut points (property)", async () => {
    const dir = await tempDir();
    const dst = await BrokerStateMachine.open(dir);
    try {
      await fc.assert(fc.asyncProperty(fc.array(fc.nat(), { maxLength: 30 }), async (rawCuts) => {
        const cuts = rawCuts.map((c) => c % (snapshotBytes.byteLength + 1));
        await dst.restore({ index: h.index, term: 1, conf: { voters: [], learners: [] } }, cutAt(snapshotBytes, cuts));
        expect(await dst.digest()).toBe(digest);
        expect(dst.appliedIndex()).toBe(h.index);
      }), { numRuns: 8 });
    } finally {
      await dst.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("verifySnapshot accepts it in any cut and refuses a truncated one or one of another index", async () => {
    const meta = { index: h.index, term: 1, conf: { voters: [], learners: [] } };
    await h.bsm.verifySnapshot(meta, fixedPieces(snapshotBytes, 1000));
    await expect(h.bsm.verifySnapshot(meta, fixedPieces(snapshotBytes.subarray(0, snapshotBytes.byteLength - 3), 1000)))
      .rejects.toThrow(/truncated|inside a record/);
    await expect(h.bsm.verifySnapshot({ ...meta, index: meta.index + 1 }, fixedPieces(snapshotBytes, 1000)))
      .rejects.toThrow(/holds broker state at index/);
  });

  it("a refused restore keeps the old state", async () => {
    const dir = await tempDir();
    const store = await BrokerStore.open(dir);
    try {
      await store.db.put(Uint8Array.of(0x42), Uint8Array.of(1));
      const before = await store.digest();
      await expect(store.restore(fixedPieces(snapshotBytes.subarray(0, snapshotBytes.byteLength >> 1), 4096), async () => undefined))
        .rejects.toBeInstanceOf(SnapshotFormatError);
      expect(await store.digest()).toBe(before);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("BrokerStateMachine.snapshot(): the state of the moment it is asked for", () => {
  it("holds that state even when the stream is read after later applies", async () => {
    // The Raft driver calls snapshot() and reads the stream while it keeps
    // applying entries: the stream must be pinned when snapshot() returns,
    // not when its first chunk is read.
    const h = await Harness.open();
    const dir = await tempDir();
    const dst = await BrokerStateMachine.open(dir);
    try {
      for (let i = 0; i < 40; i++) await h.pub(`pin.t${i % 2}`, { i, pad: "p".repeat(4000) });
      const index = h.index;
      const digest = await h.bsm.digest();
      const stream = h.bsm.snapshot();
      for (let i = 0; i < 40; i++) await h.pub(`pin.t${i % 2}`, { later: i });
      expect(await h.bsm.digest()).not.toBe(digest);
      await dst.restore({ index, term: 1, conf: { voters: [], learners: [] } }, stream);
      expect(await dst.digest()).toBe(digest);
      expect(dst.appliedIndex()).toBe(index);
    } finally {
      await dst.close();
      await h.bsm.close();
      await rm(dir, { recursive: true, force: true });
      await rm(h.dir, { recursive: true, force: true });
    }
  });
});
