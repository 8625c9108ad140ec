/** The admin API maps each call to its request kind and body, and returns the typed response. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RaftbusClient } from "../src/node.ts";
import { FakeCluster } from "./fake-server.ts";
import { connectTo } from "./helpers.ts";

let cluster: FakeCluster;
let client: RaftbusClient;

beforeEach(async () => {
  cluster = await FakeCluster.start(1);
  client = await connectTo(cluster);
});

afterEach(async () => {
  await client.close();
  await cluster.close();
});

const last = () => cluster.seen.at(-1)?.frame;

describe("admin", () => {
  it("topics create/list/info/delete", async () => {
    await expect(client.topics.create("events.user.actions", { retention: { maxMessages: 5000, maxAgeMs: 7_200_000, maxBytes: 50 * 1024 * 1024 } })).resolves.toMatchObject({ name: "events.user.actions" });
    expect(last()).toMatchObject({ kind: "topic.create", body: { topic: "events.user.actions", retention: { maxMessages: 5000, maxAgeMs: 7_200_000, maxBytes: 52_428_800 } } });
    await client.publish("t1", "x");
    await expect(client.topics.list({ prefix: "t" })).resolves.toEqual([expect.objectContaining({ name: "t1", messages: 1 })]);
    expect(last()).toMatchObject({ kind: "topic.list", body: { prefix: "t" } });
    await expect(client.topics.info("t1")).resolves.toMatchObject({ name: "t1", subscriptions: [] });
    await expect(client.topics.info("missing")).rejects.toMatchObject({ code: "TOPIC_NOT_FOUND" });
    await expect(client.topics.delete("t1")).resolves.toEqual({ topic: "t1", messagesRemoved: 1 });
  });

  it("subscriptions list, dlq list/replay/purge", async () => {
    await expect(client.subscriptions.list({ topic: "a" })).resolves.toEqual([]);
    expect(last()).toMatchObject({ kind: "subscription.list", body: { topic: "a" } });
    await expect(client.dlq.list("a", { limit: 10 })).resolves.toEqual([]);
    expect(last()).toMatchObject({ kind: "dlq.list", body: { topic: "a", limit: 10 } });
    await expect(client.dlq.replay("a", { ids: [1, 2] })).resolves.toBe(2);
    expect(last()).toMatchObject({ kind: "dlq.replay", body: { topic: "a", ids: [1, 2] } });
    await expect(client.dlq.purge("a")).resolves.toBe(3);
    expect(last()).toMatchObject({ kind: "dlq.purge", body: { topic: "a" } });
  });

  it("maintenance, stats, cluster status and membership", async () => {
    await expect(client.maintenance.run("compact")).resolves.toEqual({ kind: "compact", affected: 7, durationMs: 1 });
    await expect(client.stats()).resolves.toMatchObject({ topics: 0, nodes: [] });
    await expect(client.cluster.status()).resolves.toMatchObject({ leaderId: "n1", nodes: [expect.objectContaining({ id: "n1", role: "leader" })] });
    await expect(client.cluster.addNode({ id: "n4", peerAddress: "ws://h:7104", clientAddress: "ws://h:7004" })).resolves.toMatchObject({ members: [expect.objectContaining({ id: "n4", voter: true })] });
    expect(last()).toMatchObject({ kind: "cluster.add-node", body: { id: "n4", peerAddress: "ws://h:7104", clientAddress: "ws://h:7004" } });
    await client.cluster.removeNode("n4");
    expect(last()).toMatchObject({ kind: "cluster.remove-node", body: { id: "n4" } });
    await expect(client.cluster.transferLeader("n2")).resolves.toEqual({ from: "n1", to: "n2" });
    expect(last()).toMatchObject({ kind: "cluster.transfer-leader", body: { to: "n2" } });
  });

  it("passes server errors through with their stable code", async () => {
    cluster.intercept = (req) => (req.frame.kind === "topic.create" ? { error: { code: "TOPIC_EXISTS", message: "exists" } } : undefined);
    await expect(client.topics.create("x")).rejects.toMatchObject({ name: "RaftbusError", code: "TOPIC_EXISTS" });
  });
});
