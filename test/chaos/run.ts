/**
 * One chaos run, start to verdict: build the fault layer, start the nodes,
 * run the workload while the nemesis plays the seeded schedule, heal,
 * drain the subscribers, stop the nodes, read every replica from its own
 * data directory, check, and write report.json, report.html and
 * history.jsonl. Everything it started is removed in `finally`, also on a
 * thrown error; the output folder stays.
 */
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sleep, waitFor } from "../support/local-cluster.ts";
import { availability } from "./check/availability.ts";
import { check } from "./check/checker.ts";
import { readReplicas } from "./check/replicas.ts";
import { ChaosCluster } from "./cluster/chaos-cluster.ts";
import type { FaultLayer } from "./net/fault-layer.ts";
import { type LayerChoice, openFaultLayer } from "./net/open-layer.ts";
import { renderHtml } from "./report/html.ts";
import { type ChaosReport, verdictTable } from "./report/report.ts";
import { Nemesis } from "./schedule/nemesis.ts";
import { type FaultKind, generateSchedule } from "./schedule/schedule.ts";
import { Registry, reapStale } from "./support/registry.ts";
import { History, type OpRecord } from "./workload/history.ts";
import { Workload } from "./workload/workload.ts";

/** Options of a run. */
export interface ChaosOptions {
  readonly seed: number;
  /** Length of the faulty part (the workload runs that long; heal, drain and checks come after). */
  readonly timeMs: number;
  readonly faults: readonly FaultKind[];
  readonly nodes?: number;
  readonly layer?: LayerChoice;
  /** Output folder (default .tmp/chaos/<time>-seed<seed>). */
  readonly outDir?: string;
  /** Operations per second per publishing loop (default 25). */
  readonly rate?: number;
  readonly faultMs?: readonly [number, number];
  readonly quietMs?: readonly [number, number];
  /** Test-only promise-breaking switch to enable on every node (see packages/raft/src/unsafe.ts). */
  readonly unsafe?: string;
  /**
   * Raft snapshot interval of the nodes. Default 2,000 entries, so a run of
   * a minute or more takes snapshots and a follower that was killed or cut
   * off may have to catch up from one (the path of issue 9).
   */
  readonly snapshotEntries?: number;
  /** How long subscribers may take to catch up after the faults (default 45 s). */
  readonly drainMs?: number;
  /** Keep node data directories even when the run passes. */
  readonly keepData?: boolean;
  /** Install SIGINT/SIGTERM clean-up handlers (commands, not tests). */
  readonly handleSignals?: boolean;
  /** How the user runs this again (the command line prefix; flags are appended). */
  readonly command?: string;
  readonly log?: (line: string) => void;
}

/** The outcome of a run. */
export interface ChaosResult {
  readonly report: ChaosReport;
  readonly table: string;
}

const TICK_MS = 50;
const ELECTION_TICKS = 10;

/** The command that replays a run's schedule. */
export function replayCommand(o: ChaosOptions): string {
  const base = o.command ?? "pnpm chaos";
  return `${base} --seed ${o.seed} --time ${Math.round(o.timeMs / 1000)}s --faults ${o.faults.join(",")} --nodes ${o.nodes ?? 3}` +
    ` --layer ${o.layer ?? "auto"} --rate ${o.rate ?? 25}${o.snapshotEntries !== undefined ? ` --snapshot-entries ${o.snapshotEntries}` : ""}` +
    `${o.unsafe !== undefined ? ` --unsafe ${o.unsafe}` : ""}`;
}

