/**
 * What a node watches about itself and, when it leads, about the cluster:
 * sampled every SAMPLE_MS (in memory, no disk I/O), published only when it
 * matters. Health (`$sys.health.<node>`, leader: `$sys.health.cluster`) is
 * published when its status, role, leader or reachability changes, and at
 * its interval while client traffic flows (or always, with `periodic`);
 * alerts fire and resolve on transitions; snapshots and peer
 * authentication failures are noticed from the driver's and transport's
 * counters. Metrics reports (`$sys.metrics.*`) go out at their interval.
 *
 * Nothing runs while the families it serves are all off.
 */
import { statfs } from "node:fs/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { IntervalHistogram } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import type { RaftNode } from "@raftbus/raft";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import type { BrokerFigures } from "../queries/metrics-snapshot.ts";
import type { AlertData, AlertKind, BrokerMetricsData, ClusterHealthData, HealthStatus, MemberHealth, NodeHealthData, PersistenceMetricsData, ReplicationMetricsData } from "./events.ts";
import { isSystemTopic as isSystemTopicName } from "../topic/topic-name.ts";
import type { SysBus } from "./sys-bus.ts";

/** How often the node looks at itself. */
export const SAMPLE_MS = 1000;
/** Disk usage changes slowly: statfs at most this often. */
const DISK_SAMPLE_MS = 10_000;
/** Entries behind the leader that make a follower "lagging". */
const LAG_ALERT_ENTRIES = 1000;
/** …for this long before follower-lag fires. */
const LAG_ALERT_MS = 10_000;
/** Leader changes within FLAP_WINDOW_MS that count as flapping. */
const FLAP_CHANGES = 3;
const FLAP_WINDOW_MS = 60_000;
/** Free disk below this fraction: disk pressure. */
const DISK_FREE_MIN = 0.1;
/** Heap above this fraction of its limit: memory pressure. */
const HEAP_USED_MAX = 0.9;
/** Dead letters added within a minute that count as DLQ growth. */
const DLQ_GROWTH_PER_MIN = 10;
/** Fails / (acks + fails) above this over a minute, with at least FAIL_MIN_SETTLED settled: high failure rate. */
const FAIL_RATE_MAX = 0.2;
const FAIL_MIN_SETTLED = 20;
/** Event-loop delay p99 above this: the node is degraded. */
const LOOP_LAG_MAX_MS = 500;
/** Topics and subscriptions listed in one metrics.broker event (the busiest first for subscriptions). */
const REPORTED_MAX = 50;

/** What the monitor reads. */
export interface MonitorSources {
  readonly nodeId: string;
  readonly dataDir: string;
  readonly raft: RaftNode<unknown>;
  /** A member is unreachable after this long without contact. */
  readonly downAfterMs: number;
  readonly sessions: () => number;
  readonly clientAddress: (id: string) => string | null;
  readonly figures: () => Promise<BrokerFigures>;
  readonly metrics: NodeMetrics;
  /** Peer connections refused for a wrong secret so far. */
  readonly peerAuthFailures: () => number;
  /** This node's disk against its diskFreeMinBytes floor (server/storage-guard.ts). */
  readonly disk?: () => { readonly low: boolean; readonly freeBytes: number | null; readonly minBytes: number };
}

interface Published {
  key: string;
  at: number;
  activity: number;
}

/** See the module comment. */
export class SysMonitor {
  private timer: ReturnType<typeof setInterval> | undefined;
  private sampling = false;
  private readonly startedAt = Date.now();
  private loop: IntervalHistogram | undefined;
  private disk: { free: number; size: number; at: number } | undefined;
  private nodeHealth: Published | undefined;
  private clusterHealth: Published | undefined;
  private metricsAt = Date.now();
  private metricsBase: Record<string, number> = {};
  private readonly firing = new Map<string, AlertData>();
  private lagSince = new Map<string, number>();
  private readonly leaderChanges: number[] = [];
  private lastLeader: string | null = null;
  private snapshots = { taken: 0, restored: 0 };
  private authFailures = 0;
  private dlqMinute: { at: number; deadLettered: Map<string, number> } | undefined;
  private settleMinute: { at: number; acked: number; failed: number } | undefined;
  /** Messages ever published per topic at the last metrics report, for per-topic rates. */
  private publishedBase = new Map<string, number>();

  constructor(private readonly bus: SysBus, private readonly s: MonitorSources) {}

