/**
 * The typed, versioned schemas of system events (docs/system-events.md is
 * the reference a subscriber reads). Every event is one JSON payload:
 *
 *   { "v": 1, "family": "lifecycle", "kind": "leader.elected", "node": "n2",
 *     "at": 1796…, "severity": "info", "data": { … } }
 *
 * `v` is the envelope version; a kind's `data` only ever gains optional
 * fields within a version. The `raftbus-sys-kind` header repeats the kind so
 * filters can select without parsing JSON (`raftbus-sys-kind == 'alert.firing'`).
 */
import type { Severity, SysFamily } from "./families.ts";

/** Version of the envelope and of every kind's data. */
export const SYS_EVENT_VERSION = 1;
/** Header carrying the event kind. */
export const SYS_KIND_HEADER = "raftbus-sys-kind";

/** The envelope of every system event. */
export interface SysEvent<D = unknown> {
  readonly v: typeof SYS_EVENT_VERSION;
  readonly family: SysFamily;
  readonly kind: string;
  /** The node the event is about or came from. */
  readonly node: string;
  /** When it happened, on that node's clock (ms since epoch). */
  readonly at: number;
  readonly severity: Severity;
  readonly data: D;
}

/** Who did something (audit, security): the client's own name and its session. */
export interface Actor {
  readonly client: string;
  readonly session: string;
  /** Authenticated user, once authentication exists (issue 13). */
  readonly user?: string;
}

// ---- $sys.system

/** `node.started`, `node.stopping`, `node.stopped`. */
export interface NodeLifecycleData {
  readonly version: string;
  readonly pid: number;
  readonly clientAddress: string;
  readonly uptimeMs: number;
}
/** `config.changed`: the system-event settings changed (`raftbus sys set`). */
export interface ConfigChangedData {
  readonly settings: unknown;
  readonly by: Actor;
}

// ---- $sys.health.<node> and $sys.health.cluster

/** Health status of a node or the cluster. */
export type HealthStatus = "healthy" | "degraded" | "unhealthy";

/** `node.health`. */
export interface NodeHealthData {
  readonly status: HealthStatus;
  /** Why it is not healthy (empty when healthy). */
  readonly reasons: readonly string[];
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly sessions: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapLimitBytes: number;
  readonly diskFreeBytes: number | null;
  readonly diskSizeBytes: number | null;
  readonly eventLoopLagMs: number;
  readonly uptimeMs: number;
}

/** One member in `cluster.health`. */
export interface MemberHealth {
  readonly id: string;
  readonly role: string;
  readonly voter: boolean;
  readonly reachable: boolean;
  /** Leader's view: entries behind the leader's last index (0 for the leader). */
  readonly lagEntries: number | null;
  readonly matchIndex: number | null;
  readonly lastContactMs: number | null;
  readonly clientAddress: string | null;
}

/** `cluster.health` (published by the leader). */
export interface ClusterHealthData {
  readonly status: HealthStatus;
  readonly reasons: readonly string[];
  readonly leader: string;
  readonly term: number;
  readonly commitIndex: number;
  readonly members: readonly MemberHealth[];
}

// ---- $sys.metrics.<component>

/** `metrics.persistence`. */
export interface PersistenceMetricsData {
  readonly intervalMs: number;
  readonly fsyncs: number;
  readonly fsyncP50Ms: number | null;
  readonly fsyncP99Ms: number | null;
  readonly appendP99Ms: number | null;
  readonly proposals: number;
  readonly batches: number;
  /** Proposals per group commit over the interval. */
  readonly batchSizeAvg: number | null;
}
/** `metrics.replication` (leader). */
export interface ReplicationMetricsData {
  readonly intervalMs: number;
  readonly commitIndex: number;
  readonly followers: readonly { readonly id: string; readonly lagEntries: number; readonly lastContactMs: number | null }[];
}
/** `metrics.broker`: rates per second over the interval, cluster-wide. */
export interface BrokerMetricsData {
  readonly intervalMs: number;
  readonly publishPerSec: number;
  readonly deliverPerSec: number;
  readonly ackPerSec: number;
  readonly failPerSec: number;
  readonly retryPerSec: number;
  readonly deadLettered: number;
  readonly dlqSize: number;
  /** Client topics (at most 50): retained messages and bytes, DLQ size, and messages published per second over the interval. */
  readonly topics: readonly { readonly name: string; readonly messages: number; readonly bytes: number; readonly dlqSize: number; readonly publishPerSec: number }[];
  /** Subscriptions with the longest backlog (at most 50): `pending` is consumer lag (matched, not yet delivered), `outstanding` delivered and not yet acked. */
  readonly subscriptions: readonly { readonly name: string; readonly pending: number; readonly outstanding: number }[];
  readonly publishCommitP99Ms: number | null;
  readonly commitDeliveryP99Ms: number | null;
}

// ---- $sys.lifecycle

/** `leader.elected` / `leader.lost`. */
export interface LeaderData {
  readonly term: number;
  readonly leader: string | null;
}
/** `membership.changed`. */
export interface MembershipData {
  readonly index: number;
  readonly change: string;
  readonly member: string;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}
/** `snapshot.taken` / `snapshot.installed`. */
export interface SnapshotData {
  readonly index: number;
}
/** `subscription.created` / `subscription.expired`. */
export interface SubscriptionData {
  readonly name: string;
  readonly pattern?: string;
  readonly ephemeral?: boolean;
  readonly by?: Actor;
}

// ---- $sys.alerts.<kind>

/** The alert kinds (the topic's last segment); docker/grafana/alerts.yaml has the same. */
export const ALERT_KINDS = [
  "node-failure", "disk-pressure", "memory-pressure", "dlq-growth", "high-failure-rate", "leader-flapping", "follower-lag", "storage-full",
] as const;
/** One alert kind. */
export type AlertKind = (typeof ALERT_KINDS)[number];

/** `alert.firing` / `alert.resolved`. */
export interface AlertData {
  readonly alert: AlertKind;
  /** What it is about: a node id, a topic… */
  readonly subject: string;
  readonly message: string;
  readonly value?: number;
  readonly threshold?: number;
}

// ---- $sys.audit

/** `audit` events: `topic.created`, `topic.deleted`, `subscription.created`, `membership.add-node`, … */
export interface AuditData {
  readonly action: string;
  readonly target: string;
  readonly by: Actor;
  readonly details?: Readonly<Record<string, unknown>>;
}

// ---- $sys.security

/** `security` events: `publish.denied`, `auth.failed`, `peer.auth-failed`. */
export interface SecurityData {
  readonly reason: string;
  readonly by?: Actor;
  readonly details?: Readonly<Record<string, unknown>>;
}

// ---- $sys.diagnostics

/** `diagnostics.report`: a node's Raft and broker state, on request (`raftbus sys diagnose`). */
export interface DiagnosticsData {
  readonly requestId: string;
  readonly raft: unknown;
  readonly broker: unknown;
  readonly process: unknown;
}

// ---- $sys.logging

/** `log`: a warn-or-worse log line of a node (rate-limited). */
export interface LogData {
  readonly level: "warn" | "error" | "fatal";
  readonly component: string;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** The `$sys.` topic of an event. */
export function sysTopic(family: SysFamily, sub?: string): string {
  switch (family) {
    case "health":
    case "metrics":
    case "alerts":
      return `$sys.${family}.${sub ?? "cluster"}`;
    default:
      return `$sys.${family}`;
  }
}

/** The replicated control topic: settings documents and diagnose requests. */
export const SYS_CONTROL_TOPIC = "$sys.control";
