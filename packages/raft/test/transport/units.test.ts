/**
 * The small pure pieces of the transport: back-off, the bounded send queue,
 * the handshake MAC and the snapshot re-chunker.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvariantError } from "../../src/core/assert.ts";
import { Backoff, backoffDelayMs } from "../../src/transport/backoff.ts";
import { ChunkReader } from "../../src/transport/chunk-reader.ts";
import { SnapshotError } from "../../src/transport/errors.ts";
import { computeAuth, makeNonce, verifyAuth } from "../../src/transport/handshake.ts";
import type { HandshakeTranscript } from "../../src/transport/handshake.ts";
import { SendQueue } from "../../src/transport/send-queue.ts";
import { BytesSource, expectSameBytes, meta, patternBytes } from "./helpers.ts";

describe("backoff", () => {
  const o = { initialMs: 100, maxMs: 5_000 };

  it("doubles per attempt, with equal jitter in [ceiling/2, ceiling]", () => {
    expect([0, 1, 2, 3].map((a) => backoffDelayMs(a, { ...o, random: () => 0 }))).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map((a) => backoffDelayMs(a, { ...o, random: () => 0.999999 }))).toEqual([100, 200, 400, 800]);
  });

  it("is capped at maxMs however many attempts failed", () => {
    expect(backoffDelayMs(10_000, { ...o, random: () => 0.999999 })).toBe(5_000);
    fc.assert(fc.property(fc.nat({ max: 1_000 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
      const d = backoffDelayMs(attempt, { ...o, random: () => r });
      expect(d).toBeGreaterThanOrEqual(o.initialMs / 2);
      expect(d).toBeLessThanOrEqual(o.maxMs);
    }));
  });

  it("next() grows and reset() starts over", () => {
    const b = new Backoff({ ...o, random: () => 0 });
    expect([b.next(), b.next(), b.next()]).toEqual([50, 100, 200]);
    b.reset();
    expect(b.next()).toBe(50);
  });

  it("rejects a random source outside [0, 1) and bad limits (bugs, so assertions)", () => {
    expect(() => backoffDelayMs(0, { ...o, random: () => 1 })).toThrow(InvariantError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5, random: Math.random })).toThrow(InvariantError);
  });
});

describe("send queue", () => {
  it("refuses the newest frame when the message limit is reached", () => {
    const q = new SendQueue({ queueMessagesMax: 2, queueBytesMax: 1_000 });
    expect([q.push(new Uint8Array(1)), q.push(new Uint8Array(2)), q.push(new Uint8Array(3))]).toEqual([true, true, false]);
    expect([q.length, q.byteLength]).toEqual([2, 3]);
  });

  it("refuses the newest frame when the byte limit would be exceeded", () => {
    const q = new SendQueue({ queueMessagesMax: 100, queueBytesMax: 10 });
    expect(q.push(new Uint8Array(6))).toBe(true);
    expect(q.push(new Uint8Array(5))).toBe(false);
    expect(q.push(new Uint8Array(4))).toBe(true);
    expect(q.byteLength).toBe(10);
  });

  it("take() returns FIFO batches within the byte budget", () => {
    const q = new SendQueue({ queueMessagesMax: 10, queueBytesMax: 100 });
    for (const n of [3, 3, 3, 5]) q.push(new Uint8Array(n).fill(n));
    expect(q.take(7).map((f) => f.byteLength)).toEqual([3, 3]);
    expect(q.take(7).map((f) => f.byteLength)).toEqual([3]);
    expect(q.take(7).map((f) => f.byteLength)).toEqual([5]);
    expect([q.length, q.byteLength, q.take(7).length]).toEqual([0, 0, 0]);
  });

  it("property: limits hold and order is preserved under any push/take sequence", () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.nat({ max: 40 }).map((n) => ({ push: n })), fc.nat({ max: 60 }).map((n) => ({ take: n }))), { maxLength: 200 }), (ops) => {
      const q = new SendQueue({ queueMessagesMax: 8, queueBytesMax: 64 });
      const model: number[] = [];
      let seq = 0;
      for (const op of ops) {
        if ("push" in op) {
          const f = new Uint8Array(op.push + 1);
          f[0] = seq++ & 0xff;
          const fits = model.length < 8 && model.reduce((a, b) => a + b, 0) + f.byteLength <= 64;
          expect(q.push(f)).toBe(fits);
          if (fits) model.push(f.byteLength);
        } else {
          const got = q.take(op.take).map((f) => f.byteLength);
          let budget = op.take;
          const want: number[] = [];
          while (model.length > 0 && (model[0] ?? 0) <= budget) {
            budget -= model[0] ?? 0;
            want.push(model.shift() ?? 0);
          }
          expect(got).toEqual(want);
        }
        expect(q.length).toBeLessThanOrEqual(8);
        expect(q.byteLength).toBeLessThanOrEqual(64);
        expect(q.byteLength).toBe(model.reduce((a, b) => a + b, 0));
      }
    }), { numRuns: 300 });
  });
});

describe("handshake MAC", () => {
  const t: HandshakeTranscript = { role: "dial", clusterId: "c1", from: "a", to: "b", peerNonce: makeNonce(), ownNonce: makeNonce() };
  const secret = "0123456789abcdef-secret";

  it("verifies with the same secret and transcript", () => {
    expect(verifyAuth(secret, t, computeAuth(secret, t))).toBe(true);
  });

  it("fails for another secret, role, id, cluster or nonce", () => {
    const tag = computeAuth(secret, t);
    expect(verifyAuth("another-secret-0123456", t, tag)).toBe(false);
    for (const change of [{ role: "accept" }, { from: "x" }, { to: "x" }, { clusterId: "c2" }, { peerNonce: makeNonce() }, { ownNonce: makeNonce() }] as const) {
      expect(verifyAuth(secret, { ...t, ...change }, tag)).toBe(false);
    }
    expect(verifyAuth(secret, t, tag.subarray(0, 31))).toBe(false);
  });

  it("field boundaries matter (length prefixes): ('ab','c') ≠ ('a','bc')", () => {
    expect(computeAuth(secret, { ...t, from: "ab", to: "c" })).not.toEqual(computeAuth(secret, { ...t, from: "a", to: "bc" }));
  });
});

describe("chunk reader", () => {
  async function readAll(r: ChunkReader): Promise<{ offset: number; bytes: number; done: boolean }[]> {
    const out = [];
    for (let i = 0; i < 10_000; i++) {
      const c = await r.next();
      out.push({ offset: c.offset, bytes: c.data.byteLength, done: c.done });
      if (c.done) return out;
    }
    throw new Error("no done chunk");
  }

  it("re-chunks to exact sizes and marks the last chunk done", async () => {
    const r = new ChunkReader(new BytesSource(patternBytes(10), 3).open(meta()), 4, 0);
    expect(await readAll(r)).toEqual([{ offset: 0, bytes: 4, done: false }, { offset: 4, bytes: 4, done: false }, { offset: 8, bytes: 2, done: true }]);
  });

  it("ends with an empty done chunk on a chunk boundary, and for an empty snapshot", async () => {
    expect(await readAll(new ChunkReader(new BytesSource(patternBytes(8), 5).open(meta()), 4, 0)))
      .toEqual([{ offset: 0, bytes: 4, done: false }, { offset: 4, bytes: 4, done: false }, { offset: 8, bytes: 0, done: true }]);
    expect(await readAll(new ChunkReader(new BytesSource(new Uint8Array(0)).open(meta()), 4, 0))).toEqual([{ offset: 0, bytes: 0, done: true }]);
  });

  it("property: any piece sizes, chunk size and resume offset reproduce the bytes from the offset", async () => {
    await fc.assert(fc.asyncProperty(fc.nat({ max: 300 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 40 }), fc.nat({ max: 300 }), async (size, piece, chunk, start0) => {
      const data = patternBytes(size, 7);
      const start = Math.min(start0, size);
      const r = new ChunkReader(new BytesSource(data, piece).open(meta()), chunk, start);
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 1_000; i++) {
        const c = await r.next();
        expect(c.data.byteLength).toBeLessThanOrEqual(chunk);
        parts.push(c.data);
        if (c.done) break;
      }
      expectSameBytes(new Uint8Array(Buffer.concat(parts)), data.subarray(start));
    }), { numRuns: 200 });
  });

  it("fails with SnapshotError when the source is shorter than the resume offset", async () => {
    const r = new ChunkReader(new BytesSource(patternBytes(5)).open(meta()), 4, 10);
    await expect(r.next()).rejects.toBeInstanceOf(SnapshotError);
  });
});
