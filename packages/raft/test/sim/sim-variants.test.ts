/**
 * Randomized simulator variants: fixed membership (so every fault lands on
 * the same voters) and a seven-voter cluster (majorities of four, more
 * concurrent candidates). Fewer seeds than the default run.
 */
import { describe } from "vitest";
import { registerSeeds } from "./sim-runner.ts";

const FILE = "packages/raft/test/sim/sim-variants.test.ts";

describe("sim: membership changes off, seeds 1001–1060 × 2000 steps", () => {
  registerSeeds({ from: 1001, count: 60, steps: 2000, variant: { membershipChanges: false } }, FILE);
});

describe("sim: 7 voters, seeds 2001–2030 × 2000 steps", () => {
  registerSeeds({ from: 2001, count: 30, steps: 2000, variant: { voters: 7 } }, FILE);
});
