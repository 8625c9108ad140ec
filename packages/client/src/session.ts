/**
 * The SDK's connection manager: keeps one connection to the cluster leader.
 *
 * It tries the configured servers, follows the leader (welcome's leader,
 * NOT_LEADER hints, leader-changed and goaway pushes), reconnects with capped
 * exponential back-off and jitter after a loss, lets features restore their
 * state on each new connection before any queued request goes out, and sends
 * requests with a deadline, retrying them where that is safe.
 *
 * Features (publish, subscriptions, admin…) depend on this module; it depends
 * on none of them.
 */
import { Connection } from "./connection.ts";
import {
  RaftbusError,
  type PushFrame, type RequestBodies, type RequestKind, type ResponseBodies, type ServerLimits, type WelcomeFrame,
} from "./protocol/index.ts";
import { ServerPool } from "./server-pool.ts";
import type { WebSocketFactory } from "./transport.ts";
import type { SysKey } from "./protocol/index.ts";
import { backoffDelayMs, type BackoffBounds } from "./util/backoff.ts";
import type { TimerHandle } from "./util/timers.ts";


/** Longest wait for outstanding requests on the old leader before moving to the new one. */
const LEADER_CHANGE_GRACE_MS = 2000;
/** How often that wait looks again. */
const LEADER_CHANGE_POLL_MS = 20;
/** Reconnect policy: back-off bounds and how many consecutive failures end the client. */
export interface ReconnectOptions extends BackoffBounds {
  /** Consecutive failed connection attempts after which the client gives up (default Infinity). */
  readonly attemptsMax?: number;
}

/** Connection status changes, for logs and dashboards. */
export type StatusEvent =
  | { readonly type: "connected"; readonly server: string; readonly nodeId: string; readonly leaderId: string | null }
  | { readonly type: "disconnected"; readonly server: string; readonly reason: RaftbusError }
  | { readonly type: "reconnecting"; readonly attempt: number; readonly delayMs: number }
  | { readonly type: "leader-changed"; readonly leaderId: string | null; readonly leaderAddress: string | null }
  /** The server sent a frame type this SDK does not know (it is newer); the SDK ignored it and carries on. */
  | { readonly type: "unknown-frame"; readonly server: string; readonly frameType: string };

/** Everything the session needs, validated by `connect()`. */
export interface SessionOptions {
  readonly servers: readonly string[];
  readonly factory: WebSocketFactory;
  readonly clientId: string;
  readonly name?: string;
  readonly token?: string;
  /** Default request deadline and the deadline of the first connect, in ms. */
  readonly timeoutMs: number;
  /** Deadline of one socket open + hello/welcome, in ms. */
  readonly handshakeTimeoutMs: number;
  /** False: a lost connection ends the client (redirects are still followed). */
  readonly reconnect: ReconnectOptions | false;
  /** Interval of liveness pings, in ms; a ping unanswered for this long drops the connection. 0 disables. */
  readonly pingIntervalMs: number;
  /** Most requests outstanding or waiting for a connection. */
  readonly pendingRequestsMax: number;
  /** Move to the leader when a follower answers the handshake (false: stay; see ConnectOptions.followLeader). */
  readonly followLeader: boolean;
  /** Source of jitter (tests pass a seeded one). */
  readonly random: () => number;
  readonly onStatus?: (event: StatusEvent) => void;
  /** Keys that verify system-message signatures (`msg.verified`). */
  readonly systemKeys?: readonly SysKey[];
}

/** How a request may be retried. */
export interface SessionRequestOptions<K extends RequestKind> {
  /** Deadline for the whole request including retries, in ms (default: the client's timeoutMs). */
  readonly timeoutMs?: number;
  /**
   * True when sending the request twice has the effect of sending it once
   * (publish with a message id or producer sequence, ack, subscribe…): it is
   * then resent after a connection loss whose outcome is unknown. Requests are
   * always resent after NOT_LEADER, NO_LEADER and BACKPRESSURE, which mean the
   * server did not apply them.
   */
  readonly idempotent?: boolean;
  /** See {@link Connection.request}. */
  readonly onOk?: (body: ResponseBodies[K]) => void;
}

