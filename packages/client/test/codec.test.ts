/**
 * The frame codec, byte by byte and fuzzed: what goes on the wire is exactly
 * the documented msgpack, and whatever comes off it yields either a valid
 * typed frame or RaftbusError BAD_REQUEST — never another exception.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeClientFrame, decodeFrame, decodeServerFrame, DEFAULT_SERVER_LIMITS, encodeFrame, ERROR_CODES,
  FRAME_BYTES_MAX, RaftbusError, REQUEST_KINDS, REQUESTS,
  type Frame, type PublishMessage, type StoredMessage,
} from "../src/protocol/index.ts";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));

/** Decoded bytes are Buffers in Node (views into the frame); compare them as plain Uint8Arrays. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function badRequest(fn: () => unknown): RaftbusError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RaftbusError);
    expect((err as RaftbusError).code).toBe("BAD_REQUEST");
    return err as RaftbusError;
  }
  throw new Error("expected BAD_REQUEST, nothing was thrown");
}

const stored: StoredMessage = {
  id: "m1", topic: "system.health", payload: new Uint8Array([1, 2, 3]), senderId: "c1", timestamp: 1_700_000_000_000,
  priority: "high", guarantee: "at-least-once", maxRetries: 5, headers: { source: "agent" }, offset: 7, index: 42,
};

/** One sample of every frame type and request kind, all valid. */
const samples: Frame[] = [
  { t: "hello", version: 1, clientId: "abc", name: "dash", token: "secret" },
  { t: "welcome", version: 1, nodeId: "n1", leaderId: "n1", leaderAddress: "ws://127.0.0.1:7001", sessionId: "s1", limits: DEFAULT_SERVER_LIMITS },
  { t: "refused", error: { code: "UNAUTHORIZED", message: "bad token" } },
  { t: "req", id: 1, kind: "publish", body: { messages: [{ topic: "a.b", payload: new Uint8Array([0xff]), id: "x", producerId: "p", sequence: 3, headers: { k: "v" }, priority: "critical", guarantee: "exactly-once", ttlMs: 1000, maxRetries: 2, correlationId: "c" }] } },
  { t: "req", id: 2, kind: "subscribe", body: { pattern: "alerts.critical.*", name: "alert-handler", filter: "usage > 90", guarantee: "exactly-once", from: { offset: 3 }, maxInFlight: 10, ackTimeoutMs: 5000, maxRetries: 3, backoff: { initialMs: 100, maxMs: 1000, multiplier: 2 }, credit: 10 } },
  { t: "req", id: 3, kind: "subscribe", body: { pattern: "x", from: { time: 5 } } },
  { t: "req", id: 4, kind: "unsubscribe", body: { subscriptionId: "sub1", delete: true } },
  { t: "req", id: 5, kind: "credit", body: { subscriptionId: "sub1", credit: 5 } },
  { t: "req", id: 6, kind: "ack", body: { subscriptionId: "sub1", messages: [{ topic: "a", offset: 0 }] } },
  { t: "req", id: 7, kind: "fail", body: { subscriptionId: "sub1", messages: [{ topic: "a", offset: 0, reason: "boom" }] } },
  { t: "req", id: 8, kind: "topic.create", body: { topic: "a", retention: { maxMessages: 10, maxAgeMs: 1000, maxBytes: 100 } } },
  { t: "req", id: 9, kind: "topic.list", body: { prefix: "a" } },
  { t: "req", id: 10, kind: "topic.info", body: { topic: "a" } },
  { t: "req", id: 11, kind: "topic.delete", body: { topic: "a" } },
  { t: "req", id: 12, kind: "subscription.list", body: {} },
  { t: "req", id: 13, kind: "dlq.list", body: { topic: "a", limit: 10, fromId: 0 } },
  { t: "req", id: 14, kind: "dlq.replay", body: { topic: "a", ids: [1, 2] } },
  { t: "req", id: 15, kind: "dlq.purge", body: { topic: "a" } },
  { t: "req", id: 16, kind: "maintenance", body: { kind: "retry-failed" } },
  { t: "req", id: 17, kind: "stats", body: {} },
  { t: "req", id: 18, kind: "cluster.status", body: {} },
  { t: "req", id: 19, kind: "cluster.add-node", body: { id: "n4", peerAddress: "ws://h:7104", clientAddress: "ws://h:7004", voter: false } },
  { t: "req", id: 20, kind: "cluster.remove-node", body: { id: "n4" } },
  { t: "req", id: 21, kind: "cluster.transfer-leader", body: { to: "n2" } },
  { t: "req", id: 22, kind: "sys.status", body: {} },
  { t: "req", id: 23, kind: "sys.set", body: { settings: { health: { intervalMs: 10_000, periodic: true } }, reset: false } },
  { t: "req", id: 24, kind: "sys.diagnose", body: { node: "*" } },
  { t: "req", id: 25, kind: "sys.forward", body: { origin: "n2", sentAt: 1, messages: [{ topic: "$sys.system", payload: new Uint8Array([1]) }], mac: "abc" } },
  { t: "req", id: 22, kind: "ping", body: {} },
  { t: "req", id: 23, kind: "cluster.finalize-upgrade", body: { version: 2 } },
  { t: "req", id: 24, kind: "topic.info", body: { topic: "a", consistency: "stale" } },
  { t: "req", id: 26, kind: "backup.open", body: {} },
  { t: "req", id: 27, kind: "backup.read", body: { backupId: "b1", maxBytes: 65_536 } },
  { t: "req", id: 28, kind: "backup.close", body: { backupId: "b1" } },
  { t: "res", id: 26, kind: "backup.open", ok: true, body: { backupId: "b1", nodeId: "n1", index: 42, term: 3, topics: 2, messages: 10, messageBytes: 640 } },
  { t: "res", id: 27, kind: "backup.read", ok: true, body: { data: new Uint8Array([0, 0, 0, 1, 0xc0]), bytes: 5, done: false } },
  { t: "req", id: 31, kind: "user.add", body: { name: "alice", grants: ["pub:orders.**", "admin:dlq"] } },
  { t: "req", id: 32, kind: "user.rotate", body: { name: "alice" } },
  { t: "req", id: 33, kind: "user.grant", body: { name: "alice", grants: ["admin"] } },
  { t: "req", id: 34, kind: "user.remove", body: { name: "alice" } },
  { t: "req", id: 35, kind: "user.list", body: {} },
  { t: "res", id: 31, kind: "user.add", ok: true, body: { name: "alice", token: "rbu1.alice.x", grants: ["pub:orders.**"] } },
  { t: "res", id: 35, kind: "user.list", ok: true, body: { users: [{ name: "alice", grants: ["admin"], createdAt: 1, updatedAt: 2 }], admin: "admin" } },
  { t: "req", id: 41, kind: "key.add", body: { name: "deploy", pattern: "deploy.**", key: new Uint8Array(32).fill(1) } },
  { t: "req", id: 42, kind: "key.list", body: {} },
  { t: "req", id: 43, kind: "key.remove", body: { name: "deploy" } },
  { t: "res", id: 41, kind: "key.add", ok: true, body: { name: "deploy", pattern: "deploy.**", key: `rbtk1.deploy.${"A".repeat(43)}`, fingerprint: "0123abcd" } },
  { t: "res", id: 42, kind: "key.list", ok: true, body: { keys: [{ name: "deploy", pattern: "deploy.**", fingerprint: "0123abcd", createdAt: 1 }] } },
  { t: "res", id: 1, kind: "publish", ok: true, body: { results: [{ ok: true, ack: { topic: "a.b", offset: 0, index: 9, duplicate: false } }, { ok: false, error: { code: "PAYLOAD_TOO_LARGE", message: "too big", details: { maxPayloadBytes: 1 } } }] } },
  { t: "res", id: 2, kind: "subscribe", ok: true, body: { subscriptionId: "sub1", durable: true, resumed: false, maxInFlight: 10 } },
  { t: "res", id: 3, ok: false, error: { code: "NOT_LEADER", message: "follower", leaderHint: "ws://127.0.0.1:7002" } },
  { t: "res", id: 0, ok: false, error: { code: "BAD_REQUEST", message: "undecodable" } },
  { t: "res", id: 10, kind: "topic.info", ok: true, body: { name: "a", retention: {}, messages: 1, bytes: 3, firstOffset: 0, lastOffset: 0, createdAt: 1, publishRatePerSec: 0.5, subscriptions: [{ id: "d", durable: true, pattern: "a", inFlight: 0, lag: 1 }], deadLettered: 0, readAt: { nodeId: "n2", appliedIndex: 7, consistency: "stale" } } },
  { t: "res", id: 23, kind: "cluster.finalize-upgrade", ok: true, body: { previous: 1, version: 2, enabled: ["2: member addresses"], members: [{ id: "n1", clusterVersionMax: 2 }] } },
  { t: "res", id: 18, kind: "cluster.status", ok: true, body: { nodeId: "n1", leaderId: null, term: 3, commitIndex: 5, nodes: [{ id: "n1", clientAddress: "ws://a", peerAddress: "ws://b", role: "unknown", voter: true, healthy: false, term: null, commitIndex: null, appliedIndex: null, matchIndex: null, lastContactMs: null }] } },
  { t: "res", id: 13, kind: "dlq.list", ok: true, body: { messages: [{ dlqId: 0, message: stored, subscription: "d", reason: "ack timeout", attempts: 6, deadAt: 2 }] } },
  { t: "deliver", subscriptionId: "sub1", messages: [{ ...stored, attempt: 2, correlationId: "c", ttlMs: 60_000 }] },
  { t: "subscription-closed", subscriptionId: "sub1", reason: { code: "TOPIC_NOT_FOUND", message: "deleted" } },
  { t: "leader-changed", leaderId: "n2", leaderAddress: "ws://127.0.0.1:7002", term: 4 },
  { t: "leader-changed", leaderId: null, leaderAddress: null, term: 5 },
  { t: "goaway", reason: { code: "SHUTTING_DOWN", message: "bye" }, reconnectTo: "ws://127.0.0.1:7003" },
];