  start(): void {
    this.snapshots = { taken: this.s.raft.stats.snapshotsTaken, restored: this.s.raft.stats.snapshotsRestored };
    this.authFailures = this.s.peerAuthFailures();
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.loop?.disable();
  }

  /** A leader change this node saw (for leader-flapping). */
  leaderChanged(leader: string | null): void {
    if (leader === null || leader === this.lastLeader) return;
    this.lastLeader = leader;
    const now = Date.now();
    this.leaderChanges.push(now);
    while (this.leaderChanges.length > 0 && now - this.leaderChanges[0]! > FLAP_WINDOW_MS) this.leaderChanges.shift();
  }

  private async sample(): Promise<void> {
    if (this.sampling) return;
    const b = this.bus;
    const wantHealth = b.enabled("health");
    const wantAlerts = b.enabled("alerts");
    const wantMetrics = b.enabled("metrics");
    if (!wantHealth && !wantAlerts && !wantMetrics && !b.enabled("lifecycle") && !b.enabled("security")) {
      this.loop?.disable();
      this.loop = undefined;
      return;
    }
    this.sampling = true;
    try {
      this.countersToEvents();
      const now = Date.now();
      const leading = this.s.raft.isLeader();
      const figures = wantHealth || wantAlerts || wantMetrics ? await this.s.figures() : undefined;
      const activity = figures === undefined ? 0 : clientPublished(figures);
      if (wantHealth || wantAlerts) {
        const health = await this.nodeHealthNow(now);
        if (wantHealth) this.maybePublishNodeHealth(health, now, activity);
        if (wantAlerts) this.nodeAlerts(health);
        if (leading) {
          const cluster = this.clusterHealthNow(now);
          if (wantHealth) this.maybePublishClusterHealth(cluster, now, activity);
          if (wantAlerts && figures !== undefined) await this.clusterAlerts(cluster, figures, now);
        }
      }
      if (wantMetrics && figures !== undefined) await this.maybeReportMetrics(figures, now, activity, leading);
    } catch {
      // A sample that failed (node stopping, state closed) is skipped; the next one tries again.
    } finally {
      this.sampling = false;
    }
  }

  /** Lifecycle and security events the driver's and transport's counters reveal. */
  private countersToEvents(): void {
    const st = this.s.raft.stats;
    const index = this.s.raft.status().applied;
    if (st.snapshotsTaken > this.snapshots.taken) this.bus.emit("lifecycle", "snapshot.taken", "info", { index });
    if (st.snapshotsRestored > this.snapshots.restored) this.bus.emit("lifecycle", "snapshot.installed", "info", { index });
    this.snapshots = { taken: st.snapshotsTaken, restored: st.snapshotsRestored };
    const auth = this.s.peerAuthFailures();
    if (auth > this.authFailures) {
      this.bus.emit("security", "peer.auth-failed", "warning", { reason: "a peer connection presented the wrong cluster secret", details: { count: auth - this.authFailures } });
    }
    this.authFailures = auth;
  }

  private async nodeHealthNow(now: number): Promise<NodeHealthData> {
    if (this.loop === undefined) {
      this.loop = monitorEventLoopDelay({ resolution: 20 });
      this.loop.enable();
    }
    const lagMs = this.loop.count > 0 ? this.loop.percentile(99) / 1e6 : 0;
    this.loop.reset();
    if (this.disk === undefined || now - this.disk.at >= DISK_SAMPLE_MS) {
      try {
        const st = await statfs(this.s.dataDir);
        this.disk = { free: st.bavail * st.bsize, size: st.blocks * st.bsize, at: now };
      } catch {
        this.disk = undefined;
      }
    }
    const st = this.s.raft.status();
    const mem = process.memoryUsage();
    const heapLimit = getHeapStatistics().heap_size_limit;
    const reasons: string[] = [];
    let status: HealthStatus = "healthy";
    if (st.leader === null) {
      reasons.push("no leader known");
      status = "unhealthy";
    }
    if (st.commit - st.applied > LAG_ALERT_ENTRIES) reasons.push(`applying ${st.commit - st.applied} entries behind the commit index`);
    if (this.disk !== undefined && this.disk.free < this.disk.size * DISK_FREE_MIN) reasons.push("disk nearly full");
    if (mem.heapUsed > heapLimit * HEAP_USED_MAX) reasons.push("memory pressure");
    if (lagMs > LOOP_LAG_MAX_MS) reasons.push("event loop lagging");
    if (status === "healthy" && reasons.length > 0) status = "degraded";
    return {
      status, reasons, role: st.role, term: st.term, leader: st.leader, commitIndex: st.commit, appliedIndex: st.applied,
      lastIndex: st.lastIndex, sessions: this.s.sessions(), rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, heapLimitBytes: heapLimit,
      diskFreeBytes: this.disk?.free ?? null, diskSizeBytes: this.disk?.size ?? null, eventLoopLagMs: Math.round(lagMs),
      uptimeMs: now - this.startedAt,
    };
  }

