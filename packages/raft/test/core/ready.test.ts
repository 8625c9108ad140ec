/**
 * The Ready/advance contract between the core and its driver (etcd-io/raft's
 * rawnode): the driver persists (fsync when mustSync), then sends, then
 * applies, then calls advance(). Anything a message depends on is in the
 * same Ready, and a leader counts its own entries only once persisted.
 */
import { describe, expect, it } from "vitest";
import {
  T, ackAppend, app, drain, electLeader, entries, heartbeat, newNode, ofType, persist, stepDrain, tickN, vote,
} from "./helpers.ts";

describe("ready() / advance()", () => {
  it("mustSync is set when term, vote or entries change, and not for commit-only changes", () => {
    const n = newNode({ logTerms: [1, 1], hardState: { term: 1, vote: null, commit: 0 } });
    n.core.step(vote("n2", "n1", 2, 2, 1));
    expect(persist(n)).toMatchObject({ mustSync: true, hardState: { term: 2, vote: "n2" } });
    n.core.step(app("n2", "n1", 2, 2, 1, entries([2], 3), 0));
    expect(persist(n)).toMatchObject({ mustSync: true, entries: [expect.objectContaining({ index: 3 })] });
    n.core.step(heartbeat("n2", "n1", 2, 3));
    const commitOnly = persist(n);
    expect(commitOnly).toMatchObject({ mustSync: false, hardState: { term: 2, vote: "n2", commit: 3 }, entries: [] });
    expect(commitOnly.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it("a vote grant rides in the same Ready as the persisted vote; an ack in the same Ready as its entries", () => {
    const n = newNode({ hardState: { term: 1, vote: null, commit: 0 } });
    n.core.step(vote("n2", "n1", 2, 0, 0));
    const rd = n.core.ready();
    expect(rd.messages).toEqual([expect.objectContaining({ type: "voteResp", reject: false })]);
    expect(rd.hardState).toMatchObject({ term: 2, vote: "n2" });
    n.core.advance(rd);
    n.core.step(app("n2", "n1", 2, 0, 0, entries([2, 2]), 0));
    const rd2 = n.core.ready();
    expect(rd2.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(rd2.messages).toEqual([expect.objectContaining({ type: "appResp", index: 2 })]);
  });

  it("a leader counts its own new entry only after advance() (persist before ack)", () => {
    const n = newNode();
    electLeader(n);
    const term = n.core.term;
    stepDrain(n, ackAppend("n2", "n1", term, n.core.log.lastIndex()));
    stepDrain(n, ackAppend("n3", "n1", term, n.core.log.lastIndex()));
    const r = n.core.propose([new Uint8Array([5])]);
    if (!r.ok) throw new Error(r.reason);
    const rd = n.core.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([r.firstIndex]);
    // One follower holds it; the leader's own copy is not on disk yet: 1 of 3.
    n.core.step(ackAppend("n2", "n1", term, r.firstIndex));
    expect(n.core.status().commit).toBeLessThan(r.firstIndex);
    n.storage.write({ entries: rd.entries });
    n.core.advance(rd);
    expect(n.core.status().commit).toBe(r.firstIndex);
  });

  it("a single-voter leader commits only once its own entry is persisted", () => {
    const n = newNode({ voters: ["n1"] });
    tickN(n, 2 * T);
    expect(n.core.role).toBe("leader");
    const r = n.core.propose([new Uint8Array([1])]);
    if (!r.ok) throw new Error(r.reason);
    const rd = n.core.ready();
    expect(rd.committedEntries.map((e) => e.index)).not.toContain(r.firstIndex);
    expect(n.core.status().commit).toBeLessThan(r.firstIndex);
    n.storage.write({ entries: rd.entries });
    n.core.advance(rd);
    expect(n.core.status().commit).toBe(r.firstIndex);
    expect(persist(n).committedEntries.map((e) => e.index)).toEqual([r.firstIndex]);
  });

  it("each committed entry is handed to the application once, and an idle core has no Ready", () => {
    const n = newNode({ logTerms: [1, 1, 1], hardState: { term: 1, vote: null, commit: 3 } });
    expect(persist(n).committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(n.core.hasReady()).toBe(false);
    expect(drain(n)).toEqual([]);
    n.core.step(heartbeat("n2", "n1", 1, 3));
    const rd = persist(n);
    expect(rd.committedEntries).toEqual([]);
    expect(ofType(rd.messages, "heartbeatResp")).toHaveLength(1);
    expect(n.core.hasReady()).toBe(false);
  });

  it("softState reports role, leader, term and membership changes once", () => {
    const n = newNode();
    n.core.step(heartbeat("n2", "n1", 1, 0));
    expect(persist(n).softState).toEqual({ role: "follower", leader: "n2", term: 1, member: true });
    n.core.step(heartbeat("n2", "n1", 1, 0));
    expect(persist(n).softState).toBeUndefined();
    n.core.step({ type: "notMember", from: "n2", to: "n1", term: 1, confIndex: 5, conf: { voters: ["n2", "n3"], learners: [] } });
    expect(persist(n).softState).toEqual({ role: "follower", leader: "n2", term: 1, member: false });
  });

  describe("takeHeartbeats(): what may leave while the driver's turn is still applying", () => {
    it("a leader's heartbeats queued after ready() are taken out of the next Ready; other messages stay", () => {
      const n = newNode();
      electLeader(n);
      const term = n.core.term;
      const rd = n.core.ready(); // the turn in progress (say, a long apply)
      for (let i = 0; i < 3; i++) n.core.tick(); // heartbeat interval passes during the apply
      n.core.propose([new Uint8Array([7])]);
      const beats = n.core.takeHeartbeats();
      expect(beats.length).toBeGreaterThan(0);
      expect(beats.every((m) => m.type === "heartbeat" && m.term === term)).toBe(true);
      n.core.advance(rd);
      const next = n.core.ready();
      expect(ofType(next.messages, "heartbeat")).toEqual([]);
      expect(next.entries.length).toBe(1);
    });

    it("a follower's heartbeat response goes at once in a term it has written, not in a new one", () => {
      const n = newNode({ hardState: { term: 2, vote: null, commit: 0 } });
      n.core.step(heartbeat("n2", "n1", 2, 0));
      expect(n.core.takeHeartbeats()).toEqual([expect.objectContaining({ type: "heartbeatResp", term: 2 })]);
      // A leader of a newer term: the new term must be on disk before anything answers in it.
      n.core.step(heartbeat("n3", "n1", 3, 0));
      expect(n.core.takeHeartbeats()).toEqual([]);
      const rd = n.core.ready();
      expect(rd.hardState).toMatchObject({ term: 3 });
      expect(ofType(rd.messages, "heartbeatResp")).toEqual([expect.objectContaining({ term: 3 })]);
    });
  });
});
