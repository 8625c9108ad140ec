/**
 * The state digest (SPEC §5: `cluster status` shows that replicas agree):
 * a chain over applied entries and their results, defined per entry so
 * apply() batching cannot change it, remembered for recent indexes, and
 * compared across members at one index.
 */
import { describe, expect, it } from "vitest";
import { compareReplicas } from "../../src/server/handlers/agreement.ts";
import { DigestHistory, ZERO_DIGEST, chainDigest } from "../../src/state/digest.ts";
import type { Entry } from "../../src/raft-api.ts";
import { Harness } from "../helpers/harness.ts";

const entry = (index: number, data = [index]): Entry => ({ index, term: 1, type: "normal", data: Uint8Array.from(data) });

describe("state digest", () => {
  it("depends on every entry, its position and its result", () => {
    const a = chainDigest(ZERO_DIGEST, entry(1), { ok: true });
    expect(chainDigest(ZERO_DIGEST, entry(1), { ok: true })).toEqual(a);
    expect(chainDigest(ZERO_DIGEST, entry(1, [9]), { ok: true })).not.toEqual(a);
    expect(chainDigest(ZERO_DIGEST, { ...entry(1), term: 2 }, { ok: true })).not.toEqual(a);
    expect(chainDigest(ZERO_DIGEST, entry(1), { ok: false })).not.toEqual(a);
    expect(chainDigest(a, entry(2), undefined)).not.toEqual(chainDigest(ZERO_DIGEST, entry(2), undefined));
  });

  it("is the same however the entries are batched into apply() calls, and survives a restart", async () => {
    const one = await Harness.open();
    const many = await Harness.open();
    try {
      for (let i = 0; i < 12; i++) await one.pub(`d.t${i % 3}`, { i });
      const log = one.log;
      await many.bsm.apply(log.slice(0, 5));
      await many.bsm.apply(log.slice(5, 6));
      await many.bsm.apply(log.slice(6));
      expect(many.bsm.stateDigest()).toEqual(one.bsm.stateDigest());
      for (const e of log) expect(many.bsm.digestAt(e.index)).toBe(one.bsm.digestAt(e.index));
      const before = many.bsm.stateDigest();
      await many.restart();
      expect(many.bsm.stateDigest()).toEqual(before);
    } finally {
      await one.destroy();
      await many.destroy();
    }
  });

  it("remembers a bounded number of recent digests", () => {
    const h = new DigestHistory(3);
    for (let i = 1; i <= 5; i++) h.add(i, chainDigest(ZERO_DIGEST, entry(i), undefined));
    expect([1, 2, 3, 4, 5].map((i) => h.at(i) !== undefined)).toEqual([false, false, true, true, true]);
  });
});

describe("replica agreement: digests compared at one index", () => {
  const member = (id: string, appliedIndex: number | null, digests: Record<number, string>) =>
    ({ id, appliedIndex, digestAt: async (i: number) => digests[i] ?? null });

  it("agree: compared at the lowest applied index among the reachable members", async () => {
    const r = await compareReplicas([
      member("n1", 12, { 10: "aa", 12: "bb" }), member("n2", 10, { 10: "aa" }), member("n3", null, {}),
    ]);
    expect(r?.agreement).toMatchObject({ index: 10, agree: true, compared: ["n1", "n2"] });
    expect(r?.agreement.summary).toMatch(/^replicas agree at index 10 .*n3 unreachable, not compared$/);
  });

  it("disagree: says which digests differ", async () => {
    const r = await compareReplicas([member("n1", 7, { 7: "aaaa" }), member("n2", 7, { 7: "bbbb" })]);
    expect(r?.agreement).toMatchObject({ index: 7, agree: false });
    expect(r?.agreement.summary).toMatch(/DISAGREE at index 7: n1 aaaa, n2 bbbb/);
  });

  it("cannot compare when a member no longer remembers the index", async () => {
    const r = await compareReplicas([member("n1", 20_000, {}), member("n2", 5, { 5: "cc" })]);
    expect(r?.agreement).toMatchObject({ index: 5, agree: null });
    expect(r?.digests.get("n1")).toBeNull();
  });

  it("no reachable member: nothing to say", async () => {
    expect(await compareReplicas([member("n1", null, {})])).toBeUndefined();
  });
});
