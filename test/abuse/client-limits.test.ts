/**
 * The abuse cases of issue 13 against real nodes, as regression tests: each
 * one wedged or bloated a node before the limits existed. The cluster runs
 * with small limits so each case is reached quickly; the checks are about
 * behaviour (codes, closes, bounded memory, the node keeps serving), never
 * about speed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { PROTOCOL_VERSION, decodeServerFrame, encodeFrame } from "@raftbus/client/protocol";
import type { ServerFrame } from "@raftbus/client/protocol";
import type { TestNode } from "../support/local-cluster.ts";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";
import { RawClient } from "../support/raw-client.ts";

const PER_ADDRESS = 12;
let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await LocalCluster.start({
    extraArgs: [
      "--connections-per-address-max", String(PER_ADDRESS), "--connections-max", "64",
      "--hello-bytes-max", "4KiB", "--ping-interval-ms", "500", "--idle-timeout-ms", "3000",
      "--pending-requests-max", "8", "--socket-buffer-bytes-max", "256KiB", "--drain-timeout-ms", "1500",
      "--subscriptions-per-session-max", "10", "--durable-subscriptions-per-user-max", "45",
      "--list-page-max", "10", "--publish-messages-per-sec-max", "100",
    ],
  });
}, 120_000);

afterAll(async () => {
  await cluster.destroy();
});

/** A socket that said hello; `frames` collects what the server sent. */
async function hello(node: TestNode, name = "abuse"): Promise<{ ws: WebSocket; frames: ServerFrame[]; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${node.clientPort}`);
  const frames: ServerFrame[] = [];
  ws.on("message", (d: Buffer) => {
    const f = decodeServerFrame(new Uint8Array(d));
    if (f.t !== "unknown") frames.push(f);
  });
  const closed = new Promise<number>((r) => ws.on("close", (code) => r(code)));
  ws.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  ws.send(encodeFrame({ t: "hello", version: PROTOCOL_VERSION, clientId: `abuse-${Math.random().toString(36).slice(2)}`, name }));
  return { ws, frames, closed };
}

async function answerOf(c: { frames: ServerFrame[]; closed: Promise<number> }): Promise<ServerFrame> {
  return waitFor("welcome or refused", () => c.frames.find((f) => f.t === "welcome" || f.t === "refused"), 10_000, 10);
}

/** Client sessions the node holds (its /v1/status). */
async function sessionsOn(node: TestNode): Promise<number | undefined> {
  const st = (await cluster.status(node)) as unknown as { sessions?: number } | undefined;
  return st?.sessions;
}

async function healthzOk(node: TestNode): Promise<boolean> {
  const r = await fetch(`http://127.0.0.1:${node.clientPort}/healthz`, { signal: AbortSignal.timeout(5000) });
  return r.ok;
}

