/**
 * Pre-vote (thesis §9.6) and check-quorum (thesis §6.2): a node first asks
 * whether it could win before it bumps its term, followers that hear from a
 * live leader ignore campaigns, and a leader that cannot reach a majority for
 * an election timeout steps down.
 */
import { describe, expect, it } from "vitest";
import {
  T, electLeader, heartbeat, heartbeatResp, newNode, ofType, persist, preVoteResp, stepDrain, tickN, vote,
} from "./helpers.ts";

describe("pre-vote (thesis §9.6)", () => {
  it("an election timeout starts a pre-vote for term + 1 without changing term or vote (thesis §9.6)", () => {
    const n = newNode({ hardState: { term: 3, vote: "n2", commit: 0 } });
    for (let i = 0; i < T - 1; i++) n.core.tick();
    n.core.tick();
    const rd = persist(n);
    expect(n.core.status()).toMatchObject({ role: "preCandidate", term: 3, vote: "n2" });
    expect(rd.hardState).toBeUndefined();
    expect(ofType(rd.messages, "preVote").map((m) => [m.to, m.term])).toEqual([["n2", 4], ["n3", 4]]);
    expect(n.storage.getHardState().term).toBe(3);
  });

  it("a lost pre-vote leaves the term as it was; a won one starts the real election (thesis §9.6)", () => {
    const n = newNode({ hardState: { term: 3, vote: null, commit: 0 } });
    tickN(n, T);
    stepDrain(n, preVoteResp("n2", "n1", 3, true));
    stepDrain(n, preVoteResp("n3", "n1", 3, true));
    expect(n.core.status()).toMatchObject({ role: "follower", term: 3 });
    tickN(n, T);
    const out = stepDrain(n, preVoteResp("n2", "n1", 4, false));
    expect(n.core.status()).toMatchObject({ role: "candidate", term: 4, vote: "n1" });
    expect(ofType(out, "vote").map((m) => m.term)).toEqual([4, 4]);
  });

  it("a pre-vote grant changes nothing on the voter: no term, no vote (thesis §9.6)", () => {
    const voter = newNode({ id: "n2", hardState: { term: 3, vote: null, commit: 0 } });
    tickN(voter, T - 1); // about to time out itself: no leader heard from
    const out = stepDrain(voter, vote("n1", "n2", 4, 0, 0, true));
    expect(out).toEqual([expect.objectContaining({ type: "preVoteResp", term: 4, reject: false })]);
    expect(voter.core.status()).toMatchObject({ term: 3, vote: null });
  });

  it("a follower that heard from its leader within an election timeout ignores votes and pre-votes (thesis §4.2.3)", () => {
    const n = newNode({ id: "n2", hardState: { term: 3, vote: null, commit: 0 } });
    stepDrain(n, heartbeat("n1", "n2", 3, 0));
    expect(stepDrain(n, vote("n3", "n2", 4, 0, 0, true))).toEqual([]);
    expect(stepDrain(n, vote("n3", "n2", 4, 0, 0, false))).toEqual([]);
    expect(n.core.status()).toMatchObject({ term: 3, leader: "n1" });
    tickN(n, T); // the lease runs out
    expect(stepDrain(n, vote("n3", "n2", 4, 0, 0, true))).toEqual([expect.objectContaining({ type: "preVoteResp", reject: false })]);
  });

  it("a partitioned node rejoining with pre-vote does not disrupt a healthy leader (thesis §9.6)", () => {
    // n3 was cut off: it pre-campaigned again and again but never bumped its term.
    const leader = newNode({ id: "n1" });
    electLeader(leader);
    const term = leader.core.term;
    const follower = newNode({ id: "n2", hardState: { term, vote: "n1", commit: 0 } });
    stepDrain(follower, heartbeat("n1", "n2", term, 0));
    const rejoining = newNode({ id: "n3", hardState: { term, vote: null, commit: 0 } });
    const probes = ofType(tickN(rejoining, 5 * T), "preVote");
    expect(rejoining.core.term).toBe(term);
    expect(probes.length).toBeGreaterThan(0);
    for (const p of probes) {
      expect(stepDrain(p.to === "n1" ? leader : follower, p)).toEqual([]); // both are in the leader's lease
    }
    expect(leader.core.status()).toMatchObject({ role: "leader", term });
    expect(follower.core.status()).toMatchObject({ term, leader: "n1" });
    // The next heartbeat brings n3 back as a follower of the same term.
    stepDrain(rejoining, heartbeat("n1", "n3", term, 0));
    expect(rejoining.core.status()).toMatchObject({ role: "follower", term, leader: "n1" });
  });

  it("without pre-vote, a cut-off node bumps its term on every timeout (the disruption pre-vote prevents)", () => {
    const n = newNode({ raft: { preVote: false }, hardState: { term: 3, vote: null, commit: 0 } });
    tickN(n, 5 * T);
    expect(n.core.term).toBeGreaterThanOrEqual(3 + 4);
  });
});

describe("check-quorum (thesis §6.2)", () => {
  it("a leader that hears from no majority for an election timeout steps down, keeping its term", () => {
    const n = newNode();
    electLeader(n);
    const term = n.core.term;
    // Every member gets one election timeout of grace after the election.
    tickN(n, T);
    expect(n.core.role).toBe("leader");
    tickN(n, T);
    expect(n.core.status()).toMatchObject({ role: "follower", term, leader: null });
  });

  it("a leader that hears from one follower of three (a majority with itself) stays leader", () => {
    const n = newNode();
    electLeader(n);
    for (let t = 0; t < 10 * T; t++) {
      tickN(n, 1);
      stepDrain(n, heartbeatResp("n2", "n1", n.core.term, 0));
    }
    expect(n.core.role).toBe("leader");
  });

  it("answers from a learner do not count towards the quorum", () => {
    const n = newNode({ voters: ["n1", "n2", "n3"], learners: ["n4"] });
    electLeader(n);
    for (let t = 0; t < 2 * T; t++) {
      tickN(n, 1);
      stepDrain(n, heartbeatResp("n4", "n1", n.core.term, 0));
    }
    expect(n.core.role).toBe("follower");
  });

  it("with check-quorum off, a cut-off leader keeps leading", () => {
    const n = newNode({ raft: { checkQuorum: false } });
    electLeader(n);
    tickN(n, 10 * T);
    expect(n.core.role).toBe("leader");
  });
});
