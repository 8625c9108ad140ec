/**
 * §6 Cluster membership changes, the single-server way (thesis §4.1): one
 * change at a time, only after the leader committed an entry of its term; a
 * configuration takes effect as soon as its entry is in the log and is
 * reverted if that entry is truncated.
 */
import { describe, expect, it } from "vitest";
import { encodeConfEntry } from "../../src/core/membership.ts";
import { RaftCore } from "../../src/core/raft.ts";
import type { ConfChange, ConfState, Entry } from "../../src/core/types.ts";
import type { TestNode } from "./helpers.ts";
import { FixedRand, T, ackAppend, app, drain, electLeader, newNode, stepDrain, tickN } from "./helpers.ts";

function confEntry(index: number, term: number, change: ConfChange, conf: ConfState): Entry {
  return { index, term, type: "conf", data: encodeConfEntry({ change, conf }) };
}

/** A leader of n1..n3 whose no-op is committed. */
function readyLeader(): TestNode {
  const n = newNode();
  electLeader(n);
  stepDrain(n, ackAppend("n2", "n1", n.core.term, n.core.log.lastIndex()));
  stepDrain(n, ackAppend("n3", "n1", n.core.term, n.core.log.lastIndex()));
  return n;
}

describe("membership changes (§6)", () => {
  it("a new leader accepts no membership change before it commits an entry of its term (§6)", () => {
    const n = newNode();
    electLeader(n);
    expect(n.core.proposeConfChange({ kind: "addLearner", node: "n4" })).toMatchObject({ ok: false, code: "PROPOSAL_DROPPED" });
  });

  it("a leader accepts one membership change at a time (§6)", () => {
    const n = readyLeader();
    const first = n.core.proposeConfChange({ kind: "addLearner", node: "n4" });
    if (!first.ok) throw new Error(first.reason);
    drain(n);
    expect(n.core.proposeConfChange({ kind: "addLearner", node: "n5" }))
      .toMatchObject({ ok: false, code: "PROPOSAL_DROPPED", reason: expect.stringMatching(/in progress/) });
    stepDrain(n, ackAppend("n2", "n1", n.core.term, first.firstIndex));
    expect(n.core.status().commit).toBe(first.firstIndex);
    expect(n.core.proposeConfChange({ kind: "addLearner", node: "n5" })).toMatchObject({ ok: true });
  });

  it.each([
    ["add a voter that is one", { kind: "addVoter", node: "n2" }],
    ["demote a voter to learner", { kind: "addLearner", node: "n2" }],
    ["remove a non-member", { kind: "removeNode", node: "n9" }],
  ] as const)("an invalid change is refused with INVALID_CONF_CHANGE: %s (§6)", (_name, change) => {
    const n = readyLeader();
    expect(n.core.proposeConfChange(change)).toMatchObject({ ok: false, code: "INVALID_CONF_CHANGE" });
  });

  it("the last voter cannot be removed (§6)", () => {
    const n = newNode({ voters: ["n1"] });
    tickN(n, 2 * T);
    expect(n.core.role).toBe("leader");
    expect(n.core.proposeConfChange({ kind: "removeNode", node: "n1" })).toMatchObject({ ok: false, code: "INVALID_CONF_CHANGE" });
  });

  it("on the leader, a configuration takes effect when its entry is appended, before it commits (§6)", () => {
    const n = readyLeader();
    n.core.proposeConfChange({ kind: "addVoter", node: "n4" });
    expect(n.core.conf).toEqual({ voters: ["n1", "n2", "n3", "n4"], learners: [] });
    expect(n.core.status().peers.map((p) => p.id)).toContain("n4");
    const out = drain(n);
    expect(out.some((m) => m.type === "app" && m.to === "n4")).toBe(true);
    // Now 3 of 4 voters are needed: one follower's ack is no longer enough.
    const index = n.core.log.lastIndex();
    stepDrain(n, ackAppend("n2", "n1", n.core.term, index));
    expect(n.core.status().commit).toBeLessThan(index);
    stepDrain(n, ackAppend("n4", "n1", n.core.term, index));
    expect(n.core.status().commit).toBe(index);
  });

  it("on a follower, a configuration takes effect on append and is reverted when the entry is truncated (§6)", () => {
    const n = newNode({ id: "n2", logTerms: [1], hardState: { term: 2, vote: null, commit: 1 } });
    drain(n);
    const original = n.core.conf;
    const withN4 = { voters: ["n1", "n2", "n3"], learners: ["n4"] };
    stepDrain(n, app("n1", "n2", 2, 1, 1, [confEntry(2, 2, { kind: "addLearner", node: "n4" }, withN4)], 1));
    expect(n.core.conf).toEqual(withN4);
    expect(n.core.status().commit).toBe(1);
    // A leader of term 3 never had that entry: it overwrites index 2.
    stepDrain(n, app("n3", "n2", 3, 1, 1, [{ index: 2, term: 3, type: "normal", data: new Uint8Array([7]) }], 1));
    expect(n.core.conf).toEqual(original);
  });

  it("a restarted node rebuilds its configuration from the conf entries in its log (§6)", () => {
    const n = newNode({ id: "n2", logTerms: [1], hardState: { term: 2, vote: null, commit: 1 } });
    const conf = { voters: ["n1", "n2", "n3", "n4"], learners: [] };
    stepDrain(n, app("n1", "n2", 2, 1, 1, [confEntry(2, 2, { kind: "addVoter", node: "n4" }, conf)], 1));
    const restarted = new RaftCore({ id: "n2", electionTicks: T }, n.storage, new FixedRand(0));
    expect(restarted.conf).toEqual(conf);
  });

  it("a leader that removes itself leads until the change commits, then steps down and hands over (§6)", () => {
    const n = readyLeader();
    const r = n.core.proposeConfChange({ kind: "removeNode", node: "n1" });
    expect(r.ok).toBe(true);
    const index = n.core.log.lastIndex();
    drain(n);
    expect(n.core.role).toBe("leader");
    // The leader no longer counts itself: both others must hold the entry.
    stepDrain(n, ackAppend("n2", "n1", n.core.term, index));
    expect(n.core.role).toBe("leader");
    const out = stepDrain(n, ackAppend("n3", "n1", n.core.term, index));
    expect(n.core.status()).toMatchObject({ role: "follower", commit: index });
    expect(out.filter((m) => m.type === "timeoutNow")).toHaveLength(1);
    tickN(n, 5 * T);
    expect(n.core.role).toBe("follower"); // not a voter any more: it never campaigns
  });
});
