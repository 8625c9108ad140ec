/**
 * System events of one node (SPEC §7, docs/system-events.md): the facade the
 * node server and its handlers call. It owns the settings (config + the
 * replicated `$sys.control` overrides), the signing bus, the monitor and the
 * log tap, and routes batches: the leader commits them itself, a follower
 * forwards them to the leader (`sys.forward`, authenticated by a MAC under
 * a key derived from the cluster secret; see signer.ts).
 */
import { randomUUID } from "node:crypto";
import { RaftbusError, base64url, canonicalBytes, fromBase64url } from "@raftbus/client/protocol";
import type { PublishMessage, SysForwardRequest, SysStatusResponse } from "@raftbus/client/protocol";
import type { Logger, NodeLoggers, RaftNode, SoftState, TappedLine } from "@raftbus/raft";
import type { BrokerStateMachine } from "../broker-state-machine.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import { proposeCommand } from "../server/proposer.ts";
import { isSystemTopic } from "../topic/topic-name.ts";
import { SysControl, baseSettings } from "./control.ts";
import type { ControlDocument } from "./control.ts";
import type { Actor, AuditData, NodeLifecycleData, SecurityData } from "./events.ts";
import { SYS_CONTROL_TOPIC } from "./events.ts";
import { SYS_FAMILIES, SYS_RETENTION, mergeOverrides, validateOverrides } from "./families.ts";
import type { SysOverrides } from "./families.ts";
import { SysMonitor } from "./monitor.ts";
import type { MonitorSources } from "./monitor.ts";
import { SysSigner } from "./signer.ts";
import { SysBus } from "./sys-bus.ts";

/** A forwarded batch older or newer than this (by the sender's clock) is refused (replays). */
const FORWARD_SKEW_MS = 5 * 60_000;
/** Most messages one forward may carry. */
export const FORWARD_MESSAGES_MAX = 500;

/** Sends a follower's batch to the leader (the composition root gives an SDK-based one). */
export interface SysForwarder {
  forward(request: SysForwardRequest): Promise<void>;
  /** Close the connection (the node is stopping). */
  close(): Promise<void>;
}

/** What the system events need from the node. */
export interface SystemEventsParts {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly clusterSecret: string;
  readonly previousSecret: string;
  /** The secret is the public development default: events go out unsigned. */
  readonly development: boolean;
  /** Overrides from the node's config file. */
  readonly configOverrides: SysOverrides;
  readonly dataDir: string;
  readonly clientAddress: string;
  readonly raft: RaftNode<unknown>;
  readonly broker: BrokerStateMachine;
  readonly metrics: NodeMetrics;
  /** The `sys` component logger. */
  readonly log: Logger;
  /** The node's loggers, to tap warn+ lines for `$sys.logging`. */
  readonly loggers?: NodeLoggers;
  readonly monitor: Omit<MonitorSources, "nodeId" | "dataDir" | "raft" | "figures" | "metrics">;
  /** Follower → leader path; without it a follower's events are dropped (counted). */
  readonly forwarder?: SysForwarder;
}

/** See the module comment. */
export class SystemEvents {
  readonly control: SysControl;
  readonly bus: SysBus;
  readonly signer: SysSigner;
  private readonly monitor: SysMonitor;
  private readonly startedAt = Date.now();
  private readonly version = "0.1.0";

  constructor(private readonly p: SystemEventsParts) {
    this.signer = new SysSigner({ clusterId: p.clusterId, clusterSecret: p.clusterSecret, previousSecret: p.previousSecret, development: p.development });
    this.control = new SysControl(p.nodeId, baseSettings(p.configOverrides), {
      nextOffset: () => p.broker.topicNextOffset(SYS_CONTROL_TOPIC),
      read: (from, limit) => p.broker.readMessages(SYS_CONTROL_TOPIC, from, limit),
    }, p.log);
    this.bus = new SysBus({
      nodeId: p.nodeId, settings: () => this.control.settings(), signer: this.signer, metrics: p.metrics, log: p.log,
      outlet: {
        isLeader: () => p.raft.isLeader(),
        publish: (messages) => this.commit(p.nodeId, messages),
        forward: (messages) => this.forward(messages),
      },
    });
    this.monitor = new SysMonitor(this.bus, {
      ...p.monitor, nodeId: p.nodeId, dataDir: p.dataDir, raft: p.raft, figures: () => p.broker.figures(), metrics: p.metrics,
    });
    this.control.onDiagnose = (requestId) => void this.publishDiagnostics(requestId);
  }

