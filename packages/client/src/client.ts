/**
 * `connect()` and the client façade that composes the features. Runs on any
 * platform: the socket comes from `webSocketFactory` (Node: use
 * `@raftbus/client/node`, which supplies `ws`) or the global WebSocket.
 */
import { BackupApi } from "./backup.ts";
import {
  ClusterApi, DlqApi, KeysApi, SysApi, MaintenanceApi, stats, SubscriptionsApi, TopicsApi, UsersApi, type AdminOptions, type ReadOptions,
} from "./admin.ts";
import type { Msg } from "./msg.ts";
import type { Payload } from "./payload.ts";
import { RaftbusError, parseSysKey, type ServerLimits, type StatsResponse } from "./protocol/index.ts";
import { publishOne, type PublishOptions, type PublishResult } from "./publish.ts";
import { Publisher, type PublisherOptions } from "./publisher.ts";
import { REPLY_TOPIC_PREFIX, Requester, type ReplyHandler, type RequestOptions } from "./request-reply.ts";
import { Session, type StatusEvent } from "./session.ts";
import { SubscriptionRegistry, type SubscribeOptions, type Subscription } from "./subscription.ts";
import { globalWebSocketFactory, type WebSocketFactory } from "./transport.ts";
import { randomId } from "./util/ids.ts";

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Node client addresses (`ws://host:port`), as a list or one comma-separated string (like `RAFTBUS_SERVERS`). */
  readonly servers: readonly string[] | string;
  /** A name for this client, shown in status pages and audit logs. */
  readonly name?: string;
  /**
   * The token to authenticate with: a user's (`raftbus user add`) or the
   * admin's. Required unless the cluster runs with auth open; a missing or
   * refused token fails connect with UNAUTHORIZED.
   */
  readonly token?: string;
  /** Credentials token (or `{ token }`); the same as `token`, which wins when both are given. */
  readonly credentials?: string | { readonly token: string };
  /** Default deadline of requests and of the first connect, in ms (default 10000). */
  readonly timeoutMs?: number;
  /** Reconnect back-off (default 250 ms doubling to 5 s, with jitter, forever); `false` ends the client on the first loss. */
  readonly reconnect?: false | { readonly initialMs?: number; readonly maxMs?: number; readonly attemptsMax?: number };
  /** Opens sockets; default the global WebSocket (browsers). Node: import `connect` from `@raftbus/client/node`. */
  readonly webSocketFactory?: WebSocketFactory;
  /**
   * Move to the leader as soon as a follower answers (default true). False
   * keeps the connection on the first node that answers — e.g. to read from
   * one node with `consistency: "stale"`; requests only the leader serves
   * are still redirected to it.
   */
  readonly followLeader?: boolean;
  /** Liveness ping interval, in ms (default 10000; 0 disables). */
  readonly pingIntervalMs?: number;
  /** Most requests outstanding or waiting for a connection (default 10000). */
  readonly pendingRequestsMax?: number;
  /** Connection status callback (connected, disconnected, reconnecting, leader-changed). */
  readonly onStatus?: (event: StatusEvent) => void;
  /**
   * Keys that verify the signatures of system messages (`$sys.*`), so
   * `msg.verified` can be true: printable keys from `raftbus sys key`
   * (`rbsk1.…`). Give the old and the new key during a key rotation.
   * docs/system-events.md §Signing.
   */
  readonly systemKeys?: readonly string[];
  /** Source of back-off jitter in [0, 1) (default Math.random; tests pass a seeded one). */
  readonly random?: () => number;
}

/** Where the client is connected. */
export interface ConnectionInfo {
  readonly server: string;
  readonly nodeId: string;
  readonly leaderId: string | null;
  readonly sessionId: string;
  readonly limits: ServerLimits;
  /** The user the token authenticated (undefined when the node runs with auth open). */
  readonly user?: string;
}

function invalid(message: string): RaftbusError {
  return new RaftbusError("INVALID_ARGUMENT", message);
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw invalid(`${name} must be a ${allowZero ? "non-negative" : "positive"} number, got ${value}`);
  return value;
}

/** Split and check a server list. */
export function parseServers(servers: readonly string[] | string): string[] {
  const list = (typeof servers === "string" ? servers.split(",") : [...servers]).map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0) throw invalid("servers must name at least one ws://host:port address");
  for (const server of list) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw invalid(`server address ${JSON.stringify(server)} is not a URL; expected ws://host:port`);
    }
    if (url.protocol !== "ws:" && url.protocol !== "wss:") throw invalid(`server address ${server} must start with ws:// or wss://`);
  }
  return list;
}

