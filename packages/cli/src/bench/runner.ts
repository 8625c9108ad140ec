/**
 * `raftbus bench`: runs the chosen workloads one after the other against a
 * cluster (started for the run, or given with --servers), measuring each
 * with the probe, and returns one report (printed as a table, or as JSON).
 * A workload that fails is reported with its error; the others still run.
 */
import { cpus, totalmem } from "node:os";
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import { connectedCluster, startCluster } from "./cluster.ts";
import type { BenchCluster } from "./cluster.ts";
import { Probe } from "./probe.ts";
import type { Cost } from "./probe.ts";
import type { Progress } from "./progress.ts";
import { WORKLOADS } from "./workloads.ts";
import type { Workload } from "./workloads.ts";

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Workload names; empty = every workload that is not scale-only (plus those with `scale`). */
  readonly workloads: readonly string[];
  /** A running cluster; absent = start three nodes with the defaults of `pnpm start`. */
  readonly servers?: readonly string[];
  /** The token for a running cluster (--servers); a started cluster runs with auth open on loopback. */
  readonly token?: string;
  /** Tiny message counts: checks that everything runs, measures nothing useful. */
  readonly quick: boolean;
  /** Include the scale workloads. */
  readonly scale: boolean;
  /** Runs of each workload (figures are reported per run and as medians). */
  readonly runs: number;
  /** Node.js flags for started nodes (e.g. --cpu-prof --cpu-prof-dir=DIR). */
  readonly nodeExecArgv?: readonly string[];
  readonly keepData?: boolean;
  readonly progress: Progress;
  /** Ctrl-C / SIGTERM: stop after stopping the started cluster (its nodes must not outlive the benchmark). */
  readonly signal?: AbortSignal;
}


/** One run of one workload. */
export interface WorkloadRun {
  readonly name: string;
  readonly title: string;
  readonly run: number;
  readonly messages: number;
  readonly figures: Readonly<Record<string, number>>;
  readonly cost?: Cost;
  readonly error?: string;
}

/** Everything a benchmark run produced. */
export interface BenchReport {
  readonly date: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly memGiB: number; readonly node: string; readonly platform: string };
  readonly cluster: { readonly started: boolean; readonly nodes: number; readonly servers: readonly string[] };
  readonly quick: boolean;
  /** Stopped by Ctrl-C / SIGTERM: `runs` holds the workloads finished before. */
  readonly interrupted: boolean;
  readonly runs: readonly WorkloadRun[];
}

/** The workloads `names` select (all non-scale ones by default). */
export function selectWorkloads(names: readonly string[], scale: boolean): Workload[] {
  if (names.length === 0) return WORKLOADS.filter((w) => scale || w.scaleOnly !== true);
  const unknown = names.filter((n) => !WORKLOADS.some((w) => w.name === n));
  if (unknown.length > 0) throw new Error(`unknown workload(s) ${unknown.join(", ")}; available: ${WORKLOADS.map((w) => w.name).join(", ")}`);
  return WORKLOADS.filter((w) => names.includes(w.name));
}

/** Run the benchmark; see the module comment. */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const chosen = selectWorkloads(o.workloads, o.scale);
  o.progress.note(o.servers === undefined ? "starting a 3-node cluster with the defaults of `pnpm start`…" : `using the cluster at ${o.servers.join(",")}`);
  const cluster: BenchCluster = o.servers === undefined
    ? await startCluster({ nodes: 3, ...(o.nodeExecArgv !== undefined ? { execArgv: o.nodeExecArgv } : {}), ...(o.keepData !== undefined ? { keepData: o.keepData } : {}) })
    : connectedCluster(o.servers);
  const runs: WorkloadRun[] = [];
  // A workload cannot be cut short from outside: an interruption abandons it (the process exits next)
  // and the report holds the runs finished before it.
  let onAbort: (() => void) | undefined;
  const interrupted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    if (o.signal?.aborted === true) onAbort();
    else o.signal?.addEventListener("abort", onAbort, { once: true });
  });
  let stopped = false;
  try {
    const probe = new Probe(cluster);
    for (let run = 1; run <= o.runs && !stopped; run++) {
      for (const w of chosen) {
        if (w.needsStartedCluster === true && !cluster.started) {
          runs.push({ name: w.name, title: w.title, run, messages: 0, figures: {}, error: "needs a cluster this benchmark starts (leave out --servers)" });
          continue;
        }
        const result = await Promise.race([runOne(w, run, cluster, probe, o), interrupted]);
        if (result === undefined) {
          stopped = true;
          break;
        }
        runs.push(result);
      }
    }
  } finally {
    if (onAbort !== undefined) o.signal?.removeEventListener("abort", onAbort);
    o.progress.note("stopping the cluster…");
    await cluster.close();
    o.progress.done();
  }
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "?", memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform },
    cluster: { started: cluster.started, nodes: cluster.nodes.length, servers: cluster.servers() },
    quick: o.quick,
    interrupted: stopped,
    runs,
  };
}

async function runOne(w: Workload, run: number, cluster: BenchCluster, probe: Probe, o: BenchOptions): Promise<WorkloadRun> {
  const clients: RaftbusClient[] = [];
  const prefix = `bench.${Date.now().toString(36)}.r${run}`;
  o.progress.start(`${w.name}${o.runs > 1 ? ` (run ${run})` : ""}`);
  try {
    await probe.begin();
    const result = await w.run({
      cluster, scale: o.quick ? 0.02 : 1, prefix,
      connect: async (name) => {
        const c = await connect({ servers: cluster.servers(), name: `bench-${name}`, timeoutMs: 30_000, ...(o.token !== undefined ? { token: o.token } : {}) });
        clients.push(c);
        return c;
      },
      progress: (done, total) => o.progress.update(done, total),
    });
    await Promise.allSettled(clients.map((c) => c.close()));
    clients.length = 0;
    const cost = await probe.end(result.messages);
    o.progress.finish(summary(result.figures));
    return { name: w.name, title: w.title, run, messages: result.messages, figures: result.figures, cost };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    o.progress.finish(`failed: ${error}`);
    return { name: w.name, title: w.title, run, messages: 0, figures: {}, error };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
  }
}

/** A short human form of a workload's figures. */
export function summary(f: Readonly<Record<string, number>>): string {
  const parts: string[] = [];
  const n = (x: number): string => x.toLocaleString("en-US");
  if (f["msgPerSec"] !== undefined) parts.push(`${n(f["msgPerSec"])} msg/s`);
  if (f["mbPerSec"] !== undefined) parts.push(`${f["mbPerSec"]} MB/s`);
  if (f["deliveriesPerSec"] !== undefined) parts.push(`${n(f["deliveriesPerSec"])} deliveries/s`);
  if (f["p50Ms"] !== undefined) parts.push(`p50 ${f["p50Ms"]} / p99 ${f["p99Ms"]} / max ${f["maxMs"]} ms`);
  for (const [k, v] of Object.entries(f)) {
    if (!["msgPerSec", "mbPerSec", "deliveriesPerSec", "p50Ms", "p99Ms", "maxMs"].includes(k)) parts.push(`${k} ${n(v)}`);
  }
  return parts.join(", ");
}
