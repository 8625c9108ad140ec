/**
 * Process-level tests: three real kv-node processes on 127.0.0.1 (LevelDB
 * with fsync, WebSocket peers, HTTP API), killed and restarted for real.
 * The scenarios run one after another in this file so the node processes
 * of one scenario do not compete for the CPU with another's elections.
 */
import { Level } from "level";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { logKey } from "../../src/storage/keys.ts";
import { LevelStorage } from "../../src/storage/level-storage.ts";
import { EXIT } from "../../src/example/kv-node-app.ts";
import type { NodeStatus } from "./harness.ts";
import { KvCluster, KvProcess, sleep, waitFor } from "./harness.ts";

let cluster: KvCluster | undefined;

afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

/** Where a writer currently sends its requests; shared so both writers learn of a new leader. */
interface LeaderGuess {
  id: string;
  /** Writes acknowledged so far, by all writers. */
  acked: number;
}

/**
 * Writes keys `w<w>-0`, `w<w>-1`, … one at a time (each value names its
 * key), following NOT_LEADER hints and moving on to another live node after
 * errors, until `count` writes were acknowledged or the deadline passed.
 * A write that failed is retried with the same key and value, so an
 * unacknowledged write that did commit is harmless. Returns the acks.
 */
async function writer(c: KvCluster, w: number, count: number, deadline: number, guess: LeaderGuess): Promise<Map<string, string>> {
  const acked = new Map<string, string>();
  for (let attempt = 0; acked.size < count && Date.now() < deadline && attempt < 20_000; attempt++) {
    const key = `w${w}-${acked.size}`;
    const value = `value of ${key}`;
    const live = c.liveIds();
    const target = live.includes(guess.id) ? guess.id : live[attempt % live.length]!;
    try {
      const r = await c.request(target, "PUT", `/kv/${key}`, value, 3_000);
      if (r.status === 200) {
        acked.set(key, value);
        guess.acked++;
        continue;
      }
      const hint = r.body["leaderHint"];
      if (r.status === 421 && typeof hint === "string" && hint !== target) {
        guess.id = hint;
        continue;
      }
    } catch {
      // Connection refused or reset (the node died) or timed out: try another node.
    }
    guess.id = live[(live.indexOf(target) + 1) % live.length]!;
    await sleep(20);
  }
  return acked;
}

/** Every node holds exactly the same pairs, including every acknowledged write. */
async function expectConverged(c: KvCluster, acked: ReadonlyMap<string, string>): Promise<void> {
  const dumps = await Promise.all(c.ids.map((id) => c.dump(id)));
  for (const [i, dump] of dumps.entries()) {
    const missing = [...acked].filter(([k, v]) => dump.get(k) !== v).map(([k]) => k);
    expect(missing, `acknowledged writes missing on ${c.ids[i]}`).toEqual([]);
    expect(dump).toEqual(dumps[0]);
  }
}

/** Waits until every node applied at least what the leader has committed. */
async function waitCaughtUp(c: KvCluster, timeoutMs: number): Promise<NodeStatus[]> {
  return waitFor("every node caught up", async () => {
    const l = await c.leader();
    if (l === undefined) return undefined;
    const all = await Promise.all(c.ids.map((id) => c.status(id)));
    return all.every((s) => s.applied >= l.status.commit) ? all : undefined;
  }, timeoutMs, 100);
}

