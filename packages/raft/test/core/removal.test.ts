/**
 * A removed server learns that it was removed (thesis §4.2.3 leaves it to
 * time out and campaign forever; a leader that removes a follower stops
 * replicating to it as soon as the entry is appended, so it never sees the
 * entry). The leader answers any message from a non-member with a
 * NotMember notice naming its COMMITTED configuration; the node believes
 * only a leader of a term ≥ its own, stops campaigning, and is a member
 * again as soon as a leader replicates to it.
 */
import { describe, expect, it } from "vitest";
import type { ConfState, Message, NotMemberMessage } from "../../src/core/types.ts";
import type { TestNode } from "./helpers.ts";
import { T, ackAppend, app, drain, electLeader, heartbeat, newNode, ofType, stepDrain, tickN, vote } from "./helpers.ts";

/** A leader of n1..n3 whose no-op is committed. */
function readyLeader(): TestNode {
  const n = newNode();
  electLeader(n);
  stepDrain(n, ackAppend("n2", "n1", n.core.term, n.core.log.lastIndex()));
  stepDrain(n, ackAppend("n3", "n1", n.core.term, n.core.log.lastIndex()));
  return n;
}

/** readyLeader after removing n3; `commit` decides whether n2 acked the change. */
function leaderThatRemovedN3(commit: boolean): { n: TestNode; index: number } {
  const n = readyLeader();
  const r = n.core.proposeConfChange({ kind: "removeNode", node: "n3" });
  if (!r.ok) throw new Error(r.reason);
  drain(n);
  if (commit) stepDrain(n, ackAppend("n2", "n1", n.core.term, r.firstIndex));
  return { n, index: r.firstIndex };
}

const withoutN3: ConfState = { voters: ["n1", "n2"], learners: [] };

function notMember(from: string, to: string, term: number, confIndex: number, conf: ConfState = withoutN3): NotMemberMessage {
  return { type: "notMember", from, to, term, confIndex, conf };
}

const campaigns = (ms: readonly Message[]): Message[] => ms.filter((m) => m.type === "preVote" || m.type === "vote");

describe("a removed node learns it was removed (thesis §4.2.3)", () => {
  it("the leader answers a non-member's pre-vote with its committed configuration and ignores the vote", () => {
    const { n, index } = leaderThatRemovedN3(true);
    const term = n.core.term;
    const out = stepDrain(n, vote("n3", "n1", term + 1, 1, 1, true));
    expect(ofType(out, "notMember")).toEqual([notMember("n1", "n3", term, index)]);
    expect(n.core.status()).toMatchObject({ role: "leader", term });
  });

  it("the leader says nothing while the removal is uncommitted (it may still be undone)", () => {
    const { n } = leaderThatRemovedN3(false);
    expect(ofType(stepDrain(n, vote("n3", "n1", n.core.term + 1, 1, 1, true)), "notMember")).toEqual([]);
  });

  it("a non-member's higher term does not depose the leader", () => {
    const { n } = leaderThatRemovedN3(true);
    const term = n.core.term;
    stepDrain(n, vote("n3", "n1", term + 5, 99, term + 4));
    tickN(n, 1);
    expect(n.core.status()).toMatchObject({ role: "leader", term });
  });

  it("a node told by the current leader stops campaigning and reports that it is not a member", () => {
    const n = newNode({ id: "n3", logTerms: [1, 1], hardState: { term: 2, vote: null, commit: 1 } });
    stepDrain(n, notMember("n1", "n3", 2, 3));
    expect(n.core.status()).toMatchObject({ member: false, leader: "n1", removal: { by: "n1", term: 2, confIndex: 3, conf: withoutN3 } });
    expect(campaigns(tickN(n, 10 * T))).toEqual([]);
  });

  it("a notice from a newer term is believed too: its sender leads that term", () => {
    const n = newNode({ id: "n3", logTerms: [1], hardState: { term: 1, vote: null, commit: 1 } });
    stepDrain(n, notMember("n2", "n3", 4, 2));
    expect(n.core.status()).toMatchObject({ member: false, term: 4, role: "follower" });
    expect(campaigns(tickN(n, 10 * T))).toEqual([]);
  });

  it("a notice from an older term is stale and ignored (§5.1)", () => {
    const n = newNode({ id: "n3", logTerms: [1], hardState: { term: 5, vote: null, commit: 1 } });
    stepDrain(n, notMember("n1", "n3", 3, 2));
    expect(n.core.status()).toMatchObject({ member: true, removal: null });
    expect(campaigns(tickN(n, 3 * T)).length).toBeGreaterThan(0);
  });

  it("a notice whose configuration includes the node changes nothing", () => {
    const n = newNode({ id: "n3", logTerms: [1], hardState: { term: 2, vote: null, commit: 1 } });
    stepDrain(n, notMember("n1", "n3", 2, 2, { voters: ["n1", "n2", "n3"], learners: [] }));
    expect(n.core.status().member).toBe(true);
  });

  it("a removed node that a leader replicates to again (re-added) is a member again and campaigns when the leader goes", () => {
    const n = newNode({ id: "n3", logTerms: [1], hardState: { term: 2, vote: null, commit: 1 } });
    stepDrain(n, notMember("n1", "n3", 2, 2));
    expect(n.core.status().member).toBe(false);
    stepDrain(n, heartbeat("n1", "n3", 2, 1));
    expect(n.core.status()).toMatchObject({ member: true, removal: null });
    stepDrain(n, notMember("n1", "n3", 2, 2));
    stepDrain(n, app("n1", "n3", 2, 1, 1, [], 1));
    expect(n.core.status().member).toBe(true);
    expect(campaigns(tickN(n, 3 * T)).length).toBeGreaterThan(0);
  });

  it("end to end in the core: the removed follower, which never got the entry, asks and is told", () => {
    const { n: leader } = leaderThatRemovedN3(true);
    const follower = newNode({ id: "n3", logTerms: [1], hardState: { term: leader.core.term, vote: null, commit: 1 } });
    stepDrain(follower, heartbeat("n1", "n3", leader.core.term, 1));
    // No more heartbeats for n3: it times out and pre-votes; the leader answers.
    const asks = campaigns(tickN(follower, 3 * T)).filter((m) => m.to === "n1");
    expect(asks.length).toBeGreaterThan(0);
    const answers = ofType(stepDrain(leader, asks[0] as Message), "notMember");
    expect(answers).toHaveLength(1);
    stepDrain(follower, answers[0] as Message);
    expect(follower.core.status().member).toBe(false);
    expect(campaigns(tickN(follower, 10 * T))).toEqual([]);
  });
});
