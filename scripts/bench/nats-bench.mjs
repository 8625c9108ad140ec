// The workloads of `raftbus bench`, run against a NATS JetStream cluster with
// the NATS JavaScript client (../shared/BENCHMARKS.md: one stream on bench.>,
// 3 replicas, file storage; the client on the same box, noAsyncTraces).
// Ordered consumers get one filter as a string: the client sends it as
// filter_subject, which 2.9 knows (filter_subjects needs 2.10).
// compare-nats.sh copies this file into its scratch folder, where
// @nats-io/transport-node and @nats-io/jetstream are installed, and runs it:
//
//   node nats-bench.mjs --servers nats://127.0.0.1:4222 --pids 11,12,13 [--quick] [workload…]
//
// It prints one JSON document shaped like `raftbus bench --json`'s runs:
// { runs: [{ name, messages, figures, cost: { processes } }] }. Payloads come
// from the same seeded generator as raftbus's, counts are the same.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { servers: { type: "string" }, pids: { type: "string", default: "" }, quick: { type: "boolean", default: false } },
});
const servers = (values.servers ?? "nats://127.0.0.1:4222").split(",");
const pids = values.pids.split(",").filter((p) => p !== "").map(Number);
const scale = values.quick ? 0.02 : 1;
const STREAM = "BENCH";
const prefix = `bench.${Date.now().toString(36)}`;

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function payloadOf(size, seed = 14) {
  const r = rng(seed);
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = 32 + Math.floor(r() * 95);
  return p;
}
const scaled = (n, min = 50) => Math.max(min, Math.round(n * scale));
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const r2 = (x) => Math.round(x * 100) / 100;
const rate = (n, ms) => Math.round(n / (ms / 1000));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref());
/** A backlog not consumed in this long is a failed run, not a hung script. */
const DRAIN_TIMEOUT_MS = 120_000;

// ---- process costs, as raftbus bench measures its own nodes (from /proc)
const cpuOf = (pid) => {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
};
const hwmOf = (pid) => {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
};
const resetHwm = (pid) => {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // not allowed: the peak counts from the process start
  }
};
function probe() {
  const all = [...pids, process.pid];
  for (const p of all) resetHwm(p);
  const cpu0 = pids.map(cpuOf);
  const client0 = process.cpuUsage();
  return () => {
    const processes = {};
    pids.forEach((p, i) => (processes[`nats${i + 1}`] = { cpuSeconds: r2(cpuOf(p) - cpu0[i]), peakRssMiB: Math.round(hwmOf(p)) }));
    const c = process.cpuUsage(client0);
    processes.client = { cpuSeconds: r2((c.user + c.system) / 1e6), peakRssMiB: Math.round(hwmOf(process.pid)) };
    return { processes };
  };
}

// ---- workloads
async function publishAsync(js, subject, payload, n, window) {
  const t0 = performance.now();
  const inflight = new Set();
  for (let i = 0; i < n; i++) {
    const p = js.publish(subject, payload).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= window) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return performance.now() - t0;
}

async function drainDurable(conns, subject, durable, n) {
  const jsm = await jetstreamManager(conns[0]);
  await jsm.consumers.add(STREAM, { durable_name: durable, ack_policy: "explicit", filter_subject: subject, deliver_policy: "all", max_ack_pending: 10_000 });
  const t0 = performance.now();
  let got = 0;
  const seen = new Set();
  let stop;
  const done = new Promise((r) => (stop = r));
  const iters = await Promise.all(conns.map(async (nc) => {
    const c = await jetstream(nc).consumers.get(STREAM, durable);
    return c.consume({ max_messages: 1000 });
  }));
  for (const it of iters) {
    void (async () => {
      for await (const m of it) {
        m.ack();
        got += 1;
        seen.add(m.seq);
        if (seen.size >= n) stop();
      }
    })();
  }
  await Promise.race([done, sleep(DRAIN_TIMEOUT_MS)]);
  const ms = performance.now() - t0;
  for (const it of iters) it.stop();
  if (seen.size < n) throw new Error(`${durable}: ${n - seen.size} of ${n} messages not consumed within ${DRAIN_TIMEOUT_MS / 1000} s`);
  await Promise.all(conns.map((nc) => nc.flush()));
  return { ms, got };
}

