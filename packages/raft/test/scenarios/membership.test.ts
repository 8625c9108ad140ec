/**
 * Membership changes (thesis §4.1, single-server changes): add a learner,
 * promote it, remove a follower, remove the leader itself. A configuration
 * takes effect as soon as its entry is in the log; one change at a time.
 */
import { describe, expect, it } from "vitest";
import type { ConfChange, NodeId } from "../../src/core/types.ts";
import { ScenarioCluster } from "../sim/scenario-harness.ts";

const T = 10; // electionTicks of the harness

/** Propose a change on the leader and wait until every live member applied it. */
function change(c: ScenarioCluster, cc: ConfChange): void {
  const l = c.leaderOrFail();
  const r = c.core(l).proposeConfChange(cc);
  if (!r.ok) throw new Error(`${l} refused ${JSON.stringify(cc)}: ${r.code} ${r.reason}`);
  c.node(l).drain();
  c.runUntil(() => c.checker.historyLength() >= r.firstIndex, 10 * T, `${cc.kind} ${cc.node} to commit`);
}

function voters(c: ScenarioCluster, id: NodeId): readonly NodeId[] {
  return c.core(id).conf.voters;
}

describe("membership (thesis §4.1)", () => {
  it("cluster: add a learner: it receives the whole log but never votes, campaigns or counts for commit (R=3+1)", () => {
    const c = new ScenarioCluster({ voters: 3, spares: 1, seed: 61 });
    const l = c.waitLeader();
    for (let v = 1; v <= 5; v++) c.proposeAndWait(v, 3);
    change(c, { kind: "addLearner", node: "n4" });
    c.settle();
    expect(c.core("n4").conf).toEqual({ voters: ["n1", "n2", "n3"], learners: ["n4"] });
    expect(c.node("n4").appliedHash()).toBe(c.node(l).appliedHash());
    // Alone with the learner, the leader cannot commit: learners are not in any quorum.
    const others = c.voterIds.filter((id) => id !== l);
    c.partition([l, "n4"], others);
    const at = c.propose(100, l)!;
    c.runUntil(() => c.core("n4").log.lastIndex() >= at.index, 5, "the entry to reach the learner");
    c.run(T / 2);
    expect(c.core(l).log.committed).toBeLessThan(at.index);
    // Cut off from everyone, a learner never campaigns.
    c.heal();
    c.isolate("n4");
    const term = c.core("n4").term;
    c.run(10 * T);
    expect(c.core("n4").role).toBe("follower");
    expect(c.core("n4").term).toBe(term);
    c.heal();
    c.proposeAndWait(101, 4);
    c.assertConverged();
  });

  it("cluster: promote a learner to voter: majorities grow to 3 of 4 and it can lead (R=3+1)", () => {
    const c = new ScenarioCluster({ voters: 3, spares: 1, seed: 62 });
    const l = c.waitLeader();
    c.proposeAndWait(1, 3);
    change(c, { kind: "addLearner", node: "n4" });
    change(c, { kind: "addVoter", node: "n4" });
    c.settle();
    for (const id of c.ids) expect(voters(c, id)).toEqual(["n1", "n2", "n3", "n4"]);
    // With 4 voters, the leader and one follower are no longer a majority.
    const [a, b] = c.voterIds.filter((id) => id !== l) as [NodeId, NodeId];
    c.partition([l, a], [b, "n4"]);
    const at = c.propose(50, l)!;
    c.run(T / 2);
    expect(c.core(l).log.committed).toBeLessThan(at.index);
    c.heal();
    expect(c.core(c.waitLeader()).transferLeader("n4").ok).toBe(true);
    c.node(c.leaderOrFail()).drain();
    c.runUntil(() => c.leader() === "n4", 3 * T, "n4 to lead");
    c.proposeAndWait(51, 4);
    c.assertConverged();
  });

  it("cluster: remove a follower: the rest commit without it and the removed node does not disrupt them (R=3)", () => {
    const c = new ScenarioCluster({ voters: 3, seed: 63 });
    const l = c.waitLeader();
    c.proposeAndWait(1, 3);
    const gone = c.voterIds.find((id) => id !== l)!;
    const stay = c.voterIds.filter((id) => id !== gone);
    change(c, { kind: "removeNode", node: gone });
    for (const id of stay) expect(voters(c, id)).toEqual(stay);
    const term = c.core(l).term;
    // The removed node stops hearing from the leader and pre-campaigns; nobody listens.
    c.run(20 * T);
    expect(c.leader()).toBe(l);
    expect(c.core(l).term).toBe(term);
    c.crash(gone);
    c.proposeAndWait(2, 2);
    c.assertConverged();
  });

  it("cluster: remove the leader itself: it commits the change, steps down, and the others continue (R=3)", () => {
    const c = new ScenarioCluster({ voters: 3, seed: 64 });
    const l1 = c.waitLeader();
    c.proposeAndWait(1, 3);
    const stay = c.voterIds.filter((id) => id !== l1);
    const r = c.core(l1).proposeConfChange({ kind: "removeNode", node: l1 });
    expect(r.ok).toBe(true);
    c.node(l1).drain();
    c.runUntil(() => c.core(l1).role !== "leader", 3 * T, `${l1} to step down`);
    // It hands over with TimeoutNow, so no election timeout has to pass.
    const ticks = c.runUntil(() => c.leader(stay) !== undefined, 3 * T, "a new leader among the rest");
    expect(ticks).toBeLessThan(T);
    const l2 = c.waitLeader(stay);
    expect(voters(c, l2)).toEqual(stay);
    c.proposeAndWait(2, 2);
    // The old leader is out of its own configuration: it never campaigns again.
    c.run(20 * T);
    expect(c.leaders()).toEqual([l2]);
    c.assertConverged();
  });

  it("cluster: one change at a time: a second change waits until the first commits (R=3+2)", () => {
    const c = new ScenarioCluster({ voters: 3, spares: 2, seed: 65 });
    const l = c.waitLeader();
    c.proposeAndWait(1, 3);
    const others = c.voterIds.filter((id) => id !== l);
    c.partition([l], others, ["n4"], ["n5"]); // nothing can commit
    expect(c.core(l).proposeConfChange({ kind: "addLearner", node: "n4" }).ok).toBe(true);
    expect(c.core(l).proposeConfChange({ kind: "addLearner", node: "n5" }))
      .toMatchObject({ ok: false, code: "PROPOSAL_DROPPED" });
    c.node(l).drain();
    c.heal();
    c.runUntil(() => c.core(l).log.committed === c.core(l).log.lastIndex(), 5 * T, "the first change to commit");
    expect(c.core(l).proposeConfChange({ kind: "addLearner", node: "n5" }).ok).toBe(true);
    c.node(l).drain();
    c.settle();
    expect(c.core(l).conf).toEqual({ voters: c.voterIds, learners: ["n4", "n5"] });
  });
});