  /** Load the replicated settings, start watching, announce the node. */
  async start(): Promise<void> {
    if (this.signer.mode === "unsigned") {
      this.p.log.warn("system events are unsigned: the cluster runs with the development secret; set RAFTBUS_CLUSTER_SECRET");
    }
    await this.control.start();
    this.monitor.start();
    this.p.loggers?.tapWarnings((line) => this.logLine(line));
    this.bus.emit("system", "node.started", "info", this.lifecycle());
  }

  /** Stop watching and sampling (the node server flushes the bus first). */
  stop(): void {
    this.p.loggers?.tapWarnings(undefined);
    this.monitor.stop();
    this.control.stop();
  }

  private lifecycle(): NodeLifecycleData {
    return { version: this.version, pid: process.pid, clientAddress: this.p.clientAddress, uptimeMs: Date.now() - this.startedAt };
  }

  // ---- what the node server and handlers report

  /** Role/leader change seen by this node. */
  leaderChanged(soft: SoftState, previous: SoftState | undefined): void {
    this.monitor.leaderChanged(soft.leader);
    if (soft.role === "leader" && previous?.role !== "leader") {
      this.bus.emit("lifecycle", "leader.elected", "info", { term: soft.term, leader: soft.leader });
    } else if (previous?.role === "leader" && soft.role !== "leader") {
      this.bus.emit("lifecycle", "leader.lost", "warning", { term: soft.term, leader: soft.leader });
    }
  }

  /** A membership change applied (reported by the leader only, so once per change). */
  membershipChanged(index: number, change: string, member: string, voters: readonly string[], learners: readonly string[]): void {
    if (!this.p.raft.isLeader()) return;
    this.bus.emit("lifecycle", "membership.changed", "info", { index, change, member, voters, learners });
  }

  /** A subscription was created or expired. */
  subscription(kind: "created" | "expired", name: string, extra: { pattern?: string; ephemeral?: boolean; by?: Actor } = {}): void {
    this.bus.emit("lifecycle", `subscription.${kind}`, "info", { name, ...extra });
  }

  /** An administrative change and who made it. */
  audit(action: string, target: string, by: Actor, details?: Record<string, unknown>): void {
    if (!this.bus.enabled("audit")) return;
    const data: AuditData = { action, target, by, ...(details !== undefined ? { details } : {}) };
    this.bus.emit("audit", action, "info", data);
  }

  /** A refused or failed authentication / permission. */
  security(kind: string, reason: string, by?: Actor, details?: Record<string, unknown>): void {
    const data: SecurityData = { reason, ...(by !== undefined ? { by } : {}), ...(details !== undefined ? { details } : {}) };
    this.bus.emit("security", kind, "warning", data);
  }

  private logLine(line: TappedLine): void {
    this.bus.emit("logging", "log", line.level === "warn" ? "warning" : "critical", line);
  }

  // ---- control (leader side of `raftbus sys …`)

  /** Merge `change` into the replicated overrides and commit the result. */
  async set(change: unknown, reset: boolean, by: Actor): Promise<SysStatusResponse> {
    const validated = validateOverrides(change);
    const overrides = reset ? validated : mergeOverrides(this.control.replicatedOverrides(), validated);
    await this.commitControl({ v: 1, kind: "settings", overrides });
    await this.control.poll();
    this.bus.emit("system", "config.changed", "info", { settings: overrides, by });
    this.audit("sys.settings", "$sys", by, { overrides });
    return this.status();
  }

  /** Ask `node` (or every node, "*") to publish a diagnostics report; returns the request id. */
  async diagnose(node: string, by: Actor): Promise<string> {
    const requestId = randomUUID();
    await this.commitControl({ v: 1, kind: "diagnose", node, requestId });
    this.audit("sys.diagnose", node, by, { requestId });
    await this.control.poll();
    return requestId;
  }

  /** Settings and counters of this node. */
  status(): SysStatusResponse {
    const s = this.control.settings();
    return {
      nodeId: this.p.nodeId,
      signing: this.signer.mode,
      keyId: this.signer.signingKey?.id ?? null,
      families: SYS_FAMILIES.map((f) => ({ family: f, ...s[f], replicated: this.control.replicatedOverrides()[f] !== undefined })),
      queued: this.bus.queued,
    };
  }

