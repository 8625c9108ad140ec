import { afterEach, describe, expect, it } from "vitest";
import { RaftbusError } from "@raftbus/client/protocol";
import type { AnyErrorCode, ErrorCode } from "@raftbus/client/protocol";
import {
  DEFAULT_CONFIG, buildPublish, decodeCommand, encodeCommand, makeConfig, subscriptionDefaults, validateCommand,
} from "../../src/index.ts";
import type { Command } from "../../src/index.ts";
import { pack } from "../../src/msgpack.ts";
import { Harness, T0, json } from "../helpers/harness.ts";

function codeOf(fn: () => unknown): AnyErrorCode | "no error" {
  try {
    fn();
    return "no error";
  } catch (err) {
    if (err instanceof RaftbusError) return err.code;
    throw err;
  }
}

const now = T0;
const config = makeConfig();
const spec = subscriptionDefaults(config, { name: "s", pattern: "a.*" });
const goodPublish = (): Record<string, unknown> =>
  ({ ...buildPublish(config, { now, senderId: "p", messages: [{ topic: "a.b", payload: json(1) }] }) });

describe("validateCommand: malformed commands are rejected before proposing, with stable codes", () => {
  const cases: [string, unknown, ErrorCode][] = [
    ["not an object", 42, "BAD_REQUEST"],
    ["null", null, "BAD_REQUEST"],
    ["an array", [1, 2], "BAD_REQUEST"],
    ["bytes", new Uint8Array(3), "BAD_REQUEST"],
    ["unknown type", { type: "dropDatabase", now }, "BAD_REQUEST"],
    ["type not a string", { type: 7, now }, "BAD_REQUEST"],
    ["missing now", { type: "tick" }, "BAD_REQUEST"],
    ["negative now", { type: "tick", now: -1 }, "INVALID_ARGUMENT"],
    ["fractional now", { type: "tick", now: 1.5 }, "INVALID_ARGUMENT"],
    ["NaN now", { type: "tick", now: Number.NaN }, "INVALID_ARGUMENT"],
    ["bad topic name", { type: "createTopic", now, topic: "a..b" }, "INVALID_TOPIC"],
    ["system topic from a client", { type: "createTopic", now, topic: "$sys.health" }, "INVALID_TOPIC"],
    ["retention with unknown field", { type: "createTopic", now, topic: "a", retention: { maxFoo: 1 } }, "INVALID_ARGUMENT"],
    ["retention zero", { type: "createTopic", now, topic: "a", retention: { maxMessages: 0 } }, "INVALID_ARGUMENT"],
    ["publish without messages", { ...goodPublish(), messages: [] }, "INVALID_ARGUMENT"],
    ["publish messages not an array", { ...goodPublish(), messages: {} }, "BAD_REQUEST"],
    ["bad pattern", { type: "createSubscription", now, subscription: { ...spec, pattern: "a.*b" } }, "INVALID_PATTERN"],
    ["bad filter", { type: "createSubscription", now, subscription: { ...spec, filter: "a == " } }, "INVALID_FILTER"],
    ["bad subscription name", { type: "createSubscription", now, subscription: { ...spec, name: "a b" } }, "INVALID_ARGUMENT"],
    ["maxInFlight 0", { type: "createSubscription", now, subscription: { ...spec, maxInFlight: 0 } }, "INVALID_ARGUMENT"],
    ["ephemeral without session", { type: "createSubscription", now, subscription: { ...spec, ephemeral: true } }, "INVALID_ARGUMENT"],
    ["bad start", { type: "createSubscription", now, subscription: { ...spec, start: "middle" } }, "BAD_REQUEST"],
    ["backoff max < initial", { type: "createSubscription", now, subscription: { ...spec, backoff: { initialMs: 10, maxMs: 5, multiplier: 2 } } }, "INVALID_ARGUMENT"],
    ["update with no changes", { type: "updateSubscription", now, name: "s", changes: {} }, "INVALID_ARGUMENT"],
    ["delivery without items", { type: "delivery", now, delivered: [], acked: [] }, "INVALID_ARGUMENT"],
    ["ack item without offset", { type: "delivery", now, acked: [{ subscription: "s", topic: "a" }] }, "BAD_REQUEST"],
    ["ack item without subscription", { type: "delivery", now, acked: [{ topic: "a", offset: 0 }] }, "BAD_REQUEST"],
    ["delivered attempt 0", { type: "delivery", now, delivered: [{ subscription: "s", topic: "a", offset: 0, attempt: 0, consumerId: "c" }] }, "INVALID_ARGUMENT"],
    ["delivered without consumer", { type: "delivery", now, delivered: [{ subscription: "s", topic: "a", offset: 0, attempt: 1 }] }, "BAD_REQUEST"],
    ["delivered without subscription", { type: "delivery", now, delivered: [{ topic: "a", offset: 0, attempt: 1, consumerId: "c" }] }, "BAD_REQUEST"],
    ["fail items not a list", { type: "delivery", now, failed: { topic: "a" } }, "BAD_REQUEST"],
    ["unknown maintenance action", { type: "maintenance", now, action: "format" }, "BAD_REQUEST"],
    ["dlqReplay limit too big", { type: "dlqReplay", now, topic: "a", limit: 1e9 }, "INVALID_ARGUMENT"],
    ["prototype-polluting object", JSON.parse('{"__proto__": {"type": "tick"}, "now": 1}'), "BAD_REQUEST"],
  ];
  for (const [name, value, code] of cases) {
    it(`${name} → ${code}`, () => expect(codeOf(() => validateCommand(value, { limits: config.limits }))).toBe(code));
  }

  it("too many items → INVALID_ARGUMENT", () => {
    const items = Array.from({ length: config.limits.batchItemsMax + 1 }, (_, i) => ({ topic: "a", offset: i }));
    expect(codeOf(() => validateCommand({ type: "delivery", now, acked: items.map((i) => ({ subscription: "s", ...i })) }, { limits: config.limits }))).toBe("INVALID_ARGUMENT");
  });
});

