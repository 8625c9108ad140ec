/**
 * Log compaction and InstallSnapshot (§7, the classic lab tests 2D): the log
 * stays bounded, a follower that fell behind the compaction point catches up
 * from a snapshot (also over an unreliable network and across crashes), and
 * every node restarts from its snapshot plus the log tail after it.
 */
import { describe, expect, it } from "vitest";
import { SeededRand } from "../../src/core/rand.ts";
import type { NodeId } from "../../src/core/types.ts";
import { ScenarioCluster } from "../sim/scenario.ts";

const T = 10; // electionTicks of the harness
const SNAPSHOT_EVERY = 20;
const TRAILING = 5;

function snapshotting(seed: number, voters = 3): Promise<ScenarioCluster> {
  return ScenarioCluster.create({ voters, seed, snapshotEvery: SNAPSHOT_EVERY, trailingEntries: TRAILING });
}

/** Entries a node keeps on disk. */
function logLength(c: ScenarioCluster, id: NodeId): number {
  const d = c.storage(id);
  return d.lastIndex() - d.firstIndex() + 1;
}

/** Propose `n` values in batches of 10 and wait for each batch on `servers` nodes. */
async function commitMany(c: ScenarioCluster, first: number, n: number, servers: number): Promise<number> {
  let last = 0;
  for (let v = first; v < first + n; v += 10) {
    for (let j = v; j < Math.min(v + 9, first + n - 1); j++) await c.propose(j);
    last = await c.proposeAndWait(Math.min(v + 9, first + n - 1), servers);
  }
  return last;
}

describe("snapshots (§7)", () => {
  it("cluster: the log stays bounded: compaction keeps at most snapshotEvery + trailing + in-flight entries (R=3)", async () => {
    const c = await snapshotting(41);
    await c.waitLeader();
    let longest = 0;
    for (let round = 0; round < 30; round++) {
      for (let j = 0; j < 10; j++) await c.propose(round * 100 + j);
      await c.runUntil(() => {
        for (const id of c.ids) longest = Math.max(longest, logLength(c, id));
        return c.nCommitted(c.core(c.leaderOrFail()).log.lastIndex()).count === 3;
      }, 10 * T, "a batch to apply everywhere");
    }
    expect(c.checker.historyLength()).toBeGreaterThan(300);
    expect(longest).toBeLessThanOrEqual(SNAPSHOT_EVERY + TRAILING + 10);
    for (const id of c.ids) expect(c.storage(id).snapshot().index).toBeGreaterThan(250);
  });

  it("cluster: partition: a follower behind the compaction point installs a snapshot when it reconnects (R=3)", async () => {
    const c = await snapshotting(42);
    const l = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const f = c.ids.find((id) => id !== l)!;
    c.isolate(f);
    const last = await commitMany(c, 100, 100, 2);
    expect(c.storage(l).firstIndex(), "the leader compacted past the follower").toBeGreaterThan(c.applied(f) + 1);
    c.heal();
    await c.runUntil(() => c.applied(f) >= last, 10 * T, `${f} to catch up`);
    expect(c.snapshotsInstalled(f)).toBe(1);
    await c.proposeAndWait(1000, 3);
    await c.assertConverged();
  });

  it("cluster: a snapshot the transport fails to deliver is sent again after reportSnapshot(false) (R=3)", async () => {
    const c = await snapshotting(48);
    const l = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const f = c.ids.find((id) => id !== l)!;
    c.crash(f);
    const last = await commitMany(c, 100, 60, 2);
    let snapsSent = 0;
    c.dropIf = (m) => m.type === "snap" && ++snapsSent === 1; // the first transfer fails
    await c.restart(f);
    await c.runUntil(() => c.applied(f) >= last, 10 * T, `${f} to catch up`);
    expect(snapsSent).toBe(2);
    expect(c.snapshotsInstalled(f)).toBe(1);
    c.dropIf = undefined;
    await c.assertConverged();
  });

  it("cluster: a follower installs a snapshot over an unreliable network (R=3)", async () => {
    const c = await snapshotting(43);
    const l = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const f = c.ids.find((id) => id !== l)!;
    c.isolate(f);
    const last = await commitMany(c, 100, 100, 2);
    c.unreliable(0.2, 0.05, 4);
    c.heal();
    await c.runUntil(() => c.applied(f) >= last, 60 * T, `${f} to catch up over a lossy network`);
    expect(c.snapshotsInstalled(f)).toBeGreaterThanOrEqual(1);
    c.reliable();
    await c.proposeAndWait(1000, 3);
    await c.assertConverged();
  });

  it.each([1, 2])("cluster: crash: followers and leaders crash, miss compactions and restore snapshots on the way back (R=3, seed %i)", async (seed) => {
    const c = await snapshotting(44 + seed);
    const r = new SeededRand(seed);
    await c.waitLeader();
    let next = 1;
    let installed = 0;
    for (let round = 0; round < 6; round++) {
      const victim = c.ids[r.int(3)]!;
      c.crash(victim);
      await commitMany(c, next, 40 + r.int(20), 2);
      next += 100;
      const before = c.snapshotsInstalled(victim);
      await c.restart(victim);
      await c.proposeAndWait(next++, 3);
      installed += c.snapshotsInstalled(victim) - before;
    }
    expect(installed, "some restarted nodes had to install a snapshot").toBeGreaterThan(0);
    await c.assertConverged();
  });

  it("cluster: restart all nodes: each restores its snapshot, replays the log tail and agrees (R=3)", async () => {
    const c = await snapshotting(47);
    await c.waitLeader();
    // Stop a few entries past a snapshot, so every disk holds a snapshot and a tail.
    await commitMany(c, 1, 105, 3);
    for (const id of c.ids) {
      const d = c.storage(id);
      expect(d.snapshot().index, `${id} snapshot`).toBeGreaterThan(0);
      expect(d.lastIndex(), `${id} has a log tail after its snapshot`).toBeGreaterThan(d.snapshot().index);
    }
    const appliedBefore = c.ids.map((id) => c.applied(id));
    for (const id of c.ids) c.crash(id);
    for (const id of c.ids) await c.restart(id);
    await c.run(1); // each driver's first turn re-applies its log tail
    // The application restores its snapshot (the checker compares its state with the
    // replicas'), then re-applies the tail up to the commit index it had persisted.
    let replayed = 0;
    for (const id of c.ids) {
      const d = c.storage(id);
      expect(c.applied(id)).toBe(Math.max(d.snapshot().index, d.getHardState().commit));
      replayed += c.applied(id) - d.snapshot().index;
    }
    expect(replayed, "some tail entries were re-applied after the snapshot").toBeGreaterThan(0);
    await c.proposeAndWait(5000, 3);
    c.ids.forEach((id, i) => expect(c.applied(id)).toBeGreaterThan(appliedBefore[i]!));
    await c.assertConverged();
  });
});
