/**
 * Log compaction and InstallSnapshot (§7, the classic lab tests 2D): the log
 * stays bounded, a follower that fell behind the compaction point catches up
 * from a snapshot (also over an unreliable network and across crashes), and
 * every node restarts from its snapshot plus the log tail after it.
 */
import { describe, expect, it } from "vitest";
import { SeededRand } from "../../src/core/rand.ts";
import type { NodeId } from "../../src/core/types.ts";
import { ScenarioCluster } from "../sim/scenario-harness.ts";

const T = 10; // electionTicks of the harness
const SNAPSHOT_EVERY = 20;
const TRAILING = 5;

function snapshotting(seed: number, voters = 3): ScenarioCluster {
  return new ScenarioCluster({ voters, seed, snapshotEvery: SNAPSHOT_EVERY, trailingEntries: TRAILING });
}

/** Entries a node keeps on disk. */
function logLength(c: ScenarioCluster, id: NodeId): number {
  const d = c.node(id).disk;
  return d.lastIndex() - d.firstIndex() + 1;
}

/** Propose `n` values in batches of 10 and wait for each batch on `servers` nodes. */
function commitMany(c: ScenarioCluster, first: number, n: number, servers: number): number {
  let last = 0;
  for (let v = first; v < first + n; v += 10) {
    for (let j = v; j < Math.min(v + 9, first + n - 1); j++) c.propose(j);
    last = c.proposeAndWait(Math.min(v + 9, first + n - 1), servers);
  }
  return last;
}

describe("snapshots (§7)", () => {
  it("cluster: the log stays bounded: compaction keeps at most snapshotEvery + trailing + in-flight entries (R=3)", () => {
    const c = snapshotting(41);
    c.waitLeader();
    let longest = 0;
    for (let round = 0; round < 30; round++) {
      for (let j = 0; j < 10; j++) c.propose(round * 100 + j);
      c.runUntil(() => {
        for (const id of c.ids) longest = Math.max(longest, logLength(c, id));
        return c.nCommitted(c.core(c.leaderOrFail()).log.lastIndex()).count === 3;
      }, 10 * T, "a batch to apply everywhere");
    }
    expect(c.checker.historyLength()).toBeGreaterThan(300);
    expect(longest).toBeLessThanOrEqual(SNAPSHOT_EVERY + TRAILING + 10);
    for (const id of c.ids) expect(c.node(id).disk.snapshot().index).toBeGreaterThan(250);
  });

  it("cluster: partition: a follower behind the compaction point installs a snapshot when it reconnects (R=3)", () => {
    const c = snapshotting(42);
    const l = c.waitLeader();
    c.proposeAndWait(1, 3);
    const f = c.ids.find((id) => id !== l)!;
    c.isolate(f);
    const last = commitMany(c, 100, 100, 2);
    expect(c.node(l).disk.firstIndex(), "the leader compacted past the follower").toBeGreaterThan(c.node(f).appliedIndex() + 1);
    c.heal();
    c.runUntil(() => c.node(f).appliedIndex() >= last, 10 * T, `${f} to catch up`);
    expect(c.node(f).snapshotsInstalled).toBe(1);
    c.proposeAndWait(1000, 3);
    c.assertConverged();
  });

  it("cluster: a snapshot the transport fails to deliver is sent again after reportSnapshot(false) (R=3)", () => {
    const c = snapshotting(48);
    const l = c.waitLeader();
    c.proposeAndWait(1, 3);
    const f = c.ids.find((id) => id !== l)!;
    c.crash(f);
    const last = commitMany(c, 100, 60, 2);
    let snapsSent = 0;
    c.dropIf = (m) => m.type === "snap" && ++snapsSent === 1; // the first transfer fails
    c.restart(f);
    c.runUntil(() => c.node(f).appliedIndex() >= last, 10 * T, `${f} to catch up`);
    expect(snapsSent).toBe(2);
    expect(c.node(f).snapshotsInstalled).toBe(1);
    c.dropIf = undefined;
    c.assertConverged();
  });

  it("cluster: a follower installs a snapshot over an unreliable network (R=3)", () => {
    const c = snapshotting(43);
    const l = c.waitLeader();
    c.proposeAndWait(1, 3);
    const f = c.ids.find((id) => id !== l)!;
    c.isolate(f);
    const last = commitMany(c, 100, 100, 2);
    c.net.faults = { dropRate: 0.2, duplicateRate: 0.05, delayTicksMax: 4 };
    c.heal();
    c.runUntil(() => c.node(f).appliedIndex() >= last, 60 * T, `${f} to catch up over a lossy network`);
    expect(c.node(f).snapshotsInstalled).toBeGreaterThanOrEqual(1);
    c.net.faults = { dropRate: 0, duplicateRate: 0, delayTicksMax: 1 };
    c.proposeAndWait(1000, 3);
    c.assertConverged();
  });

  it.each([1, 2])("cluster: crash: followers and leaders crash, miss compactions and restore snapshots on the way back (R=3, seed %i)", (seed) => {
    const c = snapshotting(44 + seed);
    const r = new SeededRand(seed);
    c.waitLeader();
    let next = 1;
    let installed = 0;
    for (let round = 0; round < 6; round++) {
      const victim = c.ids[r.int(3)]!;
      c.crash(victim);
      commitMany(c, next, 40 + r.int(20), 2);
      next += 100;
      const before = c.node(victim).snapshotsInstalled;
      c.restart(victim);
      c.proposeAndWait(next++, 3);
      installed += c.node(victim).snapshotsInstalled - before;
    }
    expect(installed, "some restarted nodes had to install a snapshot").toBeGreaterThan(0);
    c.assertConverged();
  });

  it("cluster: restart all nodes: each restores its snapshot, replays the log tail and agrees (R=3)", () => {
    const c = snapshotting(47);
    c.waitLeader();
    // Stop a few entries past a snapshot, so every disk holds a snapshot and a tail.
    commitMany(c, 1, 105, 3);
    for (const id of c.ids) {
      const d = c.node(id).disk;
      expect(d.snapshot().index, `${id} snapshot`).toBeGreaterThan(0);
      expect(d.lastIndex(), `${id} has a log tail after its snapshot`).toBeGreaterThan(d.snapshot().index);
    }
    const appliedBefore = c.ids.map((id) => c.node(id).appliedIndex());
    for (const id of c.ids) c.crash(id);
    for (const id of c.ids) c.restart(id);
    // The application restores its snapshot (the checker verifies its hash against the
    // history), then re-applies the tail up to the commit index it had persisted.
    let replayed = 0;
    for (const id of c.ids) {
      const d = c.node(id).disk;
      expect(c.node(id).appliedIndex()).toBe(Math.max(d.snapshot().index, d.getHardState().commit));
      replayed += c.node(id).appliedIndex() - d.snapshot().index;
    }
    expect(replayed, "some tail entries were re-applied after the snapshot").toBeGreaterThan(0);
    c.proposeAndWait(5000, 3);
    c.ids.forEach((id, i) => expect(c.node(id).appliedIndex()).toBeGreaterThan(appliedBefore[i]!));
    c.assertConverged();
  });
});
