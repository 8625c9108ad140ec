/** Randomized simulator, default options: seeds 401–500 (see sim.test.ts). */
import { describe } from "vitest";
import { registerSeeds } from "./sim-runner.ts";

describe("sim: chaos then heal, default options, seeds 401–500 × 2000 steps", () => {
  registerSeeds({ from: 401, count: 100, steps: 2000 }, "packages/raft/test/sim/sim-e.test.ts");
});
