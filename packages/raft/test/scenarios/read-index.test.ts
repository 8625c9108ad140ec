/**
 * Linearizable reads through ReadIndex (thesis §6.4, §8): a read is served
 * only after a heartbeat round acknowledged by a majority, never before the
 * leader committed an entry of its own term, and never by a deposed leader.
 * (The random simulator's clients check every read against the model of the
 * history; here the scenarios pin down when a read may be released at all.)
 */
import { describe, expect, it } from "vitest";
import { ScenarioCluster } from "../sim/scenario.ts";

const T = 10; // electionTicks of the harness

function read(c: ScenarioCluster, id: string): void {
  c.read(id);
}

describe("ReadIndex (thesis §6.4)", () => {
  it("cluster: a read is released only after a heartbeat quorum answers (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 71 });
    const l = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    await c.run(2);
    c.partition([l], c.voterIds.filter((id) => id !== l));
    read(c, l);
    await c.run(T / 2 - 1); // cut off, but not long enough for check-quorum to depose it
    expect(c.core(l).role).toBe("leader");
    expect(c.readsServed(l)).toBe(0);
    c.heal();
    const ticks = await c.runUntil(() => c.readsServed(l) === 1, T, "the read to be served");
    expect(ticks).toBeLessThanOrEqual(3); // the next heartbeat round trip
  });

  it("cluster: a read on a 5-node leader needs two followers, not one (R=5)", async () => {
    const c = await ScenarioCluster.create({ voters: 5, seed: 72 });
    const l = await c.waitLeader();
    await c.proposeAndWait(1, 5);
    const [a, b, ...rest] = c.voterIds.filter((id) => id !== l);
    c.partition([l, a!], [b!], rest);
    read(c, l);
    await c.run(T / 2 - 1);
    expect(c.readsServed(l)).toBe(0);
    c.partition([l, a!, b!], rest);
    await c.runUntil(() => c.readsServed(l) === 1, 3, "the read to be served with 3 of 5");
  });

  it("cluster: a new leader serves no read before it commits an entry of its term (§8) (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 73 });
    const l1 = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    const l2 = c.voterIds.find((id) => id !== l1)!;
    // l2's appends are lost, so its no-op cannot commit; heartbeats still get through.
    c.dropIf = (m) => m.from === l2 && m.type === "app";
    await c.forceCampaign(l2);
    await c.runUntil(() => c.core(l2).role === "leader", 3 * T, `${l2} to lead`);
    read(c, l2);
    await c.run(T / 2);
    expect(c.core(l2).role).toBe("leader");
    expect(c.core(l2).log.committed).toBeLessThan(c.core(l2).log.lastIndex());
    expect(c.readsServed(l2), "heartbeat quorum alone is not enough").toBe(0);
    c.dropIf = undefined;
    await c.runUntil(() => c.readsServed(l2) === 1, T, "the read once the no-op commits");
    expect(c.core(l2).log.term(c.core(l2).log.committed)).toBe(c.core(l2).term);
  });

  it("cluster: partition: a deposed leader that still believes it leads serves no read (R=3)", async () => {
    const c = await ScenarioCluster.create({ voters: 3, seed: 74 });
    const l1 = await c.waitLeader();
    await c.proposeAndWait(1, 3);
    c.isolate(l1);
    const rest = c.voterIds.filter((id) => id !== l1);
    await c.forceCampaign(rest[0]!); // the majority moves on at once, before l1 notices
    await c.waitLeader(rest);
    await c.proposeAndWait(2, 2); // acknowledged: a read must now see it
    expect(c.core(l1).role).toBe("leader");
    read(c, l1);
    await c.runUntil(() => c.core(l1).role !== "leader", 2 * T, `${l1} to step down`);
    c.heal();
    await c.run(2 * T);
    expect(c.readsServed(l1)).toBe(0);
    const l2 = c.leaderOrFail();
    read(c, l2);
    await c.runUntil(() => c.readsServed(l2) === 1, 3, "a read on the new leader");
  });
});
