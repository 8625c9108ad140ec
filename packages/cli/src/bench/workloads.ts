/**
 * The benchmark workloads (issue 14; ../shared/BENCHMARKS.md says how the
 * reference figures were taken): each runs through the SDK against a
 * cluster, on fresh topics, with payloads from a fixed seed, and reports its
 * figures plus how many messages it moved (for fsyncs per 1,000 messages).
 */
import type { Msg, RaftbusClient, Subscription } from "@raftbus/client/node";
import type { BenchCluster } from "./cluster.ts";
import { sleep } from "./cluster.ts";
import { procRssAnonMiB, procRssMiB } from "./probe.ts";

/** What a workload gets. */
export interface WorkloadContext {
  readonly cluster: BenchCluster;
  /** A new client connected to the cluster (closed by the runner). */
  connect(name: string): Promise<RaftbusClient>;
  /** Message counts are multiplied by this (0.02 for --quick). */
  readonly scale: number;
  /** A prefix unique to this run, for topic and subscription names. */
  readonly prefix: string;
  /** Report progress (done of total). */
  progress(done: number, total: number): void;
}

/** What a workload measured. */
export interface WorkloadResult {
  /** Messages published or delivered (what fsyncs per 1,000 are counted against). */
  readonly messages: number;
  /** Named figures: rates in msg/s, latencies in ms, sizes in MiB, times in ms. */
  readonly figures: Readonly<Record<string, number>>;
}

/** One workload. */
export interface Workload {
  readonly name: string;
  readonly title: string;
  /** Scale workloads are long: run only when named (or with --scale). */
  readonly scaleOnly?: boolean;
  /** Needs a cluster this run started (it restarts it). */
  readonly needsStartedCluster?: boolean;
  run(ctx: WorkloadContext): Promise<WorkloadResult>;
}

/** mulberry32: payloads are the same bytes in every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` bytes from the seeded generator. */
export function payloadOf(size: number, seed = 14): Uint8Array {
  const r = rng(seed);
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = 32 + Math.floor(r() * 95);
  return p;
}

function scaled(ctx: WorkloadContext, n: number, min = 50): number {
  return Math.max(min, Math.round(n * ctx.scale));
}

/** The p-th percentile (0–100) of `xs`. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;
const rate = (n: number, ms: number): number => Math.round(n / (ms / 1000));

/**
 * Waits for many commits without keeping them: a million publishes would
 * otherwise hold a million settled promises and results in the benchmark's
 * own process, which shares the machine with the nodes it measures.
 */
export class CommitTracker {
  private outstanding = 0;
  private failure: unknown;
  private failed = false;
  private wake: (() => void) | undefined;

  /** Counts `commit` until it settles, remembering the first failure. */
  track(commit: Promise<unknown>): void {
    this.outstanding += 1;
    commit.then(() => this.settle(), (err: unknown) => {
      if (!this.failed) {
        this.failed = true;
        this.failure = err;
      }
      this.settle();
    });
  }

  /** Resolves once every tracked commit settled; rejects with the first failure. */
  async settled(): Promise<void> {
    while (this.outstanding > 0) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failed) throw this.failure;
  }

  private settle(): void {
    this.outstanding -= 1;
    if (this.outstanding === 0) this.wake?.();
  }
}

/** Publish `n` messages of `payload` to `topic` through the SDK's batching publisher (window `window`), awaiting every commit. */
async function publishAsync(c: RaftbusClient, topic: string, payload: Uint8Array, n: number, window: number, progress?: (done: number) => void): Promise<number> {
  const pub = c.publisher({ windowMax: window });
  const t0 = performance.now();
  const commits = new CommitTracker();
  for (let i = 0; i < n; i++) {
    commits.track((await pub.publish(topic, payload)).committed);
    if (progress !== undefined && i % 1000 === 0) progress(i);
  }
  await pub.flush();
  await commits.settled();
  const ms = performance.now() - t0;
  await pub.close();
  return ms;
}

