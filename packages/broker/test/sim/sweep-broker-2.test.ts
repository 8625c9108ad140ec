/** Default simulator sweep, broker application: this file's seeds (see sweep.ts). */
import { describe } from "vitest";
import { registerSeeds } from "../../../raft/test/sim/seeds.ts";
import { batchOf } from "../../../raft/test/sim/sweep.ts";
import { brokerApp } from "./broker-app.ts";
import { BROKER_SWEEP } from "./sweep.ts";

const batch = batchOf(BROKER_SWEEP, "sweep-broker-2.test.ts");

describe(`sim (broker): seeds ${batch.from}–${batch.from + batch.count - 1} × ${batch.steps} steps`, () => {
  registerSeeds({ app: brokerApp, ...batch });
});
