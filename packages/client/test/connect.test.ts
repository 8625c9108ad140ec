/**
 * connect(), leader following and reconnects, against the fake cluster:
 * welcome redirects, NOT_LEADER hints, leader-changed and goaway pushes,
 * refused hellos, and connection losses.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, RaftbusError, type RaftbusClient, type StatusEvent } from "../src/node.ts";
import { FakeCluster } from "./fake-server.ts";
import { connectTo, waitFor } from "./helpers.ts";

let cluster: FakeCluster;
let clients: RaftbusClient[] = [];

async function open(options: Parameters<typeof connectTo>[1] = {}): Promise<RaftbusClient> {
  const client = await connectTo(cluster, options);
  clients.push(client);
  return client;
}

beforeEach(async () => {
  cluster = await FakeCluster.start(3);
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await cluster.close();
});

describe("connect: finding the leader", () => {
  it("goes from a follower to the leader its welcome names", async () => {
    cluster.setLeader("n2", false);
    const client = await open({ servers: [cluster.node("n1").address] });
    expect(client.info?.nodeId).toBe("n2");
    expect(client.info?.leaderId).toBe("n2");
  });

  it("follows a NOT_LEADER redirect and resends the request to the leader", async () => {
    const client = await open({ servers: [cluster.node("n1").address] });
    cluster.setLeader("n2", false); // silent change: n1 only learns it when asked
    const ack = await client.publish("orders", { n: 1 });
    expect(ack).toMatchObject({ topic: "orders", offset: 0, duplicate: false });
    expect(client.info?.nodeId).toBe("n2");
    const sent = cluster.seen.filter((s) => s.frame.kind === "publish");
    expect(sent.map((s) => s.node)).toEqual(["n1", "n2"]);
    // The same message (same id) was resent, so a resend that did land is stored once.
    const ids = cluster.requests("publish").map((f) => f.body.messages[0]?.id);
    expect(ids[0]).toBeDefined();
    expect(ids[1]).toBe(ids[0]);
  });

  it("moves to the new leader on a leader-changed push", async () => {
    const events: StatusEvent[] = [];
    const client = await open({ onStatus: (e) => events.push(e) });
    expect(client.info?.nodeId).toBe("n1");
    cluster.setLeader("n3", true);
    await waitFor(() => client.info?.nodeId === "n3", 3000, "move to n3");
    expect(events.some((e) => e.type === "leader-changed" && e.leaderId === "n3")).toBe(true);
    expect(await client.ping()).toBeGreaterThanOrEqual(0);
  });

  it("reconnects where a goaway says", async () => {
    const client = await open();
    cluster.setLeader("n2", false);
    cluster.node("n1").push({ t: "goaway", reason: { code: "NOT_LEADER", message: "stepping down" }, reconnectTo: cluster.node("n2").address });
    await waitFor(() => client.info?.nodeId === "n2", 3000, "move to n2");
  });

  it("stays on a follower while no leader is known, and retries NO_LEADER until one is elected", async () => {
    cluster.setLeader(null, false);
    const client = await open({ servers: [cluster.node("n1").address] });
    expect(client.info?.leaderId).toBeNull();
    const publishing = client.publish("t", "x", { timeoutMs: 3000 });
    await waitFor(() => cluster.requests("publish").length >= 2, 3000, "NO_LEADER retries");
    cluster.setLeader("n2", true);
    await expect(publishing).resolves.toMatchObject({ topic: "t", offset: 0 });
    expect(client.info?.nodeId).toBe("n2");
  });
});

describe("connect: refusals and failures", () => {
  it("rejects with UNAUTHORIZED when the hello is refused, and succeeds with the token", async () => {
    cluster.token = "s3cret";
    await expect(connectTo(cluster)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    const client = await open({ credentials: { token: "s3cret" } });
    expect(client.info?.nodeId).toBe("n1");
  });

  it("rejects with TIMEOUT naming the last error when no server answers", async () => {
    const err = await connect({ servers: ["ws://127.0.0.1:1"], timeoutMs: 300, reconnect: { initialMs: 10, maxMs: 50 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftbusError);
    expect((err as RaftbusError).code).toBe("TIMEOUT");
    expect((err as RaftbusError).message).toContain("CONNECTION_CLOSED");
  });

  it("validates options once, with clear messages", async () => {
    await expect(connect({ servers: [] })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(connect({ servers: "http://x:1" })).rejects.toThrow(/ws:\/\//);
    await expect(connect({ servers: "ws://127.0.0.1:1", timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
  });

  it("accepts a comma-separated server string like RAFTBUS_SERVERS", async () => {
    const client = await open({ servers: cluster.addresses.join(" , ") });
    expect(client.info?.nodeId).toBe("n1");
  });
});

describe("connect: losses and the closed promise", () => {
  it("closed resolves with undefined after close()", async () => {
    const client = await open();
    await client.close();
    await expect(client.closed).resolves.toBeUndefined();
    await expect(client.publish("t", "x")).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
  });

  it("reconnects with back-off after a connection loss", async () => {
    const events: StatusEvent[] = [];
    const client = await open({ onStatus: (e) => events.push(e) });
    cluster.node("n1").dropConnections();
    await waitFor(() => events.filter((e) => e.type === "connected").length >= 2, 3000, "reconnect");
    expect(events.some((e) => e.type === "disconnected")).toBe(true);
    await expect(client.publish("t", "after")).resolves.toMatchObject({ offset: 0 });
  });

  it("backs off exponentially while every server is down, then recovers", async () => {
    const events: StatusEvent[] = [];
    const client = await open({ onStatus: (e) => events.push(e), reconnect: { initialMs: 10, maxMs: 80 } });
    const addresses = cluster.addresses;
    const ports = addresses.map((a) => Number(new URL(a).port));
    await cluster.close();
    await waitFor(() => events.filter((e) => e.type === "reconnecting").length >= 4, 3000, "back-off rounds");
    const delays = events.flatMap((e) => (e.type === "reconnecting" ? [e.delayMs] : []));
    expect(Math.max(...delays)).toBeLessThanOrEqual(80);
    expect(delays.every((d) => d >= 5)).toBe(true); // equal jitter: never below half the base delay
    // The servers come back on the same ports.
    await Promise.all(cluster.nodes.map((n, i) => n.listen(ports[i])));
    await waitFor(() => client.info !== undefined, 3000, "recovery");
    expect(client.info?.nodeId).toBe("n1");
  });

  it("with reconnect off, closed resolves with the loss", async () => {
    const client = await open({ reconnect: false });
    cluster.node("n1").dropConnections();
    const reason = await client.closed;
    expect(reason).toBeInstanceOf(RaftbusError);
    expect((reason as RaftbusError).code).toBe("CONNECTION_CLOSED");
  });

  it("closed resolves with the error after reconnect attempts are exhausted", async () => {
    const client = await open({ reconnect: { initialMs: 5, maxMs: 10, attemptsMax: 3 } });
    await cluster.close();
    const reason = await client.closed;
    expect(reason).toBeInstanceOf(RaftbusError);
  });

  it("a dead connection is detected by pings", async () => {
    const events: StatusEvent[] = [];
    const client = await open({ pingIntervalMs: 50, onStatus: (e) => events.push(e) });
    let swallow = true;
    cluster.intercept = (req) => (req.frame.kind === "ping" && swallow ? { hold: new Promise(() => undefined) } : undefined);
    await waitFor(() => events.some((e) => e.type === "disconnected" && e.reason.code === "TIMEOUT"), 3000, "ping timeout");
    swallow = false;
    await waitFor(() => client.info !== undefined, 3000, "reconnected");
  });
});
