import { describe, expect, it } from "vitest";
import { addNodePlan, checkHostPort, healthOf, lagOf, watchPlan } from "../src/commands/cluster.ts";
import { dlqSelectPlan } from "../src/commands/dlq.ts";
import { expandTemplate, parseHeaders, pubPlan, readPayload } from "../src/commands/pub.ts";
import { parseFrom, subPlan } from "../src/commands/sub.ts";
import { describeRetention, topicCreatePlan } from "../src/commands/topic.ts";
import { DEFAULT_SERVERS, resolveServers } from "../src/util/connect.ts";
import { UsageError } from "../src/util/errors.ts";
import type { ClusterStatusResponse } from "@raftbus/client";

const NOW = Date.parse("2026-01-31T12:00:00Z");

describe("arguments → requests: topic", () => {
  it("maps retention flags with units to a retention policy", () => {
    expect(topicCreatePlan({ name: "demo", "max-messages": 10000, "max-age": "2h", "max-bytes": "50MB" })).toEqual({
      topic: "demo", retention: { maxMessages: 10000, maxAgeMs: 7_200_000, maxBytes: 50_000_000 },
    });
    expect(topicCreatePlan({ name: "demo" })).toEqual({ topic: "demo" });
  });

  it.each([
    [{ name: "d", "max-age": "2x" }, /--max-age: "2x" is not a duration/],
    [{ name: "d", "max-bytes": "12q" }, /--max-bytes: "12q" is not a size/],
    [{ name: "d", "max-messages": 0 }, /--max-messages must be a positive integer/],
    [{ name: "d", "max-messages": Number.NaN }, /--max-messages must be a positive integer/],
    [{ name: "d", "max-age": "0s" }, /--max-age must be at least 1ms/],
    [{}, /<name> is required/],
  ])("refuses %j", (args, message) => {
    expect(() => topicCreatePlan(args)).toThrow(UsageError);
    expect(() => topicCreatePlan(args)).toThrow(message);
  });

  it("describes retention the way it was typed", () => {
    expect(describeRetention({})).toBe("unlimited");
    expect(describeRetention({ maxMessages: 10, maxAgeMs: 7_200_000, maxBytes: 1_048_576 })).toBe("max 10 messages, 2h, 1 MiB");
  });
});

describe("arguments → requests: pub", () => {
  it("maps flags to publish options", () => {
    const plan = pubPlan({
      topic: "alerts", payload: "{\"usage\":93}", priority: "critical", ttl: "5m", header: ["host=db1", "note=a=b"], id: "m1",
      guarantee: "exactly-once", "correlation-id": "c1", "max-retries": 0,
    }, true);
    expect(plan).toEqual({
      topic: "alerts", source: { kind: "arg", text: "{\"usage\":93}" }, count: 1, template: false,
      options: { id: "m1", priority: "critical", guarantee: "exactly-once", ttlMs: 300_000, headers: { host: "db1", note: "a=b" }, correlationId: "c1", maxRetries: 0 },
    });
  });

  it("takes the payload from the argument, --file, or stdin when piped", () => {
    expect(pubPlan({ topic: "t", payload: "x" }, false).source).toEqual({ kind: "arg", text: "x" });
    expect(pubPlan({ topic: "t", file: "a.json" }, true).source).toEqual({ kind: "file", path: "a.json" });
    expect(pubPlan({ topic: "t", file: "-" }, true).source).toEqual({ kind: "stdin" });
    expect(pubPlan({ topic: "t" }, false).source).toEqual({ kind: "stdin" });
    expect(() => pubPlan({ topic: "t" }, true)).toThrow(/no payload/);
    expect(() => pubPlan({ topic: "t", payload: "x", file: "a" }, false)).toThrow(/not both/);
  });

  it("refuses bad values with the flag named", () => {
    expect(() => pubPlan({ topic: "t", payload: "x", ttl: "5x" }, true)).toThrow(/--ttl: "5x" is not a duration/);
    expect(() => pubPlan({ topic: "t", payload: "x", count: 0 }, true)).toThrow(/--count must be a positive integer/);
    expect(() => pubPlan({ topic: "t", payload: "x", count: 3, id: "same" }, true)).toThrow(/own --id/);
    expect(() => parseHeaders(["novalue"])).toThrow(/key=value/);
    expect(() => parseHeaders(["=v"])).toThrow(/key=value/);
    expect(() => parseHeaders(["a=1", "a=2"])).toThrow(/given twice/);
  });

  it("expands nats-style placeholders for --count runs", () => {
    expect(expandTemplate("event {{.Count}} at {{ .TimeStamp }}", 7, NOW)).toBe("event 7 at 2026-01-31T12:00:00.000Z");
    expect(pubPlan({ topic: "t", payload: "x", count: 3, id: "o-{{.Count}}" }, true)).toMatchObject({ count: 3, template: true });
  });

  it("reads stdin payloads as bytes", async () => {
    async function* chunks(): AsyncGenerator<Uint8Array | string> {
      yield "he";
      yield new TextEncoder().encode("llo");
    }
    expect(new TextDecoder().decode(await readPayload({ kind: "stdin" }, chunks()) as Uint8Array)).toBe("hello");
  });
});