/** A connected raftbus client. Create with {@link connect}. */
export class RaftbusClient {
  /** Random per client; names the reply topic `_reply.<user>.<clientId>` (`_reply.<clientId>` without auth). */
  readonly clientId: string;
  /** Topic administration. */
  readonly topics: TopicsApi;
  /** Subscription listing (administration; to receive messages use {@link subscribe}). */
  readonly subscriptions: SubscriptionsApi;
  /** Dead-letter queues. */
  readonly dlq: DlqApi;
  /** On-demand maintenance. */
  readonly maintenance: MaintenanceApi;
  /** Cluster status, membership and leadership. */
  readonly cluster: ClusterApi;
  /** System events: settings, diagnostics (docs/system-events.md). */
  readonly sys: SysApi;
  /** Backups of the cluster's state (docs/OPERATIONS.md §6). */
  readonly backup: BackupApi;
  /** Users and their grants (admin:users). */
  readonly users: UsersApi;
  /** Topic signing keys (signed topics). */
  readonly keys: KeysApi;

  readonly #session: Session;
  readonly #registry: SubscriptionRegistry;
  readonly #requester: Requester;
  readonly #publishers = new Set<Publisher>();

  /** Use {@link connect}. */
  constructor(session: Session, pendingRequestsMax: number) {
    this.#session = session;
    this.clientId = session.clientId;
    const publish = (topic: string, payload: Payload, options: PublishOptions): Promise<PublishResult> => publishOne(session, topic, payload, options);
    this.#registry = new SubscriptionRegistry(session, publish);
    const inboxOf = (): string => session.welcome?.inbox ?? `${REPLY_TOPIC_PREFIX}.${session.clientId}`;
    this.#requester = new Requester(this.#registry, inboxOf, publish, pendingRequestsMax);
    this.topics = new TopicsApi(session);
    this.subscriptions = new SubscriptionsApi(session);
    this.dlq = new DlqApi(session);
    this.maintenance = new MaintenanceApi(session);
    this.cluster = new ClusterApi(session);
    this.sys = new SysApi(session);
    this.backup = new BackupApi(session);
    this.users = new UsersApi(session);
    this.keys = new KeysApi(session);
  }

  /**
   * Resolves when the client ended: undefined after {@link close}, else why
   * (UNAUTHORIZED, reconnect attempts exhausted…).
   */
  get closed(): Promise<Error | undefined> {
    return this.#session.closed;
  }

  /** True once closed or closing. */
  get isClosed(): boolean {
    return this.#session.isClosed;
  }

  /**
   * Every server the client may connect to: the configured ones and the
   * members' addresses the cluster announced (members it no longer lists
   * are dropped).
   */
  get servers(): readonly string[] {
    return this.#session.servers;
  }

  /** The current connection, or undefined while reconnecting. */
  get info(): ConnectionInfo | undefined {
    const welcome = this.#session.welcome;
    const server = this.#session.server;
    if (welcome === undefined || server === undefined) return undefined;
    return {
      server, nodeId: welcome.nodeId, leaderId: welcome.leaderId, sessionId: welcome.sessionId, limits: welcome.limits,
      ...(welcome.user !== undefined ? { user: welcome.user } : {}),
    };
  }

