/**
 * The simulator's sweep of the key-value application: which seeds run, in
 * which file (vitest runs files in parallel workers, so the sweep is split
 * into files of similar cost). Every seed draws its own Raft settings and
 * hostility (options.ts); the seven-voter batch pins the cluster size.
 *
 * `pnpm test` runs all of it: with the broker's batches, 500 seeds of 2,000
 * steps, 10⁶ seed·steps (sweep-size.test.ts in the broker package keeps it
 * there). `pnpm test:sim` runs the simulator's files alone, and `pnpm
 * mutate` searches the same seeds. A key-value seed costs about a quarter
 * of a CPU second, a seven-voter one twice that, a broker one four times.
 */
import type { SimSettings } from "./options.ts";

/** One file's batch of seeds. */
export interface SweepBatch {
  /** The test file that runs it (without directory). */
  readonly file: string;
  readonly from: number;
  readonly count: number;
  readonly steps: number;
  readonly pinned?: Partial<SimSettings>;
}

export const SWEEP_STEPS = 2000;

export const KV_SWEEP: readonly SweepBatch[] = [
  { file: "sweep-kv-1.test.ts", from: 1, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-2.test.ts", from: 61, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-3.test.ts", from: 121, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-4.test.ts", from: 181, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-5.test.ts", from: 241, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-6.test.ts", from: 301, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-7voters.test.ts", from: 2001, count: 40, steps: SWEEP_STEPS, pinned: { voters: 7 } },
];

/** The batch test file `file` runs. */
export function batchOf(sweep: readonly SweepBatch[], file: string): SweepBatch {
  const b = sweep.find((x) => x.file === file);
  if (b === undefined) throw new Error(`no sweep batch for ${file}`);
  return b;
}

/** Seed·steps of the chaos phases of a sweep (settling after the heal comes on top). */
export function seedSteps(sweep: readonly SweepBatch[]): number {
  return sweep.reduce((sum, b) => sum + b.count * b.steps, 0);
}
