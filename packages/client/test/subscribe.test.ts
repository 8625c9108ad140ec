/**
 * Subscriptions against the fake cluster: handler and iterator forms, credit
 * flow control, re-subscription after reconnect, and the exactly-once
 * promise (no handler call for an already-acked message).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RaftbusError, type Msg, type RaftbusClient } from "../src/node.ts";
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

describe("subscribe: handler and iterator forms", () => {
  it("both forms receive every message; the handler form acks automatically", async () => {
    const handled: string[] = [];
    await client.subscribe("sensors.*", { handler: (m) => void handled.push(m.string()) });
    const sub = await client.subscribe("sensors.temp", { from: "earliest" });
    for (const v of ["a", "b", "c"]) await client.publish("sensors.temp", v);
    const iterated: string[] = [];
    for await (const m of sub) {
      iterated.push(m.string());
      await m.ack();
      if (iterated.length === 3) break;
    }
    await waitFor(() => handled.length === 3);
    expect(handled).toEqual(["a", "b", "c"]);
    expect(iterated).toEqual(["a", "b", "c"]);
    expect(sub.isOpen).toBe(false); // break unsubscribed
    const acked = cluster.requests("ack").flatMap((f) => f.body.messages.map((r) => r.offset));
    expect(acked.filter((o) => o === 0).length).toBe(2); // one ack per subscription
  });

  it("gives Msg helpers: json(), string(), data, attempt/redelivered", async () => {
    const got: Msg[] = [];
    await client.subscribe("cfg", { handler: (m) => void got.push(m) });
    await client.publish("cfg", { cpu_threshold: 80 }, { headers: { by: "admin" }, priority: "high" });
    await waitFor(() => got.length === 1);
    const m = got[0] as Msg;
    expect(m.json()).toEqual({ cpu_threshold: 80 });
    expect(m.string()).toBe('{"cpu_threshold":80}');
    expect(m.data).toBeInstanceOf(Uint8Array);
    expect(m).toMatchObject({ topic: "cfg", offset: 0, priority: "high", headers: { by: "admin" }, attempt: 1, redelivered: false });
  });

  it("a throwing handler fails the message with its message as reason", async () => {
    const errors: Error[] = [];
    await client.subscribe("jobs", { handler: () => { throw new Error("disk full"); }, onError: (e) => void errors.push(e) });
    await client.publish("jobs", "x");
    await waitFor(() => cluster.requests("fail").length === 1);
    expect(cluster.requests("fail")[0]?.body.messages[0]).toEqual({ topic: "jobs", offset: 0, reason: "disk full" });
    expect(errors.map((e) => e.message)).toEqual(["disk full"]);
  });

  it("refuses to iterate a handler subscription, and to iterate twice", async () => {
    const withHandler = await client.subscribe("a", { handler: () => undefined });
    expect(() => withHandler[Symbol.asyncIterator]()).toThrow(RaftbusError);
    const plain = await client.subscribe("b");
    plain[Symbol.asyncIterator]();
    expect(() => plain[Symbol.asyncIterator]()).toThrow(/only once/);
  });

  it("iterator autoAck acks each message when the loop asks for the next", async () => {
    const sub = await client.subscribe("q", { autoAck: true, from: "earliest" });
    await client.publish("q", "1");
    await client.publish("q", "2");
    let n = 0;
    for await (const _m of sub) if (++n === 2) break;
    await waitFor(() => cluster.requests("ack").flatMap((f) => f.body.messages).length === 2);
  });

  it("surfaces server errors from subscribe with their code", async () => {
    cluster.intercept = (req) => (req.frame.kind === "subscribe" ? { error: { code: "INVALID_FILTER", message: "unexpected token at 6", details: { position: 6 } } } : undefined);
    const err = await client.subscribe("a", { filter: "usage >> 90" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "INVALID_FILTER", details: { position: 6 } });
  });

  it("sends every subscribe option on the wire", async () => {
    await client.subscribe("alerts.critical.*", {
      name: "alert-handler", filter: "usage > 90", guarantee: "exactly-once", from: { time: 5 }, maxInFlight: 7,
      ackTimeoutMs: 1000, maxRetries: 3, backoff: { initialMs: 10, maxMs: 100, multiplier: 3 }, handler: () => undefined,
    });
    expect(cluster.requests("subscribe")[0]?.body).toEqual({
      pattern: "alerts.critical.*", name: "alert-handler", filter: "usage > 90", guarantee: "exactly-once", from: { time: 5 },
      maxInFlight: 7, credit: 7, ackTimeoutMs: 1000, maxRetries: 3, backoff: { initialMs: 10, maxMs: 100, multiplier: 3 },
    });
  });
});

describe("subscribe: credit flow control", () => {
  it("holds at most maxInFlight unsettled deliveries; acking grants more", async () => {
    const sub = await client.subscribe("flow", { maxInFlight: 5, from: "earliest" });
    for (let i = 0; i < 20; i++) await client.publish("flow", String(i));
    await delay(50);
    expect(sub.stats.received).toBe(5);
    const it = sub[Symbol.asyncIterator]();
    const first: Msg[] = [];
    for (let i = 0; i < 5; i++) first.push((await it.next()).value as Msg);
    await delay(50);
    expect(sub.stats.received).toBe(5); // handed out but not acked: still in flight
    await Promise.all(first.map((m) => m.ack()));
    await waitFor(() => sub.stats.received === 10, 2000, "credit refill");
    // The credit the acks freed travels in the ack frames themselves: no separate credit request.
    const credits = cluster.requests("ack").reduce((n, f) => n + (f.body.credit ?? 0), 0);
    expect(credits).toBe(5);
    expect(cluster.requests("credit")).toHaveLength(0);
    expect(sub.unsettled).toBe(5);
  });

  it("adopts the server's cap on maxInFlight", async () => {
    cluster.limits = { ...cluster.limits, maxInFlight: 3 };
    const capped = await connectTo(cluster);
    const sub = await capped.subscribe("cap", { maxInFlight: 10, from: "earliest" });
    for (let i = 0; i < 6; i++) await capped.publish("cap", String(i));
    await delay(50);
    expect(sub.maxInFlight).toBe(3);
    expect(sub.stats.received).toBe(3);
    await capped.close();
  });

  it("at-most-once returns credit when a message is handed out", async () => {
    const sub = await client.subscribe("amo", { maxInFlight: 2, guarantee: "at-most-once", from: "earliest" });
    for (let i = 0; i < 6; i++) await client.publish("amo", String(i));
    const seen: string[] = [];
    for await (const m of sub) if (seen.push(m.string()) === 6) break;
    expect(seen).toEqual(["0", "1", "2", "3", "4", "5"]);
    expect(cluster.requests("ack")).toHaveLength(0);
  });
});

describe("subscribe: reconnects", () => {
  it("re-subscribes after a loss: durable resumes from acked state, ephemeral is re-created from latest", async () => {
    const durable: string[] = [];
    const ephemeral: string[] = [];
    await client.subscribe("jobs", { name: "workers", from: "earliest", handler: (m) => void durable.push(m.string()) });
    await client.subscribe("jobs", { from: "earliest", handler: (m) => void ephemeral.push(m.string()) });
    for (const v of ["1", "2", "3"]) await client.publish("jobs", v);
    await waitFor(() => durable.length === 3 && ephemeral.length === 3);
    await waitFor(() => cluster.requests("ack").flatMap((f) => f.body.messages).length === 6, 2000, "acks");
    cluster.node("n1").dropConnections();
    await waitFor(() => cluster.requests("subscribe").length === 4, 3000, "re-subscribe");
    const again = cluster.requests("subscribe").slice(2).map((f) => f.body);
    expect(again.find((b) => b.name === "workers")).toMatchObject({ pattern: "jobs", from: "earliest", credit: 100 });
    expect(again.find((b) => b.name === undefined)).toMatchObject({ pattern: "jobs", from: "latest" });
    for (const v of ["4", "5"]) await client.publish("jobs", v);
    await waitFor(() => durable.length === 5 && ephemeral.length === 5);
    expect(durable).toEqual(["1", "2", "3", "4", "5"]); // acked ones are not redelivered
    expect(ephemeral).toEqual(["1", "2", "3", "4", "5"]);
  });

  it("re-subscribes at the new leader after a failover", async () => {
    const got: string[] = [];
    await client.subscribe("ha", { name: "ha-sub", handler: (m) => void got.push(m.string()) });
    cluster.setLeader("n2", true);
    await waitFor(() => client.info?.nodeId === "n2");
    await waitFor(() => cluster.seen.some((s) => s.node === "n2" && s.frame.kind === "subscribe"), 3000, "subscribe at n2");
    await client.publish("ha", "after failover");
    await waitFor(() => got.length === 1);
  });

  it("re-subscribes when the server closes a subscription with NOT_LEADER, and ends it on other reasons", async () => {
    const sub = await client.subscribe("x", { name: "sx" });
    const id = sub.id as string;
    cluster.node("n1").push({ t: "subscription-closed", subscriptionId: id, reason: { code: "NOT_LEADER", message: "stepping down" } });
    await waitFor(() => sub.id !== undefined && sub.id !== id, 3000, "re-subscribe");
    cluster.node("n1").push({ t: "subscription-closed", subscriptionId: sub.id as string, reason: { code: "TOPIC_NOT_FOUND", message: "deleted" } });
    await expect(sub.closed).resolves.toMatchObject({ code: "TOPIC_NOT_FOUND" });
  });
});

describe("subscribe: a leader change while re-subscribing", () => {
  it("a re-subscribe that meets PROPOSAL_DROPPED (a leadership hand-over) tries again; the subscription lives on", async () => {
    const got: string[] = [];
    const sub = await client.subscribe("alerts", { name: "watch", handler: (m) => void got.push(m.string()) });
    let drops = 0;
    cluster.intercept = (req) => {
      if (req.frame.kind !== "subscribe" || drops >= 2) return undefined;
      drops++;
      return { error: { code: "PROPOSAL_DROPPED", message: "leadership transfer in progress" } };
    };
    cluster.node("n1").push({ t: "subscription-closed", subscriptionId: sub.id as string, reason: { code: "NOT_LEADER", message: "stepping down" } });
    await waitFor(() => drops === 2 && sub.id !== undefined, 5000, "re-subscribed after two dropped proposals");
    await client.publish("alerts", "after the hand-over");
    await waitFor(() => got.length === 1, 3000, "delivery after the hand-over");
    expect(got).toEqual(["after the hand-over"]);
  });
});

describe("subscribe: exactly-once", () => {
  it("never invokes the handler again for an acked message, and re-acks the redelivery", async () => {
    const handled: number[] = [];
    const sub = await client.subscribe("alerts", { name: "eo", guarantee: "exactly-once", from: "earliest", handler: (m) => void handled.push(m.offset) });
    for (let i = 0; i < 3; i++) await client.publish("alerts", { usage: 95 + i });
    await waitFor(() => handled.length === 3);
    await waitFor(() => cluster.requests("ack").flatMap((f) => f.body.messages).length === 3, 2000, "acks");
    cluster.redeliver("alerts", [0, 1, 2]);
    await waitFor(() => sub.stats.duplicates === 3, 2000, "duplicates dropped");
    expect(handled).toEqual([0, 1, 2]);
    await waitFor(() => cluster.requests("ack").flatMap((f) => f.body.messages).length === 6, 2000, "re-acks");
  });

  it("holds across reconnects even when the acks were lost", async () => {
    cluster.loseAcks = true;
    const handled: number[] = [];
    const sub = await client.subscribe("alerts", { name: "eo2", guarantee: "exactly-once", from: "earliest", handler: (m) => void handled.push(m.offset) });
    for (let i = 0; i < 3; i++) await client.publish("alerts", { usage: 91 });
    await waitFor(() => handled.length === 3);
    await delay(20);
    cluster.node("n1").dropConnections(); // the durable state never saw the acks: it redelivers all three
    await waitFor(() => sub.stats.duplicates === 3, 3000, "redeliveries dropped");
    expect(handled).toEqual([0, 1, 2]);
  });

  it("drops a redelivery that races the first delivery still being processed", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const sub = await client.subscribe("slow", { guarantee: "exactly-once", from: "earliest", handler: async () => { calls++; await gate; } });
    await client.publish("slow", "x");
    await waitFor(() => calls === 1);
    cluster.redeliver("slow", [0]); // the server's ack timeout fired while the handler runs
    await waitFor(() => sub.stats.duplicates === 1);
    release();
    await waitFor(() => cluster.requests("ack").length === 1);
    await delay(20);
    expect(calls).toBe(1);
  });

  it("at-least-once does hand out redeliveries, marked redelivered", async () => {
    const got: Msg[] = [];
    await client.subscribe("alo", { from: "earliest", handler: (m) => void got.push(m) });
    await client.publish("alo", "x");
    await waitFor(() => got.length === 1);
    cluster.redeliver("alo", [0]);
    await waitFor(() => got.length === 2);
    expect(got.map((m) => m.redelivered)).toEqual([false, true]);
  });
});

describe("subscribe: unsubscribe", () => {
  it("unsubscribe ends the iterator and tells the server; delete removes durable state", async () => {
    const sub = await client.subscribe("u", { name: "gone" });
    const pending = sub[Symbol.asyncIterator]().next();
    await sub.unsubscribe();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(cluster.requests("unsubscribe")[0]?.body).toEqual({ subscriptionId: sub.id ?? expect.any(String) });
    const again = await client.subscribe("u", { name: "gone" });
    await again.delete();
    expect(cluster.requests("unsubscribe")[1]?.body).toMatchObject({ delete: true });
    expect(cluster.durables.has("gone")).toBe(false);
    await expect(again.closed).resolves.toBeUndefined();
  });

  it("client.close() ends every subscription", async () => {
    const sub = await client.subscribe("c");
    await client.close();
    await expect(sub.closed).resolves.toBeUndefined();
  });
});