function asyncPublish(name: string, size: number, count: number): Workload {
  return {
    name, title: `async publish ${size >= 1024 ? `${size / 1024} KB` : `${size} B`}, window 1,000`,
    async run(ctx) {
      const n = scaled(ctx, count);
      const c = await ctx.connect(name);
      const ms = await publishAsync(c, `${ctx.prefix}.${name}`, payloadOf(size), n, 1000, (d) => ctx.progress(d, n));
      return { messages: n, figures: { msgPerSec: rate(n, ms), mbPerSec: r2((n * size) / (ms / 1000) / 1e6) } };
    },
  };
}

const syncPublish: Workload = {
  name: "publish-sync", title: "sync publish 128 B, one at a time: latency",
  async run(ctx) {
    const n = scaled(ctx, 2000);
    const c = await ctx.connect("publish-sync");
    const payload = payloadOf(128);
    const topic = `${ctx.prefix}.sync`;
    await c.publish(topic, payload); // the topic exists before timing starts
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await c.publish(topic, payload);
      lat.push(performance.now() - t);
      if (i % 100 === 0) ctx.progress(i, n);
    }
    return { messages: n, figures: { p50Ms: r2(percentile(lat, 50)), p99Ms: r2(percentile(lat, 99)), maxMs: r2(Math.max(...lat)) } };
  },
};

const concurrentPublish: Workload = {
  name: "publish-concurrent-64", title: "64 concurrent single publishes (no SDK batching)",
  async run(ctx) {
    const n = scaled(ctx, 20_000, 640);
    const c = await ctx.connect("publish-concurrent");
    const payload = payloadOf(128);
    const topic = `${ctx.prefix}.concurrent`;
    await c.publish(topic, payload);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < n) {
        next += 1;
        await c.publish(topic, payload);
        if (next % 500 === 0) ctx.progress(next, n);
      }
    }));
    return { messages: n, figures: { msgPerSec: rate(n, performance.now() - t0) } };
  },
};

/** Consume `n` messages on `subs` (each acking every message without waiting); resolves once every ack is committed. */
async function drain(subscribe: (handler: (m: Msg) => void) => Promise<Subscription[]>, n: number, progress: (done: number) => void): Promise<void> {
  const acks: Promise<void>[] = [];
  const seen = new Set<string>();
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const subs = await subscribe((m) => {
    acks.push(m.ack());
    seen.add(`${m.topic}@${m.offset}`);
    if (seen.size % 1000 === 0) progress(seen.size);
    if (seen.size >= n) done();
  });
  await all;
  await Promise.all(acks);
  await Promise.all(subs.map((s) => s.unsubscribe()));
}

const durableConsumer: Workload = {
  name: "consume-durable", title: "durable consumer, explicit acks (backlog)",
  async run(ctx) {
    const n = scaled(ctx, 50_000);
    const pubClient = await ctx.connect("consume-pub");
    const topic = `${ctx.prefix}.consume`;
    await publishAsync(pubClient, topic, payloadOf(128), n, 1000);
    const c = await ctx.connect("consume-sub");
    const t0 = performance.now();
    await drain(async (handler) => [await c.subscribe(topic, { name: `${ctx.prefix}-consumer`, from: "earliest", maxInFlight: 1000, autoAck: false, handler })], n, (d) => ctx.progress(d, n));
    return { messages: n, figures: { msgPerSec: rate(n, performance.now() - t0) } };
  },
};

