/**
 * Runs one seed end to end — start, chaos, heal, settle, final checks — and
 * reports the outcome as a value (never throws), with what the run
 * exercised and the command that replays it.
 */
import type { SimApp } from "./app.ts";
import type { SimOptions } from "./options.ts";
import { replayCommand } from "./options.ts";
import { SimCluster } from "./sim-cluster.ts";

/** Steps allowed after healing for a leader to emerge and everything to settle. */
export const SETTLE_STEPS_MAX = 3000;

/** What a run exercised, summed over its parts. */
export type SimStats = Record<string, number>;

/** Outcome of one run. */
export interface SimResult {
  readonly opts: SimOptions;
  readonly ok: boolean;
  /** The broken promise and where, for a failed run. */
  readonly error?: string;
  /** The invariant's name, for a failed run. */
  readonly invariant?: string;
  readonly stats: SimStats;
}

/** Runs one seed. */
export async function runSeed(opts: SimOptions, app: SimApp): Promise<SimResult> {
  const c = new SimCluster(opts, app);
  // A node whose turn failed stops itself, leaving a rejected promise nobody awaits: the run's failure.
  const onRejection = (e: unknown): void => c.fail(e);
  process.on("unhandledRejection", onRejection);
  try {
    await c.start();
    for (let i = 0; i < opts.steps; i++) await c.step();
    c.heal();
    await c.settle(SETTLE_STEPS_MAX);
    await c.finalChecks();
    return { opts, ok: true, stats: statsOf(c) };
  } catch (e) {
    const err = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const invariant = (e as { invariant?: string }).invariant;
    return {
      opts, ok: false, error: `${err} (at step ${c.steps}, ${c.time.now.toFixed(1)} ms)`, stats: statsOf(c),
      ...(invariant !== undefined ? { invariant } : {}),
    };
  } finally {
    process.off("unhandledRejection", onRejection);
  }
}

/** The run's counters: clients, faults, network, disks, nodes. */
export function statsOf(c: SimCluster): SimStats {
  const nodes = [...c.nodes.values()];
  const disks = nodes.flatMap((n) => n.disks());
  const sum = (f: (d: (typeof disks)[number]) => number): number => disks.reduce((s, d) => s + f(d), 0);
  return {
    steps: c.steps,
    events: c.time.eventsRun,
    ...c.clients.stats,
    ...c.faults.stats,
    messages: c.net.stats.sent,
    lateDeliveries: c.net.stats.lateDeliveries,
    duplicated: c.net.stats.duplicated,
    snapshotsSent: c.net.stats.snapshotsDelivered,
    snapshotsFailed: c.net.stats.snapshotsFailed,
    diskWrites: sum((d) => d.stats.writes),
    lostWrites: sum((d) => d.stats.lostWrites),
    cutWrites: sum((d) => d.stats.cutWrites),
    stalls: sum((d) => d.stats.stalls),
    corruptionsDetected: nodes.reduce((s, n) => s + n.corruptionsDetected, 0),
    leaders: c.checker.leaderCount(),
    committed: c.checker.committed,
    healthySpells: c.liveness.spells,
    checks: c.checker.checks,
  };
}

/** How a failed run reads: the seed, the broken promise, and the command that replays it. */
export function failureMessage(r: SimResult): string {
  return `seed ${r.opts.seed} (${r.opts.app}) failed: ${r.error ?? "?"}\n  replay: ${replayCommand(r.opts)}`;
}
