/**
 * §5.3 Log replication and §5.4.2 committing entries from previous terms:
 * the AppendEntries consistency check, truncation of a conflicting suffix
 * (and only of a conflicting one), the commit index a follower takes from
 * its leader, fast back-off with conflict hints, and a leader that commits
 * only by counting replicas of an entry of its own term.
 */
import { describe, expect, it } from "vitest";
import type { Message, NodeId } from "../../src/core/types.ts";
import type { TestNode } from "./helpers.ts";
import {
  ackAppend, app, drain, electLeader, entries, heartbeat, logTerms, newNode, ofType, stepDrain,
} from "./helpers.ts";

/** Deliver messages among `nodes` until none are left; messages to others are dropped. */
function exchange(nodes: ReadonlyMap<NodeId, TestNode>, first: readonly Message[], seen: Message[] = []): Message[] {
  let queue = [...first];
  for (let guard = 0; queue.length > 0 && guard < 1000; guard++) {
    const next: Message[] = [];
    for (const m of queue) {
      seen.push(m);
      const to = nodes.get(m.to);
      if (to !== undefined) next.push(...stepDrain(to, m));
    }
    queue = next;
  }
  return seen;
}

describe("AppendEntries consistency check (§5.3)", () => {
  it("follower rejects an append whose previous index it does not have, hinting at its last entry (§5.3)", () => {
    const n = newNode({ logTerms: [1, 1, 2, 2, 2], hardState: { term: 3, vote: null, commit: 0 } });
    const out = stepDrain(n, app("n2", "n1", 3, 7, 3, entries([3], 8), 0));
    expect(out).toEqual([expect.objectContaining({ type: "appResp", reject: true, index: 7, hintIndex: 5, hintTerm: 2 })]);
    expect(logTerms(n)).toEqual([1, 1, 2, 2, 2]);
  });

  it("follower rejects an append whose previous entry has another term, hinting at the last entry of an older term (§5.3)", () => {
    const n = newNode({ logTerms: [1, 1, 4, 4, 4], hardState: { term: 5, vote: null, commit: 0 } });
    const out = stepDrain(n, app("n2", "n1", 5, 4, 3, entries([5], 5), 0));
    // Index 4 holds term 4 ≠ 3; the largest index with a term ≤ 3 is 2 (term 1).
    expect(out).toEqual([expect.objectContaining({ reject: true, index: 4, hintIndex: 2, hintTerm: 1 })]);
    expect(logTerms(n)).toEqual([1, 1, 4, 4, 4]);
  });

  it("follower truncates a conflicting suffix and appends the leader's entries, in the log and on disk (§5.3)", () => {
    const n = newNode({ logTerms: [1, 1, 2, 2, 2], hardState: { term: 2, vote: null, commit: 1 } });
    drain(n);
    const out = stepDrain(n, app("n2", "n1", 3, 2, 1, entries([3], 3), 1));
    expect(logTerms(n)).toEqual([1, 1, 3]);
    expect(n.storage.lastIndex()).toBe(3);
    expect(n.storage.term(3)).toBe(3);
    expect(out).toEqual([expect.objectContaining({ reject: false, index: 3 })]);
  });

  it("a delayed append whose entries all match truncates nothing (§5.3)", () => {
    const n = newNode({ logTerms: [1, 1, 1, 1], hardState: { term: 1, vote: null, commit: 0 } });
    const out = stepDrain(n, app("n2", "n1", 1, 1, 1, entries([1], 2), 0));
    expect(logTerms(n)).toEqual([1, 1, 1, 1]);
    // It acknowledges what this append covered, not the whole log.
    expect(out).toEqual([expect.objectContaining({ reject: false, index: 2 })]);
  });

  it("an append below the follower's commit index is answered with the commit index (§5.3)", () => {
    const n = newNode({ logTerms: [1, 1, 1, 1], hardState: { term: 1, vote: null, commit: 3 } });
    drain(n);
    const out = stepDrain(n, app("n2", "n1", 1, 1, 1, entries([1], 2), 3));
    expect(out).toEqual([expect.objectContaining({ reject: false, index: 3 })]);
    expect(logTerms(n)).toEqual([1, 1, 1, 1]);
  });

  it("follower takes the leader's commit index, capped at the last entry this append vouches for (§5.3)", () => {
    const n = newNode({ logTerms: [1, 1, 1], hardState: { term: 1, vote: null, commit: 0 } });
    stepDrain(n, app("n2", "n1", 1, 1, 1, entries([1], 2), 3));
    expect(n.core.status().commit).toBe(2); // min(leaderCommit 3, last new entry 2)
    stepDrain(n, app("n2", "n1", 1, 0, 0, [], 3));
    expect(n.core.status().commit).toBe(2); // an empty append at 0 vouches for nothing past 0
    stepDrain(n, heartbeat("n2", "n1", 1, 3));
    expect(n.core.status().commit).toBe(3);
  });

  it("committed entries come out of ready() once, in order (§5.3)", () => {
    const n = newNode({ logTerms: [1, 1, 1], hardState: { term: 1, vote: null, commit: 0 } });
    n.core.step(app("n2", "n1", 1, 0, 0, [], 2));
    n.core.step(heartbeat("n2", "n1", 1, 2));
    const first = n.core.ready();
    expect(first.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    n.core.advance(first);
    n.core.step(heartbeat("n2", "n1", 1, 3));
    expect(n.core.ready().committedEntries.map((e) => e.index)).toEqual([3]);
  });
});

describe("leader replication (§5.3)", () => {
  it("a leader backs up over a whole conflicting term per round trip thanks to the hint (§5.3)", () => {
    const leader = newNode({ id: "n1", logTerms: [1, 1, 3, 3, 3], hardState: { term: 3, vote: null, commit: 2 } });
    const follower = newNode({ id: "n2", logTerms: [1, 1, 2, 2, 2, 2, 2, 2], hardState: { term: 2, vote: null, commit: 2 } });
    drain(follower);
    const first = electLeader(leader); // term 4, no-op at 6
    const seen = exchange(new Map([["n1", leader], ["n2", follower]]), first.filter((m) => m.to === "n2"));
    const rejects = seen.filter((m) => m.type === "appResp" && m.reject);
    // One rejection: (5, term 3) fails, the hint (5, term 2) makes the leader jump to index 2.
    expect(rejects).toHaveLength(1);
    expect(logTerms(follower)).toEqual(logTerms(leader));
    expect(logTerms(follower)).toEqual([1, 1, 3, 3, 3, 4]);
  });

  it("a leader sends new entries to every follower and commits once a majority holds them (§5.3)", () => {
    const n = newNode();
    electLeader(n);
    const noop = n.core.log.lastIndex();
    stepDrain(n, ackAppend("n2", "n1", n.core.term, noop));
    expect(n.core.status().commit).toBe(noop);
    stepDrain(n, ackAppend("n3", "n1", n.core.term, noop));
    const r = n.core.propose([new Uint8Array([42])]);
    expect(r).toMatchObject({ ok: true, firstIndex: noop + 1 });
    const out = drain(n);
    expect(ofType(out, "app").map((m) => [m.to, m.entries.map((e) => e.index)])).toEqual([["n2", [noop + 1]], ["n3", [noop + 1]]]);
    expect(n.core.status().commit).toBe(noop);
    stepDrain(n, ackAppend("n3", "n1", n.core.term, noop + 1));
    expect(n.core.status().commit).toBe(noop + 1);
  });

  it("a leader probes a follower it has not heard from with one append at a time (§5.3)", () => {
    const n = newNode();
    const first = electLeader(n);
    expect(ofType(first, "app").map((m) => m.to)).toEqual(["n2", "n3"]);
    n.core.propose([new Uint8Array([1])]);
    n.core.propose([new Uint8Array([2])]);
    // Neither follower answered the no-op yet: nothing more is sent until they do.
    expect(ofType(drain(n), "app")).toEqual([]);
  });

  it("a follower refuses proposals, naming the leader it knows (§5.3, §8)", () => {
    const n = newNode();
    stepDrain(n, heartbeat("n2", "n1", 1, 0));
    expect(n.core.propose([new Uint8Array([1])])).toMatchObject({ ok: false, code: "NOT_LEADER", leader: "n2" });
  });
});

describe("committing entries from previous terms (§5.4.2)", () => {
  function leaderWithOldEntries(faults?: { commitOldTermEntries: boolean }): TestNode {
    // Entries 1-2 from term 1 were never committed; the node now leads a later term.
    const n = newNode({ logTerms: [1, 1], hardState: { term: 2, vote: null, commit: 0 }, ...(faults ? { raft: { unsafeFaults: faults } } : {}) });
    electLeader(n);
    expect(n.core.term).toBe(3);
    expect(n.core.log.term(3)).toBe(3); // the no-op of term 3
    return n;
  }

  it("a leader does not commit an older-term entry because a majority stores it (§5.4.2)", () => {
    const n = leaderWithOldEntries();
    stepDrain(n, ackAppend("n2", "n1", 3, 2));
    expect(n.core.status().commit).toBe(0);
  });

  it("older-term entries commit indirectly once an entry of the leader's term does (§5.4.2)", () => {
    const n = leaderWithOldEntries();
    stepDrain(n, ackAppend("n2", "n1", 3, 2));
    stepDrain(n, ackAppend("n2", "n1", 3, 3));
    expect(n.core.status().commit).toBe(3);
  });

  it("the commitOldTermEntries fault commits by counting, as Figure 8 warns against (§5.4.2)", () => {
    const n = leaderWithOldEntries({ commitOldTermEntries: true });
    stepDrain(n, ackAppend("n2", "n1", 3, 2));
    expect(n.core.status().commit).toBe(2);
  });
});