describe("buildPublish: limits on what a client publishes", () => {
  const build = (m: Record<string, unknown>, cfg = config): unknown =>
    buildPublish(cfg, { now, senderId: "p", messages: [{ topic: "a.b", payload: json(1), ...m }] });

  it("payload over the configured limit → PAYLOAD_TOO_LARGE", () => {
    const small = makeConfig({ limits: { ...DEFAULT_CONFIG.limits, payloadBytesMax: 10 } });
    expect(codeOf(() => build({ payload: new Uint8Array(11) }, small))).toBe("PAYLOAD_TOO_LARGE");
    expect(codeOf(() => build({ payload: new Uint8Array(10) }, small))).toBe("no error");
  });
  it("default payload limit is 1 MiB", () => {
    expect(codeOf(() => build({ payload: new Uint8Array(1024 * 1024 + 1) }))).toBe("PAYLOAD_TOO_LARGE");
  });
  it("batch over batchMessagesMax → INVALID_ARGUMENT", () => {
    const messages = Array.from({ length: config.limits.batchMessagesMax + 1 }, () => ({ topic: "a", payload: json(1) }));
    expect(codeOf(() => buildPublish(config, { now, senderId: "p", messages }))).toBe("INVALID_ARGUMENT");
  });
  it("too many headers → HEADERS_TOO_LARGE; non-string header → INVALID_ARGUMENT", () => {
    const headers = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`h${i}`, "v"]));
    expect(codeOf(() => build({ headers }))).toBe("HEADERS_TOO_LARGE");
    expect(codeOf(() => build({ headers: { a: 1 } }))).toBe("INVALID_ARGUMENT");
  });
  it("bad priority / guarantee / ttl → INVALID_ARGUMENT", () => {
    expect(codeOf(() => build({ priority: "urgent" }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => build({ guarantee: "twice" }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => build({ ttlMs: 0 }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => build({ ttlMs: -5 }))).toBe("INVALID_ARGUMENT");
  });
  it("producerId without sequence → INVALID_ARGUMENT", () => {
    expect(codeOf(() => build({ producerId: "p1" }))).toBe("INVALID_ARGUMENT");
  });
  it("payload that is not bytes → BAD_REQUEST", () => {
    expect(codeOf(() => build({ payload: "text" }))).toBe("BAD_REQUEST");
  });
  it("system topics only with system: true", () => {
    const messages = [{ topic: "$sys.health", payload: json(1) }];
    expect(codeOf(() => buildPublish(config, { now, senderId: "n1", messages }))).toBe("INVALID_TOPIC");
    expect(codeOf(() => buildPublish(config, { now, senderId: "n1", messages, system: true }))).toBe("no error");
  });
  it("stamps id, timestamp, sender and defaults; copies the settings apply needs", () => {
    const cmd = buildPublish(makeConfig({ strictTopics: true, dedupWindowMs: 5 }), {
      now, senderId: "p", messages: [{ topic: "a", payload: json(1) }], newId: () => "fixed",
    });
    expect(cmd).toMatchObject({ autoCreate: false, dedupWindowMs: 5 });
    expect(cmd.messages[0]).toMatchObject({ id: "fixed", idGenerated: true, timestamp: now, senderId: "p", priority: "medium", guarantee: "at-least-once", headers: {} });
  });
});

describe("codec", () => {
  it("encode → decode round-trips every command shape", () => {
    const commands: Command[] = [
      { type: "createTopic", now, topic: "a.b", retention: { maxMessages: 5, maxAgeMs: 1000 } },
      buildPublish(config, { now, senderId: "p", messages: [{ topic: "a", payload: json({ x: 1 }), id: "m1", ttlMs: 5, headers: { k: "v" }, producerId: "pr", sequence: 3 }] }),
      { type: "createSubscription", now, subscription: { ...spec, filter: "x > 1", start: { time: 5 } } },
      { type: "updateSubscription", now, name: "s", changes: { filter: null, maxInFlight: 3 } },
      {
        type: "delivery", now, delivered: [{ subscription: "s", topic: "a", offset: 1, attempt: 2, consumerId: "c" }],
        acked: [{ subscription: "s", topic: "a", offset: 2 }], failed: [{ subscription: "s", topic: "a", offset: 1, reason: "x", attempt: 1 }],
      },
      { type: "dlqReplay", now, topic: "a", ids: [1, 2], limit: 10 },
      { type: "maintenance", now, action: "retryFailed", includeDlq: true },
      { type: "tick", now },
    ];
    for (const c of commands) {
      const decoded = decodeCommand(encodeCommand(c));
      expect(decoded.type).toBe(c.type);
      // Payloads come back as Buffers (a Uint8Array subclass): compare the encodings.
      expect(Buffer.from(encodeCommand(decoded))).toEqual(Buffer.from(encodeCommand(validateCommand(c))));
    }
  });

  it("garbage bytes, a missing or malformed version and unknown types decode to BAD_REQUEST", () => {
    expect(codeOf(() => decodeCommand(Uint8Array.of(0xc1)))).toBe("BAD_REQUEST");
    expect(codeOf(() => decodeCommand(new Uint8Array(0)))).toBe("BAD_REQUEST");
    expect(codeOf(() => decodeCommand(pack({ v: 0, type: "tick", now })))).toBe("BAD_REQUEST");
    expect(codeOf(() => decodeCommand(pack({ v: "1", type: "tick", now })))).toBe("BAD_REQUEST");
    expect(codeOf(() => decodeCommand(pack({ type: "tick", now })))).toBe("BAD_REQUEST");
    expect(codeOf(() => decodeCommand(pack({ v: 1, type: "nope", now })))).toBe("BAD_REQUEST");
    expect(codeOf(() => decodeCommand(Uint8Array.of(0xd4, 0xff, 0x00)))).toBe("BAD_REQUEST"); // a msgpack Date
  });
});

describe("apply: hostile entries change nothing but the applied index", () => {
  let h: Harness;
  afterEach(async () => h?.destroy());

  it("answers BAD_REQUEST and keeps the state byte-identical apart from the applied index", async () => {
    h = await Harness.open();
    await h.pub("a", 1);
    const before = await h.bsm.stats();
    const results = await Promise.all([
      h.applyRaw(Uint8Array.of(1, 2, 3)),
    ]);
    expect(results[0]).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
    expect(await h.applyRaw(pack({ v: 1, type: "publish", now, messages: "x" }))).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
    const after = await h.bsm.stats();
    expect(after).toEqual({ ...before, appliedIndex: before.appliedIndex + 2 });
    expect(h.bsm.appliedIndex()).toBe(3);
  });

  it("noop and conf entries return undefined and advance the applied index", async () => {
    h = await Harness.open();
    const r = await h.applyAll([
      { index: 0, term: 1, type: "noop", data: new Uint8Array(0) },
      { index: 0, term: 1, type: "conf", data: Uint8Array.of(1) },
    ]);
    expect(r).toEqual([undefined, undefined]);
    expect(h.bsm.appliedIndex()).toBe(2);
  });

  it("entries at or below the applied index are skipped; a gap is a bug", async () => {
    h = await Harness.open();
    await h.pub("a", 1);
    const again = await h.bsm.apply(h.log);
    expect(again).toEqual([undefined]);
    expect((await h.bsm.topicInfo("a")).count).toBe(1);
    await expect(h.bsm.apply([{ index: 5, term: 1, type: "noop", data: new Uint8Array(0) }])).rejects.toThrow(/gap/);
    await expect(h.bsm.stats()).rejects.toThrow(/restart/);
  });
});
