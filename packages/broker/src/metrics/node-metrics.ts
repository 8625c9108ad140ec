/**
 * A node's Prometheus metrics (SPEC §7), on prom-client: one registry per
 * node (several nodes may share a process in tests), every series labelled
 * `node`, named by Prometheus conventions (`_total` counters, `_seconds`
 * histograms, base units). Counters the Raft driver already keeps
 * (RaftNodeStats, which the benchmarks read too) are read at scrape time —
 * one counter source, not two; only what a counter cannot carry (latency
 * distributions) is observed here as it happens.
 *
 * Per-topic series are capped ({@link LabelCap}): past `topicLabelsMax`
 * distinct topics the rest are reported as `topic="_other"`.
 *
 * Two kinds of broker figures: `raftbus_messages_*_total{topic}` count what
 * THIS node handled as leader (sum them across nodes), while
 * `raftbus_topic_*` and `raftbus_subscription_*` come from the replicated
 * state and are equal on every node (take the max).
 */
import { statfs } from "node:fs/promises";
import { getHeapStatistics } from "node:v8";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RaftNode, RaftObserver, Role } from "@raftbus/raft";
import type { BrokerFigures } from "../queries/metrics-snapshot.ts";
import { AppliedClock } from "./applied-clock.ts";
import { LabelCap } from "./label-cap.ts";

/** What the scrape-time collectors read. */
export interface MetricSources {
  readonly raft: RaftNode<unknown>;
  readonly sessions: () => number;
  readonly consumers: () => number;
  readonly figures: () => Promise<BrokerFigures>;
  /** This node's disk against its diskFreeMinBytes floor (server/storage-guard.ts). */
  readonly disk?: () => { readonly low: boolean; readonly minBytes: number };
}

/** Options of {@link NodeMetrics}. */
export interface NodeMetricsOptions {
  readonly nodeId: string;
  /** Distinct topic (and subscription) label values before `_other`; default 100. */
  readonly topicLabelsMax?: number;
  /** The data directory, whose file system's free space is reported (disk pressure). */
  readonly dataDir?: string;
}

