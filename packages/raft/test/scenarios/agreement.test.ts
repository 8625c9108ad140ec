/**
 * Log replication scenarios (§5.3, the classic lab tests 2B): agreement,
 * followers that fail and catch up, no commit without a majority, a deposed
 * leader whose uncommitted entries are overwritten, backing up quickly over
 * a long conflicting suffix, and a bounded number of messages per agreement.
 */
import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/core/types.ts";
import { ScenarioCluster } from "../sim/scenario.ts";

const T = 10; // electionTicks of the harness

/** Propose `values` to the leader in one tick; returns their indexes. */
async function proposeAll(c: ScenarioCluster, values: readonly number[]): Promise<number[]> {
  const l = c.leaderOrFail();
  return c.each(values, async (v) => {
    const at = await c.propose(v, l);
    if (at === undefined) throw new Error(`leader ${l} refused ${v}`);
    return at.index;
  });
}

/** Wait until `servers` nodes applied every index in `indexes`. */
async function waitApplied(c: ScenarioCluster, indexes: readonly number[], servers: number, maxTicks = 20 * T): Promise<void> {
  const last = Math.max(...indexes);
  await c.runUntil(() => c.nCommitted(last).count >= servers, maxTicks, `index ${last} applied on ${servers} nodes`);
}

describe("agreement (§5.3)", () => {
  it("cluster: basic agreement: each value is applied by every node at the next index (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3 });
    await c.waitLeader();
    for (let i = 0; i < 3; i++) {
      const expected = 2 + i; // index 1 is the leader's no-op (§8)
      expect(c.nCommitted(expected).count, "applied before it was proposed").toBe(0);
      expect(await c.proposeAndWait(100 + i, 3)).toBe(expected);
      expect(c.nCommitted(expected)).toEqual({ count: 3, value: 100 + i });
    }
  });

  it("cluster: a disconnected follower misses agreements and catches up when it reconnects (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 2 });
    const l = await c.waitLeader();
    await c.proposeAndWait(101, 3);
    const f = c.ids.find((id) => id !== l)!;
    c.isolate(f);
    const missed = await c.each([102, 103, 104, 105], (v) => c.proposeAndWait(v, 2));
    expect(c.applied(f)).toBeLessThan(missed[0]!);
    c.heal();
    const last = await c.proposeAndWait(106, 3);
    await c.runUntil(() => c.applied(f) >= last, 5 * T, `${f} to catch up`);
    expect(missed.map((i) => c.nCommitted(i))).toEqual([102, 103, 104, 105].map((value) => ({ count: 3, value })));
  });

  it("cluster: a crashed follower catches up from its disk after restart (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 4 });
    const l = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const f = c.ids.find((id) => id !== l)!;
    c.crash(f);
    for (let v = 2; v <= 10; v++) await c.proposeAndWait(v, 2);
    await c.restart(f);
    const last = await c.proposeAndWait(11, 3);
    expect(c.applied(f)).toBe(last);
    await c.assertConverged();
  });

  it("cluster: partition: no commit without a majority: 3 of 5 followers disconnected (R=5)", async () => {
    const c = await ScenarioCluster.create({ voters: 5, seed: 6 });
    const l = await c.waitLeader();
    await c.proposeAndWait(10, 5);
    const [f1, f2, f3, f4] = c.ids.filter((id) => id !== l) as [NodeId, NodeId, NodeId, NodeId];
    c.partition([l, f1], [f2], [f3], [f4]);
    const at = await c.propose(20, l);
    expect(at).toBeDefined();
    await c.run(3 * T);
    expect(c.nCommitted(at!.index).count).toBe(0);
    expect(c.core(l).status().commit).toBeLessThan(at!.index);
    expect(c.core(l).role, "check-quorum: a leader without a majority steps down").not.toBe("leader");
    c.heal();
    const next = await c.proposeAndWait(30, 5);
    // The uncommitted 20 was either kept by a leader that had it or overwritten: never a gap.
    expect([at!.index, at!.index + 1, at!.index + 2]).toContain(next);
    await c.assertConverged();
  });

  it("cluster: concurrent proposals in one tick all commit at consecutive indexes (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 8 });
    await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const values = [11, 12, 13, 14, 15, 16, 17, 18];
    const indexes = await proposeAll(c, values);
    expect(indexes).toEqual(indexes.map((_, i) => indexes[0]! + i));
    await waitApplied(c, indexes, 3, 5);
    expect(indexes.map((i) => c.nCommitted(i).value)).toEqual(values);
  });

  it("cluster: partition: a deposed leader's uncommitted entries are overwritten when it rejoins (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 9 });
    const l1 = await c.waitLeader();
    await c.proposeAndWait(101, 3);
    c.isolate(l1);
    const orphans = (await c.each([102, 103, 104], (v) => c.propose(v, l1))).map((o) => o!);
    expect(orphans.every((o) => o !== undefined)).toBe(true);
    const rest = c.ids.filter((id) => id !== l1);
    const l2 = await c.waitLeader(rest);
    await c.proposeAndWait(200, 2);
    // l2 goes away; the old leader comes back next to the one node that has 200.
    const f = rest.find((id) => id !== l2)!;
    c.partition([l1, f], [l2]);
    const l3 = await c.waitLeader([l1, f]);
    expect(l3, "the old leader's log is less up to date (§5.4.1)").toBe(f);
    await c.proposeAndWait(300, 2);
    c.heal();
    await c.proposeAndWait(400, 3);
    for (const o of orphans) {
      expect(c.nCommitted(o.index).value).not.toBe(102 + orphans.indexOf(o));
      expect(c.core(l1).log.term(o.index)).not.toBe(o.term);
    }
    expect(c.valueAt.filter((v) => v === 102 || v === 103 || v === 104)).toEqual([]);
    await c.assertConverged();
  });

  it("cluster: partition: a leader backs up over 50 conflicting entries in a few round trips (conflict hints, R=5)", async () => {
    const c = await ScenarioCluster.create({ voters: 5, seed: 12 });
    const l1 = await c.waitLeader();
    await c.proposeAndWait(1, 5);
    const [a, b, d, e] = c.ids.filter((id) => id !== l1) as [NodeId, NodeId, NodeId, NodeId];
    // l1 and a in the minority: 50 entries that can never commit.
    c.partition([l1, a], [b, d, e]);
    await proposeAll(c, Array.from({ length: 50 }, (_, i) => 1000 + i));
    await c.run(2);
    // The majority side elects and commits 50 others.
    c.partition([b, d, e], [l1], [a]);
    const l2 = await c.waitLeader([b, d, e]);
    const committed = await proposeAll(c, Array.from({ length: 50 }, (_, i) => 2000 + i));
    await waitApplied(c, committed, 3);
    // Its leader and one follower split off with 50 more uncommitted entries.
    const other = [b, d, e].find((id) => id !== l2)!;
    const third = [b, d, e].find((id) => id !== l2 && id !== other)!;
    c.partition([l2, third], [other], [l1], [a]);
    await proposeAll(c, Array.from({ length: 50 }, (_, i) => 3000 + i));
    await c.run(2);
    // The old leader, its follower and `other` (which has the 50 committed entries) meet.
    c.partition([l1, a, other], [l2], [third]);
    // Back-off steps: distinct probes rejected before the follower first accepts (later rejections are
    // appends of the pipeline overtaken by others on the network, not back-off).
    const probes = new Set<string>();
    const matched = new Set<NodeId>();
    const stop = c.watch((m) => {
      if (m.type !== "appResp" || (m.from !== l1 && m.from !== a) || matched.has(m.from)) return;
      if (m.reject) probes.add(`${m.from}@${m.index}`);
      else matched.add(m.from);
    });
    const l3 = await c.waitLeader([l1, a, other]);
    expect(l3).toBe(other);
    const more = await proposeAll(c, Array.from({ length: 50 }, (_, i) => 4000 + i));
    await waitApplied(c, more, 3);
    stop();
    // One rejection per follower finds the end of the shared log (the hint skips the whole
    // conflicting term); walking back one entry at a time would take ~50 each.
    expect(probes.size, [...probes].join(" ")).toBeLessThanOrEqual(4);
    c.heal();
    await c.proposeAndWait(5000, 5);
    expect(committed.map((i) => c.nCommitted(i).value)).toEqual(Array.from({ length: 50 }, (_, i) => 2000 + i));
    expect(c.valueAt.some((v) => typeof v === "number" && v >= 1000 && v < 1050)).toBe(false);
    await c.assertConverged();
  });
});

