/**
 * End to end through the SDK against real node processes: every guarantee
 * and priority, each pattern kind and a filter, ack and fail, dead-lettering
 * after maxRetries, publish dedup.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import type { Msg, RaftbusClient } from "@raftbus/client/node";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";

let cluster: LocalCluster;
let client: RaftbusClient;

beforeAll(async () => {
  cluster = await LocalCluster.start();
  client = await connect({ servers: cluster.servers(), name: "e2e-delivery" });
}, 90_000);

afterAll(async () => {
  await client?.close();
  await cluster?.destroy();
});

/** Collect messages from a subscription until `n` arrived (bounded). */
async function take(sub: AsyncIterable<Msg>, n: number, ack = true, timeoutMs = 15_000): Promise<Msg[]> {
  const out: Msg[] = [];
  const deadline = Date.now() + timeoutMs;
  for await (const m of sub) {
    out.push(m);
    if (ack) await m.ack();
    if (out.length >= n || Date.now() > deadline) break;
  }
  return out;
}

describe("delivery through the SDK", () => {
  it("publishes with each guarantee and priority and reads them back in priority order", async () => {
    await client.topics.create("e2e.prio");
    const priorities = ["low", "medium", "high", "critical"] as const;
    const guarantees = ["at-most-once", "at-least-once", "exactly-once"] as const;
    let i = 0;
    for (const p of priorities) {
      for (const g of guarantees) {
        const ack = await client.publish("e2e.prio", { n: i++, p, g }, { priority: p, guarantee: g });
        expect(ack.duplicate).toBe(false);
      }
    }
    const sub = await client.subscribe("e2e.prio", { name: "prio-reader", from: "earliest", maxInFlight: 100 });
    const got = await take(sub, 12);
    await sub.close?.();
    expect(got).toHaveLength(12);
    // A backlog is drained critical first (the anti-starvation schedule lets at most a few lower ones through).
    const firstFour = got.slice(0, 4).map((m) => m.priority);
    expect(firstFour.filter((p) => p === "critical").length).toBeGreaterThanOrEqual(3);
    expect(new Set(got.map((m) => m.offset)).size).toBe(12);
  });

  it("matches exact, single-level, multi-level and regex patterns, and filters", async () => {
    const exact = await client.subscribe("sys.health", { from: "latest" });
    const single = await client.subscribe("sys.*", { from: "latest" });
    const multi = await client.subscribe("sys.**", { from: "latest" });
    const regex = await client.subscribe("/sys\\.alerts\\.(cpu|disk)/", { from: "latest" });
    const filtered = await client.subscribe("sys.alerts.*", { from: "latest", filter: "usage > 90 && severity == 'critical'" });
    await client.publish("sys.health", { ok: true });
    await client.publish("sys.alerts.cpu", { usage: 95 }, { headers: { severity: "critical" } });
    await client.publish("sys.alerts.disk", { usage: 50 }, { headers: { severity: "critical" } });
    await client.publish("sys.health.cpu", { ok: true });
    expect((await take(exact, 1)).map((m) => m.topic)).toEqual(["sys.health"]);
    expect((await take(single, 1)).map((m) => m.topic)).toEqual(["sys.health"]);
    expect((await take(multi, 4)).map((m) => m.topic).sort()).toEqual(["sys.alerts.cpu", "sys.alerts.disk", "sys.health", "sys.health.cpu"]);
    expect((await take(regex, 2)).map((m) => m.topic).sort()).toEqual(["sys.alerts.cpu", "sys.alerts.disk"]);
    const f = await take(filtered, 1);
    expect(f.map((m) => m.topic)).toEqual(["sys.alerts.cpu"]);
    for (const s of [exact, single, multi, regex, filtered]) await s.close?.();
  });

  it("a failed message is redelivered with backoff and dead-lettered after maxRetries", async () => {
    await client.topics.create("e2e.dlq");
    await client.publish("e2e.dlq", { job: 1 });
    const sub = await client.subscribe("e2e.dlq", {
      name: "dlq-worker", from: "earliest", maxRetries: 2, ackTimeoutMs: 2000, backoff: { initialMs: 50, maxMs: 200, multiplier: 2 },
    });
    const attempts: number[] = [];
    for await (const m of sub) {
      attempts.push(m.attempt);
      await m.fail("cannot process");
      if (attempts.length >= 3) break;
    }
    await sub.close?.();
    expect(attempts).toEqual([1, 2, 3]);
    const dead = await waitFor("the dead letter", async () => {
      const l = await client.dlq.list("e2e.dlq");
      return l.length > 0 ? l : undefined;
    }, 15_000);
    expect(dead[0]).toMatchObject({ reason: "cannot process", subscription: "dlq-worker", message: { topic: "e2e.dlq", offset: 0 } });
    expect(await client.dlq.replay("e2e.dlq")).toBe(1);
  });

  it("an unacked at-least-once message is redelivered after the ack timeout", async () => {
    await client.publish("e2e.redeliver", "x");
    const sub = await client.subscribe("e2e.redeliver", { name: "slow", from: "earliest", ackTimeoutMs: 500, backoff: { initialMs: 10, maxMs: 10, multiplier: 1 } });
    const attempts: number[] = [];
    for await (const m of sub) {
      attempts.push(m.attempt);
      if (m.attempt === 1) continue; // leave it unacked: the ack timeout must redeliver it
      await m.ack();
      break;
    }
    expect(attempts).toEqual([1, 2]);
  });

  it("publish dedup: the same message id is stored once and answered with the original offset", async () => {
    const a = await client.publish("e2e.dedup", "once", { id: "m-1" });
    const b = await client.publish("e2e.dedup", "once", { id: "m-1" });
    expect(b).toMatchObject({ duplicate: true, offset: a.offset });
    const info = await client.topics.info("e2e.dedup");
    expect(info.messages).toBe(1);
  });

  it("typed errors come back with stable codes", async () => {
    await expect(client.topics.info("no.such.topic")).rejects.toMatchObject({ code: "TOPIC_NOT_FOUND" });
    await expect(client.subscribe("a.*", { filter: "x ==" })).rejects.toMatchObject({ code: "INVALID_FILTER" });
  });

  it("transfers leadership through the SDK and keeps publishing at the new leader", async () => {
    const before = await cluster.leader();
    const res = await client.cluster.transferLeader();
    expect(res.from).toBe(before.id);
    expect(res.to).not.toBe(before.id);
    const after = await cluster.leader();
    expect(after.id).toBe(res.to);
    const ack = await client.publish("e2e.after-transfer", "x");
    expect(ack.index).toBeGreaterThan(0);
    const status = await client.cluster.status();
    expect(status.leaderId).toBe(res.to);
    expect(status.nodes.filter((n) => n.healthy)).toHaveLength(3);
  });

  it("request/reply: a responder answers through the correlation id; no responder times out", async () => {
    const responder = await client.reply("svc.echo", (m) => ({ echoed: m.json<{ text: string }>().text.toUpperCase() }));
    const answer = await client.request("svc.echo", { text: "ping" }, { timeoutMs: 10_000 });
    expect(answer.json()).toEqual({ echoed: "PING" });
    await responder.close?.();
    await expect(client.request("svc.nobody", { text: "x" }, { timeoutMs: 500 })).rejects.toMatchObject({ code: "TIMEOUT" });
  });

  it("exactly-once: acked messages are never handed out again, across reconnects with a new client", async () => {
    for (let i = 0; i < 6; i++) await client.publish("e2e.once", { i }, { guarantee: "exactly-once", id: `once-${i}` });
    const first = await connect({ servers: cluster.servers(), name: "once-1" });
    const sub1 = await first.subscribe("e2e.once", { name: "once-reader", guarantee: "exactly-once", from: "earliest", maxInFlight: 3, ackTimeoutMs: 1000 });
    const seen1 = (await take(sub1, 3)).map((m) => m.json<{ i: number }>().i);
    await first.drain?.();
    await first.close();
    const second = await connect({ servers: cluster.servers(), name: "once-2" });
    const sub2 = await second.subscribe("e2e.once", { name: "once-reader", guarantee: "exactly-once", from: "earliest", maxInFlight: 3, ackTimeoutMs: 1000 });
    const seen2 = (await take(sub2, 3)).map((m) => m.json<{ i: number }>().i);
    await second.close();
    expect(seen1).toHaveLength(3);
    expect(seen2).toHaveLength(3);
    expect(seen1.filter((i) => seen2.includes(i))).toEqual([]);
    expect([...seen1, ...seen2].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

