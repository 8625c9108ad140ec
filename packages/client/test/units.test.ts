/** Small pure pieces: back-off, the LRU set, payload encoding, server list parsing. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseServers } from "../src/client.ts";
import { decodeJson, encodePayload } from "../src/payload.ts";
import { isRaftbusError, RaftbusError } from "../src/protocol/index.ts";
import { backoffDelayMs } from "../src/util/backoff.ts";
import { LruSet } from "../src/util/lru.ts";
import { randomId } from "../src/util/ids.ts";

describe("backoff", () => {
  it("grows exponentially, caps at maxMs, and jitters within [d/2, d]", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 0.999_999, noNaN: true }), (attempt, r) => {
      const d = Math.min(5000, 100 * 2 ** (attempt - 1));
      const delay = backoffDelayMs(attempt, { initialMs: 100, maxMs: 5000 }, () => r);
      expect(delay).toBeGreaterThanOrEqual(Math.floor(d / 2));
      expect(delay).toBeLessThanOrEqual(d);
    }));
    expect([1, 2, 3, 4, 10].map((a) => backoffDelayMs(a, { initialMs: 100, maxMs: 1000 }, () => 0.999_999_9))).toEqual([100, 200, 400, 800, 1000]);
  });
});

describe("LruSet", () => {
  it("keeps at most capacity keys and evicts the least recently used", () => {
    const lru = new LruSet<string>(3);
    for (const k of ["a", "b", "c"]) lru.add(k);
    expect(lru.has("a")).toBe(true); // touches a
    lru.add("d"); // evicts b
    expect([lru.has("a"), lru.has("b"), lru.has("c"), lru.has("d"), lru.size]).toEqual([true, false, true, true, 3]);
  });

  it("matches a naive model", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { maxLength: 200 }), (ops) => {
      const lru = new LruSet<number>(4);
      let model: number[] = [];
      for (const [add, k] of ops) {
        if (add) {
          model = [...model.filter((x) => x !== k), k].slice(-4);
          lru.add(k);
        } else {
          const has = model.includes(k);
          if (has) model = [...model.filter((x) => x !== k), k];
          expect(lru.has(k)).toBe(has);
        }
      }
      expect(lru.size).toBe(model.length);
    }));
  });
});

describe("payload", () => {
  it("encodes bytes, strings and JSON, and refuses what JSON cannot encode", () => {
    expect(encodePayload(new Uint8Array([1]))).toEqual(new Uint8Array([1]));
    expect(encodePayload(new Uint16Array([1]))).toEqual(new Uint8Array([1, 0]));
    expect(encodePayload(new ArrayBuffer(2))).toEqual(new Uint8Array(2));
    expect(decodeJson(encodePayload({ a: [1, null] }))).toEqual({ a: [1, null] });
    expect(decodeJson(encodePayload(null))).toBeNull();
    expect(() => encodePayload({ n: 1n })).toThrow(RaftbusError);
    expect(() => encodePayload((() => 1) as unknown as object)).toThrow(/not JSON-encodable/);
    expect(() => decodeJson(new Uint8Array([0x7b]))).toThrow(RaftbusError);
  });
});

describe("misc", () => {
  it("parses server lists", () => {
    expect(parseServers("ws://a:1, wss://b:2")).toEqual(["ws://a:1", "wss://b:2"]);
    expect(() => parseServers("a:1")).toThrow(/ws:\/\//);
  });

  it("makes topic-safe random ids", () => {
    expect(randomId()).toMatch(/^[a-z0-9]{16}$/);
  });

  it("RaftbusError round-trips its wire form and is recognised by code", () => {
    const err = new RaftbusError("NOT_LEADER", "follower", { leaderHint: "ws://x:1", details: { term: 3 } });
    expect(RaftbusError.fromInfo(err.toInfo())).toMatchObject({ code: "NOT_LEADER", leaderHint: "ws://x:1", details: { term: 3 } });
    expect(isRaftbusError(err, "NOT_LEADER")).toBe(true);
    expect(isRaftbusError(err, "TIMEOUT")).toBe(false);
    expect(isRaftbusError(new Error("x"))).toBe(false);
  });
});