describe("codec: exact bytes", () => {
  it("encodes hello as a plain msgpack map, fields in insertion order", () => {
    const bytes = encodeFrame({ t: "hello", version: 1, clientId: "c1" });
    // 83 = map(3); a1 74 = "t"; a5 68656c6c6f = "hello"; a7 "version" 01; a8 "clientId" a2 "c1"
    expect(hex(bytes)).toBe("83a174a568656c6c6fa776657273696f6e01a8636c69656e744964a26331");
  });

  it("omits optional fields that are undefined instead of encoding nil", () => {
    const bytes = encodeFrame({ t: "hello", version: 1, clientId: "c1", name: undefined });
    expect(hex(bytes)).toBe("83a174a568656c6c6fa776657273696f6e01a8636c69656e744964a26331");
  });

  it("encodes payloads as msgpack bin, not as arrays of numbers", () => {
    const bytes = encodeFrame({ t: "req", id: 1, kind: "publish", body: { messages: [{ topic: "a", payload: new Uint8Array([0xde, 0xad]) }] } });
    expect(hex(bytes)).toContain("a77061796c6f6164c402dead"); // "payload" bin8(2) de ad
  });

  it("decodes a hand-written ping request", () => {
    // 84 map(4): t:"req", id:7, kind:"ping", body:{}
    const frame = decodeClientFrame(fromHex("84 a174 a3726571 a26964 07 a46b696e64 a470696e67 a4626f6479 80"));
    expect(frame).toEqual({ t: "req", id: 7, kind: "ping", body: {} });
  });

  it("decodes a hand-written NOT_LEADER response with its leader hint", () => {
    const bytes = fromHex(
      "84 a174 a3726573 a26964 05 a26f6b c2" + // map(4) t:"res" id:5 ok:false
      "a56572726f72 83 a4636f6465 aa4e4f545f4c4541444552" + // error: { code: "NOT_LEADER",
      "a76d657373616765 a0" + // message: "",
      "aa 6c656164657248696e74 b3 77733a2f2f3132372e302e302e313a37303032", // leaderHint: "ws://127.0.0.1:7002" }
    );
    expect(decodeServerFrame(bytes)).toEqual({ t: "res", id: 5, ok: false, error: { code: "NOT_LEADER", message: "", leaderHint: "ws://127.0.0.1:7002" } });
  });

  it("rejects every strict prefix of a valid frame, byte by byte", () => {
    const bytes = encodeFrame(samples[3] as Frame);
    for (let n = 0; n < bytes.length; n++) badRequest(() => decodeFrame(bytes.subarray(0, n)));
  });

  it("rejects a trailing byte after a complete frame", () => {
    const bytes = encodeFrame({ t: "req", id: 1, kind: "ping", body: {} });
    badRequest(() => decodeFrame(new Uint8Array([...bytes, 0x00])));
  });
});

