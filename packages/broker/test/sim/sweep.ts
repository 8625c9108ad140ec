/**
 * The simulator's sweep of the broker application (see the key-value
 * sweep, packages/raft/test/sim/sweep.ts). A broker seed costs about four
 * times a key-value one: its state machine writes checksummed records to
 * its own simulated disks and streams real snapshots.
 */
import type { SweepBatch } from "../../../raft/test/sim/sweep.ts";
import { SWEEP_STEPS } from "../../../raft/test/sim/sweep.ts";

export const BROKER_SWEEP: readonly SweepBatch[] = [
  { file: "sweep-broker-1.test.ts", from: 1, count: 25, steps: SWEEP_STEPS },
  { file: "sweep-broker-2.test.ts", from: 26, count: 25, steps: SWEEP_STEPS },
  { file: "sweep-broker-3.test.ts", from: 51, count: 25, steps: SWEEP_STEPS },
  { file: "sweep-broker-4.test.ts", from: 76, count: 25, steps: SWEEP_STEPS },
];
