/**
 * The benchmark report for people: one row per workload with the median of
 * its runs, CPU seconds and peak RSS of every process, fsyncs per 1,000
 * messages — and the conditions (date, machine, cluster) it was taken under.
 */
import type { BenchReport, WorkloadRun } from "./runner.ts";
import { summary } from "./runner.ts";

/** The median of `xs` (the lower middle for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? 0;
}

/** Runs of each workload, in first-run order. */
export function byWorkload(runs: readonly WorkloadRun[]): Map<string, WorkloadRun[]> {
  const out = new Map<string, WorkloadRun[]>();
  for (const r of runs) out.set(r.name, [...(out.get(r.name) ?? []), r]);
  return out;
}

/** Median of every figure over the successful runs. */
export function medianFigures(runs: readonly WorkloadRun[]): Record<string, number> {
  const ok = runs.filter((r) => r.error === undefined);
  const keys = new Set(ok.flatMap((r) => Object.keys(r.figures)));
  return Object.fromEntries([...keys].map((k) => [k, median(ok.map((r) => r.figures[k] ?? 0))]));
}

/** The report as lines of text. */
export function reportLines(report: BenchReport): string[] {
  const m = report.machine;
  const lines = [
    `raftbus bench — ${report.date.slice(0, 10)}, ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, Node ${m.node}`,
    `cluster: ${report.cluster.started ? `${report.cluster.nodes} nodes started for this run with the defaults of \`pnpm start\`` : `running at ${report.cluster.servers.join(",")}`}` +
      `${report.quick ? "; --quick (tiny counts: figures mean nothing)" : ""}`,
    "",
  ];
  const groups = byWorkload(report.runs);
  const nodeIds = [...new Set(report.runs.flatMap((r) => Object.keys(r.cost?.processes ?? {})))];
  for (const [name, runs] of groups) {
    const failed = runs.filter((r) => r.error !== undefined);
    const ok = runs.filter((r) => r.error === undefined);
    lines.push(`${name} — ${runs[0]?.title ?? ""}`);
    if (ok.length > 0) {
      lines.push(`  ${summary(medianFigures(ok))}${ok.length > 1 ? `  (median of ${ok.length} runs)` : ""}`);
      const cost = (pick: (r: WorkloadRun, id: string) => number | undefined): string =>
        nodeIds.map((id) => `${id} ${median(ok.map((r) => pick(r, id) ?? 0))}`).join(", ");
      lines.push(`  cpu s: ${cost((r, id) => r.cost?.processes[id]?.cpuSeconds)}`);
      lines.push(`  peak RSS MiB: ${cost((r, id) => r.cost?.processes[id]?.peakRssMiB)}`);
      lines.push(`  fsyncs per 1,000 messages: ${median(ok.map((r) => r.cost?.fsyncsPer1000Messages ?? 0))}`);
    }
    for (const f of failed) lines.push(`  run ${f.run} failed: ${f.error ?? ""}`);
    lines.push("");
  }
  return lines;
}
