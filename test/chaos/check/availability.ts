/**
 * Availability figures of a run (informational, never a failure): share of
 * client operations that succeeded inside and outside fault windows, time
 * from each heal to the next acknowledged publish, and throughput and
 * latency per second.
 */
import type { HistoryRecord, OpRecord } from "../workload/history.ts";
import { faultWindows } from "./checker.ts";

/** Success counts of one kind of operation. */
export interface OkShare {
  readonly ok: number;
  readonly total: number;
}

/** One second of the run. */
export interface Bucket {
  /** Seconds since the run started. */
  readonly t: number;
  readonly ok: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** The availability part of the report. */
export interface Availability {
  readonly inFaults: Readonly<Record<string, OkShare>>;
  readonly outsideFaults: Readonly<Record<string, OkShare>>;
  /** Per healed fault: ms from its end to the next acknowledged publish (null: none followed). */
  readonly healToPublishMs: readonly { kind: string; ms: number | null }[];
  readonly timeline: readonly Bucket[];
  readonly windows: readonly { kind: string; detail: string; start: number; end: number }[];
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Compute the figures; times in the result are relative to `runStart` (ms). */
export function availability(history: readonly HistoryRecord[], runStart: number): Availability {
  const windows = faultWindows(history);
  const ops = history.filter((r): r is OpRecord => r.t === "op" && (r.f === "publish" || r.f === "produce" || r.f === "request"));
  const inFaults: Record<string, { ok: number; total: number }> = {};
  const outside: Record<string, { ok: number; total: number }> = {};
  for (const op of ops) {
    const during = windows.some((w) => op.start >= w.start && op.start <= w.end);
    const m = during ? inFaults : outside;
    const s = (m[op.f] ??= { ok: 0, total: 0 });
    s.total++;
    if (op.outcome === "ok") s.ok++;
  }
  const publishes = ops.filter((o) => o.f !== "request" && o.outcome === "ok").sort((a, b) => a.end - b.end);
  const healToPublishMs = windows.map((w) => {
    const next = publishes.find((p) => p.end >= w.end);
    return { kind: w.kind, ms: next === undefined ? null : next.end - w.end };
  });
  const buckets = new Map<number, { ok: number; failed: number; lat: number[] }>();
  for (const op of ops.filter((o) => o.f !== "request")) {
    const t = Math.floor((op.end - runStart) / 1000);
    const b = buckets.get(t) ?? { ok: 0, failed: 0, lat: [] };
    buckets.set(t, b);
    if (op.outcome === "ok") {
      b.ok++;
      b.lat.push(op.end - op.start);
    } else b.failed++;
  }
  const last = Math.max(0, ...buckets.keys());
  const timeline: Bucket[] = [];
  for (let t = 0; t <= last; t++) {
    const b = buckets.get(t) ?? { ok: 0, failed: 0, lat: [] };
    const lat = [...b.lat].sort((x, y) => x - y);
    timeline.push({ t, ok: b.ok, failed: b.failed, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99), maxMs: lat[lat.length - 1] ?? 0 });
  }
  return {
    inFaults, outsideFaults: outside, healToPublishMs, timeline,
    windows: windows.map((w) => ({ ...w, start: w.start - runStart, end: w.end - runStart })),
  };
}
