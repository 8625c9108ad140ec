/**
 * Failover under load, with real processes: kill -9 the leader while an
 * idempotent publisher and a durable at-least-once subscriber run. Nothing
 * acknowledged may be missing, nothing may be stored twice, the subscriber
 * gets every message, and the killed node restarts from its data and
 * catches up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import { LocalCluster, sleep, waitFor } from "../support/local-cluster.ts";

let cluster: LocalCluster;
let pubClient: RaftbusClient;
let subClient: RaftbusClient;

beforeAll(async () => {
  cluster = await LocalCluster.start();
  pubClient = await connect({ servers: cluster.servers(), name: "failover-pub", timeoutMs: 20_000 });
  subClient = await connect({ servers: cluster.servers(), name: "failover-sub", timeoutMs: 20_000 });
}, 90_000);

afterAll(async () => {
  await pubClient?.close();
  await subClient?.close();
  await cluster?.destroy();
});

describe("failover", () => {
  it("kill -9 the leader during publishing: no acknowledged message lost, none duplicated, subscriber gets all", async () => {
    const TOTAL = 300;
    await pubClient.topics.create("fo.events");
    const received = new Set<number>();
    const sub = await subClient.subscribe("fo.events", {
      name: "fo-durable", from: "earliest", maxInFlight: 50, ackTimeoutMs: 3000,
      handler: (m) => {
        received.add((m.json() as { n: number }).n);
      },
    });

    const publisher = pubClient.publisher({ producerId: "fo-producer", lingerMs: 2, batchMessagesMax: 20, windowMax: 50 });
    const acked = new Set<number>();
    const pending: Promise<void>[] = [];
    const oldLeader = await cluster.leader();
    let killedAt = 0;
    for (let n = 0; n < TOTAL; n++) {
      const p = await publisher.publish("fo.events", { n });
      pending.push(p.committed.then(() => {
        acked.add(n);
      }, () => undefined));
      if (n === 100) {
        await Promise.all(pending.slice(0, 90));
        await cluster.kill(oldLeader);
        killedAt = Date.now();
      }
      if (n % 20 === 0) await sleep(5);
    }
    await publisher.flush();
    await Promise.all(pending);
    const newLeader = await cluster.leader();
    expect(newLeader.id).not.toBe(oldLeader.id);
    // Failover time: leader killed → new leader accepting publishes.
    const probe = await pubClient.publish("fo.probe", "after-failover");
    const failoverMs = Date.now() - killedAt;
    expect(probe.index).toBeGreaterThan(0);
    console.log(`failover: new leader ${newLeader.id} accepting publishes ${failoverMs} ms after kill -9 of ${oldLeader.id}`);

    // The idempotent publisher retried through the failover: every message acknowledged, none stored twice.
    expect(acked.size).toBe(TOTAL);
    const info = await pubClient.topics.info("fo.events");
    expect(info.messages).toBe(TOTAL);

    // The durable at-least-once subscriber resumed at the new leader and got every message.
    await waitFor("subscriber to receive everything", () => (received.size === TOTAL ? true : undefined), 60_000, 100);
    await sub.close?.();

    // The killed node restarts from its data and catches up.
    cluster.startNode(oldLeader);
    await cluster.waitReady(60_000);
    const target = (await cluster.status(newLeader))!.commitIndex;
    await waitFor("restarted node to catch up", async () => {
      const s = await cluster.status(oldLeader);
      return s !== undefined && s.appliedIndex >= target ? true : undefined;
    }, 60_000);
  }, 240_000);
});
