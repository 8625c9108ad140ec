/**
 * `pnpm mutate` is not part of the default run, so its catalogue would rot
 * unseen as the code it mutates changes: every patch must still apply
 * (its text occurs exactly once), and the catalogue keeps at least twenty
 * distinct bugs, the eight issue 11 named among them.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CATALOGUE, stalePatches } from "../../../../scripts/mutate/catalogue.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

describe("the mutation catalogue (scripts/mutate)", () => {
  it("every patch applies to today's sources", async () => {
    expect(await stalePatches(ROOT, CATALOGUE), "update scripts/mutate/catalogue.ts with the code it mutates").toEqual([]);
  });

  it("holds at least twenty distinct bugs, the eight the first simulator missed among them", () => {
    const ids = CATALOGUE.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(20);
    expect(ids).toEqual(expect.arrayContaining([
      "vote-not-synced", "figure-8", "leader-counts-itself-early", "acks-before-write", "prevote-bumps-term",
      "readindex-without-quorum", "snapshot-fast-forward-commits-log", "two-conf-changes-in-flight",
    ]));
  });
});
