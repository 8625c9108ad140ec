/** Randomized simulator, default options: seeds 101–200 (see sim.test.ts). */
import { describe } from "vitest";
import { registerSeeds } from "./sim-runner.ts";

describe("sim: chaos then heal, default options, seeds 101–200 × 2000 steps", () => {
  registerSeeds({ from: 101, count: 100, steps: 2000 }, "packages/raft/test/sim/sim-b.test.ts");
});