  private maybePublishNodeHealth(h: NodeHealthData, now: number, activity: number): void {
    const key = JSON.stringify([h.status, h.reasons, h.role, h.leader, h.term]);
    if (this.due(this.nodeHealth, key, now, activity, "health")) {
      this.nodeHealth = { key, at: now, activity };
      this.bus.emit("health", "node.health", h.status === "healthy" ? "info" : "warning", h, this.s.nodeId);
    }
  }

  private clusterHealthNow(now: number): ClusterHealthData {
    const st = this.s.raft.status();
    const contact = this.s.raft.lastContact();
    const members: MemberHealth[] = [...st.conf.voters, ...st.conf.learners].map((id) => {
      const self = id === st.id;
      const pr = st.peers.find((p) => p.id === id);
      const at = contact.get(id);
      const lastContactMs = self ? 0 : at === undefined ? null : Math.max(0, now - at);
      return {
        id, role: self ? "leader" : st.conf.learners.includes(id) ? "learner" : "follower", voter: st.conf.voters.includes(id),
        reachable: self || (lastContactMs !== null && lastContactMs < this.s.downAfterMs),
        lagEntries: self ? 0 : pr === undefined ? null : Math.max(0, st.lastIndex - pr.match),
        matchIndex: self ? st.lastIndex : pr?.match ?? null, lastContactMs, clientAddress: this.s.clientAddress(id),
      };
    });
    const down = members.filter((m) => !m.reachable).map((m) => m.id);
    const lagging = members.filter((m) => m.reachable && (m.lagEntries ?? 0) > LAG_ALERT_ENTRIES).map((m) => m.id);
    const reachableVoters = members.filter((m) => m.voter && m.reachable).length;
    const voters = members.filter((m) => m.voter).length;
    const reasons = [...down.map((id) => `${id} unreachable`), ...lagging.map((id) => `${id} lagging`)];
    const status: HealthStatus = reachableVoters * 2 <= voters ? "unhealthy" : reasons.length > 0 ? "degraded" : "healthy";
    return { status, reasons, leader: st.id, term: st.term, commitIndex: st.commit, members };
  }

  private maybePublishClusterHealth(c: ClusterHealthData, now: number, activity: number): void {
    const key = JSON.stringify([c.status, c.reasons, c.leader, c.term, c.members.map((m) => [m.id, m.reachable, m.role])]);
    if (this.due(this.clusterHealth, key, now, activity, "health")) {
      this.clusterHealth = { key, at: now, activity };
      this.bus.emit("health", "cluster.health", c.status === "healthy" ? "info" : c.status === "degraded" ? "warning" : "critical", c, "cluster");
    }
  }

  /** Publish now? On a change at once; at the interval when periodic or when client traffic flowed. */
  private due(last: Published | undefined, key: string, now: number, activity: number, family: "health" | "metrics"): boolean {
    if (last === undefined || last.key !== key) return true;
    const s = this.bus.settingsOf(family);
    if (now - last.at < s.intervalMs) return false;
    return s.periodic || activity !== last.activity;
  }

  private nodeAlerts(h: NodeHealthData): void {
    const node = this.s.nodeId;
    this.alert("disk-pressure", node, h.diskFreeBytes !== null && h.diskSizeBytes !== null && h.diskFreeBytes < h.diskSizeBytes * DISK_FREE_MIN,
      `less than ${DISK_FREE_MIN * 100}% free disk under ${this.s.dataDir}`, "warning", h.diskFreeBytes ?? undefined);
    const disk = this.s.disk?.();
    if (disk !== undefined) {
      this.alert("storage-full", node, disk.low, disk.low
        ? `free disk space under ${this.s.dataDir} is below diskFreeMinBytes: this node takes no new publishes while it leads, and counts as full for the majority rule`
        : `free disk space under ${this.s.dataDir} is back above diskFreeMinBytes`, "critical", disk.freeBytes ?? undefined, disk.minBytes);
    }
    this.alert("memory-pressure", node, h.heapUsedBytes > h.heapLimitBytes * HEAP_USED_MAX,
      `heap at ${Math.round((h.heapUsedBytes / h.heapLimitBytes) * 100)}% of its limit`, "warning", h.heapUsedBytes);
  }

