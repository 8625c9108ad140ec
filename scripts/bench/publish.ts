/**
 * Client-level benchmark against three real nodes on loopback, shaped like
 * ../shared/BENCHMARKS.md so the figures compare with NATS JetStream's:
 *   - async publish, 128 B, window of 1,000 unacknowledged publishes
 *   - sync publish, 128 B, 2,000 sequential publishes: p50 / p99 / max
 *   - durable consumer with explicit acks
 *   - end-to-end publish → delivery latency at a fixed rate
 * Each workload runs `--runs` times (default 3); medians are reported, plus
 * CPU seconds and peak RSS of every node process.
 *
 *   pnpm tsx scripts/bench/publish.ts [--runs 3] [--messages 20000]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import { LocalCluster } from "../../test/support/local-cluster.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, messages: { type: "string", default: "20000" } } });
const RUNS = Number(values.runs);
const MESSAGES = Number(values.messages);
const payload = new Uint8Array(128).fill(120);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

/** CPU seconds and RSS of a process from /proc (Linux). */
function procStats(pid: number): { cpuS: number; rssMiB: number; peakMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(stat[11]) + Number(stat[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuS: ticks / 100, rssMiB: kb("VmRSS") / 1024, peakMiB: kb("VmHWM") / 1024 };
}

async function asyncPublish(client: RaftbusClient, topic: string): Promise<number> {
  const pub = client.publisher({ windowMax: 1000, batchMessagesMax: 500, lingerMs: 1 });
  const started = performance.now();
  const commits: Promise<unknown>[] = [];
  for (let i = 0; i < MESSAGES; i++) commits.push((await pub.publish(topic, payload)).committed);
  await pub.flush();
  await Promise.all(commits);
  const s = (performance.now() - started) / 1000;
  await pub.close();
  return MESSAGES / s;
}

async function syncPublish(client: RaftbusClient, topic: string): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    await client.publish(topic, payload);
    lat.push(performance.now() - t);
  }
  return lat;
}

async function consume(client: RaftbusClient, topic: string, n: number, name: string): Promise<number> {
  const started = performance.now();
  let got = 0;
  const sub = await client.subscribe(topic, { name, from: "earliest", maxInFlight: 1000 });
  // Explicit acks that do not block the next message (the SDK batches them);
  // the figure counts only once every ack is committed.
  const acks: Promise<void>[] = [];
  for await (const m of sub) {
    acks.push(m.ack());
    if (++got >= n) break;
  }
  await Promise.all(acks.map((a) => a.catch(() => undefined)));
  return n / ((performance.now() - started) / 1000);
}

async function endToEnd(client: RaftbusClient, topic: string, ratePerS: number, count: number): Promise<number[]> {
  const lat: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await client.subscribe(topic, {
    from: "latest", maxInFlight: 1000,
    handler: (m) => {
      lat.push(Date.now() - Number(m.headers["sent"]));
      if (lat.length >= count) done();
    },
  });
  const gapMs = 1000 / ratePerS;
  for (let i = 0; i < count; i++) {
    void client.publish(topic, payload, { headers: { sent: String(Date.now()) } });
    await new Promise((r) => setTimeout(r, gapMs));
  }
  await Promise.race([finished, new Promise((r) => setTimeout(r, 20_000))]);
  return lat;
}

const cluster = await LocalCluster.start({ tickMs: 50, extraArgs: ["--log-level", "warn"] });
try {
  const client = await connect({ servers: cluster.servers(), name: "bench" });
  const asyncRates: number[] = [];
  const syncP50: number[] = [];
  const syncP99: number[] = [];
  const syncMax: number[] = [];
  const consumeRates: number[] = [];
  const e2eP50: number[] = [];
  const e2eP99: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    asyncRates.push(await asyncPublish(client, `bench.async.${r}`));
    const lat = await syncPublish(client, `bench.sync.${r}`);
    syncP50.push(percentile(lat, 50));
    syncP99.push(percentile(lat, 99));
    syncMax.push(Math.max(...lat));
    consumeRates.push(await consume(client, `bench.async.${r}`, MESSAGES, `bench-consumer-${r}`));
    const e2e = await endToEnd(client, `bench.e2e.${r}`, 500, 2000);
    e2eP50.push(percentile(e2e, 50));
    e2eP99.push(percentile(e2e, 99));
  }
  await client.close();
  const f = (x: number) => x.toFixed(0).padStart(8);
  const ms = (x: number) => x.toFixed(2);
  console.log(`raftbus, 3 nodes on loopback, fsync before every acknowledgement, ${RUNS} runs (median, min–max)`);
  console.log(`async publish 128 B, window 1,000:      ${f(median(asyncRates))} msg/s (${f(Math.min(...asyncRates))} –${f(Math.max(...asyncRates))})`);
  console.log(`sync publish 128 B p50 / p99 / max:     ${ms(median(syncP50))} / ${ms(median(syncP99))} / ${ms(median(syncMax))} ms`);
  console.log(`durable consumer, explicit acks:        ${f(median(consumeRates))} msg/s`);
  console.log(`end-to-end at 500 msg/s p50 / p99:      ${ms(median(e2eP50))} / ${ms(median(e2eP99))} ms`);
  for (const n of cluster.nodes) {
    if (n.proc?.pid === undefined) continue;
    const s = procStats(n.proc.pid);
    console.log(`node ${n.id}: cpu ${s.cpuS.toFixed(1)} s, rss ${s.rssMiB.toFixed(0)} MiB, peak ${s.peakMiB.toFixed(0)} MiB`);
  }
} finally {
  await cluster.destroy();
}
process.exit(0);