  private async publishDiagnostics(requestId: string): Promise<void> {
    const st = this.p.raft.status();
    const broker = await this.p.broker.stats().catch((err: unknown) => ({ error: String(err) }));
    this.bus.emit("diagnostics", "diagnostics.report", "info", {
      requestId,
      raft: { ...st, stats: this.p.raft.stats, appliedConf: st.appliedConf },
      broker,
      process: { pid: process.pid, uptimeMs: Date.now() - this.startedAt, memory: process.memoryUsage(), node: process.version },
    });
  }

  private async commitControl(doc: ControlDocument): Promise<void> {
    const unsigned = { topic: SYS_CONTROL_TOPIC, id: randomUUID(), senderId: this.p.nodeId, payload: new TextEncoder().encode(JSON.stringify(doc)), headers: {} };
    const headers = this.signer.signedHeaders(unsigned);
    await this.commit(this.p.nodeId, [{ topic: unsigned.topic, id: unsigned.id, payload: unsigned.payload, priority: "high", headers }]);
  }

  // ---- the two paths into the log

  /** Leader: one publish command carrying the batch (sender = the node the events came from). */
  private async commit(senderId: string, messages: readonly PublishMessage[]): Promise<void> {
    const command = this.p.broker.buildPublish({ now: Date.now(), senderId, messages, system: true, defaultRetention: SYS_RETENTION });
    await proposeCommand(this.p.raft, command);
  }

  /** Follower: hand the batch to the leader. */
  private async forward(messages: readonly PublishMessage[]): Promise<void> {
    if (this.p.forwarder === undefined) throw new RaftbusError("NO_LEADER", "this node cannot forward system events");
    const sentAt = Date.now();
    const tags = this.signer.forwardMacs(forwardBytes(this.p.nodeId, sentAt, messages));
    await this.p.forwarder.forward({ origin: this.p.nodeId, sentAt, messages, mac: tags.map(base64url).join(".") });
  }

  /**
   * Leader: accept a follower's batch. It must carry a MAC under a key
   * derived from the cluster secret (current or, during a rotation,
   * previous), be recent, and touch only `$sys.` topics (never the control
   * topic, which only `sys set` writes).
   */
  async acceptForward(req: SysForwardRequest): Promise<number> {
    if (req.messages.length > FORWARD_MESSAGES_MAX) throw new RaftbusError("INVALID_ARGUMENT", `at most ${FORWARD_MESSAGES_MAX} messages per forward`);
    let tags: Uint8Array[];
    try {
      tags = req.mac.split(".").slice(0, 4).map(fromBase64url);
    } catch {
      tags = [];
    }
    if (!this.signer.checkForwardMac(forwardBytes(req.origin, req.sentAt, req.messages), tags)) {
      this.security("forward.denied", "forwarded system events carry no valid MAC", undefined, { origin: req.origin });
      throw new RaftbusError("FORBIDDEN", "forwarded system events are not authenticated by the cluster secret");
    }
    if (Math.abs(Date.now() - req.sentAt) > FORWARD_SKEW_MS) throw new RaftbusError("INVALID_ARGUMENT", "forwarded batch is too old or from the future (check clocks)");
    for (const m of req.messages) {
      if (!isSystemTopic(m.topic) || m.topic === SYS_CONTROL_TOPIC) throw new RaftbusError("FORBIDDEN", `forwarded events may only go to $sys. topics, not ${m.topic}`);
    }
    await this.commit(req.origin, req.messages);
    return req.messages.length;
  }
}

/** The bytes a forward MAC covers: origin, time and every message's canonical encoding. */
function forwardBytes(origin: string, sentAt: number, messages: readonly PublishMessage[]): Uint8Array {
  const parts = messages.map((m) => canonicalBytes({ topic: m.topic, id: m.id ?? "", senderId: origin, payload: m.payload, headers: m.headers ?? {} }));
  const head = new TextEncoder().encode(`${origin}\u0000${sentAt}\u0000${messages.length}\u0000`);
  const out = new Uint8Array(head.length + parts.reduce((a, p) => a + 4 + p.length, 0));
  out.set(head, 0);
  let at = head.length;
  for (const p of parts) {
    new DataView(out.buffer).setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}
