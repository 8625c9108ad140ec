/**
 * The default sweep of the key-value application: which seeds run in `pnpm
 * test`, in which file (vitest runs files in parallel workers, so the sweep
 * is split into files of similar cost). `pnpm mutate` runs the same seeds.
 * Every seed draws its own Raft settings and hostility (options.ts); the
 * seven-voter batch pins the cluster size.
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

/** Steps per seed in the default sweep. */
export const SWEEP_STEPS = 2000;

/** 400 seeds × 2,000 steps = 800,000 seed·steps of the key-value application. */
export const KV_SWEEP: readonly SweepBatch[] = [
  { file: "sweep-kv-1.test.ts", from: 1, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-2.test.ts", from: 61, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-3.test.ts", from: 121, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-4.test.ts", from: 181, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-5.test.ts", from: 241, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-6.test.ts", from: 301, count: 60, steps: SWEEP_STEPS },
  { file: "sweep-kv-7voters.test.ts", from: 2001, count: 40, steps: SWEEP_STEPS, pinned: { voters: 7 } },
];

/** The batch of `file` (a test file registers exactly its own). */
export function batchOf(sweep: readonly SweepBatch[], file: string): SweepBatch {
  const b = sweep.find((x) => x.file === file);
  if (b === undefined) throw new Error(`no sweep batch for ${file}`);
  return b;
}
