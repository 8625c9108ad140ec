/**
 * Leadership transfer (thesis §3.10): the target is caught up, told to
 * campaign at once, and wins the next term; proposals pause meanwhile; a
 * transfer that cannot finish within an election timeout is abandoned.
 */
import { describe, expect, it } from "vitest";
import { ScenarioCluster } from "../sim/scenario.ts";

const T = 10; // electionTicks of the harness

describe("leader transfer (thesis §3.10)", () => {
  it("cluster: transfer to an up-to-date follower: it leads the next term well within an election timeout (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 51 });
    const l1 = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const term = c.core(l1).term;
    const target = c.ids.find((id) => id !== l1)!;
    expect(await c.transferLeader(l1, target)).toEqual({ ok: true });
    const ticks = await c.runUntil(() => c.leader() === target, 2 * T, `${target} to lead`);
    expect(ticks).toBeLessThan(T / 2);
    expect(c.core(target).term).toBe(term + 1);
    expect(await c.waitLeader()).toBe(target);
    await c.proposeAndWait(2, 3);
    await c.assertConverged();
  });

  it("cluster: transfer to a lagging follower catches it up first; proposals are refused while it runs (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 52 });
    const l1 = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const target = c.ids.find((id) => id !== l1)!;
    c.isolate(target);
    const missed = await c.each([2, 3, 4, 5, 6], (v) => c.proposeAndWait(v, 2));
    c.heal();
    expect(await c.transferLeader(l1, target)).toEqual({ ok: true });
    expect(await c.tryPropose(99, l1)).toMatchObject({ ok: false, code: "PROPOSAL_DROPPED" });
    await c.runUntil(() => c.leader() === target, 3 * T, `${target} to lead`);
    // Leader completeness is checked by the checker as it takes over; the values are there too.
    for (const i of missed) expect(c.core(target).log.term(i)).toBeDefined();
    await c.proposeAndWait(7, 3);
    await c.assertConverged();
  });

  it("cluster: partition: a transfer to an unreachable follower is abandoned after an election timeout (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 53 });
    const l1 = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const target = c.ids.find((id) => id !== l1)!;
    c.isolate(target);
    await c.proposeAndWait(2, 2); // the target lags, so the leader must catch it up first
    expect(await c.transferLeader(l1, target)).toEqual({ ok: true });
    expect(c.core(l1).status().transferee).toBe(target);
    await c.runUntil(() => c.core(l1).status().transferee === null, T + 1, "the transfer to be abandoned");
    expect(c.leader()).toBe(l1);
    expect(await c.propose(3, l1), "proposals are accepted again").toBeDefined();
    await c.proposeAndWait(4, 2);
  });

  it("cluster: transfer refusals: a follower is NOT_LEADER with a hint, a non-voter is INVALID_CONF_CHANGE (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, spares: 1, seed: 54 });
    const l1 = await c.waitLeader();
    const [f, g] = c.voterIds.filter((id) => id !== l1) as [string, string];
    expect(await c.transferLeader(f, g)).toMatchObject({ ok: false, code: "NOT_LEADER", leader: l1 });
    expect(await c.transferLeader(f, l1), "already done: the target leads").toEqual({ ok: true });
    expect(await c.transferLeader(l1, "n4")).toMatchObject({ ok: false, code: "INVALID_CONF_CHANGE" });
    expect(await c.transferLeader(l1, l1)).toEqual({ ok: true });
    await c.run(2 * T);
    expect(c.leader()).toBe(l1);
  });
});
