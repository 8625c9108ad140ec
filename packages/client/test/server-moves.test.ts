/**
 * The SDK never gets stuck on one server (issue 9): a node that knows no
 * leader (cut off from the majority), a lost connection, or a node that is
 * not a member makes it move to another server after a short, bounded wait;
 * it learns the members' addresses from the cluster (as NATS clients learn
 * connect_urls) and drops those the cluster no longer lists.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RaftbusClient } from "../src/node.ts";
import { ServerPool } from "../src/server-pool.ts";
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

describe("moving off a server that cannot serve", () => {
  it("a client on a leader cut off from the majority moves to the new leader within a bounded wait", async () => {
    const client = await open();
    expect(client.info?.nodeId).toBe("n1");
    // The majority elects n2; n1 (cut off) steps down and knows no leader.
    cluster.setLeader("n2", false);
    cluster.partition("n1", true);
    const started = Date.now();
    const ack = await client.publish("moves", { n: 1 }, { timeoutMs: 5000 });
    expect(ack.offset).toBe(0);
    expect(client.info?.nodeId).toBe("n2");
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("NO_LEADER answers alone (no push) make it move too", async () => {
    const client = await open();
    cluster.setLeader("n3", false);
    cluster.leaderless.add("n1");
    await client.publish("moves", { n: 1 }, { timeoutMs: 5000 });
    expect(client.info?.nodeId).toBe("n3");
    const nodes = cluster.seen.filter((s) => s.frame.kind === "publish").map((s) => s.node);
    expect(nodes[0]).toBe("n1");
    expect(nodes[nodes.length - 1]).toBe("n3");
  });

  it("a node that says it is not a member is skipped at once, with or without a leader hint", async () => {
    cluster.setLeader("n3", false);
    cluster.removed.set("n1", { hint: false });
    const started = Date.now();
    const a = await open({ servers: [cluster.node("n1").address, cluster.node("n2").address, cluster.node("n3").address] });
    expect(a.info?.nodeId).toBe("n3");
    cluster.removed.set("n1", { hint: true });
    const b = await open({ servers: [cluster.node("n1").address] });
    expect(b.info?.nodeId).toBe("n3"); // straight to the leader it named
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("after losing the connection it tries another server first", async () => {
    const client = await open();
    cluster.setLeader("n2", false);
    cluster.node("n1").dropConnections();
    await client.publish("moves", { n: 1 }, { timeoutMs: 5000 });
    expect(client.info?.nodeId).toBe("n2");
  });
});

describe("learning the members' addresses", () => {
  it("uses addresses announced in the welcome to reach a member it was not configured with", async () => {
    cluster.servers = cluster.addresses;
    const client = await open({ servers: [cluster.node("n1").address] });
    expect(client.servers).toEqual(cluster.addresses);
    cluster.setLeader("n2", false);
    await cluster.node("n1").close(); // the only configured server is gone for good
    await client.publish("moves", { n: 1 }, { timeoutMs: 5000 });
    expect(client.info?.nodeId).toBe("n2");
  });

  it("drops announced servers the cluster no longer lists; configured ones stay", async () => {
    cluster.servers = cluster.addresses;
    const client = await open({ servers: [cluster.node("n1").address, cluster.node("n3").address] });
    expect(client.servers).toEqual([cluster.node("n1").address, cluster.node("n3").address, cluster.node("n2").address]);
    cluster.node("n1").push({ t: "members-changed", servers: [cluster.node("n1").address] });
    await waitFor(() => client.servers.length === 2, 2000, "n2 dropped");
    expect(client.servers).toEqual([cluster.node("n1").address, cluster.node("n3").address]);
  });
});

describe("ServerPool", () => {
  let now = 0;
  const clock = (): number => now;

  it("goes round the servers, skipping those cooling down until every one is", () => {
    now = 0;
    const pool = new ServerPool(["a", "b", "c"], clock);
    expect([pool.next(), pool.next(), pool.next(), pool.next()]).toEqual(["a", "b", "c", "a"]);
    pool.coolDown("b", 1000);
    expect([pool.next(), pool.next(), pool.next()]).toEqual(["c", "a", "c"]);
    pool.coolDown("a", 500);
    pool.coolDown("c", 2000);
    expect(pool.next()).toBe("a"); // all cooling: the one ready soonest
    now = 1500;
    expect([pool.next(), pool.next()]).toEqual(["a", "b"]);
  });

  it("tries the members the cluster lists before configured servers it does not list", () => {
    now = 0;
    const pool = new ServerPool(["old", "a"], clock);
    pool.learn(["a", "b"]);
    expect(pool.all).toEqual(["old", "a", "b"]);
    const picks = new Set([pool.next(), pool.next(), pool.next(), pool.next()]);
    expect(picks).toEqual(new Set(["a", "b"]));
    pool.coolDown("a", 100);
    pool.coolDown("b", 100);
    expect(pool.next()).toBe("old");
    pool.learn(["a"]);
    expect(pool.all).toEqual(["old", "a"]);
  });
});