const ROLES: readonly Role[] = ["follower", "preCandidate", "candidate", "leader"];
/** Latency buckets from 0.5 ms to 10 s: fsyncs on SSDs take ~1 ms, on SD cards 100 ms+. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Entries or proposals per batch. */
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** The metrics of one node; see the module comment. */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly topics: LabelCap;
  private readonly subscriptions: LabelCap;
  private readonly appliedClock = new AppliedClock();
  private sources: MetricSources | undefined;

  private readonly fsync: Histogram;
  private readonly append: Histogram;
  private readonly appendEntries: Histogram;
  private readonly proposalBatch: Histogram;
  private readonly publishCommit: Histogram;
  private readonly commitDelivery: Histogram;
  private readonly published: Counter<"topic">;
  private readonly delivered: Counter<"topic">;
  private readonly redelivered: Counter<"topic">;
  private readonly acked: Counter<"topic">;
  private readonly failed: Counter<"topic">;
  private readonly elections: Counter;
  private readonly sysPublished: Counter<"family">;
  private readonly sysDropped: Counter<"family" | "reason">;
  private readonly leaderChanges: Counter;
  private readonly timeEntries: Counter;

  constructor(o: NodeMetricsOptions) {
    this.topics = new LabelCap(o.topicLabelsMax ?? 100);
    this.subscriptions = new LabelCap(o.topicLabelsMax ?? 100);
    const r = [this.registry];
    this.registry.setDefaultLabels({ node: o.nodeId });
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });

    this.fsync = new Histogram({ name: "raftbus_raft_fsync_duration_seconds", help: "Duration of fsync'd Raft log writes", buckets: LATENCY_BUCKETS, registers: r });
    this.append = new Histogram({ name: "raftbus_raft_append_duration_seconds", help: "Duration of every Raft log write (fsync'd or not)", buckets: LATENCY_BUCKETS, registers: r });
    this.appendEntries = new Histogram({ name: "raftbus_raft_append_entries", help: "Entries per Raft log write", buckets: SIZE_BUCKETS, registers: r });
    this.proposalBatch = new Histogram({ name: "raftbus_raft_proposal_batch_size", help: "Proposals per append batch (group commit)", buckets: SIZE_BUCKETS, registers: r });
    this.publishCommit = new Histogram({ name: "raftbus_publish_commit_duration_seconds", help: "Publish request received to committed and applied on the leader", buckets: LATENCY_BUCKETS, registers: r });
    this.commitDelivery = new Histogram({ name: "raftbus_commit_delivery_duration_seconds", help: "Message applied on the leader to pushed to a consumer", buckets: LATENCY_BUCKETS, registers: r });
    const topicCounter = (name: string, help: string) => new Counter({ name, help, labelNames: ["topic"] as const, registers: r });
    this.published = topicCounter("raftbus_messages_published_total", "Messages this node committed as leader, by topic");
    this.delivered = topicCounter("raftbus_messages_delivered_total", "Deliveries this node pushed as leader (first attempts and retries), by topic");
    this.redelivered = topicCounter("raftbus_messages_redelivered_total", "Redeliveries (retries) this node pushed as leader, by topic");
    this.acked = topicCounter("raftbus_messages_acked_total", "Acks this node recorded as leader, by topic");
    this.failed = topicCounter("raftbus_messages_failed_total", "Fails this node recorded as leader, by topic");
    this.elections = new Counter({ name: "raftbus_raft_elections_total", help: "Elections this node started (became candidate)", registers: r });
    this.leaderChanges = new Counter({ name: "raftbus_raft_leader_changes_total", help: "Leader changes this node observed", registers: r });
    this.timeEntries = new Counter({ name: "raftbus_time_entries_total", help: "Time entries (ticks) this node wrote as leader: one per leadership to catch up, then only when time-driven work fell due", registers: r });
    this.sysPublished = new Counter({ name: "raftbus_sys_events_published_total", help: "System events this node handed to the log, by family", labelNames: ["family"] as const, registers: r });
    this.sysDropped = new Counter({ name: "raftbus_sys_events_dropped_total", help: "System events dropped (rate limit, full queue, no leader), by family and reason", labelNames: ["family", "reason"] as const, registers: r });
    this.raftCollectors(r);
    this.brokerCollectors(r);
    this.resourceCollectors(r, o.dataDir);
  }

  /** Connect the scrape-time collectors to the running node. */
  bind(sources: MetricSources): void {
    this.sources = sources;
  }

  /** The driver's timing hooks. */
  readonly raftObserver: RaftObserver = {
    storageWrite: (seconds, synced, entries) => {
      this.append.observe(seconds);
      if (synced) this.fsync.observe(seconds);
      if (entries > 0) this.appendEntries.observe(entries);
    },
    proposalBatch: (size) => this.proposalBatch.observe(size),
    applied: (lastIndex, atMs) => this.appliedClock.mark(lastIndex, atMs),
  };

  /** A role/leader change seen by this node. */
  roleChanged(role: Role, leaderChanged: boolean): void {
    if (role === "candidate") this.elections.inc();
    if (leaderChanged) this.leaderChanges.inc();
  }

  /** A time entry this node proposed as leader. */
  timeEntryWritten(): void {
    this.timeEntries.inc();
  }

  /** A publish request committed after `seconds`; `topics` lists each stored message's topic. */
  publishCommitted(seconds: number, topics: readonly string[]): void {
    this.publishCommit.observe(seconds);
    for (const t of topics) this.published.inc({ topic: this.topics.label(t) });
  }

  /** A delivery pushed to a consumer: the message committed at Raft `index`. */
  deliveryPushed(topic: string, index: number, attempt: number, nowMs: number): void {
    const label = { topic: this.topics.label(topic) };
    this.delivered.inc(label);
    if (attempt > 1) this.redelivered.inc(label);
    const at = this.appliedClock.appliedAt(index);
    if (at !== undefined && attempt === 1) this.commitDelivery.observe(Math.max(0, nowMs - at) / 1000);
  }

  /** Acks or fails recorded for messages of `topics`. */
  settled(kind: "ack" | "fail", topics: readonly string[]): void {
    const c = kind === "ack" ? this.acked : this.failed;
    for (const t of topics) c.inc({ topic: this.topics.label(t) });
  }

  /** System events of `family` handed to the log. */
  sysEventsPublished(family: string, n: number): void {
    this.sysPublished.inc({ family }, n);
  }

  /** System events of `family` dropped for `reason`. */
  sysEventsDropped(family: string, reason: string, n = 1): void {
    this.sysDropped.inc({ family, reason }, n);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The exposition's content type. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Current value of a counter or gauge (summed over labels), for system events. */
  async value(name: string): Promise<number> {
    const m = this.registry.getSingleMetric(name);
    if (m === undefined) return 0;
    const v = await m.get();
    return v.values.reduce((sum, x) => sum + x.value, 0);
  }

  /** Quantile estimate of a histogram from its buckets (for system events), in its unit. */
  async quantile(name: string, q: number): Promise<number | null> {
    const m = this.registry.getSingleMetric(name);
    if (m === undefined) return null;
    const v = await m.get();
    const values = v.values as readonly (typeof v.values[number] & { metricName?: string })[];
    const buckets = values.filter((x) => x.metricName === `${name}_bucket`).map((x) => ({ le: x.labels["le"] === "+Inf" ? Infinity : Number(x.labels["le"]), count: x.value }));
    const total = buckets.find((b) => b.le === Infinity)?.count ?? 0;
    if (total === 0) return null;
    const hit = buckets.sort((a, b) => a.le - b.le).find((b) => b.count >= q * total);
    return hit === undefined || hit.le === Infinity ? buckets[buckets.length - 2]?.le ?? null : hit.le;
  }

  private raftCollectors(r: Registry[]): void {
    const self = (): MetricSources | undefined => this.sources;
    const gauge = (name: string, help: string, read: (s: MetricSources) => number) => new Gauge({
      name, help, registers: r, collect() {
        const s = self();
        if (s !== undefined) this.set(read(s));
      },
    });
    gauge("raftbus_raft_term", "Current Raft term", (s) => s.raft.status().term);
    gauge("raftbus_raft_is_leader", "1 when this node leads", (s) => (s.raft.isLeader() ? 1 : 0));
    gauge("raftbus_raft_commit_index", "Highest committed log index", (s) => s.raft.status().commit);
    gauge("raftbus_raft_applied_index", "Highest log index applied to the broker", (s) => s.raft.status().applied);
    gauge("raftbus_raft_last_index", "Last log index", (s) => s.raft.status().lastIndex);
    gauge("raftbus_client_sessions", "Connected client sessions", (s) => s.sessions());
    gauge("raftbus_consumers", "Subscribers attached to this node", (s) => s.consumers());
    gauge("raftbus_storage_full", "1 while free disk space is below diskFreeMinBytes (the leader refuses publishes; $sys.alerts.storage-full)", (s) => (s.disk?.().low === true ? 1 : 0));
    gauge("raftbus_disk_free_min_bytes", "The diskFreeMinBytes floor (0: no floor)", (s) => s.disk?.().minBytes ?? 0);
    new Gauge({
      name: "raftbus_raft_role", help: "1 for the role this node has now", labelNames: ["role"] as const, registers: r,
      collect() {
        const s = self();
        if (s === undefined) return;
        const role = s.raft.status().role;
        for (const x of ROLES) this.set({ role: x }, x === role ? 1 : 0);
      },
    });
    new Gauge({
      name: "raftbus_raft_follower_lag_entries", help: "Leader only: entries each follower's log trails the leader's", labelNames: ["peer"] as const, registers: r,
      collect() {
        this.reset();
        const s = self();
        if (s === undefined || !s.raft.isLeader()) return;
        const st = s.raft.status();
        for (const p of st.peers) if (p.id !== st.id) this.set({ peer: p.id }, Math.max(0, st.lastIndex - p.match));
      },
    });
    const counter = (name: string, help: string, read: (s: MetricSources) => number) => new Counter({
      name, help, registers: r, collect() {
        const s = self();
        if (s === undefined) return;
        this.reset();
        this.inc(read(s));
      },
    });
    counter("raftbus_raft_proposals_total", "Entries proposed on this node", (s) => s.raft.stats.proposals);
    counter("raftbus_raft_proposal_batches_total", "Append batches (group commits)", (s) => s.raft.stats.proposalBatches);
    counter("raftbus_raft_fsyncs_total", "Fsync'd Raft log writes", (s) => s.raft.stats.syncedWrites);
    counter("raftbus_raft_applied_entries_total", "Entries applied", (s) => s.raft.stats.appliedEntries);
    counter("raftbus_raft_snapshots_taken_total", "Snapshots taken", (s) => s.raft.stats.snapshotsTaken);
    counter("raftbus_raft_snapshots_restored_total", "Snapshots installed or restored", (s) => s.raft.stats.snapshotsRestored);
  }

  private resourceCollectors(r: Registry[], dataDir: string | undefined): void {
    new Gauge({
      name: "raftbus_heap_limit_bytes", help: "V8 heap size limit (memory pressure: nodejs_heap_size_used_bytes / this)", registers: r,
      collect() {
        this.set(getHeapStatistics().heap_size_limit);
      },
    });
    if (dataDir === undefined) return;
    const disk = async (): Promise<{ free: number; size: number } | undefined> => {
      try {
        const st = await statfs(dataDir);
        return { free: st.bavail * st.bsize, size: st.blocks * st.bsize };
      } catch {
        return undefined;
      }
    };
    new Gauge({
      name: "raftbus_disk_free_bytes", help: "Free bytes on the data directory's file system (available to this process)", registers: r,
      async collect() {
        const d = await disk();
        if (d !== undefined) this.set(d.free);
      },
    });
    new Gauge({
      name: "raftbus_disk_size_bytes", help: "Size of the data directory's file system", registers: r,
      async collect() {
        const d = await disk();
        if (d !== undefined) this.set(d.size);
      },
    });
  }

  private brokerCollectors(r: Registry[]): void {
    const self = (): MetricSources | undefined => this.sources;
    const topics = this.topics;
    const subscriptions = this.subscriptions;
    // One state read per scrape feeds all the broker series below.
    let pending: Promise<BrokerFigures | undefined> | undefined;
    const figures = (): Promise<BrokerFigures | undefined> => {
      pending ??= (self()?.figures() ?? Promise.resolve(undefined)).catch(() => undefined).finally(() => {
        setImmediate(() => (pending = undefined));
      });
      return pending;
    };
    const topicGauge = (name: string, help: string, read: (t: BrokerFigures["topics"][number]) => number) => new Gauge({
      name, help, labelNames: ["topic"] as const, registers: r,
      async collect() {
        this.reset();
        const f = await figures();
        for (const t of f?.topics ?? []) this.inc({ topic: topics.label(t.name) }, read(t));
      },
    });
    topicGauge("raftbus_topic_messages", "Retained messages per topic (replicated state)", (t) => t.messages);
    topicGauge("raftbus_topic_bytes", "Retained payload bytes per topic (replicated state)", (t) => t.bytes);
    topicGauge("raftbus_dlq_messages", "Dead letters held per topic (replicated state)", (t) => t.dlqSize);
    new Counter({
      name: "raftbus_topic_dead_lettered_total", help: "Messages ever moved to the topic's dead-letter queue (replicated state)", labelNames: ["topic"] as const, registers: r,
      async collect() {
        this.reset();
        const f = await figures();
        for (const t of f?.topics ?? []) this.inc({ topic: topics.label(t.name) }, t.deadLettered);
      },
    });
    const subGauge = (name: string, help: string, read: (s: BrokerFigures["subscriptions"][number]) => number) => new Gauge({
      name, help, labelNames: ["subscription"] as const, registers: r,
      async collect() {
        this.reset();
        const f = await figures();
        for (const s of f?.subscriptions ?? []) this.inc({ subscription: subscriptions.label(s.name) }, read(s));
      },
    });
    subGauge("raftbus_subscription_pending_messages", "Messages matched and not yet delivered: consumer lag (replicated state)", (s) => s.pending);
    subGauge("raftbus_subscription_outstanding_messages", "Delivered and not yet acked, or waiting for a retry (replicated state)", (s) => s.outstanding);
    new Counter({
      name: "raftbus_metrics_label_overflow_total", help: "Label lookups folded into _other because the cardinality cap was reached", labelNames: ["label"] as const, registers: r,
      collect() {
        this.reset();
        this.inc({ label: "topic" }, topics.overflowed);
        this.inc({ label: "subscription" }, subscriptions.overflowed);
      },
    });
  }
}
