/**
 * The simulator's sweep of the key-value application: which seeds run, in
 * which file (vitest runs files in parallel workers, so the sweep is split
 * into files of similar cost). Every seed draws its own Raft settings and
 * hostility (options.ts); the seven-voter batch pins the cluster size.
 *
 * Two sizes. The full sweep (10⁶ seed·steps with the broker's batches) runs
 * with RAFTBUS_SIM_SWEEP=full (`pnpm test:sim`) and is what `pnpm mutate`
 * searches; `pnpm test` runs the first `quick` seeds of every batch, a
 * share the default run can afford on a 2-core machine (a seed of the real
 * driver, storage and state machine costs about a CPU second).
 */
import type { SimSettings } from "./options.ts";

/** One file's batch of seeds. */
export interface SweepBatch {
  /** The test file that runs it (without directory). */
  readonly file: string;
  readonly from: number;
  /** Seeds in the full sweep. */
  readonly count: number;
  /** Seeds `pnpm test` runs: the first ones of the batch. */
  readonly quick: number;
  readonly steps: number;
  readonly pinned?: Partial<SimSettings>;
}

/** The batch a test file runs: its seeds, and their count in the sweep this run asked for. */
export interface BatchRun {
  readonly from: number;
  readonly count: number;
  readonly steps: number;
  readonly pinned?: Partial<SimSettings>;
}

export const SWEEP_STEPS = 2000;

export const KV_SWEEP: readonly SweepBatch[] = [
  { file: "sweep-kv-1.test.ts", from: 1, count: 60, quick: 15, steps: SWEEP_STEPS },
  { file: "sweep-kv-2.test.ts", from: 61, count: 60, quick: 15, steps: SWEEP_STEPS },
  { file: "sweep-kv-3.test.ts", from: 121, count: 60, quick: 15, steps: SWEEP_STEPS },
  { file: "sweep-kv-4.test.ts", from: 181, count: 60, quick: 15, steps: SWEEP_STEPS },
  { file: "sweep-kv-5.test.ts", from: 241, count: 60, quick: 15, steps: SWEEP_STEPS },
  { file: "sweep-kv-6.test.ts", from: 301, count: 60, quick: 15, steps: SWEEP_STEPS },
  { file: "sweep-kv-7voters.test.ts", from: 2001, count: 40, quick: 8, steps: SWEEP_STEPS, pinned: { voters: 7 } },
];

/** True when this run asked for the full sweep (RAFTBUS_SIM_SWEEP=full). */
export function fullSweep(): boolean {
  return process.env["RAFTBUS_SIM_SWEEP"] === "full";
}

/** Whether `seed` of `batch` runs in `pnpm test` (not only in the full sweep). */
export function inQuickSweep(batch: SweepBatch, seed: number): boolean {
  return seed >= batch.from && seed < batch.from + batch.quick;
}

/** The seeds test file `file` runs in this sweep. */
export function batchOf(sweep: readonly SweepBatch[], file: string): BatchRun {
  const b = sweep.find((x) => x.file === file);
  if (b === undefined) throw new Error(`no sweep batch for ${file}`);
  return { from: b.from, count: fullSweep() ? b.count : b.quick, steps: b.steps, ...(b.pinned ? { pinned: b.pinned } : {}) };
}

/** Seed·steps of a sweep: the full one, or the quick share `pnpm test` runs. */
export function seedSteps(sweep: readonly SweepBatch[], full: boolean): number {
  return sweep.reduce((sum, b) => sum + (full ? b.count : b.quick) * b.steps, 0);
}
