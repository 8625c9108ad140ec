/**
 * A full disk on real node processes (issue 16 part 4). The three nodes
 * keep their data on one small tmpfs (64 MiB, mounted for the test; needs
 * root) with a 16 MiB floor. A filler file takes the free space below the
 * floor: publishes are refused with STORAGE_FULL (SDK and CLI), reads, acks,
 * topic deletes and retention still work, `$sys.alerts.storage-full` fires, nothing
 * committed is lost; removing the filler brings publishes back by
 * themselves and the alert resolves.
 *
 * Then per node, by configuration (an unreachable floor): a leader whose
 * disk is full hands leadership to a voter with room and publishes go on;
 * with two of three voters full no majority can store a message and the
 * leader refuses publishes although its own disk has room.
 */
import { execFileSync } from "node:child_process";
import { closeSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import type { Msg, RaftbusClient } from "@raftbus/client/node";
import { RaftbusError } from "@raftbus/client";
import { runCliInProcess as cli } from "../../packages/cli/test/helpers/cluster.ts";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";
import type { TestNode } from "../support/local-cluster.ts";

const MiB = 1024 * 1024;
const FLOOR = ["--disk-free-min-bytes", "16MiB"];
/** A floor no disk reaches: the node's disk always counts as full. */
const FULL = ["--disk-free-min-bytes", "1000000GiB"];
const root = process.getuid?.() === 0;

let cluster: LocalCluster | undefined;
let mounted: string | undefined;
/** The file that fills the tmpfs, removed after each test too. */
let filler: string | undefined;
const clients: RaftbusClient[] = [];

// A failed first test must not leave the disk full for the second.
afterEach(() => {
  if (filler !== undefined) rmSync(filler, { force: true });
  filler = undefined;
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  if (cluster !== undefined) for (const n of cluster.nodes) await cluster.kill(n);
  // Lazy: the test process itself still holds the nodes' log files open (LocalCluster passes them as stdio).
  if (mounted !== undefined) execFileSync("umount", ["-l", mounted]);
  await cluster?.destroy();
});

async function publishOutcome(client: RaftbusClient, topic: string, body: Record<string, unknown>): Promise<string> {
  try {
    await client.publish(topic, body, { timeoutMs: 5000 });
    return "ok";
  } catch (err) {
    if (err instanceof RaftbusError) return err.code;
    throw err;
  }
}

describe.skipIf(!root)("a full disk (tmpfs, needs root)", () => {
  it("refuses publishes below the floor, keeps reads, acks, deletes and retention, alerts, and recovers by itself", async () => {
    cluster = await LocalCluster.start({
      nodes: 3, extraArgs: FLOOR,
      beforeStart: async (c) => {
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", c.root]);
        mounted = c.root;
      },
    });
    const client = await connect({ servers: cluster.servers(), timeoutMs: 15_000 });
    clients.push(client);
    const alerts: { kind: string; data: { subject: string } }[] = [];
    // From the start of the (fresh) cluster's alert topic: a leader change re-subscribes, and must not skip the alert.
    const alertSub = await client.subscribe("$sys.alerts.storage-full", { from: "earliest", guarantee: "at-most-once" });
    let alertsEnded: unknown;
    void (async () => {
      for await (const m of alertSub) alerts.push(m.json<{ kind: string; data: { subject: string } }>());
    })().catch((err: unknown) => {
      alertsEnded = err;
    });
    const alerted = (kind: string): true | undefined => {
      if (alertsEnded !== undefined) throw new Error(`the alert subscription ended: ${String(alertsEnded)}`);
      return alerts.some((a) => a.kind === kind) ? true : undefined;
    };

    for (let i = 0; i < 20; i++) await client.publish("work", { i }, { id: `w-${i}` });
    await client.topics.create("scratch");
    await client.topics.create("aging", { retention: { maxAgeMs: 8000 } });
    for (let i = 0; i < 5; i++) await client.publish("aging", { i });
    const held: Msg[] = [];
    const worker = await client.subscribe("work", { name: "w", from: "earliest", maxInFlight: 5 });
    const deliveries = worker[Symbol.asyncIterator]();
    while (held.length < 5) {
      const next = await deliveries.next();
      if (next.done === true) throw new Error("the subscription ended early");
      held.push(next.value);
    }

    // Fill the file system until 8 MiB are left: below the 16 MiB floor on every node.
    filler = join(cluster.root, "filler");
    const fd = openSync(filler, "w");
    const chunk = Buffer.alloc(MiB, 0x61);
    try {
      for (;;) {
        const st = statfsSync(cluster.root);
        if (st.bavail * st.bsize <= 8 * MiB) break;
        writeSync(fd, chunk);
      }
    } finally {
      closeSync(fd);
    }

    await waitFor("publishes refused", async () => ((await publishOutcome(client, "work", { late: true })) === "STORAGE_FULL" ? true : undefined), 20_000, 200);
    const before = (await client.topics.info("work")).messages;
    // Still there when the disk filled up: retention removes them below, while it is full.
    expect((await client.topics.info("aging")).messages).toBe(5);
    const refused = await cli(["pub", "work", "{}", "--servers", cluster.servers().join(",")]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/STORAGE_FULL: free disk space is below diskFreeMinBytes on n\d/);
    const status = await cli(["cluster", "status", "--servers", cluster.servers().join(",")]);
    expect(status.stdout).toMatch(/disk full/);

    // Reads, acks, deletes and retention go on.
    for (const m of held) await m.ack();
    await waitFor("the acks applied", async () => ((await client.subscriptions.list()).find((s) => s.id === "w")?.acked === 5 ? true : undefined), 15_000);
    await client.topics.delete("scratch");
    expect((await client.topics.list()).map((t) => t.name)).not.toContain("scratch");
    expect((await client.topics.info("work")).messages).toBe(before);
    await waitFor("retention by age removing the aging topic's messages", async () => ((await client.topics.info("aging")).messages === 0 ? true : undefined), 20_000, 200);
    expect(await publishOutcome(client, "work", { still: "full" })).toBe("STORAGE_FULL");
    await waitFor("the storage-full alert", () => alerted("alert.firing"), 15_000);

    // Space returns: publishes come back without a restart.
    rmSync(filler);
    filler = undefined;
    await waitFor("publishes accepted again", async () => ((await publishOutcome(client, "work", { after: true })) === "ok" ? true : undefined), 20_000, 200);
    await waitFor("the alert resolved", () => alerted("alert.resolved"), 15_000);
    const info = await client.topics.info("work");
    expect(info.messages).toBeGreaterThanOrEqual(before + 1);
    expect(info.firstOffset).toBe(0);
    await deliveries.return?.();
  }, 90_000);

  it("a leader whose disk is full hands leadership over; two full voters of three stop publishes", async () => {
    const c = cluster as LocalCluster;
    const client = clients[0] as RaftbusClient;
    const first = await c.leader();
    await c.stop(first);
    c.startNode(first, FULL);
    await c.waitReady();
    // Make the full node the leader: it hands leadership on to a voter with room. (The transfer's own
    // answer may be lost to that quick second change, so its exit code proves nothing either way.)
    await cli(["cluster", "transfer-leader", first.id, "--servers", c.servers().join(",")]);
    await waitFor("the full leader handing over", () => (/handing leadership to a voter with room/.test(c.log(first)) ? true : undefined), 30_000, 200);
    const next = await waitFor("leadership handed on", async () => {
      const l = await c.leader();
      return l.id !== first.id ? l : undefined;
    }, 30_000, 200);
    await waitFor("publishes accepted with one full follower", async () => ((await publishOutcome(client, "work", { one: true })) === "ok" ? true : undefined), 20_000, 200);

    // A second full voter: the leader's own disk has room, but no majority does.
    const second = c.nodes.find((n) => n !== first && n !== next) as TestNode;
    await c.stop(second);
    c.startNode(second, FULL);
    await waitFor("publishes refused without a majority with room", async () => {
      const outcome = await publishOutcome(client, "work", { two: true });
      return outcome === "STORAGE_FULL" ? true : undefined;
    }, 30_000, 200);
    await expect(client.publish("work", {})).rejects.toMatchObject({ code: "STORAGE_FULL", message: /so no majority of voters can store new messages/ });
  }, 90_000);
});
