/**
 * §5.1 Raft basics: terms act as a logical clock. Stale messages are
 * rejected, a higher term turns anyone into a follower, and the term and vote
 * reach stable storage before anything that depends on them is sent.
 */
import { describe, expect, it } from "vitest";
import { RaftCore } from "../../src/core/raft.ts";
import {
  FixedRand, T, ackAppend, app, drain, electLeader, entries, heartbeat, logTerms, newNode, ofType, persist, stepDrain, tickN, vote,
} from "./helpers.ts";

describe("terms (§5.1)", () => {
  it("follower rejects AppendEntries from a stale term and answers with its current term (§5.1)", () => {
    const n = newNode({ logTerms: [1, 1], hardState: { term: 5, vote: null, commit: 0 } });
    const out = stepDrain(n, app("n2", "n1", 3, 2, 1, entries([3], 3), 2));
    expect(logTerms(n)).toEqual([1, 1]);
    expect(n.core.status().commit).toBe(0);
    // The answer carries term 5, so the stale leader steps down.
    expect(out).toEqual([expect.objectContaining({ type: "appResp", to: "n2", term: 5 })]);
    expect(n.core.term).toBe(5);
  });

  it("follower ignores a heartbeat's commit index from a stale term (§5.1)", () => {
    const n = newNode({ logTerms: [1, 1, 1], hardState: { term: 5, vote: null, commit: 0 } });
    stepDrain(n, heartbeat("n2", "n1", 4, 3));
    expect(n.core.status().commit).toBe(0);
  });

  it("a RequestVote from a stale term is not granted and changes nothing (§5.1)", () => {
    const n = newNode({ hardState: { term: 5, vote: null, commit: 0 } });
    const out = stepDrain(n, vote("n2", "n1", 4, 10, 4));
    expect(out.some((m) => m.type === "voteResp" && !m.reject)).toBe(false);
    expect(n.core.status()).toMatchObject({ term: 5, vote: null });
  });

  it("a higher term in a heartbeat makes a leader a follower of the sender (§5.1)", () => {
    const n = newNode();
    electLeader(n);
    const term = n.core.term;
    stepDrain(n, heartbeat("n2", "n1", term + 1, 0));
    expect(n.core.status()).toMatchObject({ role: "follower", term: term + 1, leader: "n2", vote: null });
  });

  it("a higher term in an append answer deposes a leader, with no leader known (§5.1)", () => {
    const n = newNode();
    electLeader(n);
    const term = n.core.term;
    stepDrain(n, ackAppend("n2", "n1", term + 3, 0));
    expect(n.core.status()).toMatchObject({ role: "follower", term: term + 3, leader: null });
  });

  it("a candidate that sees a higher term returns to follower (§5.1)", () => {
    const n = newNode({ raft: { preVote: false } });
    tickN(n, T);
    expect(n.core.role).toBe("candidate");
    stepDrain(n, { type: "voteResp", from: "n2", to: "n1", term: n.core.term + 1, reject: true });
    expect(n.core.status()).toMatchObject({ role: "follower", term: 2 });
  });

  it("term and vote are in the same Ready as the vote requests, marked mustSync (§5.1, Figure 2)", () => {
    const n = newNode({ raft: { preVote: false } });
    for (let i = 0; i < T - 1; i++) n.core.tick();
    expect(n.core.hasReady()).toBe(false);
    n.core.tick();
    const rd = persist(n);
    expect(rd.hardState).toEqual({ term: 1, vote: "n1", commit: 0 });
    expect(rd.mustSync).toBe(true);
    expect(ofType(rd.messages, "vote").map((m) => m.to)).toEqual(["n2", "n3"]);
    expect(n.storage.getHardState()).toEqual({ term: 1, vote: "n1", commit: 0 });
  });

  it("a restarted node keeps its term and vote, and does not vote for another candidate in that term (§5.1, §5.2)", () => {
    const n = newNode({ hardState: { term: 1, vote: null, commit: 0 } });
    const granted = stepDrain(n, vote("n2", "n1", 2, 0, 0));
    expect(granted).toEqual([expect.objectContaining({ type: "voteResp", reject: false, term: 2 })]);
    const restarted = { ...n, core: new RaftCore({ id: "n1", electionTicks: T }, n.storage, new FixedRand(0)) };
    expect(restarted.core.status()).toMatchObject({ term: 2, vote: "n2" });
    expect(stepDrain(restarted, vote("n3", "n1", 2, 0, 0))).toEqual([expect.objectContaining({ type: "voteResp", reject: true })]);
    expect(stepDrain(restarted, vote("n2", "n1", 2, 0, 0))).toEqual([expect.objectContaining({ type: "voteResp", reject: false })]);
    expect(drain(restarted)).toEqual([]);
  });
});
