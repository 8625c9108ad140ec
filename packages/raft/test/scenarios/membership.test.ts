/**
 * Membership changes (thesis §4.1, single-server changes): add a learner,
 * promote it, remove a follower, remove the leader itself. A configuration
 * takes effect as soon as its entry is in the log; one change at a time.
 */
import { describe, expect, it } from "vitest";
import type { ConfChange, NodeId } from "../../src/core/types.ts";
import { ScenarioCluster } from "../sim/scenario.ts";

const T = 10; // electionTicks of the harness

/** Propose a change on the leader and wait until the leader applied it. */
async function change(c: ScenarioCluster, cc: ConfChange): Promise<void> {
  const l = c.leaderOrFail();
  const r = await c.proposeConfChange(l, cc);
  if (!r.outcome.ok) throw new Error(`${l} refused ${JSON.stringify(cc)}: ${r.outcome.code}`);
  await c.until(r.applied, 10 * T);
}

function voters(c: ScenarioCluster, id: NodeId): readonly NodeId[] {
  return c.core(id).conf.voters;
}

describe("membership (thesis §4.1)", () => {
  it("cluster: add a learner: it receives the whole log but never votes, campaigns or counts for commit (R=3+1)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, spares: 1, seed: 61 });
    const l = await c.waitLeader();
    for (let v = 1; v <= 5; v++) await c.proposeAndWait(v, 3);
    await change(c, { kind: "addLearner", node: "n4" });
    await c.settle();
    expect(c.core("n4").conf).toEqual({ voters: ["n1", "n2", "n3"], learners: ["n4"] });
    expect((await c.digest("n4")).digest).toBe((await c.digest(l)).digest);
    // Alone with the learner, the leader cannot commit: learners are not in any quorum.
    const others = c.voterIds.filter((id) => id !== l);
    c.partition([l, "n4"], others);
    const at = (await c.propose(100, l))!;
    await c.runUntil(() => c.core("n4").log.lastIndex() >= at.index, 5, "the entry to reach the learner");
    await c.run(T / 2);
    expect(c.core(l).log.committed).toBeLessThan(at.index);
    // Cut off from everyone, a learner never campaigns.
    c.heal();
    c.isolate("n4");
    const term = c.core("n4").term;
    await c.run(10 * T);
    expect(c.core("n4").role).toBe("follower");
    expect(c.core("n4").term).toBe(term);
    c.heal();
    await c.proposeAndWait(101, 4);
    await c.assertConverged();
  });

  it("cluster: promote a learner to voter: majorities grow to 3 of 4 and it can lead (R=3+1)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, spares: 1, seed: 62 });
    const l = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    await change(c, { kind: "addLearner", node: "n4" });
    await change(c, { kind: "addVoter", node: "n4" });
    await c.settle();
    for (const id of c.ids) expect(voters(c, id)).toEqual(["n1", "n2", "n3", "n4"]);
    // With 4 voters, the leader and one follower are no longer a majority.
    const [a, b] = c.voterIds.filter((id) => id !== l) as [NodeId, NodeId];
    c.partition([l, a], [b, "n4"]);
    const at = (await c.propose(50, l))!;
    await c.run(T / 2);
    expect(c.core(l).log.committed).toBeLessThan(at.index);
    c.heal();
    expect((await c.transferLeader(await c.waitLeader(), "n4")).ok).toBe(true);
    await c.runUntil(() => c.leader() === "n4", 3 * T, "n4 to lead");
    await c.proposeAndWait(51, 4);
    await c.assertConverged();
  });

  it("cluster: remove a follower: the rest commit without it and the removed node does not disrupt them (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 63 });
    const l = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const gone = c.voterIds.find((id) => id !== l)!;
    const stay = c.voterIds.filter((id) => id !== gone);
    await change(c, { kind: "removeNode", node: gone });
    for (const id of stay) expect(voters(c, id)).toEqual(stay);
    const term = c.core(l).term;
    // The removed node stops hearing from the leader and pre-campaigns; nobody listens.
    await c.run(20 * T);
    expect(c.leader()).toBe(l);
    expect(c.core(l).term).toBe(term);
    c.crash(gone);
    await c.proposeAndWait(2, 2);
    await c.assertConverged();
  });

  it("cluster: remove the leader itself: it commits the change, steps down, and the others continue (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 64 });
    const l1 = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const stay = c.voterIds.filter((id) => id !== l1);
    const r = await c.proposeConfChange(l1, { kind: "removeNode", node: l1 });
    expect(r.outcome.ok).toBe(true);
    await c.runUntil(() => c.core(l1).role !== "leader", 3 * T, `${l1} to step down`);
    // It hands over with TimeoutNow, so no election timeout has to pass.
    const ticks = await c.runUntil(() => c.leader(stay) !== undefined, 3 * T, "a new leader among the rest");
    expect(ticks).toBeLessThan(T);
    const l2 = await c.waitLeader(stay);
    expect(voters(c, l2)).toEqual(stay);
    await c.proposeAndWait(2, 2);
    // The old leader is out of its own configuration: it never campaigns again.
    await c.run(20 * T);
    expect(c.leaders()).toEqual([l2]);
    await c.assertConverged();
  });

  it("cluster: one change at a time: a second change waits until the first commits (R=3+2)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, spares: 2, seed: 65 });
    const l = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const others = c.voterIds.filter((id) => id !== l);
    c.partition([l], others, ["n4"], ["n5"]); // nothing can commit
    expect((await c.proposeConfChange(l, { kind: "addLearner", node: "n4" })).outcome.ok).toBe(true);
    expect((await c.proposeConfChange(l, { kind: "addLearner", node: "n5" })).outcome)
      .toMatchObject({ ok: false, code: "PROPOSAL_DROPPED" });
    c.heal();
    await c.runUntil(() => c.core(l).log.committed === c.core(l).log.lastIndex(), 5 * T, "the first change to commit");
    expect((await c.proposeConfChange(l, { kind: "addLearner", node: "n5" })).outcome.ok).toBe(true);
    await c.settle();
    expect(c.core(l).conf).toEqual({ voters: c.voterIds, learners: ["n4", "n5"] });
  });
});
