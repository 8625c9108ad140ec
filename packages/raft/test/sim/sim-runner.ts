/**
 * Registers randomized simulator runs as vitest tests: one test per seed, so a
 * failure names its seed and replays on its own (`-t "seed 123 "`), plus a
 * closing test that checks the batch actually exercised the faults (a
 * simulator that never crashes a node proves nothing).
 */
import { expect, it } from "vitest";
import type { SimOptions, SimResult, SimStats } from "./cluster.ts";
import { defaultSimOptions, replayCommand, runSeed } from "./cluster.ts";

/** Changes a variant makes to the seed's default options. */
export type SimVariant = Partial<Pick<SimOptions, "voters" | "spares" | "membershipChanges" | "livenessTicks">>;

/** A batch of consecutive seeds run with the same settings. */
export interface SeedBatch {
  readonly from: number;
  readonly count: number;
  readonly steps: number;
  /** Overrides on top of defaultSimOptions(seed, steps); empty for the default run. */
  readonly variant?: SimVariant;
  /** Which counters must be non-zero summed over the batch. */
  readonly mustExercise?: readonly (keyof SimStats)[];
}

const EXERCISED_BY_DEFAULT: readonly (keyof SimStats)[] = [
  "acked", "crashes", "partitions", "transfers", "confChanges", "snapshotsInstalled", "readsServed",
];

/** The counters a batch must drive above zero. */
function mustExercise(batch: SeedBatch): readonly (keyof SimStats)[] {
  if (batch.mustExercise !== undefined) return batch.mustExercise;
  return batch.variant?.membershipChanges === false
    ? EXERCISED_BY_DEFAULT.filter((k) => k !== "confChanges")
    : EXERCISED_BY_DEFAULT;
}

/** The options one seed of `batch` runs with. */
export function batchOptions(batch: SeedBatch, seed: number): SimOptions {
  return { ...defaultSimOptions(seed, batch.steps), ...batch.variant };
}

/** How to replay one seed of a batch: the CLI for default options, the test filter for variants. */
export function replayHint(batch: SeedBatch, seed: number, file: string): string {
  const variant = batch.variant === undefined || Object.keys(batch.variant).length === 0
    ? ""
    : ` with ${JSON.stringify(batch.variant)} (or: pnpm vitest run ${file} -t "seed ${seed} ")`;
  return `${replayCommand(seed, batch.steps)}${variant}`;
}

/** The message a failed seed of `batch` reports: the seed, the error and how to replay it. */
export function failureMessage(batch: SeedBatch, r: SimResult, file: string): string {
  return `seed ${r.seed} failed after ${r.stats.ticks} ticks: ${r.error}\n  replay: ${replayHint(batch, r.seed, file)}`;
}

/** Register one `it` per seed of `batch` and a closing coverage check. Call inside a describe. */
export function registerSeeds(batch: SeedBatch, file: string): void {
  const total: Partial<Record<keyof SimStats, number>> = {};
  let ran = 0;
  const seeds = Array.from({ length: batch.count }, (_, i) => batch.from + i);

  it.each(seeds)("seed %i ", (seed) => {
    const r = runSeed(batchOptions(batch, seed));
    ran++;
    for (const [k, v] of Object.entries(r.stats) as [keyof SimStats, number][]) total[k] = (total[k] ?? 0) + v;
    if (!r.ok) expect.fail(failureMessage(batch, r, file));
  });

  it(`the ${batch.count} seeds exercised ${mustExercise(batch).join(", ")}`, (ctx) => {
    if (ran < batch.count) ctx.skip(); // run with -t on one seed: nothing to sum
    for (const k of mustExercise(batch)) {
      expect(total[k] ?? 0, `${k} summed over seeds ${batch.from}..${batch.from + batch.count - 1}`).toBeGreaterThan(0);
    }
  });
}