const workQueue: Workload = {
  name: "work-queue-3", title: "work queue, 3 members, explicit acks (backlog)",
  async run(ctx) {
    const n = scaled(ctx, 30_000);
    const pubClient = await ctx.connect("wq-pub");
    const topic = `${ctx.prefix}.wq`;
    await publishAsync(pubClient, topic, payloadOf(128), n, 1000);
    const members = await Promise.all([0, 1, 2].map((i) => ctx.connect(`wq-member-${i}`)));
    const t0 = performance.now();
    await drain((handler) => Promise.all(members.map((m) => m.subscribe(topic, { name: `${ctx.prefix}-wq`, from: "earliest", maxInFlight: 1000, autoAck: false, handler }))), n, (d) => ctx.progress(d, n));
    return { messages: n, figures: { msgPerSec: rate(n, performance.now() - t0) } };
  },
};

const fanOut: Workload = {
  name: "fanout-10", title: "fan-out to 10 wildcard subscribers (deliveries/s)",
  async run(ctx) {
    const n = scaled(ctx, 5_000);
    const subClient = await ctx.connect("fanout-subs");
    const base = `${ctx.prefix}.fan`;
    const received = new Array<number>(10).fill(0);
    let total = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const subs = await Promise.all(received.map((_, i) => subClient.subscribe(i % 2 === 0 ? `${base}.*` : `${base}.**`, {
      maxInFlight: 1000,
      handler: () => {
        received[i] = (received[i] as number) + 1;
        total += 1;
        if (total % 1000 === 0) ctx.progress(total, 10 * n);
        if (total >= 10 * n) done();
      },
    })));
    const pubClient = await ctx.connect("fanout-pub");
    const t0 = performance.now();
    await publishAsync(pubClient, `${base}.events`, payloadOf(128), n, 1000);
    await all;
    const ms = performance.now() - t0;
    await Promise.all(subs.map((s) => s.unsubscribe()));
    return { messages: n, figures: { deliveriesPerSec: rate(10 * n, ms), publishedPerSec: rate(n, ms) } };
  },
};

function endToEnd(name: string, perSec: number, seconds: number): Workload {
  return {
    name, title: `end-to-end latency at ${perSec.toLocaleString("en-US")} msg/s (publish → handler)`,
    async run(ctx) {
      const n = scaled(ctx, perSec * seconds, 100);
      const subClient = await ctx.connect(`${name}-sub`);
      const pubClient = await ctx.connect(`${name}-pub`);
      const topic = `${ctx.prefix}.${name}`;
      const lat: number[] = [];
      let done!: () => void;
      const all = new Promise<void>((r) => (done = r));
      const sub = await subClient.subscribe(topic, {
        from: "latest", maxInFlight: 1000,
        handler: (m) => {
          lat.push(performance.now() - Number(m.headers["t"]));
          if (lat.length % 500 === 0) ctx.progress(lat.length, n);
          if (lat.length >= n) done();
        },
      });
      const payload = payloadOf(128);
      const t0 = performance.now();
      let sent = 0;
      const publishes: Promise<unknown>[] = [];
      // Paced by the clock: each millisecond sends what is due by then (one request per message).
      while (sent < n) {
        const due = Math.min(n, Math.floor(((performance.now() - t0) * perSec) / 1000) + 1);
        for (; sent < due; sent++) publishes.push(pubClient.publish(topic, payload, { headers: { t: String(performance.now()) } }));
        await sleep(1);
      }
      await Promise.all(publishes);
      await Promise.race([all, sleep(30_000)]);
      await sub.unsubscribe();
      if (lat.length < n) throw new Error(`${name}: ${n - lat.length} of ${n} messages were not delivered within 30 s`);
      return { messages: n, figures: { p50Ms: r2(percentile(lat, 50)), p99Ms: r2(percentile(lat, 99)), maxMs: r2(Math.max(...lat)) } };
    },
  };
}

