/**
 * Persistence scenarios (Figure 2's persistent state, the classic lab tests
 * 2C): restarts of every node, of the leader and of followers keep every
 * committed value; Figure 8 (§5.4.2) replayed step by step and as the
 * randomized crash-the-leader loop, over reliable and unreliable networks;
 * churn with random crashes, restarts and disconnects never loses a value
 * the cluster acknowledged.
 */
import { describe, expect, it } from "vitest";
import { SeededRand } from "../../src/core/rand.ts";
import type { NodeId } from "../../src/core/types.ts";
import { FIGURE8_VALUE, runFigure8 } from "../sim/figure8.ts";
import { ScenarioCluster } from "../sim/scenario.ts";

const T = 10; // electionTicks of the harness

/** Connect the `connected` nodes to each other and isolate every other node. */
function connectOnly(c: ScenarioCluster, connected: ReadonlySet<NodeId>): void {
  c.partition([...connected], ...c.ids.filter((id) => !connected.has(id)).map((id) => [id]));
}

function pickOne<T>(r: SeededRand, xs: readonly T[]): T | undefined {
  return xs.length === 0 ? undefined : xs[r.int(xs.length)];
}

describe("persistence (Figure 2: term, vote and log survive restarts)", () => {
  it("cluster: restart all nodes, then the leader, then a follower: committed values survive (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 21 });
    await c.waitLeader();
    const i11 = await c.proposeAndWait(11, 3);
    const termsBefore = c.ids.map((id) => c.core(id).term);
    for (const id of c.ids) c.crash(id);
    for (const id of c.ids) await c.restart(id);
    expect(c.ids.map((id) => c.core(id).term), "term is durable").toEqual(termsBefore);
    await c.proposeAndWait(12, 3);

    const l1 = c.leaderOrFail();
    c.crash(l1);
    await c.restart(l1);
    await c.proposeAndWait(13, 3);

    const l2 = c.leaderOrFail();
    c.crash(l2);
    await c.proposeAndWait(14, 2);
    await c.restart(l2);
    const i14 = await c.proposeAndWait(15, 3) - 1;

    const f = c.ids.find((id) => id !== c.leaderOrFail())!;
    c.crash(f);
    await c.proposeAndWait(16, 2);
    await c.restart(f);
    await c.proposeAndWait(17, 3);
    expect(c.nCommitted(i11)).toEqual({ count: 3, value: 11 });
    expect(c.nCommitted(i14).value).toBe(14);
    await c.assertConverged();
  });

  it("cluster: crash a minority, then the leader with two more, restart in waves (R=5)", async () => {
    const c = await ScenarioCluster.create({ voters: 5, seed: 22 });
    await c.waitLeader();
    const at = (l: NodeId, d: number) => c.ids[(c.ids.indexOf(l) + d) % 5]!;
    for (let round = 0; round < 5; round++) {
      await c.proposeAndWait(10 + round, 5);
      const l = c.leaderOrFail();
      c.crash(at(l, 1));
      c.crash(at(l, 2));
      await c.proposeAndWait(100 + round, 3);
      c.crash(l);
      c.crash(at(l, 3));
      c.crash(at(l, 4));
      await c.restart(at(l, 1));
      await c.restart(at(l, 2));
      await c.run(T / 2);
      await c.restart(at(l, 3));
      // Only n+1, n+2 and n+3 are up; n+3 holds value 100+round, so it must be kept.
      await c.proposeAndWait(200 + round, 3);
      await c.restart(at(l, 4));
      await c.restart(l);
    }
    await c.proposeAndWait(1000, 5);
    await c.assertConverged();
  });

  it("cluster: a partitioned follower and a crashed leader: the follower with the log rejoins (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 23 });
    const l = await c.waitLeader();
    await c.proposeAndWait(101, 3);
    const [a, b] = c.ids.filter((id) => id !== l) as [NodeId, NodeId];
    c.isolate(b);
    const i102 = await c.proposeAndWait(102, 2);
    c.crash(l);
    c.crash(a);
    c.heal();
    await c.restart(l);
    // b lacks 102, l has it: only l can win, and 102 survives.
    await c.proposeAndWait(103, 2);
    await c.restart(a);
    await c.proposeAndWait(104, 3);
    expect(c.nCommitted(i102)).toEqual({ count: 3, value: 102 });
  });
});