describe("kv-node processes on 127.0.0.1", () => {
  it("kill -9 of the leader during a stream of proposals: a new leader within the bound, no acknowledged write lost, the killed node catches up", async () => {
    const c = (cluster = await KvCluster.create());
    await c.startAll();
    const first = await c.waitForLeader();
    const guess: LeaderGuess = { id: first.id, acked: 0 };
    const deadline = Date.now() + 40_000;
    const writers = [1, 2].map((w) => writer(c, w, 100, deadline, guess));

    // Let the stream run, then kill whoever leads now, without warning.
    await waitFor("writes before the kill", () => (guess.acked >= 40 ? true : undefined), 20_000, 10);
    const old = await c.waitForLeader();
    const killedAt = Date.now();
    const exit = await c.procs.get(old.id)!.kill("SIGKILL");
    expect(exit.signal).toBe("SIGKILL");

    // Election: pre-vote after at most one election timeout, then a vote; the bound allows for three rounds.
    const next = await c.waitForLeader(20_000, old.status.term);
    const electionMs = Date.now() - killedAt;
    expect(next.id).not.toBe(old.id);
    expect(electionMs).toBeLessThan(3 * c.maxElectionMs + 2_000);

    const acked = new Map([...(await writers[0]!), ...(await writers[1]!)]);
    expect(acked.size).toBe(200);

    await c.start(old.id);
    const statuses = await waitCaughtUp(c, 20_000);
    const rejoined = statuses.find((s) => s.id === old.id)!;
    expect(rejoined.leader).not.toBeNull();
    expect(rejoined.term).toBeGreaterThan(old.status.term);
    await expectConverged(c, acked);
  });

  it("a node that was down while the log was compacted catches up through a chunked snapshot", async () => {
    const chunkBytes = 4096;
    const c = (cluster = await KvCluster.create({ snapshotEntries: 20, trailingEntries: 5, snapshotChunkBytes: chunkBytes }));
    await c.startAll();
    const leader = await c.waitForLeader();
    const down = c.ids.find((id) => id !== leader.id)!;
    await c.procs.get(down)!.kill("SIGKILL");

    // 120 writes of 2 KiB values: the state (and so the snapshot) is ~250 KB, about 60 chunks.
    const acked = new Map<string, string>();
    for (let i = 0; i < 120; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => [`big-${i + j}`, `${i + j}:`.padEnd(2048, "x")] as [string, string]);
      const r = await c.writeToLeader("POST", "/kv-batch", JSON.stringify({ entries: batch }));
      expect((r["results"] as { index?: number }[]).every((x) => typeof x.index === "number")).toBe(true);
      for (const [k, v] of batch) acked.set(k, v);
    }
    // The live nodes compacted past everything the down node has.
    const compacted = await waitFor("log compaction on the leader", async () => {
      const s = (await c.waitForLeader()).status;
      return s.firstIndex > 20 && s.snapshotIndex > 100 ? s : undefined;
    }, 10_000);
    expect(compacted.stats.snapshotsTaken).toBeGreaterThan(0);

    await c.start(down);
    await waitFor(`${down} restored the snapshot`, async () => ((await c.dump(down)).size >= 120 ? true : undefined), 20_000, 100);
    const s = await c.status(down);
    expect(s.stats.snapshotsRestored).toBeGreaterThanOrEqual(1);
    expect(s.snapshotReceive.committed).toBeGreaterThanOrEqual(1);
    expect(Object.values(s.transport.peers).reduce((n, p) => n + p.snapshotsReceived, 0)).toBeGreaterThanOrEqual(1);
    // Chunked: the data arrived in many wire chunks, none larger than snapshotChunkBytes.
    expect(s.snapshotReceive.bytesWritten).toBeGreaterThan(10 * chunkBytes);
    expect(s.snapshotReceive.chunksWritten).toBeGreaterThanOrEqual(Math.ceil(s.snapshotReceive.bytesWritten / chunkBytes));
    const sent = await Promise.all(c.ids.filter((id) => id !== down).map(async (id) => (await c.status(id)).transport.peers[down]!.snapshotsSent));
    expect(sent.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);

    await waitCaughtUp(c, 10_000);
    await expectConverged(c, acked);
  });

  it("start-up refuses a corrupted LevelDB record (exit 3, STORAGE_CORRUPT) and a data directory of another node (exit 2)", async () => {
    const c = (cluster = await KvCluster.create());
    await c.startAll();
    const leader = await c.waitForLeader();
    for (let i = 0; i < 10; i++) await c.writeToLeader("PUT", `/kv/k${i}`, `v${i}`);
    const victim = c.ids.find((id) => id !== leader.id)!;
    await waitCaughtUp(c, 10_000);
    expect((await c.procs.get(victim)!.kill("SIGTERM")).code).toBe(EXIT.ok);

    // Another node's id on this directory: refused before any port is bound.
    const other = c.ids.find((id) => id !== victim)!;
    const impostor = new KvProcess(`${other}@${victim}`, c.args(victim, { id: other }));
    expect((await impostor.exited).code).toBe(EXIT.wrongNode);
    expect(impostor.stderr).toMatch(/STORAGE_WRONG_NODE: data directory .* belongs to node "[^"]+", but this process was started as node/);

    // Flip one byte of a stored log entry through LevelDB directly.
    const raftDir = path.join(c.dataDir(victim), "raft");
    const db = new Level<Uint8Array, Uint8Array>(raftDir, { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    try {
      const record = await db.get(logKey(3));
      expect(record).toBeDefined();
      const damaged = Uint8Array.from(record!);
      damaged[damaged.length - 1]! ^= 0x40;
      await db.put(logKey(3), damaged);
    } finally {
      await db.close();
    }

    const restarted = new KvProcess(victim, c.args(victim));
    c.procs.set(victim, restarted);
    const exit = await Promise.race([restarted.exited, sleep(30_000).then(() => undefined)]);
    expect(exit?.code, restarted.stderr).toBe(EXIT.corrupt);
    expect(restarted.stdout).not.toMatch(/"event":"ready"/);
    expect(restarted.stderr).toMatch(/cannot start: STORAGE_CORRUPT: corrupt storage at log\[3\]: /);

    // The same verdict in-process.
    const err: unknown = await LevelStorage.open(raftDir, { nodeId: victim }).then(
      async (s) => { await s.close(); return undefined; },
      (e: unknown) => e,
    );
    expect((err as { code?: string } | undefined)?.code).toBe("STORAGE_CORRUPT");

    // The other two still form a majority and accept writes.
    expect(await c.writeToLeader("PUT", "/kv/after", "corruption")).toHaveProperty("index");
  });
});
