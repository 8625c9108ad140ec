/**
 * A raftbus node: the Raft node, the broker state machine, the peer
 * transport, and the client endpoint (WebSocket + HTTP on one port). It is
 * assembled by the composition root (packages/cli), which owns the objects'
 * construction; this class owns their lifecycle.
 */
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { WebSocket } from "ws";
import type { AnyRequestFrame, ErrorInfo, HelloFrame, RequestKind, ServerLimits } from "@raftbus/client/protocol";
import { DEFAULT_SERVER_LIMITS, RaftbusError, encodeFrame } from "@raftbus/client/protocol";
import type { Entry, Logger, NodeLoggers, RaftNode, SnapshotStore, SoftState, WritableStorage } from "@raftbus/raft";
import { SystemEvents } from "../sys/system-events.ts";
import type { SysForwarder } from "../sys/system-events.ts";
import { auditOf, systemTopicRefusal } from "./audit.ts";
import { DEV_CLUSTER_SECRET } from "./config.ts";
import { decodeConfEntry } from "@raftbus/raft";
import type { BrokerStateMachine } from "../broker-state-machine.ts";
import { ConnectionGuard } from "./connection-guard.ts";
import type { ConsumerRegistry } from "./consumers.ts";
import { PublishRateLimiter } from "./rate-limiter.ts";
import type { NodeConfig, PeerSpec } from "./config.ts";
import { DeliveryPath } from "./delivery/delivery-path.ts";
import { PublishCoalescer } from "./publish/coalescer.ts";
import type { PublishPort } from "./publish/coalescer.ts";
import type { DeliveryPort } from "./delivery/delivery-path.ts";
import { clientAddress } from "./config.ts";
import { effectiveConf, memberAddresses, notMemberError, notMemberReason } from "./membership.ts";
import { parseContext } from "../state/members.ts";
import { toErrorInfo } from "./errors.ts";
import { ENTRY_BYTES_MAX, entryMessagesMax } from "./publish/coalescer.ts";
import type { NodeStatus } from "./http-routes.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import { proposeCommand } from "./proposer.ts";
import { handleHttp } from "./http-routes.ts";
import { serveDashboard } from "./dashboard-routes.ts";
import { ClientSession } from "./session.ts";
import { BackupStreams } from "../backup/backup-streams.ts";
import { StorageGuard, fetchMemberDisk } from "./storage-guard.ts";
import { SlowRequestLog } from "./slow-requests.ts";
import type { Admission, SessionLimits } from "./session.ts";
import { AccessControl } from "./auth/access-control.ts";
import { actorOf } from "./handlers/actor.ts";
import type { Command } from "../commands/types.ts";
import type { NodeTls } from "./tls.ts";

/** One request handler: validated body in, response body out, or a thrown RaftbusError. */
export type Handler = (ctx: HandlerContext, session: ClientSession, body: never) => Promise<unknown>;

/** Handlers by request kind. Kinds without a handler are answered BAD_REQUEST. */
export type HandlerTable = Partial<Record<RequestKind, Handler>>;

/** What handlers can reach. */
export interface HandlerContext {
  /**
   * `<session id>/<frame id>`: ties the request to its log lines, e.g. the
   * Raft index a publish committed at (`publish committed`, debug).
   */
  readonly requestId: string;
  /** The `session` component logger. */
  readonly log: Logger;
  readonly config: NodeConfig;
  readonly raft: RaftNode<unknown>;
  readonly broker: BrokerStateMachine;
  readonly server: NodeServer;
  /** Consumers, credit, acks and fails (the delivery path's narrow interface). */
  readonly delivery: DeliveryPort;
  /** Publishes join the leader's open batch: one command per Raft turn. */
  readonly publishes: PublishPort;
}

