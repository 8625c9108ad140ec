/**
 * Runs the simulator's sweep (both applications, every seed `pnpm test`
 * runs) until a seed fails, the batches interleaved so every kind of run
 * comes early. Prints a progress line per seed, then one JSON line: whether
 * a seed failed, which promise it broke, after how many seeds, and the
 * command that replays it. `pnpm mutate` runs this inside a mutated copy of
 * the repository.
 */
import { parseArgs } from "node:util";
import { brokerApp } from "../../packages/broker/test/sim/broker-app.ts";
import { BROKER_SWEEP } from "../../packages/broker/test/sim/sweep.ts";
import type { SimApp } from "../../packages/raft/test/sim/app.ts";
import { kvApp } from "../../packages/raft/test/sim/kv-app.ts";
import { replayCommand } from "../../packages/raft/test/sim/options.ts";
import { runSeed } from "../../packages/raft/test/sim/runner.ts";
import type { SweepBatch } from "../../packages/raft/test/sim/sweep.ts";
import { KV_SWEEP } from "../../packages/raft/test/sim/sweep.ts";

/** The outcome line. */
export interface SweepOutcome {
  readonly caught: boolean;
  readonly seedsRun: number;
  readonly invariant?: string;
  readonly error?: string;
  readonly replay?: string;
}

interface SweepSeed {
  readonly app: SimApp;
  readonly batch: SweepBatch;
  readonly seed: number;
}

/** Every seed of the sweep, the batches taking turns. */
export function sweepOrder(): SweepSeed[] {
  const batches = [...KV_SWEEP.map((b) => ({ app: kvApp, batch: b })), ...BROKER_SWEEP.map((b) => ({ app: brokerApp, batch: b }))];
  const out: SweepSeed[] = [];
  const longest = Math.max(...batches.map((b) => b.batch.count));
  for (let i = 0; i < longest; i++) {
    for (const b of batches) if (i < b.batch.count) out.push({ ...b, seed: b.batch.from + i });
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "max-seeds": { type: "string" } } });
  const order = sweepOrder();
  const max = values["max-seeds"] === undefined ? order.length : Math.min(order.length, Number(values["max-seeds"]));
  for (let i = 0; i < max; i++) {
    const { app, batch, seed } = order[i]!;
    const opts = { seed, steps: batch.steps, app: app.name, pinned: batch.pinned ?? {} };
    const r = await runSeed(opts, app);
    console.log(`seed ${i + 1}: ${app.name} ${seed} ${r.ok ? "ok" : "failed"}`); // progress: run.ts takes a silent sweep for a hung one
    if (!r.ok) {
      const out: SweepOutcome = {
        caught: true, seedsRun: i + 1, invariant: r.invariant ?? "error", error: r.error ?? "", replay: replayCommand(opts),
      };
      console.log(JSON.stringify(out));
      return;
    }
  }
  const out: SweepOutcome = { caught: false, seedsRun: max };
  console.log(JSON.stringify(out));
}

await main();
