/**
 * Storage integrity on real files (issue 13 item 7).
 *
 * Broker records carry checksums: a byte flipped inside a LevelDB table file
 * is caught when the record is read — at start-up for the records the broker
 * loads then (exit 3), on read for messages (STORAGE_CORRUPT, never garbage).
 *
 * A torn Raft log tail: LevelDB recovers a
 * write-ahead log whose end is damaged by dropping the damaged records; what
 * the node does next depends on what was lost:
 * - entries the broker already applied (committed, maybe acknowledged): the
 *   node refuses to start with STORAGE_CORRUPT and exit code 3, never an
 *   invariant crash (exit 1) that a supervisor restarts forever;
 * - only entries nothing had applied yet: the node starts and serves, as
 *   LevelDB's recovery allows.
 */
import { cpSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "@raftbus/client/node";
import { LevelStorage } from "@raftbus/raft";
import { DirectoryVolume } from "@raftbus/broker";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";

/** Each test starts node processes three times; a busy 2-core machine needs the room. */
const PROCESS_TEST_TIMEOUT_MS = 180_000;

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

/**
 * Tears the newest write-ahead log of `dir` by the fewest bytes (in 64-byte
 * steps) that make LevelDB's recovery lose entry `index`: the log then ends
 * before it, or the storage refuses to open because its hard state commits
 * past the log's end. Each try tears a copy, since opening the database
 * moves the recovered log into a table file.
 */
async function tearUntilLost(dir: string, nodeId: string, index: number): Promise<void> {
  const scratch = `${dir}-tear-probe`;
  for (let bytes = 64; bytes <= 8192; bytes += 64) {
    rmSync(scratch, { recursive: true, force: true });
    cpSync(dir, scratch, { recursive: true });
    tearNewestLog(scratch, bytes);
    let lost: boolean;
    try {
      const storage = await LevelStorage.open(scratch, { nodeId });
      lost = storage.lastIndex() < index;
      await storage.close();
    } catch (err) {
      if ((err as { code?: unknown }).code !== "STORAGE_CORRUPT") throw err;
      lost = true;
    }
    if (lost) {
      rmSync(scratch, { recursive: true, force: true });
      tearNewestLog(dir, bytes);
      return;
    }
  }
  throw new Error(`test setup: entry ${index} survived tearing 8 KiB off the newest log in ${dir}`);
}

async function publishSome(c: LocalCluster, n: number): Promise<void> {
  const sdk = await connect({ servers: c.servers(), name: "torn-log" });
  try {
    for (let i = 0; i < n; i++) await sdk.publish("torn.log", `m${i}`);
  } finally {
    await sdk.close();
  }
}

/**
 * Moves every broker record of a stopped node into LevelDB table files
 * (compaction), then flips one byte inside each occurrence of `marker` in
 * them. Table blocks keep short unique strings literally, and LevelDB does
 * not verify block checksums on reads by default: only the broker's own
 * checksum stands between the flipped byte and a reader.
 */
async function flipInTables(node: { dataDir: string }, marker: string): Promise<number> {
  const stateDir = join(node.dataDir, "broker", "state-1");
  const db = await new DirectoryVolume(join(node.dataDir, "broker")).open(1);
  await (db as unknown as { compactRange(a: Uint8Array, b: Uint8Array): Promise<void> }).compactRange(Uint8Array.of(0), Uint8Array.of(0xff, 0xff));
  await db.close();
  const needle = Buffer.from(marker);
  let flipped = 0;
  for (const f of readdirSync(stateDir).filter((n) => n.endsWith(".ldb") || n.endsWith(".sst"))) {
    const bytes = readFileSync(join(stateDir, f));
    for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
      bytes[at + needle.length - 1]! ^= 0x01;
      flipped++;
    }
    writeFileSync(join(stateDir, f), bytes);
  }
  return flipped;
}