  private async clusterAlerts(c: ClusterHealthData, f: BrokerFigures, now: number): Promise<void> {
    for (const m of c.members) {
      this.alert("node-failure", m.id, !m.reachable, m.reachable ? `${m.id} is reachable again` : `${m.id} is unreachable (no contact for ${m.lastContactMs ?? "?"} ms)`, "critical");
      const lagging = m.reachable && (m.lagEntries ?? 0) > LAG_ALERT_ENTRIES;
      if (lagging && !this.lagSince.has(m.id)) this.lagSince.set(m.id, now);
      if (!lagging) this.lagSince.delete(m.id);
      const since = this.lagSince.get(m.id);
      this.alert("follower-lag", m.id, since !== undefined && now - since >= LAG_ALERT_MS, `${m.id} trails the leader by ${m.lagEntries ?? 0} entries`, "warning", m.lagEntries ?? undefined, LAG_ALERT_ENTRIES);
    }
    while (this.leaderChanges.length > 0 && now - this.leaderChanges[0]! > FLAP_WINDOW_MS) this.leaderChanges.shift();
    this.alert("leader-flapping", "cluster", this.leaderChanges.length >= FLAP_CHANGES,
      `${this.leaderChanges.length} leader changes in the last ${FLAP_WINDOW_MS / 1000} s`, "warning", this.leaderChanges.length, FLAP_CHANGES);
    // Per-minute windows for DLQ growth and failure rate.
    if (this.dlqMinute === undefined || now - this.dlqMinute.at >= 60_000) {
      const dead = new Map(f.topics.map((t) => [t.name, t.deadLettered]));
      if (this.dlqMinute !== undefined) {
        for (const [topic, n] of dead) {
          const grown = n - (this.dlqMinute.deadLettered.get(topic) ?? n);
          this.alert("dlq-growth", topic, grown >= DLQ_GROWTH_PER_MIN, `${grown} messages dead-lettered on ${topic} in the last minute`, "warning", grown, DLQ_GROWTH_PER_MIN);
        }
      }
      this.dlqMinute = { at: now, deadLettered: dead };
      const acked = await this.s.metrics.value("raftbus_messages_acked_total");
      const failed = await this.s.metrics.value("raftbus_messages_failed_total");
      if (this.settleMinute !== undefined) {
        const a = acked - this.settleMinute.acked;
        const fl = failed - this.settleMinute.failed;
        const rate = a + fl >= FAIL_MIN_SETTLED ? fl / (a + fl) : 0;
        this.alert("high-failure-rate", "cluster", rate > FAIL_RATE_MAX, `${Math.round(rate * 100)}% of ${a + fl} settled messages failed in the last minute`, "warning", rate, FAIL_RATE_MAX);
      }
      this.settleMinute = { at: now, acked, failed };
    }
  }

  /** Fire on a false→true transition, resolve on true→false. */
  private alert(kind: AlertKind, subject: string, active: boolean, message: string, severity: "warning" | "critical", value?: number, threshold?: number): void {
    const key = `${kind}\u0000${subject}`;
    const was = this.firing.has(key);
    if (active === was) return;
    const data: AlertData = { alert: kind, subject, message, ...(value !== undefined ? { value } : {}), ...(threshold !== undefined ? { threshold } : {}) };
    if (active) {
      this.firing.set(key, data);
      this.bus.emit("alerts", "alert.firing", severity, data, kind);
    } else {
      this.firing.delete(key);
      this.bus.emit("alerts", "alert.resolved", "info", data, kind);
    }
  }

