/**
 * Catch-up by the broker's own snapshot over the real peer transport (issue
 * 9, fault 1), on real node processes with a small --snapshot-entries:
 * a follower down across several compactions comes back through a snapshot
 * many transport chunks long, even when its first transfer is cut in the
 * middle; a new empty node added after compaction catches up the same way;
 * afterwards every node holds the same topic logs as the leader.
 *
 * Before the fix the follower died on the snapshot ("Data read, but end of
 * buffer not reached") and again at every restart.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerStateMachine } from "@raftbus/broker";
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";
import type { TestNode } from "../support/local-cluster.ts";

/** Entries between snapshots; with the driver's 1,000 trailing entries a node > ~1,150 behind needs a snapshot. */
const SNAPSHOT_ENTRIES = 150;
/** Log entries the follower must miss before the big state: past the trailing entries and a compaction more. */
const BEHIND_ENTRIES = 1000 + SNAPSHOT_ENTRIES;
/** 64 × 64 KiB ≈ 4 MiB of state: about 16 transport chunks of 256 KiB. */
const BIG_MESSAGES = 64;
const BIG_PAYLOAD = "b".repeat(64 * 1024);
/** Small messages per round of publishing towards an entry count (a bound on the rounds keeps it finite). */
const ROUND = 50;
const ROUNDS_MAX = 400;

let cluster: LocalCluster;
let client: RaftbusClient;
/** Small messages published in all (the last test compares every node's copy). */
let smallPublished = 0;

beforeAll(async () => {
  // 50 ms ticks (elections after 0.5–1 s): heavy snapshotting on two cores must not look like a dead leader.
  cluster = await LocalCluster.start({ tickMs: 50, extraArgs: ["--snapshot-entries", String(SNAPSHOT_ENTRIES)] });
  client = await connect({ servers: cluster.servers(), name: "snapshot-catchup", timeoutMs: 30_000 });
}, 90_000);

afterAll(async () => {
  await client?.close();
  await cluster?.destroy();
});

/**
 * Publishes messages `from`…`to - 1` as separate requests, `parallel` at a
 * time. Concurrent publishes may share a log entry (publish coalescing):
 * callers that need entries count entries, not messages (publishUntil).
 */
async function publishMany(topic: string, from: number, to: number, payload: (i: number) => Record<string, unknown>, parallel = 32): Promise<void> {
  let next = from;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < to) {
      const i = next++;
      await client.publish(topic, payload(i), { id: `${topic}-${i}` });
    }
  }));
}

/**
 * Publishes small messages to `topic` from offset `from`, a round at a time,
 * until `done()`; returns the next offset. Bounded: fails after ROUNDS_MAX rounds.
 */
async function publishUntil(topic: string, from: number, what: string, done: () => Promise<boolean>): Promise<number> {
  let next = from;
  for (let round = 0; !(await done()); round++) {
    if (round >= ROUNDS_MAX) throw new Error(`${what}: not reached after ${ROUNDS_MAX * ROUND} messages`);
    await publishMany(topic, next, next + ROUND, (i) => ({ i }), 4);
    next += ROUND;
  }
  return next;
}

async function commitIndex(node: TestNode): Promise<number> {
  return (await cluster.status(node))?.commitIndex ?? 0;
}

function snapshotsTaken(node: TestNode): number {
  return cluster.log(node).split("\n").filter((l) => l.includes("snapshot taken; log compacted")).length;
}

async function appliedAtLeast(node: TestNode, index: number): Promise<boolean | undefined> {
  const st = await cluster.status(node);
  return st !== undefined && st.appliedIndex >= index ? true : undefined;
}

async function metric(node: TestNode, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${node.clientPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(" ").pop());
}

/**
 * Restarts `node` and freezes it (SIGSTOP) as soon as a snapshot is being
 * received, then kills it: a transfer cut in the middle for certain when a
 * partial file and no complete snapshot of its index are on disk.
 */
async function restartAndCutTransfer(node: TestNode): Promise<boolean> {
  const dir = join(node.dataDir, "snapshots");
  const proc = cluster.startNode(node);
  const part = await waitFor("a snapshot transfer to start", () => {
    if (node.proc !== proc) throw new Error(`${node.id} exited (${node.exitCode}) before receiving a snapshot:\n${cluster.log(node).slice(-2000)}`);
    const name = existsSync(dir) ? readdirSync(dir).find((f) => /^recv-\d+-\d+\.part$/.test(f)) : undefined;
    return name !== undefined && statSync(join(dir, name)).size > 64 * 1024 ? name : undefined;
  }, 60_000, 2);
  proc.kill("SIGSTOP");
  const index = Number(/^recv-(\d+)-/.exec(part)?.[1]);
  const files = readdirSync(dir);
  const midway = files.includes(part) && !files.some((f) => f.startsWith("snap-") && Number(/^snap-(\d+)/.exec(f)?.[1]) >= index);
  await cluster.kill(node); // SIGKILL works on a stopped process
  return midway;
}

