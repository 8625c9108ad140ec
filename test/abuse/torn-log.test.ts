/**
 * A torn Raft log tail on real files (issue 13 item 7). LevelDB recovers a
 * write-ahead log whose end is damaged by dropping the damaged records; what
 * the node does next depends on what was lost:
 * - entries the broker already applied (committed, maybe acknowledged): the
 *   node refuses to start with STORAGE_CORRUPT and exit code 3, never an
 *   invariant crash (exit 1) that a supervisor restarts forever;
 * - only entries nothing had applied yet: the node starts and serves, as
 *   LevelDB's recovery allows.
 */
import { readdirSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import { LevelStorage } from "@raftbus/raft";
import { LocalCluster } from "../support/local-cluster.ts";

let cluster: LocalCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

/** Cuts `bytes` off the newest LevelDB write-ahead log file in `dir` (a torn write). */
function tearNewestLog(dir: string, bytes: number): void {
  const logs = readdirSync(dir).filter((f) => f.endsWith(".log")).sort();
  const newest = logs[logs.length - 1];
  if (newest === undefined) throw new Error(`test setup: no write-ahead log in ${dir}`);
  const path = join(dir, newest);
  truncateSync(path, Math.max(0, statSync(path).size - bytes));
}

async function publishSome(c: LocalCluster, n: number): Promise<void> {
  const sdk = await connect({ servers: c.servers(), name: "torn-log" });
  try {
    for (let i = 0; i < n; i++) await sdk.publish("torn.log", `m${i}`);
  } finally {
    await sdk.close();
  }
}

describe("torn Raft log tail", () => {
  it("entries already applied are gone: STORAGE_CORRUPT, exit code 3, no invariant stack", async () => {
    cluster = await LocalCluster.start({ nodes: 1 });
    const node = cluster.nodes[0]!;
    await publishSome(cluster, 20);
    await cluster.kill(node);
    tearNewestLog(join(node.dataDir, "raft"), 100);
    const { code, output } = await cluster.runNodeToExit(node);
    expect(code, output).toBe(3);
    expect(output).toMatch(/STORAGE_CORRUPT: corrupt storage at log: ends at index \d+ but the state machine applied up to \d+: the log lost its tail/);
    expect(output).not.toMatch(/InvariantError/);
  });

  it("only an unapplied entry is torn off: LevelDB drops it, the node starts and keeps every message", async () => {
    cluster = await LocalCluster.start({ nodes: 1 });
    const node = cluster.nodes[0]!;
    await publishSome(cluster, 10);
    expect(await cluster.stop(node)).toBe(0);
    // Append one entry nothing applied (as if the node crashed right after
    // its write), then tear that last write.
    const raftDir = join(node.dataDir, "raft");
    const storage = await LevelStorage.open(raftDir, { nodeId: node.id });
    const last = storage.lastIndex();
    await storage.write({ entries: [{ index: last + 1, term: storage.term(last)!, type: "noop", data: new Uint8Array(0) }] }, { sync: true });
    await storage.close();
    tearNewestLog(raftDir, 5);
    const reopened = await LevelStorage.open(raftDir, { nodeId: node.id });
    expect(reopened.lastIndex(), "LevelDB dropped the torn write").toBe(last);
    await reopened.close();
    cluster.startNode(node);
    await cluster.waitReady();
    const sdk = await connect({ servers: cluster.servers(), name: "torn-log" });
    try {
      expect((await sdk.topics.info("torn.log")).messages).toBe(10);
      await sdk.publish("torn.log", "after");
      expect((await sdk.topics.info("torn.log")).messages).toBe(11);
    } finally {
      await sdk.close();
    }
  });
});