  /**
   * Publish one message and resolve once it is committed (SPEC §2). The
   * payload is sent as is (bytes), as UTF-8 (string) or as JSON (anything
   * else). Resent automatically across leader changes; the message id (given
   * or generated) keeps a resend from being stored twice.
   * @throws RaftbusError INVALID_TOPIC, PAYLOAD_TOO_LARGE, HEADERS_TOO_LARGE, UNAUTHORIZED, TIMEOUT…
   */
  publish(topic: string, payload: Payload, options: PublishOptions = {}): Promise<PublishResult> {
    return publishOne(this.#session, topic, payload, options);
  }

  /** A batching, windowed, idempotent publisher for high throughput. Close it (or the client) when done. */
  publisher(options: PublisherOptions = {}): Publisher {
    const publisher: Publisher = new Publisher(this.#session, options, () => this.#publishers.delete(publisher));
    this.#publishers.add(publisher);
    return publisher;
  }

  /**
   * Subscribe to a pattern (exact, `a.*`, `a.**`, or `/regex/`) and resolve once
   * the server accepted. Iterate the result, or pass `options.handler`.
   * @throws RaftbusError INVALID_PATTERN, INVALID_FILTER (details.position), UNAUTHORIZED, TIMEOUT…
   */
  subscribe(pattern: string, options: SubscribeOptions = {}): Promise<Subscription> {
    return this.#registry.subscribe(pattern, options);
  }

  /**
   * Send a request and resolve with the first reply (request/reply via
   * correlation id and this client's reply topic).
   * @throws RaftbusError TIMEOUT without a reply in time, RESPONDER_ERROR when the responder failed.
   */
  request(topic: string, payload: Payload, options: RequestOptions = {}): Promise<Msg> {
    return this.#requester.request(topic, payload, options);
  }

  /**
   * Answer requests on `pattern` with `handler`'s result. Give `name` in
   * options to share the work among several responders (a work queue).
   */
  reply(pattern: string, handler: ReplyHandler, options: Omit<SubscribeOptions, "handler"> = {}): Promise<Subscription> {
    return this.#requester.reply(pattern, handler, options);
  }

  /** Cluster statistics (SPEC §6); linearizable unless `consistency: "stale"`. */
  stats(options: ReadOptions = {}): Promise<StatsResponse> {
    return stats(this.#session, options);
  }

  /** Round-trip time to the connected node, in ms. */
  async ping(options: AdminOptions = {}): Promise<number> {
    const started = Date.now();
    await this.#session.request("ping", {}, { idempotent: true, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
    return Date.now() - started;
  }

  /**
   * Close the client now: subscriptions end, waiting requests and publishes
   * not yet committed fail with CONNECTION_CLOSED, the connection closes.
   * `closed` then resolves with undefined. Use {@link drain} to finish
   * outstanding work first. Idempotent.
   */
  async close(): Promise<void> {
    if (!this.#session.isClosed) {
      this.#requester.close(new RaftbusError("CONNECTION_CLOSED", "client closed"));
      this.#registry.closeAll();
    }
    await this.#session.close();
  }

  /**
   * Finish outstanding work, then close: flush and close every publisher,
   * unsubscribe every subscription (sending its queued acks), close.
   * @throws RaftbusError the first publisher failure, after closing.
   */
  async drain(): Promise<void> {
    const flushed = await Promise.allSettled([...this.#publishers].map((p) => p.close()));
    await this.#registry.unsubscribeAll();
    await this.close();
    const failed = flushed.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }
}

/**
 * Connect to a raftbus cluster: try `servers` in turn, follow the leader,
 * and resolve once connected to it.
 * @throws RaftbusError INVALID_ARGUMENT for bad options (or no WebSocket on
 *   this platform), UNAUTHORIZED, UNSUPPORTED_VERSION, TIMEOUT when no server
 *   answered within `timeoutMs`.
 */
export async function connect(options: ConnectOptions): Promise<RaftbusClient> {
  const servers = parseServers(options.servers);
  const factory = options.webSocketFactory ?? globalWebSocketFactory();
  if (factory === undefined) throw invalid("no WebSocket on this platform: in Node, import { connect } from \"@raftbus/client/node\"");
  const timeoutMs = positive("timeoutMs", options.timeoutMs, 10_000);
  const pendingRequestsMax = positive("pendingRequestsMax", options.pendingRequestsMax, 10_000);
  const reconnect = options.reconnect === false ? false : {
    initialMs: positive("reconnect.initialMs", options.reconnect?.initialMs, 250),
    maxMs: positive("reconnect.maxMs", options.reconnect?.maxMs, 5000),
    attemptsMax: positive("reconnect.attemptsMax", options.reconnect?.attemptsMax, Infinity),
  };
  if (reconnect !== false && reconnect.initialMs > reconnect.maxMs) throw invalid(`reconnect.initialMs (${reconnect.initialMs}) must not exceed reconnect.maxMs (${reconnect.maxMs})`);
  const token = options.token ?? (typeof options.credentials === "string" ? options.credentials : options.credentials?.token);
  const session = await Session.start({
    servers,
    factory,
    clientId: randomId(),
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(token !== undefined ? { token } : {}),
    timeoutMs,
    handshakeTimeoutMs: Math.min(timeoutMs, 5000),
    reconnect,
    pingIntervalMs: positive("pingIntervalMs", options.pingIntervalMs, 10_000, true),
    pendingRequestsMax,
    followLeader: options.followLeader !== false,
    random: options.random ?? Math.random,
    ...(options.onStatus !== undefined ? { onStatus: options.onStatus } : {}),
    systemKeys: (options.systemKeys ?? []).map((k) => parseSysKey(k)),
  });
  return new RaftbusClient(session, pendingRequestsMax);
}
