/**
 * Registers simulator runs as vitest tests: one test per seed (a failure
 * names its seed, the broken promise and the command that replays it), and
 * a closing test that checks the batch exercised what it is there for — a
 * simulator that never crashes a node or installs a snapshot proves nothing.
 */
import { expect, it } from "vitest";
import type { SimApp } from "./app.ts";
import type { SimSettings } from "./options.ts";
import type { SimStats } from "./runner.ts";
import { failureMessage, runSeed } from "./runner.ts";

/** A batch of consecutive seeds run with the same pinned settings. */
export interface SeedBatch {
  readonly app: SimApp;
  readonly from: number;
  readonly count: number;
  readonly steps: number;
  /** Settings pinned on top of what each seed draws. */
  readonly pinned?: Partial<SimSettings>;
  /** Counters that must be non-zero summed over the batch. */
  readonly mustExercise?: readonly string[];
}

/** A seed takes a second or two; on a machine shared with other test runs it may take many times that. */
const SEED_TIMEOUT_MS = 600_000;

/** What every default batch must exercise. */
export const EXERCISED: readonly string[] = [
  "acked", "readsServed", "crashes", "powerCuts", "crashPointsArmed", "partitions", "lateDeliveries", "lostWrites",
  "corruptionsDetected", "snapshotsSent", "transfers", "confChanges", "healthySpells",
];

/** Registers one `it` per seed of `batch` and the closing coverage check. Call inside a describe. */
export function registerSeeds(batch: SeedBatch): void {
  const total: SimStats = {};
  let ran = 0;
  const seeds = Array.from({ length: batch.count }, (_, i) => batch.from + i);
  it.each(seeds)("seed %i ", async (seed) => {
    const r = await runSeed({ seed, steps: batch.steps, app: batch.app.name, pinned: batch.pinned ?? {} }, batch.app);
    ran++;
    for (const [k, v] of Object.entries(r.stats)) total[k] = (total[k] ?? 0) + v;
    if (!r.ok) expect.fail(failureMessage(r));
  }, SEED_TIMEOUT_MS);
  const must = batch.mustExercise ?? EXERCISED;
  it(`the ${batch.count} seeds exercised ${must.join(", ")}`, (ctx) => {
    if (ran < batch.count) ctx.skip(); // -t picked single seeds: nothing to sum
    for (const k of must) expect(total[k] ?? 0, `${k} summed over seeds ${batch.from}..${batch.from + batch.count - 1}`).toBeGreaterThan(0);
  });
}
