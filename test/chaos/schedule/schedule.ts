/**
 * Fault schedules: generated from a seed, recorded in the report, replayed
 * by running again with the same seed, time and fault list. Targets that
 * depend on the cluster ("the leader") are resolved when the fault starts,
 * from draws recorded here, and the resolved target goes into the history.
 */
import { SeededRand } from "@raftbus/raft";

/** Every fault kind a run can inject. */
export const FAULT_KINDS = [
  "isolate-leader", "isolate", "split", "bridge", "one-way-loss", "link-faults",
  "kill", "power-cut", "pause", "rolling-restart", "membership", "clock-jump",
] as const;

/** One fault kind. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Names `--faults` accepts besides the kinds themselves. */
export const FAULT_GROUPS: Readonly<Record<string, readonly FaultKind[]>> = {
  all: FAULT_KINDS,
  partition: ["isolate-leader", "isolate", "split", "bridge"],
  network: ["one-way-loss", "link-faults"],
  crash: ["kill", "power-cut", "rolling-restart"],
  clock: ["clock-jump"],
};

/** Expand a `--faults` list (kinds and groups) into kinds; throws on an unknown name. */
export function parseFaults(list: string): FaultKind[] {
  const out = new Set<FaultKind>();
  for (const name of list.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const group = FAULT_GROUPS[name];
    if (group !== undefined) for (const k of group) out.add(k);
    else if ((FAULT_KINDS as readonly string[]).includes(name)) out.add(name as FaultKind);
    else throw new Error(`unknown fault "${name}"; known: ${[...Object.keys(FAULT_GROUPS), ...FAULT_KINDS].join(", ")}`);
  }
  if (out.size === 0) throw new Error("no faults given");
  return [...out];
}

/** One scheduled fault. */
export interface ScheduledFault {
  readonly kind: FaultKind;
  /** Start, ms after the workload started. */
  readonly atMs: number;
  readonly durationMs: number;
  /** Random draws the fault resolves its targets and magnitudes from. */
  readonly draws: readonly number[];
}

/** Schedule knobs. */
export interface ScheduleOptions {
  readonly seed: number;
  readonly timeMs: number;
  readonly kinds: readonly FaultKind[];
  readonly faultMs: readonly [number, number];
  readonly quietMs: readonly [number, number];
}

/**
 * Alternate quiet gaps and faults until `timeMs`, leaving a final quiet
 * gap. Kinds come in shuffled rounds, so a run long enough for one round
 * exercises every kind once.
 */
export function generateSchedule(o: ScheduleOptions): ScheduledFault[] {
  const rand = new SeededRand(o.seed);
  const between = (r: readonly [number, number]) => r[0] + rand.int(r[1] - r[0] + 1);
  const out: ScheduledFault[] = [];
  let round: FaultKind[] = [];
  let t = between(o.quietMs);
  for (;;) {
    if (round.length === 0) {
      round = [...o.kinds];
      for (let i = round.length - 1; i > 0; i--) {
        const j = rand.int(i + 1);
        [round[i], round[j]] = [round[j]!, round[i]!];
      }
    }
    const durationMs = between(o.faultMs);
    if (t + durationMs + o.quietMs[0] > o.timeMs) break;
    out.push({ kind: round.shift()!, atMs: t, durationMs, draws: Array.from({ length: 4 }, () => rand.next()) });
    t += durationMs + between(o.quietMs);
  }
  return out;
}

/** Wall time a schedule needs to fit every kind once, for a given fault and quiet length. */
export function timeForEveryKind(kinds: number, faultMs: number, quietMs: number): number {
  return quietMs + kinds * (faultMs + quietMs);
}
