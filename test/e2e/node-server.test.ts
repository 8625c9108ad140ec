/**
 * The node server through its public interfaces (WebSocket protocol and
 * HTTP), with real node processes on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";
import { RawClient } from "../support/raw-client.ts";

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await LocalCluster.start();
}, 90_000);

afterAll(async () => {
  await cluster?.destroy();
});

describe("node server", () => {
  it("an idle cluster writes no time entries: one only when time-driven work falls due (a TTL here)", async () => {
    // Time entries are what used to fsync twice a second on every node for nothing. Other idle writes
    // are $sys events, published when something changes (a node starts, a leader is elected), not by the clock.
    const metric = async (n: (typeof cluster.nodes)[number], name: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${n.clientPort}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${name}{`));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
    };
    const timeEntries = async (): Promise<number> => (await Promise.all(cluster.nodes.map((n) => metric(n, "raftbus_time_entries_total")))).reduce((a, b) => a + b, 0);
    const leader = await cluster.leader();
    const termBefore = (await cluster.status(leader))!.term;
    // Every leadership writes one catch-up entry; after that, nothing until something falls due.
    const before = await waitFor("the leader's catch-up time entry", async () => ((await metric(leader, "raftbus_time_entries_total")) >= 1 ? timeEntries() : undefined), 20_000);

    // A message that expires in 2 s is the only time-driven work. The leader looks every 500 ms
    // (--time-tick-ms): it must write nothing while the TTL is not yet due, then one entry that expires it.
    const { client } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    const res = await client.request("publish", { messages: [{ topic: "e2e.idle", payload: new Uint8Array([1]), ttlMs: 2000 }] });
    expect(res).toMatchObject({ ok: true });
    await waitFor("the TTL to expire the message", async () => {
      const info = await client.request("topic.info", { topic: "e2e.idle" });
      return (info as unknown as { body?: { messages: number } }).body?.messages === 0 ? true : undefined;
    }, 20_000);
    client.close();
    const written = (await timeEntries()) - before;
    const termAfter = (await cluster.status(await cluster.leader()))!.term;
    // A new leader (a busy machine can cause an election) writes its own catch-up entry.
    if (termAfter === termBefore) expect(written, "time entries for one TTL").toBe(1);
    else expect(written, `time entries for one TTL across terms ${termBefore}..${termAfter}`).toBeLessThanOrEqual(1 + termAfter - termBefore);
  });

  it("a follower answers writes with NOT_LEADER and the leader's client address", async () => {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const { client, welcome } = await RawClient.connect(`ws://127.0.0.1:${follower.clientPort}`);
    expect(welcome).toMatchObject({ t: "welcome", nodeId: follower.id, leaderId: leader.id, leaderAddress: `ws://127.0.0.1:${leader.clientPort}` });
    const res = await client.request("publish", { messages: [{ topic: "demo", payload: new Uint8Array([1]) }] });
    expect(res).toMatchObject({ t: "res", ok: false, error: { code: "NOT_LEADER", leaderHint: `ws://127.0.0.1:${leader.clientPort}` } });
    client.close();
  });

  it("the leader commits a publish and answers with offset and index", async () => {
    const leader = await cluster.leader();
    const { client } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    const res = await client.request("publish", { messages: [{ topic: "e2e.raw", payload: new TextEncoder().encode("hi") }] });
    expect(res).toMatchObject({ t: "res", ok: true, kind: "publish" });
    const body = (res as unknown as { body: { results: { ok: boolean; ack: { offset: number; index: number; duplicate: boolean } }[] } }).body;
    expect(body.results[0]).toMatchObject({ ok: true, ack: { offset: 0, duplicate: false } });
    expect(body.results[0]!.ack.index).toBeGreaterThan(0);
    client.close();
  });

  it("SDK: a 1,000-message batch is split into bounded entries, keeps its order, and a resend of it stores nothing twice", async () => {
    // One 2 MB request used to be one entry that every replica applied without yielding (issue 13 item 5).
    const client = await connect({ servers: cluster.servers(), name: "e2e-split" });
    try {
      const sendBatch = async (): Promise<{ offset: number; index: number; duplicate: boolean }[]> => {
        const publisher = client.publisher({ producerId: "e2e-split-producer", batchMessagesMax: 1000, batchBytesMax: 3 * 1024 * 1024, lingerMs: 1000 });
        const pending = [];
        for (let i = 0; i < 1000; i++) pending.push(await publisher.publish("e2e.split", new Uint8Array(2048).fill(i % 251)));
        await publisher.flush();
        await publisher.close();
        return Promise.all(pending.map((p) => p.committed));
      };
      const acks = await sendBatch();
      expect(acks.map((a) => a.offset)).toEqual([...Array(1000).keys()]);
      expect(acks.every((a) => !a.duplicate)).toBe(true);
      const perEntry = new Map<number, number>();
      for (const a of acks) perEntry.set(a.index, (perEntry.get(a.index) ?? 0) + 1);
      expect(perEntry.size, "entries the batch was split into").toBeGreaterThanOrEqual(4);
      expect(Math.max(...perEntry.values()), "messages in one entry").toBeLessThanOrEqual(256);
      // The same producer sequences again, as the SDK resends a batch whose outcome it did not learn: every entry dedups.
      const again = await sendBatch();
      expect(again.every((a) => a.duplicate)).toBe(true);
      expect(again.map((a) => a.offset)).toEqual(acks.map((a) => a.offset));
    } finally {
      await client.close();
    }
  });

  it("bad input gets a stable error code and the node keeps serving", async () => {
    const leader = await cluster.leader();
    const { client } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    client.sendRaw(new Uint8Array([0xc1, 0xff, 0x00]));
    expect(await client.next((f) => f.t === "res" && f.id === 0)).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
    const badTopic = await client.request("publish", { messages: [{ topic: "bad..topic", payload: new Uint8Array(1) }] });
    expect(badTopic).toMatchObject({ ok: false, error: { code: "INVALID_TOPIC" } });
    const big = await client.request("publish", { messages: [{ topic: "e2e.big", payload: new Uint8Array(1024 * 1024 + 1) }] });
    expect(big).toMatchObject({ ok: false, error: { code: "PAYLOAD_TOO_LARGE" } });
    const badFilter = await client.request("subscribe", { pattern: "e2e.*", filter: "usage >" });
    expect(badFilter).toMatchObject({ ok: false, error: { code: "INVALID_FILTER" } });
    const badPattern = await client.request("subscribe", { pattern: "/(a+)+\\1/" });
    expect(badPattern).toMatchObject({ ok: false, error: { code: "INVALID_PATTERN" } });
    expect(await client.request("ping", {})).toMatchObject({ ok: true, body: { nodeId: leader.id } });
    client.close();
  });

  it("a request whose body fails validation is answered with its own id, however many there are", async () => {
    const leader = await cluster.leader();
    const { client } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    // More than malformedFramesMax (16): a bad body is a bad request, not a broken connection.
    for (let i = 0; i < 20; i++) {
      const res = await client.request("publish", { messages: "not a list" } as never);
      expect(res).toMatchObject({ t: "res", ok: false, error: { code: "BAD_REQUEST", message: expect.stringMatching(/messages/) } });
      expect((res as { id: number }).id).toBeGreaterThan(0);
    }
    expect(await client.request("topic.info", { name: 42 } as never)).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
    expect(await client.request("ping", {})).toMatchObject({ ok: true, body: { nodeId: leader.id } });
    client.close();
  });

  it("an oversized frame closes that connection with 1009; the node keeps serving others", async () => {
    const leader = await cluster.leader();
    const { client } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    client.sendRaw(new Uint8Array(5 * 1024 * 1024));
    await waitFor("the oversized frame to close the socket", () => client.closedWith, 10_000, 20);
    expect(client.closedWith?.code).toBe(1009);
    const { client: other } = await RawClient.connect(`ws://127.0.0.1:${leader.clientPort}`);
    expect(await other.request("ping", {})).toMatchObject({ ok: true });
    other.close();
  });

  it("a hello with an unknown protocol version is refused", async () => {
    const leader = await cluster.leader();
    const { encodeFrame } = await import("@raftbus/client/protocol");
    const { default: WebSocket } = await import("ws");
    const ws = new WebSocket(`ws://127.0.0.1:${leader.clientPort}`);
    await new Promise((r) => ws.once("open", r));
    const reply = new Promise<Buffer>((r) => ws.once("message", (d: Buffer) => r(d)));
    ws.send(encodeFrame({ t: "hello", version: 999, clientId: "old" }));
    const { decodeServerFrame } = await import("@raftbus/client/protocol");
    expect(decodeServerFrame(new Uint8Array(await reply))).toMatchObject({ t: "refused", error: { code: "UNSUPPORTED_VERSION", details: { supported: "1" } } });
    ws.close();
  });

  it("HTTP: /healthz, /v1/status and /metrics answer", async () => {
    const n = cluster.nodes[0]!;
    const health = await fetch(`http://127.0.0.1:${n.clientPort}/healthz`);
    expect(health.status).toBe(200);
    const st = await cluster.status(n);
    expect(st).toMatchObject({ nodeId: n.id });
    const metrics = await (await fetch(`http://127.0.0.1:${n.clientPort}/metrics`)).text();
    expect(metrics).toMatch(/^raftbus_raft_term\{node="n1"\} \d+$/m);
    expect(metrics).toMatch(/# TYPE raftbus_raft_fsyncs_total counter/);
  });

  it("/readyz flips to 503 without a quorum and back to 200 when it returns", async () => {
    const [a, b, c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
    expect(await cluster.readyz(a)).toBe(200);
    await cluster.kill(b);
    await cluster.kill(c);
    await waitFor("a to lose its leader", async () => ((await cluster.readyz(a)) === 503 ? true : undefined), 20_000);
    cluster.startNode(b);
    cluster.startNode(c);
    await cluster.waitReady(60_000);
    expect(await cluster.readyz(a)).toBe(200);
  }, 120_000);

  it("a node with a wrong peer list refuses to start with a clear message", async () => {
    const n = cluster.nodes[0]!;
    const r = await cluster.runNodeToExit(n, ["--peers", "x1=127.0.0.1:1:2,x2=127.0.0.1:3:4,x3=127.0.0.1:5:6"]);
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/this node "n1" is not in the peer list/);
  }, 60_000);

  it("a data directory of another node is refused", async () => {
    const [n1, n2] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    await cluster.stop(n1);
    const r = await cluster.runNodeToExit(n2, ["--data-dir", n1.dataDir]);
    expect(r.code).toBe(3);
    expect(r.output).toMatch(/STORAGE_WRONG_NODE/);
    expect(r.output).toMatch(/n1/);
    cluster.startNode(n1);
    await cluster.waitReady(60_000);
  }, 90_000);

  it("SIGTERM on the leader hands leadership over first and exits 0", async () => {
    const leader = await cluster.leader();
    const termBefore = (await cluster.status(leader))!.term;
    const code = await cluster.stop(leader);
    expect(code).toBe(0);
    const next = await cluster.leader(10_000);
    expect(next.id).not.toBe(leader.id);
    expect(cluster.log(leader)).toMatch(/leadership transferred before shutdown/);
    // A transfer is one election: the term moves by exactly one (no timeout-driven elections).
    expect((await cluster.status(next))!.term).toBe(termBefore + 1);
    cluster.startNode(leader);
    await cluster.waitReady(60_000);
  }, 90_000);
});