/** Called on every new connection, before queued requests are released to it. */
export type RestoreHook = (connection: Connection) => Promise<void>;

/** Upper bound on tries of one request; the deadline normally ends it first. */
const REQUEST_ATTEMPTS_MAX = 1000;
/** Consecutive leader redirects within one connect cycle before backing off (stale hints ping-pong). */
const REDIRECTS_MAX = 8;
/** Retry delays of a single request (NO_LEADER during an election lasts a few hundred ms). */
const REQUEST_RETRY_BACKOFF: BackoffBounds = { initialMs: 50, maxMs: 1000 };
/**
 * Longest the client stays on a server that knows no leader (NO_LEADER
 * answers, a welcome or leader-changed without one) before it tries another:
 * an election takes about one election timeout, a partitioned node has no
 * leader until the partition heals.
 */
const LEADERLESS_MOVE_MS = 1000;
/** How long a server that failed the client is avoided while others are worth trying, by failure. */
const COOL_DOWN_MS: Readonly<Record<string, number>> = {
  NOT_MEMBER: 60_000,
  SHUTTING_DOWN: 10_000,
  NO_LEADER: 5_000,
  CONNECTION_CLOSED: 2_000,
  TIMEOUT: 2_000,
};
/** Codes after which retrying cannot help: the client ends. */
const FATAL_CONNECT_CODES = new Set(["UNAUTHORIZED", "UNSUPPORTED_VERSION", "FORBIDDEN"]);

type RetryAction = "fail" | "redirect" | "reconnect" | "backoff" | "elsewhere";

interface Waiter {
  readonly resolve: (connection: Connection) => void;
  readonly reject: (err: RaftbusError) => void;
  readonly timer: TimerHandle;
}

/** One client's link to the cluster leader. Create with {@link Session.start}. */
export class Session {
  readonly #options: SessionOptions;
  /** Keys that verify system-message signatures. */
  readonly systemKeys: readonly SysKey[];
  readonly #restoreHooks: RestoreHook[] = [];
  readonly #pushListeners: ((frame: PushFrame) => void)[] = [];
  readonly #waiters = new Set<Waiter>();
  #connection: Connection | undefined;
  #ready = false;
  #leaderHint: string | undefined;
  readonly #pool: ServerPool;
  /** The leader the current connection's node last named (welcome, leader-changed, NO_LEADER). */
  #connectionLeader: string | null = null;
  #leaderlessTimer: TimerHandle | undefined;
  #closing = false;
  #closeError: Error | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  readonly #closed: Promise<Error | undefined>;
  #resolveClosed!: (reason: Error | undefined) => void;
  #lastError: RaftbusError | undefined;