/** 1,000,000 stored messages: publish them, restart the cluster, time to ready and memory per node. */
const storedMillion: Workload = {
  name: "scale-1m-restart", title: "1,000,000 stored messages: restart to ready, RSS per node", scaleOnly: true, needsStartedCluster: true,
  async run(ctx) {
    const n = scaled(ctx, 1_000_000);
    const c = await ctx.connect("scale-1m");
    // Each node's own memory while the store grows, sampled every 50,000 messages (the cost's peak RSS adds mapped table files).
    const peakAnon = new Map<string, number>();
    const sample = (): void => {
      for (const node of ctx.cluster.nodes) {
        const pid = node.pid();
        if (pid !== undefined) peakAnon.set(node.id, Math.max(peakAnon.get(node.id) ?? 0, procRssAnonMiB(pid)));
      }
    };
    const ms = await publishAsync(c, `${ctx.prefix}.million`, payloadOf(128), n, 1000, (d) => {
      ctx.progress(d, n);
      if (d % 50_000 === 0) sample();
    });
    sample();
    await c.close();
    const readyMs = await ctx.cluster.restart();
    const figures: Record<string, number> = { publishMsgPerSec: rate(n, ms), restartToReadyMs: Math.round(readyMs) };
    for (const [id, mib] of peakAnon) figures[`peakRssAnonMiB.${id}`] = Math.round(mib);
    for (const node of ctx.cluster.nodes) {
      const pid = node.pid();
      if (pid !== undefined) figures[`rssMiB.${node.id}`] = Math.round(procRssMiB(pid));
    }
    return { messages: n, figures };
  },
};

/** 10,000 topics: one message each, then list them. */
const manyTopics: Workload = {
  name: "scale-10k-topics", title: "10,000 topics: publish one message to each, list them", scaleOnly: true,
  async run(ctx) {
    const n = scaled(ctx, 10_000);
    const c = await ctx.connect("scale-topics");
    const pub = c.publisher({ windowMax: 1000 });
    const payload = payloadOf(128);
    const t0 = performance.now();
    const commits = new CommitTracker();
    for (let i = 0; i < n; i++) {
      commits.track((await pub.publish(`${ctx.prefix}.topics.t${i}`, payload)).committed);
      if (i % 1000 === 0) ctx.progress(i, n);
    }
    await pub.flush();
    await commits.settled();
    const publishMs = performance.now() - t0;
    await pub.close();
    const t1 = performance.now();
    const listed = await c.topics.list({ prefix: `${ctx.prefix}.topics.` });
    const listMs = performance.now() - t1;
    return { messages: n, figures: { publishMsgPerSec: rate(n, publishMs), topicsListed: listed.length, listMs: Math.round(listMs) } };
  },
};

/** 10,000 wildcard subscriptions attached, then messages that each match one of them. */
const manyWildcards: Workload = {
  name: "scale-10k-wildcard", title: "10,000 wildcard subscriptions: subscribe, then publish and deliver", scaleOnly: true,
  async run(ctx) {
    const subsN = scaled(ctx, 10_000);
    const perClient = 1000;
    const base = `${ctx.prefix}.w`;
    let delivered = 0;
    const clients: RaftbusClient[] = [];
    for (let i = 0; i < Math.ceil(subsN / perClient); i++) clients.push(await ctx.connect(`wild-${i}`));
    const t0 = performance.now();
    const subs: Subscription[] = [];
    for (let i = 0; i < subsN; i++) {
      subs.push(await (clients[Math.floor(i / perClient)] as RaftbusClient).subscribe(`${base}.s${i}.*`, { maxInFlight: 10, handler: () => void (delivered += 1) }));
      if (i % 200 === 0) ctx.progress(i, subsN);
    }
    const subscribeMs = performance.now() - t0;
    const n = scaled(ctx, 20_000);
    const r = rng(7);
    const pubClient = await ctx.connect("wild-pub");
    const pub = pubClient.publisher({ windowMax: 1000 });
    const payload = payloadOf(128);
    const t1 = performance.now();
    for (let i = 0; i < n; i++) await pub.publish(`${base}.s${Math.floor(r() * subsN)}.x`, payload);
    await pub.flush();
    while (delivered < n && performance.now() - t1 < 120_000) await sleep(10);
    const ms = performance.now() - t1;
    await pub.close();
    if (delivered < n) throw new Error(`scale-10k-wildcard: ${n - delivered} of ${n} messages not delivered in 120 s`);
    return { messages: n, figures: { subscribePerSec: rate(subsN, subscribeMs), deliveredPerSec: rate(n, ms) } };
  },
};

