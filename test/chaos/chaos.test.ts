/**
 * The default chaos run: a short run of every fault kind against real node
 * processes; no safety check may fail. Liveness (subscribers caught up
 * within the drain) is printed, not asserted: on a busy machine it is a
 * matter of speed. Set RAFTBUS_CHAOS_SEED to replay a seed; longer runs:
 * `pnpm chaos`, `pnpm chaos:soak`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runChaos } from "./run.ts";
import { FAULT_KINDS, timeForEveryKind } from "./schedule/schedule.ts";

const SEED = Number(process.env["RAFTBUS_CHAOS_SEED"] ?? Math.floor(Math.random() * 2 ** 31));

it(`chaos: every fault kind, no safety violation (seed ${SEED})`, async () => {
  const { report, table } = await runChaos({
    seed: SEED, timeMs: timeForEveryKind(FAULT_KINDS.length, 3500, 2000), faults: FAULT_KINDS, rate: 10,
    faultMs: [2500, 3500], quietMs: [1500, 2000], drainMs: 30_000,
    // Snapshots every 300 entries: a killed or cut-off follower catches up from one.
    snapshotEntries: 300, outDir: join(".tmp", "chaos", `default-seed${SEED}`),
    command: `RAFTBUS_CHAOS_SEED=${SEED} pnpm vitest run test/chaos/chaos.test.ts # or: pnpm chaos`, log: () => undefined,
  });
  console.log(table);
  expect(new Set(report.availability.windows.map((w) => w.kind)), `every fault kind ran (seed ${SEED})`).toEqual(new Set(FAULT_KINDS));
  expect(report.verdicts.filter((v) => !v.ok && v.severity === "safety"), table).toEqual([]);
  expect(report.counts["publish"] ?? 0).toBeGreaterThan(0);
  expect(report.counts["deliveries"] ?? 0).toBeGreaterThan(0);
  expect(existsSync(join(report.outDir, "report.html"))).toBe(true);
}, 600_000);
