/**
 * Publishing against the fake cluster: single publish, the batching
 * publisher's size and linger limits, window backpressure, and idempotent
 * resends (same producerId/sequence) after a connection loss or failover.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  RaftbusError, decryptPayload, formatTopicKey, generatePayloadKey, parseTopicKey, verifyTopicMessage, type PendingPublish, type RaftbusClient,
} from "../src/node.ts";
import { FakeCluster } from "./fake-server.ts";
import { connectTo, delay, waitFor } from "./helpers.ts";

let cluster: FakeCluster;
let client: RaftbusClient;

beforeEach(async () => {
  cluster = await FakeCluster.start(2);
  client = await connectTo(cluster);
});

afterEach(async () => {
  await client.close();
  await cluster.close();
});

const batchSizes = (): number[] => cluster.requests("publish").map((f) => f.body.messages.length);

describe("publish: one message", () => {
  it("resolves with offset, index, duplicate and topic once committed", async () => {
    await expect(client.publish("a", "x")).resolves.toEqual({ topic: "a", offset: 0, index: 1, duplicate: false });
    await expect(client.publish("a", "y")).resolves.toMatchObject({ offset: 1, duplicate: false });
  });

  it("encodes bytes as is, strings as UTF-8 and anything else as JSON", async () => {
    await client.publish("p", new Uint8Array([1, 2]));
    await client.publish("p", "héllo");
    await client.publish("p", { usage: 95 });
    await client.publish("p", [1, "two"]);
    const payloads = cluster.log("p").map((m) => Buffer.from(m.payload).toString("utf8"));
    expect(Buffer.from(cluster.log("p")[0]?.payload ?? []).toJSON().data).toEqual([1, 2]);
    expect(payloads.slice(1)).toEqual(["héllo", '{"usage":95}', '[1,"two"]']);
  });

  it("sends every option and a generated id", async () => {
    await client.publish("o", "x", { priority: "critical", guarantee: "exactly-once", ttlMs: 600_000, headers: { severity: "critical" }, correlationId: "c1", maxRetries: 2 });
    expect(cluster.requests("publish")[0]?.body.messages[0]).toMatchObject({
      topic: "o", priority: "critical", guarantee: "exactly-once", ttlMs: 600_000, headers: { severity: "critical" }, correlationId: "c1", maxRetries: 2, id: expect.stringMatching(/^[a-z0-9]{20}$/),
    });
  });

  it("reports a duplicate for a message id that was already stored", async () => {
    await client.publish("d", "x", { id: "alert-critical-001" });
    await expect(client.publish("d", "x", { id: "alert-critical-001" })).resolves.toMatchObject({ offset: 0, duplicate: true });
    expect(cluster.log("d")).toHaveLength(1);
  });

  it("rejects oversized payloads and bad options before sending", async () => {
    cluster.limits = { ...cluster.limits, maxPayloadBytes: 10 };
    const small = await connectTo(cluster);
    await expect(small.publish("a", "12345678901")).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { maxPayloadBytes: 10 } });
    await expect(small.publish("a", "x", { ttlMs: -5 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(small.publish("a", undefined as unknown as string)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await small.close();
    expect(cluster.requests("publish")).toHaveLength(0);
  });

  it("resends a message that failed with a retryable per-message error", async () => {
    let first = true;
    cluster.intercept = (req) => {
      if (req.frame.kind !== "publish" || !first) return undefined;
      first = false;
      return { error: { code: "PROPOSAL_DROPPED", message: "leader changed" } };
    };
    await expect(client.publish("r", "x")).resolves.toMatchObject({ offset: 0, duplicate: false });
    expect(cluster.requests("publish")).toHaveLength(2);
  });
});

describe("publisher: batching", () => {
  it("cuts batches at batchMessagesMax", async () => {
    const pub = client.publisher({ batchMessagesMax: 100, lingerMs: 50, windowMax: 1000 });
    for (let i = 0; i < 250; i++) await pub.publish("b", String(i));
    await pub.flush();
    expect(batchSizes()).toEqual([100, 100, 50]);
    expect(cluster.log("b").map((m) => Buffer.from(m.payload).toString())).toEqual(Array.from({ length: 250 }, (_, i) => String(i)));
  });

  it("cuts batches at batchBytesMax", async () => {
    const pub = client.publisher({ batchBytesMax: 1000, lingerMs: 50 });
    for (let i = 0; i < 10; i++) await pub.publish("b", new Uint8Array(300));
    await pub.flush();
    expect(batchSizes().every((n) => n <= 3)).toBe(true);
    expect(batchSizes().reduce((a, b) => a + b, 0)).toBe(10);
  });

  it("sends a partial batch lingerMs after its first message", async () => {
    const pub = client.publisher({ batchMessagesMax: 100, lingerMs: 40 });
    const pending: PendingPublish[] = [];
    for (let i = 0; i < 5; i++) pending.push(await pub.publish("l", String(i)));
    await delay(10);
    expect(batchSizes()).toEqual([]);
    await waitFor(() => batchSizes().length === 1, 2000, "linger");
    expect(batchSizes()).toEqual([5]);
    const results = await Promise.all(pending.map((p) => p.committed));
    expect(results.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(pending.map((p) => p.sequence)).toEqual([1, 2, 3, 4, 5]);
  });

  it("stamps producerId and increasing sequences", async () => {
    const pub = client.publisher({ producerId: "agent-7", lingerMs: 0 });
    for (let i = 0; i < 3; i++) await pub.publish("s", "x");
    await pub.flush();
    const stamps = cluster.requests("publish").flatMap((f) => f.body.messages.map((m) => [m.producerId, m.sequence]));
    expect(stamps).toEqual([["agent-7", 1], ["agent-7", 2], ["agent-7", 3]]);
  });

  it("caps batches at the server's maxBatchMessages", async () => {
    cluster.limits = { ...cluster.limits, maxBatchMessages: 4 };
    const limited = await connectTo(cluster);
    const pub = limited.publisher({ batchMessagesMax: 100, lingerMs: 20 });
    for (let i = 0; i < 10; i++) await pub.publish("cap", "x");
    await pub.close();
    await limited.close();
    expect(batchSizes()).toEqual([4, 4, 2]);
  });
});

describe("publisher: signed and encrypted messages", () => {
  it("encrypts, then signs, each message before it joins a batch", async () => {
    const key = generatePayloadKey();
    const signing = formatTopicKey({ name: "deploy", key: new Uint8Array(32).fill(5) });
    const publisher = client.publisher({ lingerMs: 1 });
    const pending = await publisher.publish("vault.codes", { code: 4711 }, { encrypt: key, sign: signing });
    await pending.committed;
    await publisher.close();
    const [stored] = cluster.log("vault.codes");
    expect(Buffer.from(stored!.payload).includes(Buffer.from("4711"))).toBe(false);
    expect(stored!.headers).toMatchObject({ "raftbus-enc": `A256GCM.${key.id}` });
    const fields = { topic: stored!.topic, id: stored!.id, payload: stored!.payload, headers: stored!.headers };
    expect(verifyTopicMessage(fields, [parseTopicKey(signing)])).toBe("verified");
    expect(JSON.parse(new TextDecoder().decode(await decryptPayload(key, fields)))).toEqual({ code: 4711 });
  });
});

describe("publisher: window backpressure", () => {
  it("publish() waits for room when windowMax messages are unacknowledged", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    cluster.intercept = (req) => (req.frame.kind === "publish" ? { hold: held } : undefined);
    const pub = client.publisher({ windowMax: 10, batchMessagesMax: 5, lingerMs: 0 });
    for (let i = 0; i < 10; i++) await pub.publish("w", String(i));
    expect(pub.inFlight).toBe(10);
    let accepted = false;
    const eleventh = pub.publish("w", "10").then((p) => {
      accepted = true;
      return p;
    });
    await delay(50);
    expect(accepted).toBe(false);
    expect(pub.inFlight).toBe(10);
    release();
    const p = await eleventh;
    await expect(p.committed).resolves.toMatchObject({ offset: 10 });
    await pub.flush();
    expect(pub.inFlight).toBe(0);
  });

  it("rejects with BACKPRESSURE when callers stop awaiting and windowMax more publishes wait", async () => {
    cluster.intercept = (req) => (req.frame.kind === "publish" ? { hold: new Promise(() => undefined) } : undefined);
    const pub = client.publisher({ windowMax: 2, lingerMs: 0, timeoutMs: 200 });
    const calls = Array.from({ length: 5 }, (_, i) => pub.publish("w", String(i)));
    await expect(calls[4]).rejects.toMatchObject({ code: "BACKPRESSURE" });
    await Promise.allSettled(calls);
  });

  it("flush() reports messages that failed, with their count", async () => {
    cluster.intercept = (req) => (req.frame.kind === "publish" ? { error: { code: "INVALID_TOPIC", message: "empty segment" } } : undefined);
    const pub = client.publisher({ lingerMs: 0 });
    const a = await pub.publish("bad..topic", "x");
    await pub.publish("bad..topic", "y");
    await expect(a.committed).rejects.toMatchObject({ code: "INVALID_TOPIC" });
    const err = await pub.flush().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftbusError);
    expect(err).toMatchObject({ code: "INVALID_TOPIC", details: { failed: 2 } });
    await expect(pub.flush()).resolves.toBeUndefined(); // reported once
  });
});

describe("publisher: idempotent resends", () => {
  it("resends a batch whose answer was lost with the same producerId/sequences: no duplicates in the log", async () => {
    let dropped = false;
    cluster.intercept = (req) => {
      if (req.frame.kind !== "publish" || dropped) return undefined;
      dropped = true;
      return { drop: "after" }; // applied, then the connection dies before the answer
    };
    const pub = client.publisher({ producerId: "p1", batchMessagesMax: 50, lingerMs: 5 });
    const pending: PendingPublish[] = [];
    for (let i = 0; i < 20; i++) pending.push(await pub.publish("idem", String(i)));
    await pub.flush();
    const results = await Promise.all(pending.map((p) => p.committed));
    const sent = cluster.requests("publish");
    expect(sent.length).toBe(2);
    const stamps = (i: number): unknown => sent[i]?.body.messages.map((m) => [m.producerId, m.sequence]);
    expect(stamps(1)).toEqual(stamps(0));
    expect(results.every((r) => r.duplicate)).toBe(true);
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(cluster.log("idem")).toHaveLength(20);
  });

  it("keeps publishing through a failover: every message stored exactly once", async () => {
    const pub = client.publisher({ batchMessagesMax: 10, lingerMs: 1, windowMax: 50 });
    for (let i = 0; i < 100; i++) {
      if (i === 40) cluster.setLeader("n2", false); // n1 answers NOT_LEADER from now on
      if (i === 70) cluster.node("n2").dropConnections();
      await pub.publish("fo", String(i));
    }
    await pub.flush();
    const stored = cluster.log("fo").map((m) => Buffer.from(m.payload).toString());
    expect(new Set(stored).size).toBe(100);
    expect(stored).toHaveLength(100);
    expect(client.info?.nodeId).toBe("n2");
  });

  it("client.drain() flushes publishers before closing; client.close() fails what is not committed", async () => {
    const pub = client.publisher({ lingerMs: 1000 });
    const a = await pub.publish("dr", "x");
    await client.drain();
    await expect(a.committed).resolves.toMatchObject({ offset: 0 });
    await expect(client.closed).resolves.toBeUndefined();

    client = await connectTo(cluster);
    const held = new Promise<void>(() => undefined);
    cluster.intercept = (req) => (req.frame.kind === "publish" ? { hold: held } : undefined);
    const pub2 = client.publisher({ lingerMs: 0 });
    const b = await pub2.publish("dr", "y");
    await waitFor(() => cluster.requests("publish").length === 2);
    await client.close();
    await expect(b.committed).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
  });

  it("close() flushes and then refuses new messages", async () => {
    const pub = client.publisher({ lingerMs: 1000 });
    await pub.publish("c", "x");
    await pub.close();
    expect(cluster.log("c")).toHaveLength(1);
    await expect(pub.publish("c", "y")).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
  });
});