/** Everything the node server runs. */
export interface NodeServerParts {
  readonly config: NodeConfig;
  readonly raft: RaftNode<unknown>;
  readonly storage: WritableStorage;
  readonly snapshots: SnapshotStore;
  readonly stateMachine: BrokerStateMachine;
  readonly handlers: HandlerTable;
  /** The `node` component logger; sessions log through `sessionLogger`. */
  readonly logger: Logger;
  /** The `session` component logger (requests, sessions); defaults to `logger`. */
  readonly sessionLogger?: Logger;
  readonly sessionLimits?: Partial<SessionLimits>;
  /** The node's Prometheus registry (the driver's observer is wired by the composition root). */
  readonly metrics: NodeMetrics;
  /** The node's loggers: system events take the `sys` child and tap warn+ lines for `$sys.logging`. */
  readonly loggers?: NodeLoggers;
  /** How a follower hands its system events to the leader; without it they are dropped (counted). */
  readonly sysForwarder?: SysForwarder;
  /** Peer connections refused for a wrong secret (security events). */
  readonly peerAuthFailures?: () => number;
  /** Called when the node becomes leader / stops leading (e.g. to start the time ticker). */
  readonly onLeadership?: (leading: boolean) => void;
  /** SHA-256 of the configured admin's token (server/auth/admin-token.ts); required unless `auth` is open. */
  readonly adminTokenHash?: Uint8Array;
  /** TLS material (tls.ts loadTls) when the node runs TLS: the client port serves https/wss. */
  readonly tls?: NodeTls;
}


/** On shutdown, queued system events get this long to reach the leader. */
const SYS_FLUSH_ON_STOP_MS = 2000;

/** A request that takes longer than this is logged at warn with its request id (a few per window: slow-requests.ts). */
const SLOW_REQUEST_MS = 1000;

/** Malformed frames a session may send before it is closed. */
const MALFORMED_FRAMES_MAX = 16;

/** How long stop() lets clients close before it cuts their sockets. */
const SHUTDOWN_GRACE_MS = 2000;

/** The running node. */
export class NodeServer {
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  readonly sessions = new Set<ClientSession>();
  private readonly startedAt = Date.now();
  private readonly sessionLimits: SessionLimits;
  private readonly guard: ConnectionGuard;
  /** Publish token buckets per user (leader-local). */
  readonly publishRates: PublishRateLimiter;
  private livenessTimer: ReturnType<typeof setInterval> | undefined;
  readonly limits: ServerLimits;
  private stopping = false;
  /** Peer addresses learned from membership changes, on top of the static list. */
  private readonly members = new Map<string, PeerSpec>();
  /** Consumers attached on this node and, while it leads, the pump and the delivery recorder. */
  /** The leader's publish batch (group commit of concurrent publishes). */
  readonly publishes: PublishCoalescer;
  readonly delivery: DeliveryPath;
  /** Told when membership changes, with every member's peer address (to update the transport). */
  onMembersChanged: ((members: ReadonlyMap<string, PeerSpec>) => void) | undefined;

  /** The node's system events ($sys.*). */
  readonly sys: SystemEvents;
  /** Backups being streamed to clients (each pins a LevelDB snapshot). */
  readonly backups = new BackupStreams();
  /** Free disk space here and, while leading, on the other voters: refuses publishes when it runs out (STORAGE_FULL). */
  readonly disk: StorageGuard;
  /** Tokens, permissions and origins (server/auth). */
  readonly access: AccessControl;
  /** "slow request" warnings, at most a few per window (an overloaded node would log one per request). */
  private readonly slowRequests = new SlowRequestLog({ warn: (fields, msg) => this.sessionLog.warn(fields, msg) });