  private async maybeReportMetrics(f: BrokerFigures, now: number, activity: number, leading: boolean): Promise<void> {
    const s = this.bus.settingsOf("metrics");
    if (now - this.metricsAt < s.intervalMs) return;
    const m = this.s.metrics;
    const names = [
      "raftbus_raft_fsyncs_total", "raftbus_raft_proposals_total", "raftbus_raft_proposal_batches_total",
      "raftbus_messages_published_total", "raftbus_messages_delivered_total", "raftbus_messages_acked_total",
      "raftbus_messages_failed_total", "raftbus_messages_redelivered_total",
    ];
    const now2: Record<string, number> = {};
    for (const n of names) now2[n] = await m.value(n);
    const d = (n: string) => now2[n]! - (this.metricsBase[n] ?? 0);
    const intervalMs = now - this.metricsAt;
    const quiet = names.every((n) => d(n) === 0) && activity === (this.metricsBase["activity"] ?? activity);
    this.metricsAt = now;
    this.metricsBase = { ...now2, activity };
    if (quiet && !s.periodic) return;
    const ms = async (name: string, q: number) => {
      const v = await m.quantile(name, q);
      return v === null ? null : v * 1000;
    };
    const persistence: PersistenceMetricsData = {
      intervalMs, fsyncs: d("raftbus_raft_fsyncs_total"),
      fsyncP50Ms: await ms("raftbus_raft_fsync_duration_seconds", 0.5), fsyncP99Ms: await ms("raftbus_raft_fsync_duration_seconds", 0.99),
      appendP99Ms: await ms("raftbus_raft_append_duration_seconds", 0.99),
      proposals: d("raftbus_raft_proposals_total"), batches: d("raftbus_raft_proposal_batches_total"),
      batchSizeAvg: d("raftbus_raft_proposal_batches_total") > 0 ? d("raftbus_raft_proposals_total") / d("raftbus_raft_proposal_batches_total") : null,
    };
    this.bus.emit("metrics", "metrics.persistence", "info", persistence, "persistence");
    if (!leading) return;
    const st = this.s.raft.status();
    const contact = this.s.raft.lastContact();
    const replication: ReplicationMetricsData = {
      intervalMs, commitIndex: st.commit,
      followers: st.peers.filter((p) => p.id !== st.id).map((p) => {
        const at = contact.get(p.id);
        return { id: p.id, lagEntries: Math.max(0, st.lastIndex - p.match), lastContactMs: at === undefined ? null : now - at };
      }),
    };
    this.bus.emit("metrics", "metrics.replication", "info", replication, "replication");
    const perSec = (n: string) => Math.round((d(n) / Math.max(1, intervalMs)) * 1000 * 100) / 100;
    const clientTopics = f.topics.filter((t) => !isSystemTopicName(t.name));
    const broker: BrokerMetricsData = {
      intervalMs, publishPerSec: perSec("raftbus_messages_published_total"), deliverPerSec: perSec("raftbus_messages_delivered_total"),
      ackPerSec: perSec("raftbus_messages_acked_total"), failPerSec: perSec("raftbus_messages_failed_total"),
      retryPerSec: perSec("raftbus_messages_redelivered_total"),
      deadLettered: f.topics.reduce((a, t) => a + t.deadLettered, 0), dlqSize: f.topics.reduce((a, t) => a + t.dlqSize, 0),
      topics: clientTopics.slice(0, REPORTED_MAX).map((t) => ({
        name: t.name, messages: t.messages, bytes: t.bytes, dlqSize: t.dlqSize,
        publishPerSec: Math.round((Math.max(0, t.published - (this.publishedBase.get(t.name) ?? t.published)) / Math.max(1, intervalMs)) * 1000 * 100) / 100,
      })),
      subscriptions: f.subscriptions.filter((x) => !x.pattern.startsWith("$sys."))
        .sort((a, b) => b.pending - a.pending || b.outstanding - a.outstanding || a.name.localeCompare(b.name))
        .slice(0, REPORTED_MAX).map((x) => ({ name: x.name, pending: x.pending, outstanding: x.outstanding })),
      publishCommitP99Ms: await ms("raftbus_publish_commit_duration_seconds", 0.99),
      commitDeliveryP99Ms: await ms("raftbus_commit_delivery_duration_seconds", 0.99),
    };
    this.publishedBase = new Map(clientTopics.map((t) => [t.name, t.published]));
    this.bus.emit("metrics", "metrics.broker", "info", broker, "broker");
  }
}

/** Messages ever published to client (non-`$sys.`) topics: the "is anyone using the cluster" signal. */
function clientPublished(f: BrokerFigures): number {
  let n = 0;
  for (const t of f.topics) if (!isSystemTopicName(t.name)) n += t.published;
  return n;
}
