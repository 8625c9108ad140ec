/** Randomized simulator, default options: seeds 301–400 (see sim.test.ts). */
import { describe } from "vitest";
import { registerSeeds } from "./sim-runner.ts";

describe("sim: chaos then heal, default options, seeds 301–400 × 2000 steps", () => {
  registerSeeds({ from: 301, count: 100, steps: 2000 }, "packages/raft/test/sim/sim-d.test.ts");
});