  constructor(readonly parts: NodeServerParts) {
    const c = parts.config;
    const downAfterMs = Math.max(3000, 3 * c.electionTicks * c.tickMs);
    this.disk = new StorageGuard({
      nodeId: c.id, dataDir: c.dataDir, minBytes: c.diskFreeMinBytes, log: parts.logger,
      leading: () => parts.raft.isLeader(),
      voters: () => parts.raft.status().conf.voters,
      handoverCandidates: () => this.handoverCandidates(downAfterMs),
      transferLeader: (to) => parts.raft.transferLeader(to),
      memberDisk: async (id) => {
        const p = this.members.get(id);
        return p === undefined ? undefined : fetchMemberDisk(p, parts.tls);
      },
    });
    this.sys = new SystemEvents({
      nodeId: c.id, clusterId: c.clusterId, clusterSecret: c.clusterSecret, previousSecret: c.clusterSecretPrevious,
      development: c.clusterSecret === DEV_CLUSTER_SECRET, configOverrides: c.sys, dataDir: c.dataDir,
      clientAddress: clientAddress({ id: c.id, host: c.host, peerPort: c.peerPort, clientPort: c.clientPort }, parts.tls !== undefined), raft: parts.raft, broker: parts.stateMachine, metrics: parts.metrics,
      log: parts.loggers?.component("sys") ?? parts.logger,
      ...(parts.loggers !== undefined ? { loggers: parts.loggers } : {}),
      ...(parts.sysForwarder !== undefined ? { forwarder: parts.sysForwarder } : {}),
      monitor: {
        downAfterMs,
        sessions: () => this.sessions.size,
        clientAddress: (id) => this.leaderAddress(id) ?? null,
        peerAuthFailures: parts.peerAuthFailures ?? (() => 0),
        disk: () => this.disk.report(),
      },
    });
    this.sessionLimits = {
      socketBufferBytesMax: c.socketBufferBytesMax, drainTimeoutMs: c.drainTimeoutMs, malformedFramesMax: MALFORMED_FRAMES_MAX,
      pendingRequestsMax: c.pendingRequestsMax, pendingRequestBytesMax: c.pendingRequestBytesMax, helloTimeoutMs: c.helloTimeoutMs,
      helloBytesMax: c.helloBytesMax, pingIntervalMs: c.pingIntervalMs, idleTimeoutMs: c.idleTimeoutMs, ...parts.sessionLimits,
    };
    this.guard = new ConnectionGuard(c);
    this.access = new AccessControl({
      config: c, adminTokenHash: parts.adminTokenHash, user: (name) => parts.stateMachine.user(name),
      members: () => this.members.values(), sys: this.sys, log: parts.sessionLogger ?? parts.logger,
    });
    this.publishRates = new PublishRateLimiter(c);
    this.limits = { ...DEFAULT_SERVER_LIMITS, maxPayloadBytes: parts.config.maxPayloadBytes, sessionTimeoutMs: parts.config.sessionTimeoutMs };
    for (const p of parts.config.peers) this.members.set(p.id, p);
    this.publishes = new PublishCoalescer({
      propose: (encode) => parts.raft.propose(encode),
      messagesMax: () => Math.min(parts.stateMachine.config.limits.batchMessagesMax, entryMessagesMax(parts.stateMachine.matchersPerMessageMax())),
      bytesMax: Math.min(parts.stateMachine.config.limits.batchBytesMax, ENTRY_BYTES_MAX),
      describe: (err) => toErrorInfo(err, (id) => this.leaderAddress(id)).info,
    });
    this.delivery = new DeliveryPath({
      broker: parts.stateMachine,
      propose: (command) => proposeCommand(parts.raft, command),
      logger: parts.logger,
      onPushed: (deliveries, at) => {
        for (const m of deliveries) parts.metrics.deliveryPushed(m.topic, m.index, m.attempt, at);
      },
    });
  }

  /** Consumers attached on this node (deliveries are pushed by the leader). */
  get consumers(): ConsumerRegistry {
    return this.delivery.consumers;
  }

  get config(): NodeConfig {
    return this.parts.config;
  }