describe("codec: round trips", () => {
  it.each(samples.map((f, i) => [i, f.t, f] as const))("sample %i (%s) decodes to what was encoded", (_i, _t, frame) => {
    expect(plain(decodeFrame(encodeFrame(frame)))).toEqual(frame);
  });

  it("covers every request kind with a sample", () => {
    const kinds = new Set(samples.flatMap((f) => (f.t === "req" ? [f.kind] : [])));
    expect([...kinds].sort()).toEqual([...REQUEST_KINDS].sort());
    expect(Object.keys(REQUESTS).sort()).toEqual([...REQUEST_KINDS].sort());
  });

  it("returns payloads as Uint8Array", () => {
    const frame = decodeFrame(encodeFrame(samples[3] as Frame));
    expect(frame.t === "req" && frame.kind === "publish" && frame.body.messages[0]?.payload).toBeInstanceOf(Uint8Array);
  });
});

describe("codec: validation errors", () => {
  it("refuses frames over the size limit before parsing them", () => {
    const err = badRequest(() => decodeFrame(new Uint8Array(101), { maxFrameBytes: 100 }));
    expect(err.details).toEqual({ frameBytes: 101, maxFrameBytes: 100 });
    expect(FRAME_BYTES_MAX).toBe(4 * 1024 * 1024);
  });

  it("refuses empty frames, non-maps, frames without a type, and unknown frame types from clients", () => {
    badRequest(() => decodeFrame(new Uint8Array(0)));
    badRequest(() => decodeFrame(encodeFrame([1, 2] as unknown as Frame)));
    badRequest(() => decodeFrame(encodeFrame({ id: 1 } as unknown as Frame)));
    expect(badRequest(() => decodeClientFrame(encodeFrame({ t: "nope" } as unknown as Frame))).message).toContain("unknown frame type");
  });

  it("names the offending field", () => {
    const frame = { t: "req", id: 9, kind: "publish", body: { messages: [{ topic: "a", payload: new Uint8Array() }, { topic: 5, payload: new Uint8Array() }] } };
    const err = badRequest(() => decodeFrame(encodeFrame(frame as unknown as Frame)));
    expect(err.message).toContain("frame.body.messages[1].topic: expected string, got number");
    expect(err.details).toEqual({ requestId: 9 });
  });

  it("keeps the request id of an unknown request kind, so the server can answer it", () => {
    const err = badRequest(() => decodeFrame(encodeFrame({ t: "req", id: 12, kind: "teleport", body: {} } as unknown as Frame)));
    expect(err.details).toEqual({ requestId: 12 });
  });

  it("refuses request ids outside 1..2^31-1", () => {
    for (const id of [0, -1, 1.5, 2 ** 31, "1"]) badRequest(() => decodeFrame(encodeFrame({ t: "req", id, kind: "ping", body: {} } as unknown as Frame)));
  });

  it("refuses a missing required field, an optional one of the wrong type and malformed error codes", () => {
    expect(badRequest(() => decodeFrame(encodeFrame({ t: "hello", version: 1 } as unknown as Frame))).message).toContain("frame.clientId: expected required property");
    expect(badRequest(() => decodeFrame(encodeFrame({ t: "hello", version: 1, clientId: "c", name: 3 } as unknown as Frame))).message).toContain("frame.name");
    badRequest(() => decodeFrame(encodeFrame({ t: "refused", error: { code: "", message: "" } } as unknown as Frame)));
    badRequest(() => decodeFrame(encodeFrame({ t: "refused", error: { code: 7, message: "" } } as unknown as Frame)));
    expect(ERROR_CODES).toContain("BAD_REQUEST");
  });

  it("refuses offsets that are not safe non-negative integers", () => {
    for (const offset of [-1, 0.5, 2 ** 60]) {
      badRequest(() => decodeFrame(encodeFrame({ t: "req", id: 1, kind: "ack", body: { subscriptionId: "s", messages: [{ topic: "a", offset }] } } as unknown as Frame)));
    }
  });

  it("checks direction: a client may not send server frames and vice versa", () => {
    badRequest(() => decodeClientFrame(encodeFrame(samples[1] as Frame)));
    badRequest(() => decodeServerFrame(encodeFrame(samples[0] as Frame)));
  });

  it("refuses msgpack extensions such as timestamps where a number is expected", () => {
    // d6 ff <4 bytes> is the msgpack timestamp32 extension: msgpackr decodes it to a Date.
    badRequest(() => decodeFrame(fromHex("84 a174 a3726571 a26964 d6ff00000001 a46b696e64 a470696e67 a4626f6479 80")));
  });

  it("does not let __proto__ keys reach the prototype", () => {
    // map(4) … plus "__proto__": { polluted: true } in the body
    const frame = decodeFrame(fromHex("84 a174 a3726571 a26964 01 a46b696e64 a470696e67 a4626f6479 81 a95f5f70726f746f5f5f 81 a8706f6c6c75746564 c3"));
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(frame.t).toBe("req");
  });
});

