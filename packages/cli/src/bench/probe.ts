/**
 * What a workload cost: CPU seconds and peak RSS of every process (each
 * node and this client), and fsyncs per 1,000 messages across the nodes.
 *
 * Processes this run started are read from /proc (utime + stime; VmHWM,
 * reset before each workload through clear_refs); a cluster that was
 * already running is read from its Prometheus endpoint
 * (process_cpu_seconds_total, and process_resident_memory_bytes sampled
 * while the workload runs). Fsyncs come from raftbus_raft_fsyncs_total.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { BenchCluster, BenchNode } from "./cluster.ts";

/** CPU and memory of one process during a workload. */
export interface ProcessCost {
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
}

/** What one workload cost. */
export interface Cost {
  /** By node id, plus `client` (this process). */
  readonly processes: Readonly<Record<string, ProcessCost>>;
  /** Synced Raft log writes on all nodes together. */
  readonly fsyncs: number;
  readonly fsyncsPer1000Messages: number;
}

const CLK_TCK = 100;
const SAMPLE_EVERY_MS = 250;

interface Mark {
  readonly cpu: number;
  readonly fsyncs: number;
}

/** Measures one workload at a time: begin(), run it, end(messages). */
export class Probe {
  private marks = new Map<string, Mark>();
  private clientCpu = process.cpuUsage();
  private peaks = new Map<string, number>();
  private sampler: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly cluster: BenchCluster) {}

  async begin(): Promise<void> {
    this.marks = new Map();
    this.peaks = new Map();
    for (const n of this.cluster.nodes) {
      const m = await metricsOf(n);
      const pid = n.pid();
      if (pid !== undefined) resetPeakRss(pid);
      this.marks.set(n.id, { cpu: pid !== undefined ? procCpuSeconds(pid) : m.cpuSeconds, fsyncs: m.fsyncs });
    }
    resetPeakRss(process.pid);
    this.clientCpu = process.cpuUsage();
    if (!this.cluster.started) {
      this.sampler = setInterval(() => void this.sample(), SAMPLE_EVERY_MS);
      this.sampler.unref?.();
    }
  }

  async end(messages: number): Promise<Cost> {
    if (this.sampler !== undefined) clearInterval(this.sampler);
    this.sampler = undefined;
    const processes: Record<string, ProcessCost> = {};
    let fsyncs = 0;
    for (const n of this.cluster.nodes) {
      const m = await metricsOf(n);
      const mark = this.marks.get(n.id) ?? { cpu: 0, fsyncs: 0 };
      const pid = n.pid();
      const cpu = pid !== undefined ? procCpuSeconds(pid) : m.cpuSeconds;
      const peak = pid !== undefined ? procPeakRssMiB(pid) : Math.max(this.peaks.get(n.id) ?? 0, m.rssMiB);
      processes[n.id] = { cpuSeconds: round(cpu - mark.cpu, 2), peakRssMiB: round(peak, 0) };
      fsyncs += m.fsyncs - mark.fsyncs;
    }
    const c = process.cpuUsage(this.clientCpu);
    processes["client"] = { cpuSeconds: round((c.user + c.system) / 1e6, 2), peakRssMiB: round(procPeakRssMiB(process.pid), 0) };
    return { processes, fsyncs, fsyncsPer1000Messages: messages > 0 ? round((fsyncs / messages) * 1000, 1) : 0 };
  }

  private async sample(): Promise<void> {
    for (const n of this.cluster.nodes) {
      const m = await metricsOf(n).catch(() => undefined);
      if (m !== undefined) this.peaks.set(n.id, Math.max(this.peaks.get(n.id) ?? 0, m.rssMiB));
    }
  }
}

/** The few counters the benchmark reads from a node's /metrics. */
export interface NodeCounters {
  readonly fsyncs: number;
  readonly cpuSeconds: number;
  readonly rssMiB: number;
}

/** Reads a node's counters (zeros for what it does not expose). */
export async function metricsOf(n: BenchNode): Promise<NodeCounters> {
  const text = await (await fetch(`${n.http}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return {
    fsyncs: sample(text, "raftbus_raft_fsyncs_total"),
    cpuSeconds: sample(text, "process_cpu_seconds_total"),
    rssMiB: sample(text, "process_resident_memory_bytes") / (1024 * 1024),
  };
}

/** The value of the first sample of `name` (with or without labels) in a Prometheus exposition. */
export function sample(text: string, name: string): number {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || (line[name.length] !== " " && line[name.length] !== "{")) continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(v)) return v;
  }
  return 0;
}

/** utime + stime of a process, in seconds. */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Peak resident set size (VmHWM) of a process since start or the last reset, in MiB. */
export function procPeakRssMiB(pid: number): number {
  return procStatusKb(pid, "VmHWM") / 1024;
}

/** Current resident set size (VmRSS) of a process, in MiB. */
export function procRssMiB(pid: number): number {
  return procStatusKb(pid, "VmRSS") / 1024;
}

/**
 * Anonymous resident memory (RssAnon) of a process, in MiB: RSS without the
 * file pages it maps. LevelDB maps its table files to read them, so a node
 * that streams a large store (a snapshot) shows those pages in VmRSS; they
 * are the page cache, shared and reclaimable, not the node's own memory.
 */
export function procRssAnonMiB(pid: number): number {
  return procStatusKb(pid, "RssAnon") / 1024;
}

function procStatusKb(pid: number, key: string): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Reset a process's VmHWM to its current RSS (Linux clear_refs 5); harmless where not allowed. */
function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // Not Linux, or not our process: the peak then counts from the process's start.
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