  /** Start Raft, then listen for clients. */
  async start(): Promise<void> {
    const { raft, logger } = this.parts;
    raft.onLeaderChange((soft) => this.onLeaderChange(soft));
    // The replicated address book (cluster version ≥ 2) is the committed truth about
    // where members listen; it outranks the static peer list.
    this.adoptBook(this.parts.stateMachine.members());
    this.parts.stateMachine.onMembersChanged((book) => this.adoptBook(book));
    this.parts.stateMachine.onUsersChanged((names) => this.revokeSessions(names));
    this.parts.metrics.bind({
      raft, sessions: () => this.sessions.size, consumers: () => this.consumers.size(), figures: () => this.parts.stateMachine.figures(),
      disk: () => this.disk.report(),
    });
    await raft.start();
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxFrameBytes });
    this.wss.on("connection", (ws: WebSocket, req: IncomingMessage) => this.onWebSocket(ws, req.socket.remoteAddress ?? ""));
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      if (!handleHttp(req, res, this) && !serveDashboard(req, res)) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "BAD_REQUEST", message: "unknown path; try / (dashboard), /healthz, /readyz, /v1/status, /v1/sys, /metrics" } }));
      }
    };
    const tls = this.parts.tls;
    // With TLS the same endpoints (HTTP and the WebSocket upgrade) are served over https/wss only.
    this.http = tls === undefined
      ? createServer({ maxHeaderSize: this.config.httpHeaderBytesMax }, onRequest)
      : createHttpsServer({ maxHeaderSize: this.config.httpHeaderBytesMax, cert: tls.cert, key: tls.key }, onRequest);
    // A socket that never completes its request head is dropped (slowloris).
    this.http.headersTimeout = this.config.helloTimeoutMs;
    this.http.requestTimeout = this.config.helloTimeoutMs;
    // "connection" is the TCP socket, before any TLS handshake: admission costs a stranger nothing.
    this.http.on("connection", (socket: Socket) => {
      const address = socket.remoteAddress ?? "";
      if (!this.guard.admitSocket(address)) return socket.destroy();
      socket.once("close", () => this.guard.releaseSocket(address));
    });
    this.http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.stopping) return socket.destroy();
      if (!this.access.allowsOrigin(req)) return this.access.refuseOrigin(req, socket);
      this.wss!.handleUpgrade(req, socket, head, (ws) => this.wss!.emit("connection", ws, req));
    });
    const sweepMs = Math.max(50, Math.floor(Math.min(this.config.pingIntervalMs, this.config.idleTimeoutMs) / 4));
    this.livenessTimer = setInterval(() => {
      const now = Date.now();
      for (const s of this.sessions) s.checkLiveness(now);
    }, sweepMs);
    this.livenessTimer.unref();
    await new Promise<void>((resolve, reject) => {
      this.http!.once("error", reject);
      this.http!.listen(this.config.clientPort, this.config.host, () => resolve());
    });
    await this.sys.start();
    this.disk.start();
    logger.info({ nodeId: this.config.id, client: this.clientUrl(this.config), tls: tls !== undefined, peer: `${this.config.host}:${this.config.peerPort}` }, "node started");
  }

  /**
   * Graceful shutdown: a leader hands over leadership first, clients are
   * told to go elsewhere, the Raft node finishes its turn (everything
   * acknowledged is on disk), then storage and the broker are closed.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const { raft, storage, snapshots, stateMachine, logger } = this.parts;
    this.sys.bus.emit("system", "node.stopping", "info", { reason: "shutdown" });
    if (raft.isLeader()) {
      const to = raft.status().conf.voters.find((v) => v !== this.config.id);
      if (to !== undefined) {
        await raft.transferLeader(to, 2000).then(
          () => logger.info({ to }, "leadership transferred before shutdown"),
          (err: unknown) => logger.warn({ err: String(err) }, "leadership transfer before shutdown failed"),
        );
      }
    }
    clearInterval(this.livenessTimer);
    this.disk.stop();
    for (const s of this.sessions) {
      const leader = this.leaderAddress(raft.leaderId());
      s.send({ t: "goaway", reason: { code: "SHUTTING_DOWN", message: "node is shutting down" }, ...(leader ? { reconnectTo: leader } : {}) });
      s.close(1001, "shutting down");
    }
    this.wss?.close();
    // A client that does not read never finishes the close handshake: after
    // a grace period its socket is cut, so shutdown never waits on a client.
    const http = this.http;
    await new Promise<void>((r) => {
      if (http === undefined) return r();
      const cut = setTimeout(() => {
        for (const ws of this.wss?.clients ?? []) ws.terminate();
        http.closeAllConnections();
      }, SHUTDOWN_GRACE_MS);
      http.close(() => {
        clearTimeout(cut);
        r();
      });
      http.closeIdleConnections();
    });
    // Best effort: the stop event reaches the log if a leader takes it within the bound.
    this.sys.bus.emit("system", "node.stopped", "info", { reason: "shutdown" });
    await Promise.race([this.sys.bus.close(), new Promise((r) => setTimeout(r, SYS_FLUSH_ON_STOP_MS).unref())]);
    this.sys.stop();
    await this.parts.sysForwarder?.close();
    await this.backups.closeAll();
    await raft.stop();
    await stateMachine.close();
    await snapshots.close();
    await storage.close();
    logger.info({ nodeId: this.config.id }, "node stopped");
  }

  // ------------------------------------------------------------ sessions

  /** A WebSocket client connected: a session, or a refusal when the node is at a connection limit. */
  private onWebSocket(ws: WebSocket, address: string): void {
    const refusal = this.guard.admitSession(address);
    if (refusal !== undefined) {
      ws.send(encodeFrame({ t: "refused", error: refusal }));
      ws.close(1013, "connection limit");
      this.sessionLog.warn({ address, limit: refusal.details?.["limit"] }, "client connection refused: connection limit");
      return;
    }
    ws.once("close", () => this.guard.releaseSession(address));
    this.sessions.add(new ClientSession(ws, this.sessionHost(), this.sessionLimits, address));
  }

  private sessionHost() {
    return {
      nodeId: this.config.id,
      limits: this.limits,
      leader: () => {
        const id = this.parts.raft.leaderId();
        return { id, address: this.leaderAddress(id) ?? null };
      },
      authenticate: (hello: HelloFrame, session: ClientSession): Admission | ErrorInfo => this.admit(hello, session),
      servers: () => this.memberAddresses(),
      handle: (session: ClientSession, req: AnyRequestFrame) => this.handle(session, req),
      errorInfo: (err: unknown) => this.errorInfo(err),
      opened: (session: ClientSession) => {
        this.sessionLog.debug({ session: session.id, clientId: session.clientId, name: session.name, sessions: this.sessions.size }, "client session opened");
      },
      closed: (session: ClientSession) => {
        this.sessionLog.debug({ session: session.id, clientId: session.clientId, name: session.name, sessions: this.sessions.size - 1 }, "client session closed");
        this.sessions.delete(session);
        this.consumers.detachSession(session);
        void this.backups.closeOwner(session.id);
      },
    };
  }

  private async handle(session: ClientSession, req: AnyRequestFrame): Promise<unknown> {
    if (this.stopping) throw new RaftbusError("SHUTTING_DOWN", "node is shutting down");
    const notMember = req.kind === "ping" ? undefined : this.notMember();
    if (notMember !== undefined) throw notMember;
    const h = this.parts.handlers[req.kind];
    if (h === undefined) throw new RaftbusError("BAD_REQUEST", `request kind "${req.kind}" is not supported by this server`);
    const refusal = systemTopicRefusal(req);
    if (refusal !== undefined) {
      this.sys.security("publish.denied", refusal.message, actorOf(session), { kind: req.kind, topic: refusal.topic });
      throw new RaftbusError("FORBIDDEN", refusal.message, { details: { topic: refusal.topic, permission: "cluster-only" } });
    }
    this.access.check(session, req);
    const log = this.sessionLog;
    const requestId = `${session.id}/${req.id}`;
    const started = performance.now();
    let failed: unknown;
    try {
      const res = await h({ requestId, log, config: this.config, raft: this.parts.raft, broker: this.parts.stateMachine, server: this, delivery: this.delivery, publishes: this.publishes }, session, req.body as never);
      this.report(session, req, res);
      return res;
    } catch (err) {
      failed = err;
      throw err;
    } finally {
      const ms = Math.round(performance.now() - started);
      const code = failed === undefined ? undefined : failed instanceof RaftbusError ? failed.code : "INTERNAL";
      // Waiting subscriptions and request/reply legitimately take long: only
      // the kinds that do one bounded piece of work count as slow.
      if (ms >= SLOW_REQUEST_MS && req.kind !== "subscribe") this.slowRequests.note({ requestId, kind: req.kind, ms, code, client: session.name || session.clientId });
      else if (log.isLevelEnabled("trace")) log.trace({ requestId, kind: req.kind, ms, code }, "request");
    }
  }

  /** Audit and lifecycle events of a successful request. */
  private report(session: ClientSession, req: AnyRequestFrame, res: unknown): void {
    const by = actorOf(session);
    const a = auditOf(req, res);
    if (a === undefined) return;
    if (a.subscription !== undefined) this.sys.subscription("created", a.subscription.name, { pattern: a.subscription.pattern, ephemeral: a.subscription.ephemeral, by });
    if (a.audit) this.sys.audit(a.action, a.target, by, a.details);
  }

  /** A hello: a removed node sends clients elsewhere (the leader when known); otherwise the token decides. */
  private admit(hello: HelloFrame, session: ClientSession): Admission | ErrorInfo {
    return this.notMember()?.toInfo() ?? this.access.admit(hello, session);
  }

  /**
   * Users changed (an apply, or a restore: "all"): sessions whose user was
   * removed or whose token was rotated end now, told UNAUTHORIZED; changed
   * grants apply to the next request without a reconnect.
   */
  private revokeSessions(names: readonly string[] | "all"): void {
    for (const s of [...this.sessions]) {
      const p = s.principal;
      if (p.kind !== "user" || (names !== "all" && !names.includes(p.user))) continue;
      if (this.access.stillValid(s)) {
        this.closeUngrantedSubscriptions(s);
        continue;
      }
      s.send({ t: "goaway", reason: { code: "UNAUTHORIZED", message: `user '${p.user}' was removed or its token rotated` } });
      s.close(1008, "UNAUTHORIZED");
    }
  }

  /**
   * A user's grants changed: its subscriptions the new grants no longer
   * cover end now (`subscription-closed` FORBIDDEN), as a new subscribe
   * would be refused; an ephemeral one is deleted like an unsubscribe.
   */
  private closeUngrantedSubscriptions(session: ClientSession): void {
    for (const c of [...this.consumers.ofSession(session)]) {
      const pattern = this.parts.stateMachine.subscriptionPattern(c.subscription);
      if (pattern === undefined) continue;
      const denial = this.access.subscribeDenial(session, pattern);
      if (denial === undefined) continue;
      const remaining = this.delivery.detach(c);
      session.send({ t: "subscription-closed", subscriptionId: c.id, reason: { code: "FORBIDDEN", message: `${denial.message}: the user's grants changed`, details: { permission: denial.permission } } });
      this.sys.security("access.revoked", denial.message, actorOf(session), { permission: denial.permission, subscription: c.subscription });
      if (!c.durable && remaining === 0 && this.parts.raft.isLeader()) {
        proposeCommand(this.parts.raft, this.parts.stateMachine.checkProposal({ type: "deleteSubscription", now: Date.now(), name: c.subscription }) as Command & { type: "deleteSubscription" })
          .catch((err: unknown) => this.sessionLog.debug({ err: String(err), subscription: c.subscription }, "deleting a revoked ephemeral subscription failed (it expires with its session)"));
      }
    }
  }

  private get sessionLog(): Logger {
    return this.parts.sessionLogger ?? this.parts.logger;
  }

  /** Map any failure to the wire error, logging the unexpected ones. */
  errorInfo(err: unknown): ErrorInfo {
    const { info, unexpected } = toErrorInfo(err, (id) => this.leaderAddress(id));
    if (unexpected) this.parts.logger.error({ err: err instanceof Error ? err.stack : String(err) }, "request failed unexpectedly");
    return info;
  }

  /** NOT_MEMBER when this node is not a member of the cluster (removed), else undefined. */
  private notMember(): RaftbusError | undefined {
    const raft = this.parts.raft;
    return notMemberError(raft.status(), this.leaderAddress(raft.leaderId()));
  }

  /** Client addresses of the cluster's members, for welcome and members-changed. */
  memberAddresses(): string[] {
    return memberAddresses(effectiveConf(this.parts.raft.status()), this.members, this.tls !== undefined);
  }

  /** The node's TLS material, when it runs TLS (members then serve https/wss too). */
  get tls(): NodeTls | undefined {
    return this.parts.tls;
  }

  /** A member's client address: ws:// or, with TLS, wss:// (every member runs the same). */
  clientUrl(p: PeerSpec): string {
    return clientAddress(p, this.tls !== undefined);
  }

  /** The state digest after entry `index` (HTTP /v1/digest), while remembered. */
  digestAt(index: number): string | undefined {
    return this.parts.stateMachine.digestAt(index);
  }

  /** Client address of a member, when known. */
  leaderAddress(id: string | null): string | undefined {
    if (id === null) return undefined;
    const p = this.members.get(id);
    return p === undefined ? undefined : this.clientUrl(p);
  }

  private adoptBook(book: ReadonlyMap<string, PeerSpec>): void {
    let changed = false;
    for (const m of book.values()) {
      const known = this.members.get(m.id);
      if (known !== undefined && known.host === m.host && known.peerPort === m.peerPort && known.clientPort === m.clientPort) continue;
      this.members.set(m.id, { id: m.id, host: m.host, peerPort: m.peerPort, clientPort: m.clientPort });
      changed = true;
    }
    if (changed) this.onMembersChanged?.(this.members);
  }

  /** Members another node reported (a joining node hears them from the cluster): adopted like the replicated address book. */
  learnMembers(specs: readonly PeerSpec[]): void {
    this.adoptBook(new Map(specs.filter((p) => p.id !== this.config.id).map((p) => [p.id, p])));
  }

  /** This node's place in its latest configuration. */
  localRole(): "voter" | "learner" | "none" {
    const s = this.parts.raft.status();
    if (s.conf.voters.includes(s.id)) return "voter";
    return s.conf.learners.includes(s.id) ? "learner" : "none";
  }

  memberSpecs(): ReadonlyMap<string, PeerSpec> {
    return this.members;
  }

  /** The node's Prometheus metrics. */
  get metrics(): NodeMetrics {
    return this.parts.metrics;
  }

  /** Ask the leader's delivery pump to run over every subscription with work (after admin changes: retry-failed, replay). */
  pump(): void {
    this.delivery.sweep();
  }

  /**
   * A membership entry was applied (so committed): learn the new member's
   * address from its context. This is the only place a membership change
   * moves an address, and only a new member's: the leader refuses adds of
   * existing members (MEMBER_EXISTS) and sends promotions without an address.
   */
  onConfApplied(entry: Entry): void {
    const ce = decodeConfEntry(entry.data);
    this.sys.membershipChanged(entry.index, ce.change.kind, ce.change.node, ce.conf.voters, ce.conf.learners);
    if (ce.change.context !== undefined && ce.change.kind !== "removeNode") {
      const spec = parseContext(ce.change.context, ce.change.node);
      if (spec !== undefined) this.members.set(spec.id, spec);
      else this.parts.logger.warn({ index: entry.index, node: ce.change.node }, "membership change carries an unreadable address");
    }
    this.onMembersChanged?.(this.members);
    const servers = this.memberAddresses();
    for (const s of this.sessions) s.send({ t: "members-changed", servers });
  }

  private lastSoft: SoftState | undefined;

  private onLeaderChange(soft: SoftState): void {
    this.parts.metrics.roleChanged(soft.role, soft.leader !== null && soft.leader !== this.lastSoft?.leader);
    this.sys.leaderChanged(soft, this.lastSoft);
    const wasMember = this.lastSoft?.member ?? true;
    this.lastSoft = soft;
    if (wasMember && !soft.member) this.sendClientsElsewhere();
    const address = this.leaderAddress(soft.leader) ?? null;
    if (soft.role !== "leader") {
      this.delivery.unlead();
      // Deliveries come from the leader only: send this node's subscribers there.
      for (const c of [...this.consumers.all()]) {
        this.consumers.detach(c.id);
        c.session.send({ t: "subscription-closed", subscriptionId: c.id, reason: { code: "NOT_LEADER", message: "this node no longer leads; subscribe at the leader", ...(address ? { leaderHint: address } : {}) } });
      }
    }
    for (const s of this.sessions) s.send({ t: "leader-changed", leaderId: soft.leader, leaderAddress: address, term: soft.term });
    this.parts.onLeadership?.(soft.role === "leader");
    this.parts.logger.info({ role: soft.role, leader: soft.leader, term: soft.term }, "raft role changed");
  }

  /** This node learned that it is not a member: every client goes to another server. */
  private sendClientsElsewhere(): void {
    const reason = this.notMember();
    if (reason === undefined) return;
    this.parts.logger.warn({ reason: reason.message }, "this node is not a member of the cluster; sending clients elsewhere");
    for (const s of [...this.sessions]) {
      s.send({ t: "goaway", reason: reason.toInfo(), ...(reason.leaderHint !== undefined ? { reconnectTo: reason.leaderHint } : {}) });
      s.close(1001, "not a member");
    }
  }

  // ------------------------------------------------------------ status

  /** The node's own status (HTTP /v1/status). */
  status(): NodeStatus {
    const raft = this.parts.raft;
    const s = raft.status();
    const contact = raft.lastContact();
    const now = Date.now();
    const peers = [...s.conf.voters, ...s.conf.learners].filter((id) => id !== s.id).map((id) => {
      const pr = s.peers.find((p) => p.id === id);
      const at = contact.get(id);
      return { id, matchIndex: pr?.match ?? null, lastContactMs: at === undefined ? null : now - at, clientAddress: this.leaderAddress(id) ?? null };
    });
    const conf = s.removal?.conf ?? s.conf;
    const digest = this.parts.stateMachine.stateDigest();
    return {
      nodeId: s.id, role: s.role, term: s.term, leaderId: s.leader, leaderAddress: this.leaderAddress(s.leader) ?? null,
      commitIndex: s.commit, appliedIndex: digest.index, stateDigest: digest.digest, lastIndex: s.lastIndex,
      member: s.member, ...(s.member ? {} : { notMemberReason: notMemberReason(s) ?? "" }),
      voters: conf.voters, learners: conf.learners, peers, sessions: this.sessions.size, startedAt: this.startedAt,
      version: { clusterVersion: this.parts.stateMachine.clusterVersion(), clusterVersionMax: this.parts.stateMachine.config.clusterVersionMax },
      disk: this.disk.report(),
    };
  }

  /** Voters a leader with a full disk may hand over to: in contact and caught up the most, best first. */
  private handoverCandidates(downAfterMs: number): string[] {
    const s = this.parts.raft.status();
    const contact = this.parts.raft.lastContact();
    const now = Date.now();
    return s.peers
      .filter((p) => p.id !== s.id && s.conf.voters.includes(p.id) && now - (contact.get(p.id) ?? 0) < downAfterMs)
      .sort((a, b) => b.match - a.match)
      .map((p) => p.id);
  }

  /** System-event settings of this node (HTTP /v1/sys). */
  sysStatus(): unknown {
    return this.sys.status();
  }

  /** The Prometheus exposition (HTTP /metrics). */
  async metricsText(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.parts.metrics.contentType, text: await this.parts.metrics.text() };
  }
}