/** Run one scenario. Throws only when the harness itself fails; violations are in the report. */
export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const reaped = reapStale();
  if (reaped.length > 0) log(`chaos: removed leftovers of dead runs: ${reaped.join(", ")}`);
  const registry = new Registry();
  if (o.handleSignals === true) registry.handleSignals();
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const outDir = resolve(o.outDir ?? join(".tmp", "chaos", `${stamp}-seed${o.seed}`));
  mkdirSync(outDir, { recursive: true });
  const sockDir = mkdtempSync(join(tmpdir(), registry.prefix));
  registry.dir(sockDir);
  const ids = Array.from({ length: o.nodes ?? 3 }, (_, i) => `n${i + 1}`);
  const schedule = generateSchedule({ seed: o.seed, timeMs: o.timeMs, kinds: o.faults, faultMs: o.faultMs ?? [3000, 6000], quietMs: o.quietMs ?? [2000, 3500] });
  writeFileSync(join(outDir, "schedule.json"), JSON.stringify(schedule, null, 1));
  const notes: string[] = [];
  const wallStart = Date.now();
  const layerLog = openSync(join(outDir, "sidecars.log"), "a");
  let layer: FaultLayer | undefined;
  let cluster: ChaosCluster | undefined;
  let passed = false;
  const history = new History(join(outDir, "history.jsonl"));
  try {
    layer = await openFaultLayer(o.layer ?? "auto", ids, registry, { sockDir, seed: o.seed, logFd: layerLog, notes });
    log(`chaos: seed ${o.seed}, layer ${layer.kind}, ${schedule.length} faults in ${Math.round(o.timeMs / 1000)} s, output ${outDir}`);
    const env: Record<string, string> = o.unsafe === undefined ? {} : { RAFTBUS_UNSAFE: o.unsafe, RAFTBUS_UNSAFE_CONFIRM: "I-accept-losing-data" };
    cluster = new ChaosCluster({
      layer, dir: outDir, tickMs: TICK_MS, electionTicks: ELECTION_TICKS, env,
      // A short trailing tail: a follower killed or cut off for a few seconds catches up from a snapshot.
      extraArgs: ["--snapshot-entries", String(o.snapshotEntries ?? 2_000), "--trailing-entries", String(Math.min(100, o.snapshotEntries ?? 2_000))],
    });
    await cluster.start();
    const c = cluster;
    const workload = new Workload(cluster, history, { rate: o.rate ?? 25, seed: o.seed });
    await workload.start();
    const admin = await cluster.connect("nemesis");
    const nemesis = new Nemesis(cluster, layer, history, admin);
    const runStart = Date.now();
    const monitor = watchLeader(cluster, history);
    // A fault that overruns (a slow restart on a busy machine) shifts the rest
    // of the schedule: every fault keeps its full length and the quiet gap before it.
    let lateMs = 0;
    for (const f of schedule) {
      await sleepUntil(runStart + f.atMs + lateMs);
      log(`chaos: +${((Date.now() - runStart) / 1000).toFixed(1)} s ${f.kind}`);
      const heal = await nemesis.start(f);
      await sleep(f.durationMs);
      await heal();
      lateMs = Math.max(lateMs, Date.now() - (runStart + f.atMs + f.durationMs));
    }
    await sleepUntil(runStart + o.timeMs + lateMs);
    await layer.setFaults([], {});
    for (const id of ids) {
      c.resume(id);
      c.startNode(id);
      c.setClockOffset(id, 0);
    }
    log("chaos: healed; stopping publishers and draining subscribers");
    await workload.stopPublishing();
    await c.waitReady(ids, 45_000).catch((err: unknown) => notes.push(`not every node became ready after healing: ${(err as Error).message}`));
    const missing = await workload.drain(o.drainMs ?? 45_000);
    if (missing > 0) notes.push(`drain timed out with ${missing} (subscription, message) pairs undelivered`);
    await workload.close();
    await admin.close();
    monitor.stop();
    const members = await quiesce(c, notes);
    for (const id of ids) await c.stop(id);
    for (const n of history.records) if (n.t === "note") notes.push(`${((n.time - runStart) / 1000).toFixed(1)} s: ${n.text}`);
    await history.close();
    log("chaos: reading replicas");
    const replicas = await readReplicas(members.map((id) => ({ id, dataDir: c.node(id).dataDir })), join(outDir, "replay"));
    rmSync(join(outDir, "replay"), { recursive: true, force: true });
    const crashes = ids.flatMap((id) => c.node(id).crashes.map((x) => ({ node: id, ...x })));
    const verdicts = check({ history: history.records, replicas, payloads: workload.payloads, crashes, drained: missing === 0 });
    const counts: Record<string, number> = {};
    for (const r of history.records) {
      const k = r.t === "op" ? `${(r as OpRecord).f}` : r.t === "deliver" ? "deliveries" : undefined;
      if (k !== undefined) counts[k] = (counts[k] ?? 0) + 1;
    }
    const ok = verdicts.every((v) => v.ok || v.severity !== "safety") && !history.truncated;
    if (history.truncated) notes.push("history truncated: the run recorded more than the history bound");
    const report: ChaosReport = {
      ok, seed: o.seed, timeMs: o.timeMs, faults: o.faults, layer: layer.kind, nodes: ids.length, replay: replayCommand(o),
      startedAt: new Date(wallStart).toISOString(), wallMs: Date.now() - wallStart, schedule, counts, verdicts,
      availability: availability(history.records, runStart),
      replicas: replicas.map((r) => ({ id: r.id, commitIndex: r.commitIndex, appliedIndex: r.appliedIndex, comparedAt: r.comparedAt, digest: r.digest, ...(r.error !== undefined ? { error: r.error } : {}) })),
      notes, ...(o.unsafe !== undefined ? { unsafe: o.unsafe } : {}), outDir,
    };
    writeFileSync(join(outDir, "report.json"), JSON.stringify(report, null, 1));
    writeFileSync(join(outDir, "report.html"), renderHtml(report));
    passed = ok;
    return { report, table: verdictTable(report) };
  } catch (err) {
    log(`chaos: the run itself failed: ${(err as Error).stack ?? String(err)}`);
    log(`chaos: replay: ${replayCommand(o)}  (logs in ${outDir})`);
    throw err;
  } finally {
    await history.close().catch(() => undefined);
    await cluster?.killAll().catch(() => undefined);
    await layer?.close().catch(() => undefined);
    registry.cleanup();
    closeSync(layerLog);
    if (passed && o.keepData !== true) rmSync(join(outDir, "data"), { recursive: true, force: true });
  }
}

