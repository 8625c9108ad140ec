/**
 * Commit benchmark of durable Raft: three real kv-node processes on
 * loopback (LevelDB, fsync on every append: it is always on), 128-byte
 * values, measured at the HTTP API of the leader. A proposal counts once
 * its PUT answered 200, i.e. it is committed (fsync'd on a majority) and
 * applied on the leader.
 *
 *   (a) sequential   one PUT at a time: no batching possible
 *   (b) concurrent   64 PUTs in flight on keep-alive connections
 *   (c) window 1000  /kv-batch requests of 100 entries, 10 in flight
 *
 * For each: committed proposals/s, p50/p99 commit latency (for (c), a
 * proposal's latency is its batch request's), and fsyncs per 1,000
 * proposals on the leader and on each follower (/status syncedWrites).
 *
 *   pnpm tsx scripts/bench/raft-commit.ts [--sequential 1000] [--concurrent 10000] [--batched 50000] [--data DIR]
 */
import { Agent, request } from "node:http";
import { parseArgs } from "node:util";
import type { NodeStatus } from "../../packages/raft/test/process/harness.ts";
import { KvCluster } from "../../packages/raft/test/process/harness.ts";

const { values } = parseArgs({
  options: {
    sequential: { type: "string", default: "1000" },
    concurrent: { type: "string", default: "10000" },
    batched: { type: "string", default: "50000" },
  },
});
const VALUE = "v".repeat(128);
const CONCURRENCY = 64;
const BATCH_ENTRIES = 100;
const BATCHES_IN_FLIGHT = 10;

/** One keep-alive HTTP request; resolves with the status code and body text. */
function call(agent: Agent, port: number, method: string, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, agent, headers: { "content-length": Buffer.byteLength(body) } }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(30_000, () => req.destroy(new Error("request timed out")));
    req.end(body);
  });
}

interface Row {
  readonly mode: string;
  readonly proposals: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
  readonly leaderFsyncs: number;
  readonly followerFsyncs: number[];
  readonly appendBatches: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Runs `work` and reads the fsync and batch counters around it. */
async function measure(c: KvCluster, leader: string, mode: string, work: () => Promise<number[]>): Promise<Row> {
  const before = await statuses(c);
  const started = performance.now();
  const latenciesMs = await work();
  const seconds = (performance.now() - started) / 1000;
  const after = await statuses(c);
  const delta = (id: string, f: (s: NodeStatus) => number): number => f(after.get(id)!) - f(before.get(id)!);
  return {
    mode, proposals: latenciesMs.length, seconds, latenciesMs,
    leaderFsyncs: delta(leader, (s) => s.stats.syncedWrites),
    followerFsyncs: c.ids.filter((id) => id !== leader).map((id) => delta(id, (s) => s.stats.syncedWrites)),
    appendBatches: delta(leader, (s) => s.stats.proposalBatches),
  };
}

async function statuses(c: KvCluster): Promise<Map<string, NodeStatus>> {
  return new Map(await Promise.all(c.ids.map(async (id) => [id, await c.status(id)] as const)));
}

function expectOk(r: { status: number; text: string }): void {
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.text} (leadership moved during the run? rerun)`);
}

async function sequential(agent: Agent, port: number, n: number): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    expectOk(await call(agent, port, "PUT", `/kv/seq-${i}`, VALUE));
    lat.push(performance.now() - t);
  }
  return lat;
}

async function concurrent(agent: Agent, port: number, n: number): Promise<number[]> {
  const lat: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      expectOk(await call(agent, port, "PUT", `/kv/conc-${i}`, VALUE));
      lat.push(performance.now() - t);
    }
  }));
  return lat;
}

async function batched(agent: Agent, port: number, n: number): Promise<number[]> {
  const lat: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: BATCHES_IN_FLIGHT }, async () => {
    while (next < n) {
      const first = next;
      next += BATCH_ENTRIES;
      const entries = Array.from({ length: Math.min(BATCH_ENTRIES, n - first) }, (_, j) => [`batch-${first + j}`, VALUE]);
      const t = performance.now();
      const r = await call(agent, port, "POST", "/kv-batch", JSON.stringify({ entries }));
      expectOk(r);
      const results = (JSON.parse(r.text) as { results: { index?: number; code?: string }[] }).results;
      const failed = results.find((x) => x.index === undefined);
      if (failed !== undefined) throw new Error(`a batched proposal failed: ${failed.code}`);
      const ms = performance.now() - t;
      for (let j = 0; j < entries.length; j++) lat.push(ms);
    }
  }));
  return lat;
}

function printTable(rows: readonly Row[]): void {
  const header = ["mode", "proposals", "proposals/s", "p50 ms", "p99 ms", "fsyncs/1000 leader", "fsyncs/1000 followers", "proposals/append"];
  const lines = rows.map((r) => {
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    const per1000 = (x: number): string => ((x * 1000) / r.proposals).toFixed(1);
    return [
      r.mode, String(r.proposals), (r.proposals / r.seconds).toFixed(0), percentile(sorted, 50).toFixed(2), percentile(sorted, 99).toFixed(2),
      per1000(r.leaderFsyncs), r.followerFsyncs.map(per1000).join(" / "), r.appendBatches > 0 ? (r.proposals / r.appendBatches).toFixed(1) : "-",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(fmt(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) console.log(fmt(l));
}

async function main(): Promise<void> {
  const c = await KvCluster.create({ tickMs: 50, electionTicks: 10 });
  const stop = (): void => void c.destroy().then(() => process.exit(130));
  process.once("SIGINT", stop);
  try {
    console.log(`raft-commit: starting 3 kv-node processes (data under ${c.root}, fsync on)…`);
    await c.startAll();
    const leader = (await c.waitForLeader()).id;
    const port = c.httpPorts.get(leader)!;
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    await sequential(agent, port, 200); // warm-up: JIT, connections, LevelDB files
    const rows: Row[] = [];
    rows.push(await measure(c, leader, "(a) sequential", () => sequential(agent, port, Number(values.sequential))));
    rows.push(await measure(c, leader, `(b) ${CONCURRENCY} concurrent PUTs`, () => concurrent(agent, port, Number(values.concurrent))));
    rows.push(await measure(c, leader, `(c) window ${BATCH_ENTRIES * BATCHES_IN_FLIGHT} (kv-batch)`, () => batched(agent, port, Number(values.batched))));
    const nowLeader = (await c.waitForLeader()).id;
    if (nowLeader !== leader) console.warn(`warning: leadership moved from ${leader} to ${nowLeader} during the run`);
    console.log(`\n3 nodes on loopback, LevelDB with fsync, 128-byte values, leader ${leader}; node ${process.version}\n`);
    printTable(rows);
    agent.destroy();
  } finally {
    await c.destroy();
  }
}

await main();