const WORKLOADS = {
  "publish-async-128": async (nc) => {
    const n = scaled(50_000);
    const ms = await publishAsync(jetstream(nc), `${prefix}.async128`, payloadOf(128), n, 1000);
    return { messages: n, figures: { msgPerSec: rate(n, ms), mbPerSec: r2((n * 128) / (ms / 1000) / 1e6) } };
  },
  "publish-async-1k": async (nc) => {
    const n = scaled(20_000);
    const ms = await publishAsync(jetstream(nc), `${prefix}.async1k`, payloadOf(1024), n, 1000);
    return { messages: n, figures: { msgPerSec: rate(n, ms), mbPerSec: r2((n * 1024) / (ms / 1000) / 1e6) } };
  },
  "publish-sync": async (nc) => {
    const n = scaled(2000);
    const js = jetstream(nc);
    const payload = payloadOf(128);
    const lat = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await js.publish(`${prefix}.sync`, payload);
      lat.push(performance.now() - t);
    }
    return { messages: n, figures: { p50Ms: r2(percentile(lat, 50)), p99Ms: r2(percentile(lat, 99)), maxMs: r2(Math.max(...lat)) } };
  },
  "publish-concurrent-64": async (nc) => {
    const n = scaled(20_000, 640);
    const js = jetstream(nc);
    const payload = payloadOf(128);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < n) {
        next += 1;
        await js.publish(`${prefix}.concurrent`, payload);
      }
    }));
    return { messages: n, figures: { msgPerSec: rate(n, performance.now() - t0) } };
  },
  "consume-durable": async (nc) => {
    const n = scaled(50_000);
    const subject = `${prefix}.consume`;
    await publishAsync(jetstream(nc), subject, payloadOf(128), n, 1000);
    const { ms } = await drainDurable([nc], subject, `consume-${Date.now()}`, n);
    return { messages: n, figures: { msgPerSec: rate(n, ms) } };
  },
  "work-queue-3": async (nc) => {
    const n = scaled(30_000);
    const subject = `${prefix}.wq`;
    await publishAsync(jetstream(nc), subject, payloadOf(128), n, 1000);
    const members = await Promise.all([0, 1, 2].map(() => connect({ servers, noAsyncTraces: true })));
    try {
      const { ms } = await drainDurable(members, subject, `wq-${Date.now()}`, n);
      return { messages: n, figures: { msgPerSec: rate(n, ms) } };
    } finally {
      await Promise.all(members.map((m) => m.close()));
    }
  },
  "fanout-10": async (nc) => {
    const n = scaled(5_000);
    const base = `${prefix}.fan`;
    const subNc = await connect({ servers, noAsyncTraces: true });
    try {
      const js = jetstream(subNc);
      let total = 0;
      let stop;
      const all = new Promise((r) => (stop = r));
      const iters = [];
      for (let i = 0; i < 10; i++) {
        const oc = await js.consumers.get(STREAM, { filter_subjects: i % 2 === 0 ? `${base}.*` : `${base}.>`, deliver_policy: "new" });
        const it = await oc.consume();
        iters.push(it);
        void (async () => {
          for await (const _m of it) {
            total += 1;
            if (total >= 10 * n) stop();
          }
        })();
      }
      await sleep(200); // the ordered consumers are created on the servers before publishing starts
      const t0 = performance.now();
      await publishAsync(jetstream(nc), `${base}.events`, payloadOf(128), n, 1000);
      await Promise.race([all, sleep(60_000)]);
      const ms = performance.now() - t0;
      for (const it of iters) it.stop();
      if (total < 10 * n) throw new Error(`fanout-10: ${10 * n - total} deliveries missing`);
      return { messages: n, figures: { deliveriesPerSec: rate(10 * n, ms), publishedPerSec: rate(n, ms) } };
    } finally {
      await subNc.close();
    }
  },
  "e2e-500": (nc) => endToEnd(nc, "e2e-500", 500, 10),
  "e2e-5000": (nc) => endToEnd(nc, "e2e-5000", 5000, 5),
};

async function endToEnd(nc, name, perSec, seconds) {
  const n = scaled(perSec * seconds, 100);
  const subject = `${prefix}.${name}`;
  const subNc = await connect({ servers, noAsyncTraces: true });
  try {
    const oc = await jetstream(subNc).consumers.get(STREAM, { filter_subjects: subject, deliver_policy: "new" });
    const it = await oc.consume();
    const lat = [];
    let stop;
    const all = new Promise((r) => (stop = r));
    void (async () => {
      for await (const m of it) {
        lat.push(performance.now() - new DataView(m.data.buffer, m.data.byteOffset, 8).getFloat64(0));
        if (lat.length >= n) stop();
      }
    })();
    await sleep(200);
    const js = jetstream(nc);
    const t0 = performance.now();
    let sent = 0;
    const pubs = [];
    while (sent < n) {
      const due = Math.min(n, Math.floor(((performance.now() - t0) * perSec) / 1000) + 1);
      for (; sent < due; sent++) {
        const p = payloadOf(128);
        new DataView(p.buffer).setFloat64(0, performance.now());
        pubs.push(js.publish(subject, p));
      }
      await sleep(1);
    }
    await Promise.all(pubs);
    await Promise.race([all, sleep(30_000)]);
    it.stop();
    if (lat.length < n) throw new Error(`${name}: ${n - lat.length} of ${n} messages not delivered within 30 s`);
    return { messages: n, figures: { p50Ms: r2(percentile(lat, 50)), p99Ms: r2(percentile(lat, 99)), maxMs: r2(Math.max(...lat)) } };
  } finally {
    await subNc.close();
  }
}

const names = positionals.length > 0 ? positionals : Object.keys(WORKLOADS);
const unknown = names.filter((n) => !(n in WORKLOADS));
if (unknown.length > 0) {
  process.stderr.write(`nats-bench: unknown workload(s) ${unknown.join(", ")}\n`);
  process.exit(2);
}
const nc = await connect({ servers, noAsyncTraces: true });
const jsm = await jetstreamManager(nc);
await jsm.streams.add({ name: STREAM, subjects: ["bench.>"], num_replicas: 3, storage: "file" });
const runs = [];
for (const name of names) {
  process.stderr.write(`nats ${name}…\n`);
  const end = probe();
  try {
    const result = await WORKLOADS[name](nc);
    runs.push({ name, run: 1, ...result, cost: end() });
  } catch (err) {
    runs.push({ name, run: 1, messages: 0, figures: {}, error: err instanceof Error ? err.message : String(err) });
  }
}
await nc.close();
process.stdout.write(`${JSON.stringify({ runs })}\n`);
process.exit(0);