/** Sync publish latencies (ms) of `n` messages, each to its own topic under `base` (so no match cache helps), with payload `{ k: -1 }`. */
async function syncLatencies(c: RaftbusClient, base: string, n: number, progress: (done: number) => void): Promise<number[]> {
  const lat: number[] = [];
  const payload = new TextEncoder().encode(JSON.stringify({ k: -1, pad: "p".repeat(100) }));
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await c.publish(`${base}.q${i}`, payload);
    lat.push(performance.now() - t);
    if (i % 100 === 0) progress(i);
  }
  return lat;
}

/**
 * 10,000 subscriptions that every publish must test: half regex patterns
 * (each tried against every new topic), half filters on a wildcard that
 * matches every publish (each evaluated against the payload, parsed once).
 * None matches, so the figure is the matching cost on the publish path:
 * sync publish latency before and after the subscriptions exist (issue 13
 * item 6 states the bound in the README).
 */
const manyMatchers: Workload = {
  name: "scale-10k-matchers", title: "10,000 regex and filter subscriptions: sync publish latency before/after", scaleOnly: true,
  async run(ctx) {
    const subsN = scaled(ctx, 10_000);
    const n = scaled(ctx, 500);
    const base = `${ctx.prefix}.m`;
    const pubClient = await ctx.connect("matchers-pub");
    await pubClient.publish(`${base}.warm`, payloadOf(16));
    const before = await syncLatencies(pubClient, `${base}.before`, n, (d) => ctx.progress(d, 2 * n + subsN));
    const perClient = 1000;
    const clients: RaftbusClient[] = [];
    for (let i = 0; i < Math.ceil(subsN / perClient); i++) clients.push(await ctx.connect(`matchers-${i}`));
    const escaped = base.replace(/\./g, "\\.");
    const t0 = performance.now();
    for (let i = 0; i < subsN; i++) {
      const c = clients[Math.floor(i / perClient)] as RaftbusClient;
      if (i % 2 === 0) await c.subscribe(`/${escaped}\\.after\\.z${i}(a|b)*/`, { maxInFlight: 1, handler: () => undefined });
      else await c.subscribe(`${base}.after.*`, { filter: `k == ${i}`, maxInFlight: 1, handler: () => undefined });
      if (i % 200 === 0) ctx.progress(n + i, 2 * n + subsN);
    }
    const subscribeMs = performance.now() - t0;
    const after = await syncLatencies(pubClient, `${base}.after`, n, (d) => ctx.progress(n + subsN + d, 2 * n + subsN));
    for (const c of clients) await c.close();
    return {
      messages: 2 * n,
      figures: {
        subscriptions: subsN, subscribePerSec: rate(subsN, subscribeMs),
        p50BeforeMs: r2(percentile(before, 50)), p99BeforeMs: r2(percentile(before, 99)),
        p50AfterMs: r2(percentile(after, 50)), p99AfterMs: r2(percentile(after, 99)),
      },
    };
  },
};

/** Every workload, in the order they run. */
export const WORKLOADS: readonly Workload[] = [
  asyncPublish("publish-async-128", 128, 50_000),
  asyncPublish("publish-async-1k", 1024, 20_000),
  syncPublish,
  concurrentPublish,
  durableConsumer,
  workQueue,
  fanOut,
  endToEnd("e2e-500", 500, 10),
  endToEnd("e2e-5000", 5000, 5),
  storedMillion,
  manyTopics,
  manyWildcards,
  manyMatchers,
];