describe("Figure 8 (§5.4.2)", () => {
  it("cluster: figure 8: an older-term entry on a majority is not committed by counting and may be overwritten (R=5)", async () => {
    const c = await ScenarioCluster.create({ voters: 5, seed: 1 });
    const o = await runFigure8(c);
    const [t1, t2] = o.terms;
    expect(o.holdersOfAAfterC, "A is on a majority at the end of (c)").toEqual(["n1", "n2", "n3"]);
    expect(o.commitAfterC, "yet the leader of t3 does not commit it").toBeLessThan(o.k);
    expect(c.checker.historyTerm[o.k], "the leader of t4 overwrote it").toBe(t2);
    expect(c.checker.historyTerm[o.k]).not.toBe(t1);
    expect(c.valueAt).not.toContain(FIGURE8_VALUE);
    await c.assertConverged();
  });

  /**
   * The lab's randomized Figure 8: propose to whoever leads, crash it soon
   * after, keep a majority up. Leaders die with entries on some followers
   * only, which is how older-term entries pile up.
   */
  async function figure8Loop(seed: number, unreliable: boolean): Promise<ScenarioCluster> {
    const c = await ScenarioCluster.create({ voters: 5, seed });
    const r = new SeededRand(seed * 7919);
    await c.proposeAndWait(1, 1);
    if (unreliable) c.unreliable(0.1, 0.05, 6);
    const connected = new Set(c.ids);
    let next = 2;
    for (let i = 0; i < 1000; i++) {
      for (const id of c.liveIds()) await c.propose(next++, id); // only a leader accepts
      await c.run(r.chance(0.1) ? r.int(T / 2) : r.int(2));
      const l = c.leader();
      if (unreliable) {
        if (l !== undefined && r.chance(0.5)) connected.delete(l);
        if (connected.size < 3) connected.add(pickOne(r, c.ids.filter((id) => !connected.has(id)))!);
        connectOnly(c, connected);
      } else {
        if (l !== undefined) c.crash(l);
        if (c.liveIds().length < 3) await c.restart(pickOne(r, c.ids.filter((id) => c.node(id).state === "down"))!);
      }
    }
    c.unreliable(0, 0, 1);
    c.heal();
    for (const id of c.ids) await c.restart(id);
    await c.proposeAndWait(next, 5, 100 * T);
    await c.assertConverged();
    return c;
  }

  it.each([1, 2, 3])("cluster: figure 8 loop: crash each new leader soon after it is elected (R=5, seed %i)", async (seed) => {
    const c = await figure8Loop(seed, false);
    expect(c.checker.leaderCount()).toBeGreaterThan(25);
  });

  it.each([1, 2, 3])("cluster: figure 8 loop, unreliable network: drop, duplicate, reorder, cut off leaders (R=5, seed %i)", async (seed) => {
    const c = await figure8Loop(seed, true);
    expect(c.checker.leaderCount()).toBeGreaterThan(10);
  });
});

describe("unreliable network and churn", () => {
  it("cluster: unreliable network: 10% drops, duplicates and reordering, every value still agreed (R=5)", async () => {
    const c = await ScenarioCluster.create({ voters: 5, seed: 31 });
    await c.waitLeader();
    c.unreliable(0.1, 0.05, 4);
    for (let round = 0; round < 20; round++) {
      for (let j = 0; j < 4; j++) await c.propose(1000 * round + j);
      await c.proposeAndWait(1000 * round + 999, 1);
    }
    c.unreliable(0, 0, 1);
    await c.proposeAndWait(1, 5);
    await c.assertConverged();
    expect(c.acked.length).toBeGreaterThanOrEqual(20);
  });

  async function churn(seed: number, unreliable: boolean): Promise<ScenarioCluster> {
    const c = await ScenarioCluster.create({ voters: 5, seed });
    const r = new SeededRand(seed * 104729);
    await c.waitLeader();
    if (unreliable) c.unreliable(0.1, 0.05, 4);
    const connected = new Set(c.ids);
    let next = 1;
    for (let t = 0; t < 3000; t++) {
      if (r.chance(0.5)) await c.propose(next++); // clients keep writing to whoever leads
      await c.step();
      if (t % 7 !== 0) continue;
      if (r.chance(0.2)) {
        const victim = pickOne(r, [...connected]);
        if (victim !== undefined) connected.delete(victim);
      }
      if (r.chance(0.5)) {
        const back = pickOne(r, c.ids.filter((id) => !connected.has(id)));
        if (back !== undefined) connected.add(back);
      }
      if (r.chance(0.2)) {
        const victim = pickOne(r, c.liveIds());
        if (victim !== undefined) c.crash(victim);
      }
      if (r.chance(0.5)) {
        const dead = pickOne(r, c.ids.filter((id) => c.node(id).state === "down"));
        if (dead !== undefined) await c.restart(dead);
      }
      connectOnly(c, connected);
    }
    c.unreliable(0, 0, 1);
    c.heal();
    for (const id of c.ids) await c.restart(id);
    await c.proposeAndWait(next, 5, 100 * T);
    await c.settle();
    await c.assertConverged();
    return c;
  }

  it.each([1, 2])("cluster: churn: random crash, restart and disconnect under load, acknowledged values kept (R=5, seed %i)", async (seed) => {
    const c = await churn(seed, false);
    expect(c.acked.length).toBeGreaterThan(100);
  });

  it.each([1, 2])("cluster: churn over an unreliable network, acknowledged values kept (R=5, seed %i)", async (seed) => {
    const c = await churn(seed, true);
    expect(c.acked.length).toBeGreaterThan(50);
  });
});