describe("arguments → requests: sub", () => {
  it.each([
    ["earliest", "earliest"], ["latest", "latest"], ["42", { offset: 42 }], ["10m", { time: NOW - 600_000 }],
    ["2026-01-31T10:00:00Z", { time: Date.parse("2026-01-31T10:00:00Z") }], ["2026-01-30", { time: Date.parse("2026-01-30") }],
  ])("--from %s", (text, from) => {
    expect(parseFrom(text, NOW)).toEqual(from);
  });

  it.each(["yesterday", "-1", "10x", "2026-13-45"])("refuses --from %s", (text) => {
    expect(() => parseFrom(text, NOW)).toThrow(UsageError);
  });

  it("maps flags to subscribe options; --count bounds the in-flight window; acks by default", () => {
    expect(subPlan({ pattern: "alerts.**", name: "ops", filter: "usage > 90", guarantee: "exactly-once", from: "earliest", count: 5 }, NOW)).toEqual({
      pattern: "alerts.**", count: 5, idleMs: undefined, ack: true,
      options: { autoAck: false, name: "ops", filter: "usage > 90", guarantee: "exactly-once", from: "earliest", maxInFlight: 5 },
    });
    expect(subPlan({ pattern: "a", ack: false, timeout: "10s", "max-in-flight": 7 }, NOW)).toMatchObject({ ack: false, idleMs: 10_000, options: { maxInFlight: 7 } });
    expect(subPlan({ pattern: "a", count: 1000 }, NOW).options.maxInFlight).toBe(100);
    expect(subPlan({ pattern: "a", count: 1000, ack: false }, NOW).options.maxInFlight).toBe(1000);
    expect(() => subPlan({ pattern: "a", timeout: "soon" }, NOW)).toThrow(/--timeout/);
  });
});

describe("arguments → requests: cluster and dlq", () => {
  it("maps add-node addresses", () => {
    expect(addNodePlan({ id: "n4", peer: "10.0.0.4:7104", client: "ws://10.0.0.4:7004", learner: true })).toEqual({
      id: "n4", peerAddress: "10.0.0.4:7104", clientAddress: "ws://10.0.0.4:7004", voter: false,
    });
    expect(addNodePlan({ id: "n4", peer: "h:1", client: "h:2" }).voter).toBe(true);
    expect(() => checkHostPort("nope", "peer", "x")).toThrow(/--peer must be host:port/);
    expect(() => checkHostPort("h:70000", "peer", "x")).toThrow(/host:port/);
  });

  it("reads --watch with and without an interval", () => {
    expect(watchPlan({})).toBeUndefined();
    expect(watchPlan({ watch: "" })).toEqual({ intervalMs: 2000, count: undefined });
    expect(watchPlan({ watch: "1s", "watch-count": 3 })).toEqual({ intervalMs: 1000, count: 3 });
    expect(watchPlan({ "watch-count": 2 })).toEqual({ intervalMs: 2000, count: 2 });
    expect(() => watchPlan({ watch: "10ms" })).toThrow(/at least 200ms/);
  });

  it("selects dead letters by id", () => {
    expect(dlqSelectPlan({ topic: "t" }, "dlq replay")).toEqual({ topic: "t" });
    expect(dlqSelectPlan({ topic: "t", id: [3, 4, 3] }, "dlq replay")).toEqual({ topic: "t", ids: [3, 4] });
    expect(() => dlqSelectPlan({ topic: "t", id: [-1] }, "dlq purge")).toThrow(/--id must be a non-negative integer/);
  });

  it("computes lag and health from the leader's view", () => {
    const node = (id: string, matchIndex: number | null, healthy = true) => ({
      id, clientAddress: "", peerAddress: "", role: "follower" as const, voter: true, healthy, term: 1, commitIndex: 1, appliedIndex: 1, matchIndex, lastContactMs: 1,
    });
    const status: ClusterStatusResponse = { nodeId: "n1", leaderId: "n1", term: 1, commitIndex: 500, nodes: [node("n1", 500), node("n2", 499), node("n3", 10), node("n4", null, false)] };
    const [n1, n2, n3, n4] = status.nodes as [typeof status.nodes[0], typeof status.nodes[0], typeof status.nodes[0], typeof status.nodes[0]];
    expect([lagOf(n1, status), lagOf(n2, status), lagOf(n3, status), lagOf(n4, status)]).toEqual([0, 1, 490, undefined]);
    expect([healthOf(n1, status), healthOf(n3, status), healthOf(n4, status)]).toEqual(["ok", "lagging", "down"]);
    expect(healthOf({ ...n2, diskFull: true }, status)).toBe("disk full");
    expect(healthOf({ ...n4, diskFull: true }, status)).toBe("down");
  });
});

describe("servers", () => {
  it("come from --servers, else RAFTBUS_SERVERS, else the local cluster", () => {
    expect(resolveServers("ws://a:1, ws://b:2", { RAFTBUS_SERVERS: "ws://c:3" })).toEqual(["ws://a:1", "ws://b:2"]);
    expect(resolveServers(undefined, { RAFTBUS_SERVERS: "ws://c:3" })).toEqual(["ws://c:3"]);
    expect(resolveServers(undefined, {})).toEqual(DEFAULT_SERVERS.split(","));
    expect(() => resolveServers("http://x", {})).toThrow(/--servers: .*ws:\/\//);
    expect(() => resolveServers(undefined, { RAFTBUS_SERVERS: "nonsense" })).toThrow(/RAFTBUS_SERVERS/);
  });
});