/** Every topic's messages (payload and id by offset) as the node's broker database holds them. */
async function topicLogs(node: TestNode): Promise<Map<string, string[]>> {
  const bsm = await BrokerStateMachine.open(join(node.dataDir, "broker"));
  try {
    const out = new Map<string, string[]>();
    for (const t of await bsm.listTopics()) {
      // The cluster's own events ($sys.*) go on while the nodes stop one by
      // one (node.stopping/stopped reach the nodes still running): compare
      // the client topics, which nothing writes any more.
      if (t.name.startsWith("$sys.")) continue;
      const msgs: string[] = [];
      for (let from = 0; ;) {
        const page = await bsm.readMessages(t.name, from, 1000);
        if (page.length === 0) break;
        for (const m of page) msgs.push(`${m.offset}:${m.id}:${Buffer.from(m.payload).toString("base64").length}:${Buffer.from(m.payload).subarray(0, 32).toString()}`);
        from = (page[page.length - 1]?.offset ?? from) + 1;
      }
      out.set(t.name, msgs);
    }
    return out;
  } finally {
    await bsm.close();
  }
}

describe("snapshot catch-up over the real transport", () => {
  it("a follower down across several compactions comes back through a multi-chunk snapshot, after a cut transfer", async () => {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader) as TestNode;
    await publishMany("cu.small", 0, 20, (i) => ({ i }));
    await cluster.kill(follower);
    const takenBefore = snapshotsTaken(leader);
    const missedFrom = await commitIndex(leader);

    // Small entries first: the compactions they cause stay cheap; the big state comes last, and a
    // compaction after it puts it in the snapshot. Counted in log entries, which is what compaction counts.
    let small = await publishUntil("cu.small", 20, `${BEHIND_ENTRIES} entries missed`, async () => (await commitIndex(leader)) - missedFrom >= BEHIND_ENTRIES);
    await publishMany("cu.big", 0, BIG_MESSAGES, (i) => ({ i, pad: BIG_PAYLOAD }), 8);
    const takenWithoutBig = snapshotsTaken(leader);
    small = await publishUntil("cu.small", small, "a compaction after the big state", async () => snapshotsTaken(leader) > takenWithoutBig);
    smallPublished = small;
    const target = await commitIndex(leader);
    expect(snapshotsTaken(leader) - takenBefore).toBeGreaterThanOrEqual(3);

    const cutMidway = await restartAndCutTransfer(follower);
    expect(cutMidway).toBe(true);

    cluster.startNode(follower);
    await waitFor(`${follower.id} to catch up to ${target}`, async () => {
      if (follower.proc === undefined) throw new Error(`${follower.id} died:\n${cluster.log(follower).slice(-3000)}`);
      return appliedAtLeast(follower, target);
    }, 60_000);
    expect(await metric(follower, "raftbus_raft_snapshots_restored_total")).toBeGreaterThanOrEqual(1);
    expect(cluster.log(follower)).not.toMatch(/raft node turn failed|received snapshot refused/);
    await cluster.waitReady();
  }, 180_000);

  it("a new empty node added after compaction catches up by snapshot", async () => {
    // The joining node's transport admits only the peers it knows: make sure it knows the leader.
    const n4 = await cluster.newNode("n4");
    cluster.startNode(n4, cluster.joinPeers(n4, await cluster.leader()));
    await waitFor("n4 to listen", async () => ((await cluster.status(n4)) !== undefined ? true : undefined), 30_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${cluster.log(n4).slice(-3000)}`);
    });
    await client.cluster.addNode({ id: "n4", peerAddress: `127.0.0.1:${n4.peerPort}`, clientAddress: `127.0.0.1:${n4.clientPort}`, voter: false });
    const leader = await cluster.leader();
    const target = (await cluster.status(leader))?.commitIndex ?? 0;
    await waitFor(`n4 to catch up to ${target}`, async () => {
      if (n4.proc === undefined) throw new Error(`n4 died:\n${cluster.log(n4).slice(-3000)}`);
      return appliedAtLeast(n4, target);
    }, 60_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${cluster.log(n4).slice(-3000)}`);
    });
    expect(await metric(n4, "raftbus_raft_snapshots_restored_total")).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it("afterwards every node's topic logs equal the leader's", async () => {
    const leader = await cluster.leader();
    // No more writes: wait until every node applied what the leader committed, then stop them all.
    const target = (await cluster.status(leader))?.commitIndex ?? 0;
    for (const n of cluster.nodes) await waitFor(`${n.id} at ${target}`, () => appliedAtLeast(n, target), 30_000);
    // cluster status compares the state digests at one applied index: the restored replicas agree with the leader.
    const st = await client.cluster.status();
    expect(st.agreement, st.agreement?.summary).toMatchObject({ agree: true, compared: ["n1", "n2", "n3", "n4"] });
    for (const n of cluster.nodes) await cluster.stop(n);
    const want = await topicLogs(leader);
    expect(want.get("cu.big")).toHaveLength(BIG_MESSAGES);
    expect(want.get("cu.small")).toHaveLength(smallPublished);
    for (const n of cluster.nodes) {
      if (n === leader) continue;
      const got = await topicLogs(n);
      expect([...got.keys()].sort(), n.id).toEqual([...want.keys()].sort());
      for (const [topic, msgs] of want) expect(got.get(topic), `${n.id} ${topic}`).toEqual(msgs);
    }
  }, 120_000);
});