  private constructor(options: SessionOptions) {
    this.#options = options;
    this.systemKeys = options.systemKeys ?? [];
    this.#pool = new ServerPool(options.servers);
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /**
   * Start the session and resolve once connected to the leader (or to a node
   * of a cluster that has no leader yet).
   * @throws RaftbusError: UNAUTHORIZED/UNSUPPORTED_VERSION from the server, or
   *   TIMEOUT when no server answered within `timeoutMs` (its message has the last error).
   */
  static async start(options: SessionOptions): Promise<Session> {
    const session = new Session(options);
    session.#loop = session.#run();
    try {
      await session.waitReady(Date.now() + options.timeoutMs);
    } catch (err) {
      await session.close(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    return session;
  }

  /** Resolves when the session ended: undefined after {@link close}, else the reason. */
  get closed(): Promise<Error | undefined> {
    return this.#closed;
  }

  /** True once the session ended or is ending. */
  get isClosed(): boolean {
    return this.#closing;
  }

  /** The default request deadline, in ms. */
  get defaultTimeoutMs(): number {
    return this.#options.timeoutMs;
  }

  /** Source of jitter for features that back off. */
  get random(): () => number {
    return this.#options.random;
  }

  /** The client id sent in every hello. */
  get clientId(): string {
    return this.#options.clientId;
  }

  /** The welcome of the current connection, if connected. */
  get welcome(): WelcomeFrame | undefined {
    return this.#connection?.welcome;
  }

  /** The server's limits as last announced (the protocol defaults before the first welcome). */
  get limits(): ServerLimits | undefined {
    return this.#connection?.welcome.limits;
  }

  /** The address of the current connection. */
  get server(): string | undefined {
    return this.#connection?.url;
  }

  /** Register a hook run on each new connection before requests flow (subscriptions re-subscribe here). */
  addRestoreHook(hook: RestoreHook): void {
    this.#restoreHooks.push(hook);
  }

  /** Receive deliver and subscription-closed pushes. */
  onPush(listener: (frame: PushFrame) => void): void {
    this.#pushListeners.push(listener);
  }

  /**
   * Send a request to the leader; see {@link SessionRequestOptions} for retries.
   * `body` is rebuilt for every try when it is a function (ids may change across reconnects).
   * @throws RaftbusError: the server's error, TIMEOUT at the deadline,
   *   CONNECTION_CLOSED when the outcome is unknown and the request is not idempotent or the client closed.
   */
  async request<K extends RequestKind>(
    kind: K,
    body: RequestBodies[K] | ((connection: Connection) => RequestBodies[K]),
    options: SessionRequestOptions<K> = {},
  ): Promise<ResponseBodies[K]> {
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    let lastError: RaftbusError | undefined;
    let redirects = 0;
    for (let attempt = 1; attempt <= REQUEST_ATTEMPTS_MAX && Date.now() < deadline; attempt++) {
      const connection = await this.waitReady(deadline, lastError);
      try {
        const built = typeof body === "function" ? body(connection) : body;
        return await connection.request(kind, built, Math.max(1, deadline - Date.now()), options.onOk);
      } catch (err) {
        if (!(err instanceof RaftbusError)) throw err;
        lastError = err;
        const action = classify(err, options.idempotent === true);
        if (action === "fail") throw err;
        if (action === "redirect" && err.leaderHint !== undefined && err.leaderHint !== connection.url) {
          // Hints can be stale during an election: after a few hops, pause between them.
          if (++redirects > 3) await this.#sleep(Math.min(backoffDelayMs(redirects - 3, REQUEST_RETRY_BACKOFF, this.#options.random), deadline - Date.now()));
          this.#follow(connection, err.leaderHint, err);
        } else if (action === "reconnect") {
          if (connection.isOpen) this.#drop(connection, err);
        } else if (action === "elsewhere") {
          this.recover(connection, err);
        } else {
          if (err.code === "NO_LEADER") this.#leaderUnknown(connection);
          await this.#sleep(Math.min(backoffDelayMs(attempt, REQUEST_RETRY_BACKOFF, this.#options.random), deadline - Date.now()));
        }
      }
    }
    throw new RaftbusError("TIMEOUT", `${kind} did not complete within ${timeoutMs} ms${lastError ? ` (last error ${lastError.code}: ${lastError.message})` : ""}`);
  }

  /**
   * Resolve with the ready connection, waiting for one until `deadline` (ms since epoch).
   * @throws RaftbusError TIMEOUT at the deadline, CONNECTION_CLOSED when the session ended, BACKPRESSURE when too many wait.
   */
  waitReady(deadline: number, lastError?: RaftbusError): Promise<Connection> {
    if (this.#closing) return Promise.reject(this.#endedError());
    const connection = this.#connection;
    if (this.#ready && connection !== undefined && connection.isOpen) return Promise.resolve(connection);
    if (this.#waiters.size >= this.#options.pendingRequestsMax) {
      return Promise.reject(new RaftbusError("BACKPRESSURE", `${this.#waiters.size} requests already wait for a connection`));
    }
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          const cause = lastError ?? this.#lastError;
          reject(new RaftbusError("TIMEOUT", `no connection to the raftbus leader (servers ${this.#pool.all.join(", ")})${cause ? `: ${cause.code}: ${cause.message}` : ""}`));
        }, Math.max(0, deadline - Date.now())),
      };
      this.#waiters.add(waiter);
    });
  }

