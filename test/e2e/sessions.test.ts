/**
 * Sessions and flow control with real processes: ephemeral subscriptions
 * expire with their session; a consumer that grants no more credit gets at
 * most its in-flight limit, however much is published (bounded memory).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import { LocalCluster, sleep, waitFor } from "../support/local-cluster.ts";
import { RawClient } from "../support/raw-client.ts";

let cluster: LocalCluster;
let admin: RaftbusClient;

beforeAll(async () => {
  cluster = await LocalCluster.start({ extraArgs: ["--session-timeout", "1s"] });
  admin = await connect({ servers: cluster.servers(), name: "sessions-admin" });
}, 90_000);

afterAll(async () => {
  await admin?.close();
  await cluster?.destroy();
});

describe("sessions and flow control", () => {
  it("an ephemeral subscription expires after its session is gone for the session timeout", async () => {
    const leader = await cluster.leader();
    const { client } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    const res = await client.request("subscribe", { pattern: "sess.topic" });
    expect(res).toMatchObject({ ok: true, body: { durable: false } });
    const ephemeral = async () => (await admin.subscriptions.list()).filter((s) => !s.durable);
    expect((await ephemeral()).length).toBe(1);
    client.close();
    await waitFor("the ephemeral subscription to expire", async () => ((await ephemeral()).length === 0 ? true : undefined), 20_000, 200);
  });

  it("session expiry survives subscriptions vanishing mid-round: every orphaned session expires, the round never fails", async () => {
    const leader = await cluster.leader();
    const url = `ws://127.0.0.1:${leader.clientPort}`;
    // One session with several ephemeral subscriptions (expiring it removes them all at once) and another session.
    const { client: a } = await RawClient.connect(url);
    for (const pattern of ["round.a1", "round.a2", "round.a3"]) expect(await a.request("subscribe", { pattern })).toMatchObject({ ok: true });
    const { client: b } = await RawClient.connect(url);
    expect(await b.request("subscribe", { pattern: "round.b" })).toMatchObject({ ok: true });
    const ephemeral = async () => (await admin.subscriptions.list()).filter((s) => !s.durable && s.pattern.startsWith("round."));
    expect(await ephemeral()).toHaveLength(4);
    a.close();
    b.close();
    await waitFor("every orphaned subscription to expire", async () => ((await ephemeral()).length === 0 ? true : undefined), 20_000, 200);
    expect(cluster.log(leader)).not.toMatch(/session expiry round failed/);
  });

  it("a durable subscription outlives its session", async () => {
    const leader = await cluster.leader();
    const { client } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    expect(await client.request("subscribe", { pattern: "sess.durable", name: "keeps" })).toMatchObject({ ok: true, body: { durable: true } });
    client.close();
    await sleep(2500);
    expect((await admin.subscriptions.list()).map((s) => s.id)).toContain("keeps");
  });

  it("a consumer without credit receives at most its in-flight limit", async () => {
    const leader = await cluster.leader();
    const { client } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    const sub = await client.request("subscribe", { pattern: "sess.flood", name: "slow", from: "earliest", maxInFlight: 5, credit: 5 });
    expect(sub).toMatchObject({ ok: true });
    const subscriptionId = (sub as { body: { subscriptionId: string } }).body.subscriptionId;
    const pub = admin.publisher({ lingerMs: 1, batchMessagesMax: 100 });
    for (let i = 0; i < 300; i++) await pub.publish("sess.flood", { i });
    await pub.flush();
    await sleep(1500);
    const refs: { topic: string; offset: number }[] = [];
    for (;;) {
      const f = await client.next((fr) => fr.t === "deliver", 300).catch(() => undefined);
      if (f === undefined) break;
      for (const m of (f as unknown as { messages: { topic: string; offset: number }[] }).messages) refs.push({ topic: m.topic, offset: m.offset });
    }
    expect(refs).toHaveLength(5);
    // Pushed first, recorded right after: wait for the record rather than for a fixed time.
    const info = await waitFor("the five deliveries to be recorded", async () => {
      const s = (await admin.subscriptions.list()).find((x) => x.id === "slow");
      return s !== undefined && s.inFlight === 5 ? s : undefined;
    }, 20_000);
    expect(info!.lag).toBeGreaterThanOrEqual(295);
    // Credit alone does not exceed the in-flight limit; acking plus credit lets more through.
    await client.request("credit", { subscriptionId, credit: 5 });
    expect(await client.next((fr) => fr.t === "deliver", 500).catch(() => undefined)).toBeUndefined();
    expect(await client.request("ack", { subscriptionId, messages: refs })).toMatchObject({ ok: true, body: { acked: 5 } });
    const more = await client.next((fr) => fr.t === "deliver", 5000);
    expect((more as unknown as { messages: unknown[] }).messages.length).toBeGreaterThan(0);
    client.close();
  });

  it("a durable subscription resumes whatever `from` says, takes new delivery settings, and refuses a different pattern", async () => {
    const leader = await cluster.leader();
    const { client: first } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    expect(await first.request("subscribe", { pattern: "sess.resume", name: "resumer", from: "earliest", maxInFlight: 10 }))
      .toMatchObject({ ok: true, body: { durable: true, resumed: false, maxInFlight: 10 } });
    first.close();
    const { client: again } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    expect(await again.request("subscribe", { pattern: "sess.resume", name: "resumer", from: "latest", maxInFlight: 20 }))
      .toMatchObject({ ok: true, body: { durable: true, resumed: true, maxInFlight: 20 } });
    expect((await admin.subscriptions.list()).find((x) => x.id === "resumer")).toMatchObject({ maxInFlight: 20 });
    expect(await again.request("subscribe", { pattern: "sess.other", name: "resumer" }))
      .toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
    again.close();
  });
});