async function sleepUntil(t: number): Promise<void> {
  const ms = t - Date.now();
  if (ms > 0) await sleep(ms);
}

/** Record leader changes in the history (every 500 ms) until stopped. */
function watchLeader(cluster: ChaosCluster, history: History): { stop: () => void } {
  let running = true;
  let last: string | undefined;
  void (async () => {
    while (running) {
      const l = await cluster.leader().catch(() => undefined);
      if (l !== last && l !== undefined) history.note(`leader is ${l}`);
      if (l !== undefined) last = l;
      await sleep(500);
    }
  })();
  return { stop: () => (running = false) };
}

/**
 * Wait (bounded) until every running member has applied the same index as
 * the leader's commit, so the replicas stop at one point of the log.
 * Returns the final voters.
 */
async function quiesce(cluster: ChaosCluster, notes: string[]): Promise<string[]> {
  let voters: readonly string[] = cluster.ids;
  await waitFor("replicas at one applied index", async () => {
    // Without a running majority no leader can come (a bite whose nodes refuse their disks): stop waiting.
    const running = cluster.ids.filter((id) => cluster.node(id).proc !== undefined).length;
    if (running < Math.floor(cluster.ids.length / 2) + 1) throw new Error("too few nodes running");
    const sts = await cluster.statuses();
    const leader = [...sts.values()].find((s) => s.role === "leader");
    if (leader === undefined) return undefined;
    voters = leader.voters;
    const members = voters.map((id) => sts.get(id));
    return members.every((s) => s !== undefined && s.appliedIndex === leader.commitIndex && s.commitIndex === leader.commitIndex) ? true : undefined;
  }, 30_000, 200).catch((err: unknown) => notes.push(`replicas did not reach one applied index (${err instanceof Error ? err.message : String(err)}); they are compared after replaying their logs`));
  return [...voters];
}
