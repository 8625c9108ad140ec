/** Randomized simulator, default options: seeds 201–300 (see sim.test.ts). */
import { describe } from "vitest";
import { registerSeeds } from "./sim-runner.ts";

describe("sim: chaos then heal, default options, seeds 201–300 × 2000 steps", () => {
  registerSeeds({ from: 201, count: 100, steps: 2000 }, "packages/raft/test/sim/sim-c.test.ts");
});
