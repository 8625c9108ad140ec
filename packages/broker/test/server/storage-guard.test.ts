/**
 * The full-disk rule (docs/OPERATIONS.md §7): the leader refuses publishes
 * when its own disk is low or when the voters with room are no majority;
 * a low disk recovers only above the floor plus a margin; a low leader
 * hands over to a voter with room.
 */
import { describe, expect, it } from "vitest";
import { silentLogger } from "@raftbus/raft";
import { StorageGuard, publishVerdict, recoveryMarginBytes } from "../../src/server/storage-guard.ts";
import type { DiskReport, StorageGuardParts } from "../../src/server/storage-guard.ts";

const MiB = 1024 * 1024;

describe("publishVerdict: whose disks must have room", () => {
  const voters = ["n1", "n2", "n3"];
  it.each([
    ["nobody low", false, [], false],
    ["one follower low: the other two are a majority", false, ["n2"], false],
    ["two followers low: no majority has room", false, ["n2", "n3"], true],
    ["the leader low (it writes every entry first)", true, [], true],
  ] as const)("%s", (_name, selfLow, low, refuse) => {
    expect(publishVerdict("n1", selfLow, voters, new Set(low)).refuse).toBe(refuse);
  });

  it("five voters: two low followers leave a majority; three do not", () => {
    const five = ["n1", "n2", "n3", "n4", "n5"];
    expect(publishVerdict("n1", false, five, new Set(["n2", "n3"]))).toEqual({ refuse: false, low: ["n2", "n3"] });
    expect(publishVerdict("n1", false, five, new Set(["n2", "n3", "n4"]))).toEqual({ refuse: true, low: ["n2", "n3", "n4"] });
  });

  it("a low learner does not count (it does not vote)", () => {
    expect(publishVerdict("n1", false, ["n1", "n2", "n3"], new Set(["n4"])).refuse).toBe(false);
  });
});

function guard(o: Partial<StorageGuardParts> & { free: () => number; members?: Record<string, DiskReport | undefined> }): { g: StorageGuard; transfers: string[] } {
  const transfers: string[] = [];
  const g = new StorageGuard({
    nodeId: "n1", dataDir: "/data", minBytes: 100 * MiB, log: silentLogger(),
    probe: async () => ({ freeBytes: o.free(), sizeBytes: 1000 * MiB }),
    leading: () => true, voters: () => ["n1", "n2", "n3"], handoverCandidates: () => ["n2", "n3"],
    transferLeader: async (to) => {
      transfers.push(to);
    },
    memberDisk: async (id) => o.members?.[id],
    ...o,
  });
  return { g, transfers };
}

const report = (low: boolean): DiskReport => ({ low, freeBytes: low ? 1 : 10_000 * MiB, sizeBytes: 20_000 * MiB, minBytes: 100 * MiB });

describe("StorageGuard", () => {
  it("goes low below the floor and recovers only above the floor plus a margin", async () => {
    let free = 500 * MiB;
    const { g } = guard({ free: () => free, leading: () => false });
    await g.sample();
    expect(g.low).toBe(false);
    free = 99 * MiB;
    await g.sample();
    expect(g.low).toBe(true);
    expect(g.report()).toEqual({ freeBytes: 99 * MiB, sizeBytes: 1000 * MiB, minBytes: 100 * MiB, low: true });
    free = 100 * MiB + recoveryMarginBytes(100 * MiB) - 1;
    await g.sample();
    expect(g.low).toBe(true);
    free += 1;
    await g.sample();
    expect(g.low).toBe(false);
  });

  it("the leader refuses with STORAGE_FULL naming the nodes, and accepts again once space returns", async () => {
    let free = 50 * MiB;
    const { g } = guard({ free: () => free, handoverCandidates: () => [] });
    await g.sample();
    expect(g.publishRefusal()).toMatchObject({ code: "STORAGE_FULL", message: /on n1 \(the leader\)/, details: { nodes: "n1", minBytes: 100 * MiB } });
    free = 500 * MiB;
    await g.sample();
    expect(g.publishRefusal()).toBeUndefined();
  });

  it("followers' reports count: one low follower is fine, two are not", async () => {
    const members: Record<string, DiskReport | undefined> = { n2: report(true), n3: report(false) };
    const { g } = guard({ free: () => 500 * MiB, members });
    await g.sample();
    await g.poll();
    expect(g.publishRefusal()).toBeUndefined();
    members["n3"] = report(true);
    await g.poll();
    expect(g.publishRefusal()).toMatchObject({ code: "STORAGE_FULL", message: /n2, n3, so no majority/ });
    // A follower that stops answering keeps its last report only for a while; one that answers "room" counts at once.
    members["n3"] = report(false);
    await g.poll();
    expect(g.publishRefusal()).toBeUndefined();
  });

  it("a low leader hands leadership to a caught-up voter with room, skipping low ones", async () => {
    const { g, transfers } = guard({ free: () => 1 * MiB, members: { n2: report(true), n3: report(false) } });
    await g.poll();
    await g.sample();
    expect(transfers).toEqual(["n3"]);
    // Not again at once (one attempt per interval).
    await g.sample();
    expect(transfers).toEqual(["n3"]);
  });

  it("no hand-over to a voter whose disk is unknown (not polled yet, or not answering): it may be full too", async () => {
    const members: Record<string, DiskReport | undefined> = {};
    const { g, transfers } = guard({ free: () => 1 * MiB, members });
    await g.sample();
    await g.poll();
    await g.sample();
    expect(transfers).toEqual([]);
    members["n2"] = report(false);
    await g.poll();
    await g.sample();
    expect(transfers).toEqual(["n2"]);
  });

  it("no hand-over when no voter has room, and none from a follower", async () => {
    const allLow = guard({ free: () => 1 * MiB, members: { n2: report(true), n3: report(true) } });
    await allLow.g.poll();
    await allLow.g.sample();
    expect(allLow.transfers).toEqual([]);
    const follower = guard({ free: () => 1 * MiB, leading: () => false });
    await follower.g.sample();
    expect(follower.transfers).toEqual([]);
  });

  it("a floor of 0 turns it off", async () => {
    const { g } = guard({ free: () => 0, minBytes: 0 });
    await g.sample();
    expect(g.publishRefusal()).toBeUndefined();
  });
});