describe("codec: fuzz", () => {
  const onlyBadRequest = (bytes: Uint8Array): void => {
    try {
      decodeFrame(bytes);
    } catch (err) {
      if (!(err instanceof RaftbusError) || err.code !== "BAD_REQUEST") throw err;
    }
  };

  it("random bytes decode to a frame or BAD_REQUEST, nothing else", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => onlyBadRequest(bytes)), { numRuns: 5000 });
  });

  it("valid frames with mutated bytes decode to a frame or BAD_REQUEST", () => {
    const encoded = samples.map((f) => encodeFrame(f).slice());
    fc.assert(
      fc.property(
        fc.nat({ max: encoded.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (which, edits) => {
          const bytes = (encoded[which] as Uint8Array).slice();
          for (const [pos, value] of edits) bytes[pos % bytes.length] = value;
          onlyBadRequest(bytes);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("random msgpack values decode to a frame or BAD_REQUEST", () => {
    const value = fc.letrec((tie) => ({
      any: fc.oneof({ depthSize: "small" }, fc.constant(null), fc.boolean(), fc.double(), fc.integer(), fc.string(), fc.uint8Array({ maxLength: 8 }), fc.array(tie("any"), { maxLength: 4 }), fc.dictionary(fc.constantFrom("t", "id", "kind", "body", "ok", "error", "messages", "topic", "payload"), tie("any"), { maxKeys: 5 })),
    })).any;
    const frameish = fc.record({ t: fc.constantFrom("hello", "req", "res", "deliver", "goaway", "welcome"), id: fc.integer(), kind: fc.constantFrom(...REQUEST_KINDS), ok: fc.boolean(), body: value, error: value });
    fc.assert(fc.property(fc.oneof(value, frameish), (v) => onlyBadRequest(encodeFrame(v as unknown as Frame))), { numRuns: 3000 });
  });

  it("arbitrary valid publish requests round-trip exactly", () => {
    const message: fc.Arbitrary<PublishMessage> = fc.record({
      topic: fc.string({ minLength: 1, maxLength: 20 }),
      payload: fc.uint8Array({ maxLength: 64 }),
      id: fc.string({ minLength: 1, maxLength: 10 }),
      priority: fc.constantFrom("critical", "high", "medium", "low"),
      headers: fc.dictionary(fc.string({ maxLength: 5 }).filter((k) => k !== "__proto__"), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
      producerId: fc.string({ minLength: 1, maxLength: 8 }),
      sequence: fc.nat(),
    }, { requiredKeys: ["topic", "payload"] });
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.array(message, { maxLength: 5 }), (id, messages) => {
      const frame: Frame = { t: "req", id, kind: "publish", body: { messages } };
      const decoded = decodeFrame(encodeFrame(frame));
      expect(plain(decoded)).toEqual(frame);
    }), { numRuns: 1000 });
  });
});
