/**
 * §8 Client interaction: a new leader appends a no-op of its term to learn
 * what is committed, and ReadIndex (thesis §6.4) releases a read only after a
 * heartbeat round acknowledged by a majority, at a commit index of the
 * leader's own term.
 */
import { describe, expect, it } from "vitest";
import type { Message, ReadState } from "../../src/core/types.ts";
import type { TestNode } from "./helpers.ts";
import { T, ackAppend, drain, electLeader, heartbeat, heartbeatResp, newNode, ofType, persist, stepDrain, tickN } from "./helpers.ts";

/** Step messages and collect the read states that come out. */
function readStatesAfter(n: TestNode, act: () => void): ReadState[] {
  act();
  const out: ReadState[] = [];
  while (n.core.hasReady()) out.push(...persist(n).readStates);
  return out;
}

/** The readSeq carried by the heartbeats among `sent`. */
function readSeqOf(sent: readonly Message[]): number {
  const hb = ofType(sent, "heartbeat");
  expect(hb.length, "heartbeats were sent").toBeGreaterThan(0);
  return Math.max(...hb.map((m) => m.readSeq));
}

/** The readSeq of the heartbeats the leader sends now (after a read: that read's round). */
function lastReadSeq(n: TestNode): number {
  return readSeqOf(drain(n));
}

describe("no-op at the start of a term (§8)", () => {
  it("a new leader appends an empty entry of its term and sends it to every follower (§8)", () => {
    const n = newNode({ logTerms: [1, 1], hardState: { term: 1, vote: null, commit: 1 } });
    const out = electLeader(n);
    const e = n.core.log.slice(3, 4, 1024)[0];
    expect(e).toMatchObject({ index: 3, term: n.core.term, type: "noop" });
    expect(e?.data.byteLength).toBe(0);
    expect(ofType(out, "app").map((m) => [m.to, m.entries.map((x) => x.type)])).toEqual([["n2", ["noop"]], ["n3", ["noop"]]]);
  });
});

describe("ReadIndex (§8, thesis §6.4)", () => {
  function leaderWithCommittedNoop(voters = ["n1", "n2", "n3"]): TestNode {
    const n = newNode({ voters });
    electLeader(n);
    for (const v of voters.slice(1)) stepDrain(n, ackAppend(v, "n1", n.core.term, n.core.log.lastIndex()));
    expect(n.core.status().commit).toBe(n.core.log.lastIndex());
    return n;
  }

  it("a read is released only after a majority acknowledges a heartbeat sent after it (thesis §6.4)", () => {
    const n = leaderWithCommittedNoop(["n1", "n2", "n3", "n4", "n5"]);
    const commit = n.core.status().commit;
    const before = readSeqOf(tickN(n, 1)); // a periodic heartbeat round
    expect(n.core.readIndex(7)).toEqual({ ok: true });
    const seq = lastReadSeq(n);
    expect(seq).toBeGreaterThan(before);
    // An answer to an older heartbeat round proves nothing about now.
    expect(readStatesAfter(n, () => n.core.step(heartbeatResp("n2", "n1", n.core.term, seq - 1)))).toEqual([]);
    expect(readStatesAfter(n, () => n.core.step(heartbeatResp("n2", "n1", n.core.term, seq)))).toEqual([]);
    expect(readStatesAfter(n, () => n.core.step(heartbeatResp("n2", "n1", n.core.term, seq)))).toEqual([]); // duplicates count once
    expect(readStatesAfter(n, () => n.core.step(heartbeatResp("n3", "n1", n.core.term, seq)))).toEqual([{ ctx: 7, index: commit }]);
  });

  it("reads are released in order; a later heartbeat round confirms earlier reads too (thesis §6.4)", () => {
    const n = leaderWithCommittedNoop();
    n.core.readIndex(1);
    const s1 = lastReadSeq(n);
    n.core.readIndex(2);
    const s2 = lastReadSeq(n);
    expect(s2).toBeGreaterThan(s1);
    expect(readStatesAfter(n, () => n.core.step(heartbeatResp("n3", "n1", n.core.term, s2))).map((r) => r.ctx)).toEqual([1, 2]);
  });

  it("a new leader queues reads until it commits an entry of its term, then confirms them (§8)", () => {
    const n = newNode({ logTerms: [1, 1], hardState: { term: 1, vote: null, commit: 1 } });
    electLeader(n);
    const noop = n.core.log.lastIndex();
    expect(n.core.readIndex(9)).toEqual({ ok: true });
    // A full heartbeat quorum answers, but the commit index (1) is of an older term.
    const seq = readSeqOf(tickN(n, 1));
    expect(readStatesAfter(n, () => {
      n.core.step(heartbeatResp("n2", "n1", n.core.term, seq));
      n.core.step(heartbeatResp("n3", "n1", n.core.term, seq));
    })).toEqual([]);
    // The no-op commits: only now is the read issued, with its own heartbeat round.
    const seq2 = readSeqOf(stepDrain(n, ackAppend("n2", "n1", n.core.term, noop)));
    expect(seq2).toBeGreaterThan(seq);
    const released = readStatesAfter(n, () => n.core.step(heartbeatResp("n3", "n1", n.core.term, seq2)));
    expect(released).toEqual([{ ctx: 9, index: noop }]);
  });

  it("a follower refuses ReadIndex with NOT_LEADER (thesis §6.4)", () => {
    const n = newNode();
    stepDrain(n, heartbeat("n2", "n1", 1, 0));
    expect(n.core.readIndex(1)).toMatchObject({ ok: false, code: "NOT_LEADER", leader: "n2" });
  });

  it("a single-voter leader releases a read at once (thesis §6.4)", () => {
    const n = newNode({ voters: ["n1"] });
    tickN(n, 2 * T);
    expect(n.core.role).toBe("leader");
    const commit = n.core.status().commit;
    expect(readStatesAfter(n, () => n.core.readIndex(3))).toEqual([{ ctx: 3, index: commit }]);
  });

  it("a leader that steps down drops its pending reads (thesis §6.4)", () => {
    const n = leaderWithCommittedNoop();
    n.core.readIndex(5);
    const seq = lastReadSeq(n);
    stepDrain(n, heartbeat("n2", "n1", n.core.term + 1, 0));
    expect(n.core.role).toBe("follower");
    expect(readStatesAfter(n, () => n.core.step(heartbeatResp("n3", "n1", n.core.term, seq)))).toEqual([]);
  });
});