describe("broker record checksums on real files", () => {
  it("a flipped byte in a topic record refuses the start; in a message payload it stops the node when apply reads it: STORAGE_CORRUPT, exit 3", async () => {
    // Audit events would repeat the marker topic's name in a $sys.audit
    // payload, and LevelDB's block compression (Snappy) may then store it as
    // a back-reference instead of literally: keep the marker unique, and free
    // of any 4-byte run other records hold (".topic" was copied from one).
    cluster = await LocalCluster.start({ nodes: 1, extraArgs: ["--sys", JSON.stringify({ audit: { enabled: false } })] });
    const node = cluster.nodes[0]!;
    let sdk = await connect({ servers: cluster.servers(), name: "checksum" });
    await sdk.topics.create("zqxjvkwpyfhbgm");
    await sdk.publish("flip.payload", "ZQXJ-MARKER-PAYLOAD-0123456789");
    await sdk.close();
    expect(await cluster.stop(node)).toBe(0);

    // A topic record is read at start-up: the start is refused.
    const brokerDir = join(node.dataDir, "broker");
    const pristine = join(cluster.root, "broker-pristine");
    cpSync(brokerDir, pristine, { recursive: true });
    expect(await flipInTables(node, "zqxjvkwpyfhbgm")).toBeGreaterThan(0);
    const refused = await cluster.runNodeToExit(node);
    expect(refused.code, refused.output).toBe(3);
    expect(refused.output).toMatch(/STORAGE_CORRUPT: corrupt storage at broker state .*checksum mismatch/);

    // Undo that damage, then damage a message instead: the node starts and
    // serves until apply reads the message (backfilling a subscription).
    rmSync(brokerDir, { recursive: true, force: true });
    cpSync(pristine, brokerDir, { recursive: true });
    expect(await flipInTables(node, "ZQXJ-MARKER-PAYLOAD-0123456789")).toBeGreaterThan(0);
    cluster.startNode(node);
    await cluster.waitReady();
    sdk = await connect({ servers: cluster.servers(), name: "checksum", reconnect: false });
    try {
      expect((await sdk.topics.info("flip.payload")).messages).toBe(1);
      await sdk.subscribe("flip.payload", { from: "earliest" }).catch(() => undefined);
    } finally {
      await sdk.close().catch(() => undefined);
    }
    await waitFor("the node to exit", () => (node.proc === undefined ? true : undefined), 20_000);
    expect(node.exitCode, cluster.log(node).slice(-2000)).toBe(3);
    expect(cluster.log(node)).toMatch(/STORAGE_CORRUPT: corrupt storage at broker record: checksum mismatch/);
  }, PROCESS_TEST_TIMEOUT_MS);
});

describe("torn Raft log tail", () => {
  it("a torn unapplied entry is dropped and the node serves; a torn applied entry refuses the start with STORAGE_CORRUPT, exit 3, no invariant stack", async () => {
    cluster = await LocalCluster.start({ nodes: 1 });
    const node = cluster.nodes[0]!;
    await publishSome(cluster, 10);
    expect(await cluster.stop(node)).toBe(0);

    // Append one entry nothing applied (as if the node crashed right after
    // its write), then tear that last write: LevelDB drops it at open.
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
    let applied: number;
    try {
      expect((await sdk.topics.info("torn.log")).messages).toBe(10);
      applied = (await sdk.publish("torn.log", "after")).index;
      expect((await sdk.topics.info("torn.log")).messages).toBe(11);
    } finally {
      await sdk.close();
    }

    // Now tear entries the broker had applied. The newest writes may be
    // hard-state records only, so tear until the acknowledged entry is gone.
    await cluster.kill(node);
    await tearUntilLost(raftDir, node.id, applied);
    const { code, output } = await cluster.runNodeToExit(node);
    expect(code, output).toBe(3);
    expect(output).toMatch(/STORAGE_CORRUPT: corrupt storage at log: (ends at index \d+ but the state machine applied up to \d+|hard state commits index \d+ but the log ends at \d+): the log lost its tail/);
    expect(output).not.toMatch(/InvariantError/);
  }, PROCESS_TEST_TIMEOUT_MS);
});