describe("client connection limits (real nodes)", () => {
  it("connections from one address beyond connectionsPerAddressMax are refused with LIMIT_EXCEEDED; the node keeps serving", async () => {
    const node = cluster.nodes[0]!;
    const conns: Awaited<ReturnType<typeof hello>>[] = [];
    try {
      for (let i = 0; i < PER_ADDRESS + 4; i++) conns.push(await hello(node));
      const answers = await Promise.all(conns.map(answerOf));
      // The nodes' own clients (system-event forwarding) also come from
      // 127.0.0.1 and take slots: the cap holds exactly, whoever holds it.
      const welcomed = answers.filter((a) => a.t === "welcome").length;
      expect(welcomed).toBeGreaterThanOrEqual(PER_ADDRESS - 3);
      expect(await sessionsOn(node)).toBe(PER_ADDRESS);
      const refused = answers.filter((a) => a.t === "refused");
      expect(refused).toHaveLength(PER_ADDRESS + 4 - welcomed);
      expect(refused[0]).toMatchObject({ error: { code: "LIMIT_EXCEEDED", details: { limit: "connectionsPerAddressMax", max: PER_ADDRESS } } });
      expect(await healthzOk(node)).toBe(true);
    } finally {
      for (const c of conns) c.ws.terminate();
    }
    // Closed connections give their slots back.
    await waitFor("slots back", async () => {
      const again = await hello(node);
      const a = await answerOf(again);
      again.ws.terminate();
      return a.t === "welcome" ? true : undefined;
    }, 10_000);
  });

  it("a 3.9 MB client name is refused (helloBytesMax) instead of being held for the life of the socket", async () => {
    const big = await hello(cluster.nodes[1]!, "n".repeat(3_900_000));
    expect(await answerOf(big)).toMatchObject({ t: "refused", error: { code: "LIMIT_EXCEEDED", details: { limit: "helloBytesMax" } } });
    await big.closed;
  });

  it("a client that stops reading after hello is closed after idleTimeoutMs with goaway IDLE_TIMEOUT; one that answers pings stays", async () => {
    const node = cluster.nodes[2]!;
    const live = await RawClient.connect(`ws://127.0.0.1:${node.clientPort}`);
    const silent = await hello(node);
    await answerOf(silent);
    silent.ws.pause(); // reads nothing more, so it cannot answer pings
    // Other sessions (earlier tests, the harness) may also come and go: the
    // count only tells when to look; the goaway tells who was cut and why.
    const peak = (await sessionsOn(node))!;
    await waitFor("a session to be cut", async () => ((await sessionsOn(node))! < peak ? true : undefined), 15_000);
    silent.ws.resume();
    expect(await silent.closed).toBeGreaterThan(0);
    expect(silent.frames.find((f) => f.t === "goaway")).toMatchObject({ reason: { code: "IDLE_TIMEOUT" } });
    // The live client has been through several ping intervals and is still served.
    expect(live.client.closedWith).toBeUndefined();
    expect(await live.client.request("ping", {})).toMatchObject({ ok: true });
    live.client.close();
  });

  it("30 pipelined subscribes on one connection: exactly subscriptionsPerSessionMax succeed, the rest get LIMIT_EXCEEDED", async () => {
    const leader = await cluster.leader();
    const c = await hello(leader);
    await answerOf(c);
    for (let i = 1; i <= 30; i++) c.ws.send(encodeFrame({ t: "req", id: i, kind: "subscribe", body: { pattern: `abuse.cap.${i}` } } as never));
    const answers = await waitFor("30 answers", () => {
      const res = c.frames.filter((f) => f.t === "res");
      return res.length >= 30 ? res : undefined;
    }, 30_000, 20);
    expect(answers.filter((f) => f.t === "res" && f.ok)).toHaveLength(10);
    const refused = answers.filter((f) => f.t === "res" && !f.ok);
    expect(refused).toHaveLength(20);
    expect(refused[0]).toMatchObject({ error: { code: "LIMIT_EXCEEDED", details: { limit: "subscriptionsPerSessionMax", max: 10 } } });
    c.ws.terminate();
  });

  it("pipelined subscription.list on a follower with a paused socket: memory stays bounded, the socket is cut, /healthz answers, SIGTERM stops the node", async () => {
    const leader = await cluster.leader();
    const setup = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    for (let i = 0; i < 40; i++) {
      const r = await setup.client.request("subscribe", { pattern: `abuse.list.${i}.**`, name: `abuse-list-${i}` });
      expect(r).toMatchObject({ ok: true });
      // Detach (the durable subscription stays) to stay under subscriptionsPerSessionMax.
      const subscriptionId = (r as { body: { subscriptionId: string } }).body.subscriptionId;
      expect(await setup.client.request("unsubscribe", { subscriptionId })).toMatchObject({ ok: true });
    }
    setup.client.close();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const rssBefore = cluster.rssBytes(follower)!;
    const sessionsBefore = (await sessionsOn(follower))!;
    const flood = await hello(follower);
    await answerOf(flood);
    flood.ws.pause();
    let peakRss = rssBefore;
    for (let round = 0; round < 40 && flood.ws.readyState === WebSocket.OPEN; round++) {
      for (let i = 0; i < 250; i++) flood.ws.send(encodeFrame({ t: "req", id: round * 250 + i + 1, kind: "subscription.list", body: {} } as never));
      await new Promise((r) => setTimeout(r, 50));
      peakRss = Math.max(peakRss, cluster.rssBytes(follower) ?? 0);
      expect(await healthzOk(follower)).toBe(true);
    }
    // The client never drains its socket: it is cut as a slow consumer.
    await waitFor("the flooding socket to be cut", async () => ((await sessionsOn(follower)) === sessionsBefore ? true : undefined), 20_000);
    flood.ws.terminate();
    expect(peakRss - rssBefore, "follower memory growth").toBeLessThan(150 * 1024 * 1024);
    expect(await healthzOk(follower)).toBe(true);
    expect(await cluster.stop(follower)).toBe(0);
    cluster.startNode(follower);
    await cluster.waitReady();
  });

  it("subscribe + detach cannot pile up durable subscriptions: the 46th of one client is LIMIT_EXCEEDED (decided in apply)", async () => {
    const leader = await cluster.leader();
    const { client } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    let created = 0;
    let refusal: unknown;
    for (let i = 0; i < 50 && refusal === undefined; i++) {
      const r = await client.request("subscribe", { pattern: `abuse.detach.${i}`, name: `abuse-detach-${i}` }) as { ok: boolean; body?: { subscriptionId: string }; error?: unknown };
      if (!r.ok) {
        refusal = r.error;
        break;
      }
      created++;
      expect(await client.request("unsubscribe", { subscriptionId: r.body!.subscriptionId })).toMatchObject({ ok: true });
    }
    expect(created).toBe(45);
    expect(refusal).toMatchObject({ code: "LIMIT_EXCEEDED", details: { limit: "durableSubscriptionsPerUserMax", max: 45 } });
    client.close();
  });

  it("lists come in pages of listPageMax with a cursor; the SDK walks them all", async () => {
    const node = cluster.nodes[0]!;
    const { client } = await RawClient.connect(`ws://127.0.0.1:${node.clientPort}`);
    // Stale reads: this node answers from its own state, leader or not.
    const first = await client.request("subscription.list", { consistency: "stale" }) as unknown as { ok: boolean; body: { subscriptions: { id: string }[]; next?: string } };
    expect(first.body.subscriptions).toHaveLength(10);
    expect(first.body.next).toBe(first.body.subscriptions[9]!.id);
    const second = await client.request("subscription.list", { after: first.body.next!, consistency: "stale" }) as unknown as typeof first;
    expect(second.body.subscriptions[0]!.id > first.body.next!).toBe(true);
    client.close();
    const { connect } = await import("@raftbus/client/node");
    const sdk = await connect({ servers: cluster.servers(), name: "pages" });
    try {
      const all = await sdk.subscriptions.list();
      expect(all.length).toBeGreaterThanOrEqual(85); // 40 list + 45 detach subscriptions, at least
      expect(new Set(all.map((s) => s.id)).size).toBe(all.length);
    } finally {
      await sdk.close();
    }
  });

  it("a publish flood from one client is RATE_LIMITED (publishMessagesPerSecMax) with the time to wait; then it may publish again", async () => {
    // An earlier case stops a node: publish to a leader the whole cluster agrees on.
    await cluster.waitReady();
    const leader = await cluster.leader();
    const c = await hello(leader);
    await answerOf(c);
    const payload = new Uint8Array(16);
    // One batch of 10 seconds' worth is admitted (a full bucket) and paid for;
    // the 20 single publishes sent once it is answered find the bucket in
    // debt for seconds, however slowly a busy machine handles them. (Sent
    // only after its answer: requests of one connection may be handled out
    // of order, and singles charged first would leave the bucket positive.)
    const batch = Array.from({ length: 1000 }, () => ({ topic: "abuse.rate", payload }));
    c.ws.send(encodeFrame({ t: "req", id: 1, kind: "publish", body: { messages: batch } } as never));
    const first = await waitFor("the batch's answer", () => c.frames.find((f) => f.t === "res" && f.id === 1), 60_000, 20);
    expect(first, JSON.stringify(first)).toMatchObject({ ok: true });
    for (let i = 2; i <= 21; i++) c.ws.send(encodeFrame({ t: "req", id: i, kind: "publish", body: { messages: [{ topic: "abuse.rate", payload }] } } as never));
    const answers = await waitFor("21 answers", () => {
      const res = c.frames.filter((f) => f.t === "res");
      return res.length >= 21 ? res : undefined;
    }, 60_000, 20);
    expect(answers.find((f) => f.t === "res" && f.id === 1)).toMatchObject({ ok: true });
    const limited = answers.filter((f) => f.t === "res" && !f.ok);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]).toMatchObject({ error: { code: "RATE_LIMITED", details: { limit: "publishMessagesPerSecMax", max: 100 } } });
    expect(Number((limited[0] as unknown as { error: { details: { retryAfterMs: number } } }).error.details.retryAfterMs)).toBeGreaterThan(0);
    // The bucket refills: a later publish goes through.
    let id = 21;
    await waitFor("a publish accepted again", async () => {
      const mine = ++id;
      c.ws.send(encodeFrame({ t: "req", id: mine, kind: "publish", body: { messages: [{ topic: "abuse.rate", payload }] } } as never));
      const r = await waitFor("its answer", () => c.frames.find((f) => f.t === "res" && f.id === mine), 10_000, 10);
      return r.t === "res" && r.ok ? true : undefined;
    }, 20_000, 250);
    c.ws.terminate();
  });
});
