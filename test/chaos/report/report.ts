/** The report of one chaos run: its JSON shape and the verdict table printed on stdout. */
import type { Availability } from "../check/availability.ts";
import type { Verdict } from "../check/checker.ts";
import type { ScheduledFault } from "../schedule/schedule.ts";

/** Everything a run produced, as written to report.json. */
export interface ChaosReport {
  readonly ok: boolean;
  readonly seed: number;
  readonly timeMs: number;
  readonly faults: readonly string[];
  readonly layer: string;
  readonly nodes: number;
  /** The command that replays this schedule. */
  readonly replay: string;
  readonly startedAt: string;
  readonly wallMs: number;
  readonly schedule: readonly ScheduledFault[];
  readonly counts: Readonly<Record<string, number>>;
  readonly verdicts: readonly Verdict[];
  readonly availability: Availability;
  readonly replicas: readonly { id: string; commitIndex: number; appliedIndex: number; comparedAt: number; digest: string; error?: string }[];
  readonly notes: readonly string[];
  readonly unsafe?: string;
  readonly outDir: string;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function share(s: { ok: number; total: number } | undefined): string {
  return s === undefined || s.total === 0 ? "–" : `${((100 * s.ok) / s.total).toFixed(1)}% of ${s.total}`;
}

/** The short verdict table (plain text). */
export function verdictTable(r: ChaosReport): string {
  const lines: string[] = [];
  lines.push(`chaos run: seed ${r.seed}, ${Math.round(r.timeMs / 1000)} s, layer ${r.layer}, ${r.nodes} nodes, faults ${r.faults.join(",")}`);
  lines.push(`ops: ${Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  lines.push("");
  lines.push(`${pad("check", 20)} ${pad("verdict", 8)} ${pad("count", 7)} what was checked`);
  for (const v of r.verdicts) {
    const verdict = v.ok ? "ok" : v.severity === "warning" ? "WARN" : v.severity === "liveness" ? "LATE" : "FAIL";
    lines.push(`${pad(v.name, 20)} ${pad(verdict, 8)} ${pad(String(v.count), 7)} ${v.checked}`);
    if (!v.ok) for (const s of v.samples.slice(0, 3)) lines.push(`${" ".repeat(37)}e.g. ${s}`);
  }
  const a = r.availability;
  lines.push("");
  for (const f of ["publish", "produce", "request"]) {
    lines.push(`${pad(`availability ${f}`, 29)} in faults ${pad(share(a.inFaults[f]), 16)} outside ${share(a.outsideFaults[f])}`);
  }
  const heals = a.healToPublishMs.map((h) => h.ms).filter((x): x is number => x !== null).sort((x, y) => x - y);
  if (heals.length > 0) {
    lines.push(`heal → first acked publish: median ${heals[Math.floor(heals.length / 2)]} ms, max ${heals[heals.length - 1]} ms over ${heals.length} heals`);
  }
  lines.push("");
  const late = r.verdicts.filter((v) => !v.ok && v.severity === "liveness").map((v) => v.name);
  lines.push(r.ok ? `VERDICT: ok — no safety violation${late.length > 0 ? ` (liveness: ${late.join(", ")} not complete when the drain ended)` : ""}` : "VERDICT: FAILED — safety violations above");
  lines.push(`report: ${r.outDir}/report.html (JSON: report.json, history: history.jsonl)`);
  if (!r.ok) lines.push(`replay: ${r.replay}`);
  return lines.join("\n");
}