  /**
   * Give up on `connection` after an expected failure on it: follow
   * `reason.leaderHint` when there is one, else drop it and reconnect. No-op
   * when `connection` is no longer the current one.
   */
  recover(connection: Connection, reason: RaftbusError): void {
    if (this.#connection === connection) this.#coolDown(connection.url, reason);
    if (reason.leaderHint !== undefined) this.#follow(connection, reason.leaderHint, reason);
    else if (this.#connection === connection) this.#drop(connection, reason);
  }

  /** The servers the client knows: configured ones and those the cluster announced. */
  get servers(): readonly string[] {
    return this.#pool.all;
  }

  /** End the session: close the connection, fail waiting requests, stop reconnecting. Idempotent. */
  async close(reason?: Error): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#closeError = reason;
      this.#ready = false;
      const ended = this.#endedError();
      for (const waiter of this.#waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(ended);
      }
      this.#waiters.clear();
      this.#connection?.close(new RaftbusError("CONNECTION_CLOSED", "client closed"));
      this.#wake?.();
    }
    await this.#loop;
    this.#resolveClosed(this.#closeError);
  }

  #endedError(): RaftbusError {
    const why = this.#closeError;
    if (why instanceof RaftbusError && why.code !== "CONNECTION_CLOSED") return why;
    return new RaftbusError("CONNECTION_CLOSED", why ? `client closed: ${why.message}` : "client closed");
  }

  #emit(event: StatusEvent): void {
    this.#options.onStatus?.(event);
  }

  /** Sleep that {@link close} cuts short. */
  async #sleep(ms: number): Promise<void> {
    if (this.#closing || ms <= 0) return;
    let timer: TimerHandle | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.#wake = undefined;
  }

  #pickTarget(): string {
    if (this.#leaderHint !== undefined) {
      const hint = this.#leaderHint;
      this.#leaderHint = undefined;
      return hint;
    }
    return this.#pool.next();
  }

  /** The reconnect loop. Ends only when the session closes. */
  async #run(): Promise<void> {
    let failures = 0;
    let redirects = 0;
    let everReady = false;
    while (!this.#closing) {
      const target = this.#pickTarget();
      let connection: Connection;
      try {
        connection = await Connection.open({
          url: target,
          factory: this.#options.factory,
          hello: {
            clientId: this.#options.clientId,
            ...(this.#options.name !== undefined ? { name: this.#options.name } : {}),
            ...(this.#options.token !== undefined ? { token: this.#options.token } : {}),
          },
          handshakeTimeoutMs: this.#options.handshakeTimeoutMs,
          pendingRequestsMax: this.#options.pendingRequestsMax,
          onPush: (frame, conn) => this.#onPush(frame, conn),
          onUnknownFrame: (frame, conn) => this.#emit({ type: "unknown-frame", server: conn.url, frameType: frame.type }),
        });
      } catch (err) {
        const error = err instanceof RaftbusError ? err : new RaftbusError("CONNECTION_CLOSED", String(err));
        this.#lastError = error;
        if (FATAL_CONNECT_CODES.has(error.code)) {
          void this.close(error);
          break;
        }
        this.#coolDown(target, error);
        // A node that is not a member names the leader when it knows it.
        if (error.code === "NOT_MEMBER" && error.leaderHint !== undefined && error.leaderHint !== target && redirects < REDIRECTS_MAX) {
          redirects++;
          this.#leaderHint = error.leaderHint;
          continue;
        }
        failures++;
        if (!(await this.#backOff(failures, everReady))) break;
        continue;
      }
      if (this.#closing) {
        connection.close();
        break;
      }
      const { welcome } = connection;
      if (welcome.servers !== undefined) this.#pool.learn(welcome.servers);
      if (this.#options.followLeader && welcome.leaderId !== null && welcome.leaderId !== welcome.nodeId && welcome.leaderAddress !== null && redirects < REDIRECTS_MAX) {
        // A follower: go to the leader it names.
        redirects++;
        this.#leaderHint = welcome.leaderAddress;
        connection.close(new RaftbusError("NOT_LEADER", `${welcome.nodeId} is a follower`, { leaderHint: welcome.leaderAddress }));
        continue;
      }
      redirects = 0;
      const openedAt = Date.now();
      const reason = await this.#serve(connection);
      everReady = true;
      this.#lastError = reason;
      if (this.#closing) break;
      this.#emit({ type: "disconnected", server: connection.url, reason });
      if (reason.code === "NOT_LEADER" || this.#leaderHint !== undefined) continue; // follow the leader at once
      this.#coolDown(connection.url, reason);
      if (this.#options.reconnect === false) {
        void this.close(reason);
        break;
      }
      // A connection that lived long resets the back-off; one that died young counts as a failure.
      failures = Date.now() - openedAt >= this.#options.reconnect.maxMs ? 1 : failures + 1;
      if (!(await this.#backOff(failures, everReady))) break;
    }
  }

  /** Wait before the next connection attempt; false when the client must give up. */
  async #backOff(failures: number, everReady: boolean): Promise<boolean> {
    const reconnect = this.#options.reconnect;
    const bounds: ReconnectOptions = reconnect === false ? { initialMs: 250, maxMs: 2000 } : reconnect;
    if (everReady && (reconnect === false || failures > (reconnect.attemptsMax ?? Infinity))) {
      void this.close(this.#lastError ?? new RaftbusError("CONNECTION_CLOSED", "reconnect attempts exhausted"));
      return false;
    }
    // Try every server once quickly, then back off exponentially.
    const servers = this.#pool.all.length;
    const delayMs = failures < servers ? 0 : backoffDelayMs(failures - servers + 1, bounds, this.#options.random);
    if (delayMs > 0) this.#emit({ type: "reconnecting", attempt: failures, delayMs });
    await this.#sleep(delayMs);
    return !this.#closing;
  }

  /** Restore features on `connection`, release waiting requests, and wait until it closes. */
  async #serve(connection: Connection): Promise<RaftbusError> {
    this.#connection = connection;
    this.#ready = false;
    this.#connectionLeader = connection.welcome.leaderId;
    if (this.#connectionLeader === null) this.#leaderUnknown(connection);
    const pinger = this.#startPings(connection);
    try {
      try {
        for (const hook of this.#restoreHooks) {
          if (!connection.isOpen) break;
          await hook(connection);
        }
      } catch (err) {
        // An expected failure while restoring (the connection dropped, NOT_LEADER…) means: reconnect.
        if (!(err instanceof RaftbusError)) throw err;
        if (err.code === "NOT_LEADER" && err.leaderHint !== undefined) this.#follow(connection, err.leaderHint, err);
        else this.#drop(connection, err);
      }
      if (connection.isOpen && !this.#closing) {
        this.#ready = true;
        this.#emit({ type: "connected", server: connection.url, nodeId: connection.welcome.nodeId, leaderId: connection.welcome.leaderId });
        for (const waiter of this.#waiters) {
          clearTimeout(waiter.timer);
          waiter.resolve(connection);
        }
        this.#waiters.clear();
      }
      return await connection.closed;
    } finally {
      if (pinger !== undefined) clearInterval(pinger);
      clearTimeout(this.#leaderlessTimer);
      this.#leaderlessTimer = undefined;
      this.#ready = false;
      if (this.#connection === connection) this.#connection = undefined;
    }
  }

  #startPings(connection: Connection): ReturnType<typeof setInterval> | undefined {
    const intervalMs = this.#options.pingIntervalMs;
    if (intervalMs <= 0) return undefined;
    return setInterval(() => {
      connection.request("ping", {}, intervalMs).catch((err: unknown) => {
        // Only silence counts as death; an error answer still proves the node is alive.
        if (err instanceof RaftbusError && err.code === "TIMEOUT") this.#drop(connection, new RaftbusError("TIMEOUT", `${connection.url} did not answer a ping within ${intervalMs} ms`));
      });
    }, intervalMs);
  }

  /** Close `connection` (if still the current one) so the loop reconnects. */
  #drop(connection: Connection, reason: RaftbusError): void {
    connection.close(reason);
  }

  /** Avoid `server` for a while after it failed with `reason` (see COOL_DOWN_MS). */
  #coolDown(server: string, reason: RaftbusError): void {
    const ms = COOL_DOWN_MS[reason.code] ?? 0;
    if (ms > 0) this.#pool.coolDown(server, ms);
  }

  /**
   * The current connection's node knows no leader: unless it names one
   * within LEADERLESS_MOVE_MS, drop it and try another server (a node cut
   * off from the majority has no leader until the partition heals).
   */
  #leaderUnknown(connection: Connection): void {
    if (this.#connection !== connection) return;
    this.#connectionLeader = null;
    if (this.#leaderlessTimer !== undefined) return;
    this.#leaderlessTimer = setTimeout(() => {
      this.#leaderlessTimer = undefined;
      if (this.#connection !== connection || !connection.isOpen || this.#connectionLeader !== null) return;
      const reason = new RaftbusError("NO_LEADER", `${connection.url} has known no leader for ${LEADERLESS_MOVE_MS} ms; trying another server`);
      this.#coolDown(connection.url, reason);
      this.#drop(connection, reason);
    }, LEADERLESS_MOVE_MS);
  }

  /** Move to the leader at `address`, if `connection` is still the current one. */
  #follow(connection: Connection, address: string, reason: RaftbusError): void {
    if (this.#connection !== connection || !connection.isOpen) return;
    this.#leaderHint = address;
    connection.close(new RaftbusError("NOT_LEADER", reason.message, { leaderHint: address }));
  }

  /**
   * Move to the new leader once the requests outstanding on `connection` are
   * answered (at most LEADER_CHANGE_GRACE_MS): the old leader still answers
   * what it started, e.g. the transfer-leader request that caused the change.
   * Requests sent meanwhile get NOT_LEADER and are retried at the leader.
   */
  #followWhenIdle(connection: Connection, address: string, reason: RaftbusError): void {
    const started = Date.now();
    const check = (): void => {
      if (this.#connection !== connection || !connection.isOpen) return;
      if (connection.pendingRequests === 0 || Date.now() - started >= LEADER_CHANGE_GRACE_MS) this.#follow(connection, address, reason);
      else setTimeout(check, LEADER_CHANGE_POLL_MS);
    };
    check();
  }

  #onPush(frame: PushFrame, connection: Connection): void {
    switch (frame.t) {
      case "leader-changed":
        this.#emit({ type: "leader-changed", leaderId: frame.leaderId, leaderAddress: frame.leaderAddress });
        if (frame.leaderId === null) {
          this.#leaderUnknown(connection);
        } else if (this.#connection === connection) {
          this.#connectionLeader = frame.leaderId;
          clearTimeout(this.#leaderlessTimer);
          this.#leaderlessTimer = undefined;
        }
        if (frame.leaderId !== null && frame.leaderAddress !== null && frame.leaderId !== connection.welcome.nodeId) {
          this.#followWhenIdle(connection, frame.leaderAddress, new RaftbusError("NOT_LEADER", `leader is now ${frame.leaderId}`));
        }
        return;
      case "goaway": {
        const reason = RaftbusError.fromInfo(frame.reason);
        this.#coolDown(connection.url, reason);
        if (frame.reconnectTo !== undefined) this.#follow(connection, frame.reconnectTo, reason);
        else this.#drop(connection, reason.code === "NOT_LEADER" || reason.code === "NOT_MEMBER" ? reason : new RaftbusError("SHUTTING_DOWN", reason.message));
        return;
      }
      case "members-changed":
        this.#pool.learn(frame.servers);
        return;
      default:
        for (const listener of this.#pushListeners) listener(frame);
    }
  }
}

function classify(err: RaftbusError, idempotent: boolean): RetryAction {
  switch (err.code) {
    case "NOT_LEADER":
      return err.leaderHint !== undefined ? "redirect" : "backoff";
    case "NO_LEADER":
    case "BACKPRESSURE":
    case "RATE_LIMITED":
      return "backoff";
    case "SHUTTING_DOWN":
      return "reconnect";
    case "NOT_MEMBER":
      return "elsewhere";
    case "CONNECTION_CLOSED":
      return err.details?.["sent"] === false || idempotent ? "reconnect" : "fail";
    case "PROPOSAL_DROPPED":
      return idempotent ? "backoff" : "fail";
    default:
      return "fail";
  }
}
