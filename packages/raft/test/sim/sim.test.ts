/**
 * The randomized cluster simulator in the default test run (TigerBeetle's
 * VOPR idea): 500 seeds × 2,000 steps of chaos — drops, duplicates,
 * reordering, partitions, crashes mid-Ready, restarts, leader transfers and
 * membership changes — then heal, liveness and final safety checks. Seeds
 * are spread over five files (this one and sim-b … sim-e) so vitest can run
 * them in parallel forks (one file per worker; by default it uses
 * availableParallelism − 1 workers). Seeds 1–100 run here.
 */
import { describe } from "vitest";
import { registerSeeds } from "./sim-runner.ts";

describe("sim: chaos then heal, default options, seeds 1–100 × 2000 steps", () => {
  registerSeeds({ from: 1, count: 100, steps: 2000 }, "packages/raft/test/sim/sim.test.ts");
});
