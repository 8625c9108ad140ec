/**
 * §5.2 Leader election and §5.4.1 the election restriction: randomized
 * timeouts from the injected Rand, one vote per term, majorities, candidates
 * yielding to a leader of their term, and votes only for logs at least as
 * up to date as the voter's.
 */
import { describe, expect, it } from "vitest";
import { SeededRand } from "../../src/core/rand.ts";
import {
  FixedRand, T, app, entries, logTerms, newNode, ofType, stepDrain, tickN, vote, voteResp,
} from "./helpers.ts";

/** Ticks until a fresh follower starts an election. */
function ticksToCampaign(rand: FixedRand | SeededRand): number {
  const n = newNode({ raft: { preVote: false }, rand });
  for (let t = 1; t <= 3 * T; t++) {
    n.core.tick();
    if (n.core.role === "candidate") return t;
  }
  throw new Error("never campaigned");
}

describe("leader election (§5.2)", () => {
  it.each([0, 1, 5, T - 1])("election timeout is T + rand.int(T): %i from the Rand campaigns at tick T + %i (§5.2)", (v) => {
    const rand = new FixedRand(v);
    expect(ticksToCampaign(rand)).toBe(T + v);
    expect(rand.asked.every((n) => n === T)).toBe(true);
  });

  it("election timeouts drawn from seeded Rands cover [T, 2T) and nothing else (§5.2)", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) seen.add(ticksToCampaign(new SeededRand(seed)));
    expect(Math.min(...seen)).toBe(T);
    expect(Math.max(...seen)).toBe(2 * T - 1);
    expect(seen.size).toBe(T);
  });

  it("every election draws a fresh timeout (§5.2)", () => {
    const rand = new FixedRand(0);
    const n = newNode({ raft: { preVote: false }, rand });
    tickN(n, T - 1);
    const before = rand.asked.length;
    rand.value = 4; // drawn when the first election starts, on the next tick
    tickN(n, 1);
    expect(n.core.term).toBe(1);
    tickN(n, T + 3);
    expect(n.core.term).toBe(1); // the second timeout is T + 4, not T
    tickN(n, 1);
    expect(n.core.term).toBe(2);
    expect(rand.asked.length).toBeGreaterThan(before);
  });

  it("a candidate votes for itself and asks every other voter (§5.2)", () => {
    const n = newNode({ voters: ["n1", "n2", "n3", "n4", "n5"], raft: { preVote: false } });
    const out = tickN(n, T);
    expect(n.core.status()).toMatchObject({ role: "candidate", term: 1, vote: "n1" });
    expect(ofType(out, "vote").map((m) => [m.to, m.term])).toEqual([["n2", 1], ["n3", 1], ["n4", 1], ["n5", 1]]);
  });

  it("a candidate wins with a majority of votes, counting its own (§5.2)", () => {
    const n = newNode({ voters: ["n1", "n2", "n3", "n4", "n5"], raft: { preVote: false } });
    tickN(n, T);
    stepDrain(n, voteResp("n2", "n1", 1, false));
    expect(n.core.role).toBe("candidate");
    stepDrain(n, voteResp("n2", "n1", 1, false)); // a duplicate vote counts once
    expect(n.core.role).toBe("candidate");
    stepDrain(n, voteResp("n3", "n1", 1, false));
    expect(n.core.status()).toMatchObject({ role: "leader", term: 1, leader: "n1" });
  });

  it("a candidate rejected by a majority returns to follower in the same term (§5.2)", () => {
    const n = newNode({ voters: ["n1", "n2", "n3", "n4", "n5"], raft: { preVote: false } });
    tickN(n, T);
    stepDrain(n, voteResp("n2", "n1", 1, true));
    stepDrain(n, voteResp("n3", "n1", 1, true));
    expect(n.core.role).toBe("candidate");
    stepDrain(n, voteResp("n4", "n1", 1, true));
    expect(n.core.status()).toMatchObject({ role: "follower", term: 1 });
  });

  it("a follower grants one vote per term: first come, first served; a repeated request is granted again (§5.2)", () => {
    const n = newNode({ hardState: { term: 1, vote: null, commit: 0 } });
    expect(stepDrain(n, vote("n2", "n1", 2, 0, 0))).toEqual([expect.objectContaining({ type: "voteResp", to: "n2", term: 2, reject: false })]);
    expect(stepDrain(n, vote("n3", "n1", 2, 0, 0))).toEqual([expect.objectContaining({ type: "voteResp", to: "n3", reject: true })]);
    expect(stepDrain(n, vote("n2", "n1", 2, 0, 0))).toEqual([expect.objectContaining({ type: "voteResp", to: "n2", reject: false })]);
    expect(n.storage.getHardState()).toMatchObject({ term: 2, vote: "n2" });
    // A new term frees the vote.
    expect(stepDrain(n, vote("n3", "n1", 3, 0, 0))).toEqual([expect.objectContaining({ type: "voteResp", to: "n3", term: 3, reject: false })]);
  });

  it("a candidate does not vote for a rival of the same term (§5.2)", () => {
    const n = newNode({ raft: { preVote: false } });
    tickN(n, T);
    expect(stepDrain(n, vote("n2", "n1", 1, 0, 0))).toEqual([expect.objectContaining({ type: "voteResp", reject: true })]);
    expect(n.core.status()).toMatchObject({ role: "candidate", vote: "n1" });
  });

  it("a candidate steps down on AppendEntries of its own term and accepts the entries (§5.2)", () => {
    const n = newNode({ raft: { preVote: false } });
    tickN(n, T);
    expect(n.core.status()).toMatchObject({ role: "candidate", term: 1 });
    const out = stepDrain(n, app("n2", "n1", 1, 0, 0, entries([1]), 0));
    expect(n.core.status()).toMatchObject({ role: "follower", term: 1, leader: "n2" });
    expect(logTerms(n)).toEqual([1]);
    expect(out).toEqual([expect.objectContaining({ type: "appResp", reject: false, index: 1 })]);
  });

  it("a learner never campaigns", () => {
    const n = newNode({ id: "n4", voters: ["n1", "n2", "n3"], learners: ["n4"] });
    const out = tickN(n, 10 * T);
    expect(out).toEqual([]);
    expect(n.core.status()).toMatchObject({ role: "follower", term: 0 });
  });
});

describe("election restriction (§5.4.1)", () => {
  // The voter's log: terms 1, 2, 2 (last index 3, last term 2).
  it.each([
    ["lower last term, longer log", 10, 1, false],
    ["same last term, shorter log", 2, 2, false],
    ["same last term, same length", 3, 2, true],
    ["same last term, longer log", 4, 2, true],
    ["higher last term, shorter log", 1, 3, true],
  ] as const)("vote: candidate with %s (last %i/%i): granted = %s (§5.4.1)", (_name, lastIndex, lastTerm, granted) => {
    for (const pre of [false, true]) {
      const n = newNode({ logTerms: [1, 2, 2], hardState: { term: 2, vote: null, commit: 0 } });
      tickN(n, T); // no leader heard for an election timeout: no lease
      const out = stepDrain(n, vote("n2", "n1", 4, lastIndex, lastTerm, pre));
      const resp = out.find((m) => m.type === (pre ? "preVoteResp" : "voteResp"));
      expect(resp, pre ? "pre-vote" : "vote").toMatchObject({ reject: !granted });
    }
  });
});
