/**
 * Leader election scenarios (§5.2, the classic lab tests 2A): a leader is
 * elected, a new one replaces it when it is cut off, nobody leads without a
 * quorum, and pre-vote keeps a rejoining node from deposing a healthy leader.
 */
import { describe, expect, it } from "vitest";
import { SeededRand } from "../../src/core/rand.ts";
import { ScenarioCluster } from "../sim/scenario.ts";

const T = 10; // electionTicks of the harness

function terms(c: ScenarioCluster): number[] {
  return c.liveIds().map((id) => c.core(id).term);
}

describe("election (§5.2)", () => {
  it.each([1, 2, 3])("cluster: initial election: one leader, every node follows it, no new term while healthy (R=3, seed %i)", async (seed) => {
    const c = await ScenarioCluster.create({ voters: 3, seed });
    const ticks = await c.runUntil(() => c.leader() !== undefined, 4 * T, "a first leader");
    expect(ticks).toBeLessThan(2 * T + 5); // one randomized timeout plus two round trips (the driver ticks at tickMs)
    const l = await c.waitLeader();
    const term = c.core(l).term;
    expect(term).toBe(1); // pre-vote: no term is burnt by the first election
    await c.run(20 * T);
    expect(c.leader()).toBe(l);
    expect(terms(c)).toEqual([term, term, term]);
  });

  it("cluster: partition: isolate leader: the majority elects a new one, the old one steps down and rejoins as follower (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 7 });
    const l1 = await c.waitLeader();
    const rest = c.ids.filter((id) => id !== l1);
    c.isolate(l1);
    const l2 = await c.waitLeader(rest);
    expect(l2).not.toBe(l1);
    expect(c.core(l2).term).toBeGreaterThan(c.core(l1).term);
    // Check-quorum: the cut-off leader notices within two election timeouts.
    await c.runUntil(() => c.core(l1).role !== "leader", 2 * T, `${l1} to step down (check-quorum)`);
    const term2 = c.core(l2).term;
    c.heal();
    expect(await c.waitLeader()).toBe(l2);
    expect(terms(c)).toEqual([term2, term2, term2]);
  });

  it("cluster: partition: no leader without a quorum, one is elected once two nodes reconnect (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 11 });
    const l1 = await c.waitLeader();
    const [a, b] = c.ids.filter((id) => id !== l1) as [string, string];
    c.partition([l1], [a], [b]);
    await c.runUntil(() => c.leaders().length === 0, 2 * T, "the leader to step down without a quorum");
    for (let t = 0; t < 30 * T; t++) {
      await c.step();
      expect(c.leaders(), `tick ${c.now}: a leader without a quorum`).toEqual([]);
    }
    c.partition([l1, a], [b]);
    await c.waitLeader([l1, a]);
    c.heal();
    await c.waitLeader();
  });

  it("cluster: many elections with random disconnects of three nodes (R=7)", async () => {
    const c = await ScenarioCluster.create({ voters: 7, seed: 5 });
    const pick = new SeededRand(99);
    await c.waitLeader();
    let lastTerm = 0;
    for (let round = 0; round < 12; round++) {
      const ids = [...c.ids];
      const down: string[] = [];
      while (down.length < 3) {
        const id = ids.splice(pick.int(ids.length), 1)[0]!;
        down.push(id);
      }
      c.partition(ids, ...down.map((d) => [d]));
      const l = await c.waitLeader(ids);
      expect(c.leaders(ids)).toEqual([l]);
      expect(c.core(l).term).toBeGreaterThanOrEqual(lastTerm);
      lastTerm = c.core(l).term;
      c.heal();
      await c.waitLeader();
    }
    // The checker saw every election: never two leaders in one term.
    expect(c.checker.leaderCount()).toBeGreaterThan(1);
  });
});

describe("pre-vote (thesis §9.6)", () => {
  it("cluster: partition: a follower isolated for 20 election timeouts keeps its term and rejoins without deposing the leader (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 3 });
    const l = await c.waitLeader();
    const term = c.core(l).term;
    const f = c.ids.find((id) => id !== l)!;
    c.isolate(f);
    await c.run(20 * T);
    expect(c.core(f).term).toBe(term); // pre-campaigns never bump the term
    expect(c.core(f).role).toBe("preCandidate");
    c.heal();
    expect(await c.waitLeader()).toBe(l);
    expect(terms(c)).toEqual([term, term, term]);
  });

  it("cluster: partition: without pre-vote the same rejoin forces a new term (why pre-vote exists)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 3, raft: { preVote: false } });
    const l = await c.waitLeader();
    const term = c.core(l).term;
    const f = c.ids.find((id) => id !== l)!;
    c.isolate(f);
    await c.run(20 * T);
    expect(c.core(f).term).toBeGreaterThan(term + 5);
    c.heal();
    await c.waitLeader();
    expect(c.core(c.leaderOrFail()).term).toBeGreaterThan(term + 5);
  });
});