describe("message counts (no storms)", () => {
  it("cluster: an election takes a bounded number of messages (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 1 });
    await c.waitLeader();
    // Pre-vote and vote rounds (2 requests + 2 replies each), the no-op append round and a
    // few heartbeat rounds until every node follows.
    const total = [...c.sentByType.values()].reduce((s, n) => s + n, 0);
    expect(c.sent("preVote") + c.sent("vote")).toBeLessThanOrEqual(8);
    expect(total).toBeLessThanOrEqual(30);
  });

  it("cluster: each agreement takes a bounded number of append messages (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 1 });
    await c.waitLeader();
    await c.proposeAndWait(1, 3);
    await c.run(3);
    c.resetCounts();
    for (let v = 2; v <= 11; v++) await c.proposeAndWait(v, 3);
    // Per agreement and follower: the append with the entry and its answer, the append
    // carrying the new commit index and its answer, and at most two empty appends
    // prompted by heartbeat answers while the entry is in flight (heartbeatTicks = 1).
    expect(c.sent("app", "appResp")).toBeLessThanOrEqual(10 * 2 * 8);
    expect(c.sent("vote", "preVote", "snap", "timeoutNow")).toBe(0);
  });

  it("cluster: 50 proposals in one tick cost a constant number of messages each, not a storm (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 1 });
    await c.waitLeader();
    await c.proposeAndWait(1, 3);
    await c.run(3);
    c.resetCounts();
    const indexes = await proposeAll(c, Array.from({ length: 50 }, (_, i) => 100 + i));
    await waitApplied(c, indexes, 3, 10);
    // Each proposal is appended to each follower once and answered once (4 messages),
    // plus a handful of commit and heartbeat-prompted appends for the whole batch.
    expect(c.sent("app", "appResp")).toBeLessThanOrEqual(50 * 4 + 60);
  });

  it("cluster: an idle cluster sends only heartbeats, one per follower per heartbeat interval (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 1 });
    await c.waitLeader();
    await c.proposeAndWait(1, 3);
    await c.run(3);
    c.resetCounts();
    await c.run(50);
    expect(c.sent("app", "appResp", "vote", "preVote", "snap", "timeoutNow")).toBe(0);
    expect(c.sent("heartbeat")).toBe(2 * 50);
    expect(c.sent("heartbeatResp")).toBe(2 * 50);
  });
});
