/**
 * Subscriptions: deliveries in, acks/fails/credit out, re-established on
 * every new connection.
 *
 * Flow control (credit). The server pushes a delivery only against credit,
 * and the SDK keeps `server credit + messages it holds unsettled ≤ maxInFlight`:
 * each delivery consumes one credit, and the SDK returns one credit per
 * delivery once it is acked or failed (at-least-once, exactly-once), handed to
 * the application (at-most-once), or dropped as a duplicate. On re-subscribe
 * the initial credit is `maxInFlight − unsettled`, which also heals credit
 * lost with a dropped connection. A consumer that stops acking therefore stops
 * receiving, and the SDK holds at most `maxInFlight` deliveries per
 * subscription (2 × maxInFlight across a reconnect; beyond that deliveries are
 * dropped unacked and counted in `stats.overrun`).
 *
 * Exactly-once (what the SDK adds to the server's acked state): see
 * {@link SubscribeOptions.dedupWindowMax} and docs/protocol.md §Exactly-once.
 */
import type { Connection } from "./connection.ts";
import type { Msg as MsgType } from "./msg.ts";
import { Msg, type MsgSettler } from "./msg.ts";
import type { Payload } from "./payload.ts";
import {
  RaftbusError,
  type BackoffPolicy, type Delivery, type ErrorCode, type Guarantee, type MessageRef, type FailedRef, type PushFrame,
  type StartPosition, type SubscribeRequest, type SubscribeResponse,
} from "./protocol/index.ts";
import type { PublishOptions, PublishResult } from "./publish.ts";
import type { Session } from "./session.ts";
import { LruSet } from "./util/lru.ts";
import { deferred, type Deferred, type TimerHandle } from "./util/timers.ts";

/** Options of `client.subscribe()` (SPEC §4). */
export interface SubscribeOptions {
  /** Durable subscription name: state (acked position, in-flight, retries) survives reconnects and failover. Absent: ephemeral. */
  readonly name?: string;
  /** Filter expression over headers and JSON payload fields, e.g. `usage > 90`. */
  readonly filter?: string;
  /** Default `at-least-once`. */
  readonly guarantee?: Guarantee;
  /** Where a new subscription starts (default `latest`). */
  readonly from?: StartPosition;
  /** Most deliveries held unsettled by this subscriber (default 100). */
  readonly maxInFlight?: number;
  /** Redelivery after this long without ack (server default 30000). */
  readonly ackTimeoutMs?: number;
  /** Redeliveries before dead-lettering (server default 5). */
  readonly maxRetries?: number;
  /** Redelivery backoff (server default 1 s doubling to 60 s). */
  readonly backoff?: BackoffPolicy;
  /**
   * Handler form: called for each message, one at a time, in delivery order.
   * Without it, iterate the subscription (`for await`).
   */
  readonly handler?: (msg: MsgType) => void | Promise<void>;
  /**
   * Ack automatically: in handler form (default true) when the handler returns
   * without settling the message — a throwing handler fails it instead; in
   * iterator form (default false) when the loop asks for the next message.
   */
  readonly autoAck?: boolean;
  /**
   * Exactly-once: how many acked message keys the SDK remembers to drop
   * redeliveries of them (default 10000). Only used with guarantee `exactly-once`.
   */
  readonly dedupWindowMax?: number;
  /** Receives errors of automatic acks/fails and of handlers (also kept in `lastError`). */
  readonly onError?: (err: Error, msg: MsgType | undefined) => void;
  /** Deadline of the subscribe request, in ms (default: the client's timeoutMs). */
  readonly timeoutMs?: number;
}

/** Counters of one subscription. */
export interface SubscriptionStats {
  /** Deliveries received from the server. */
  readonly received: number;
  /** Messages handed to the handler or iterator. */
  readonly processed: number;
  readonly acked: number;
  readonly failed: number;
  /** Exactly-once: redeliveries of acked or in-progress messages dropped by the SDK. */
  readonly duplicates: number;
  /** Deliveries beyond 2 × maxInFlight dropped unacked (the server ignored credit). */
  readonly overrun: number;
  /** Handler and automatic ack/fail errors. */
  readonly errors: number;
}

/** What a subscription needs from its registry. */
interface SubscriptionHost {
  readonly session: Session;
  register(subscriptionId: string, subscription: Subscription): void;
  unregister(subscription: Subscription): void;
  publish(topic: string, payload: Payload, options: PublishOptions): Promise<PublishResult>;
}

interface SettleItem {
  readonly ref: MessageRef | FailedRef;
  readonly fail: boolean;
  readonly done: Deferred<void>;
}

const DEFAULT_MAX_IN_FLIGHT = 100;
/** Replies expire after a minute unless told otherwise: nobody waits for them longer. */
const REPLY_TTL_MS = 60_000;
const DEFAULT_DEDUP_WINDOW = 10_000;
/** Most refs in one ack or fail request (≈ 50 bytes each, far below any frame limit). */
const SETTLE_BATCH_MAX = 1000;
/** Returned credit waits this long for company before it is sent (unless half the window is owed). */
const CREDIT_LINGER_MS = 5;
/** Codes of a failed (re)subscribe that a new connection may cure. */
const TRANSIENT: ReadonlySet<string> = new Set<ErrorCode>([
  "CONNECTION_CLOSED", "NOT_LEADER", "NO_LEADER", "TIMEOUT", "SHUTTING_DOWN", "BACKPRESSURE", "RATE_LIMITED",
  // A leader change (or hand-over) dropped the subscribe's log entry: subscribing is idempotent, try again.
  "PROPOSAL_DROPPED",
]);

function errorOf(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A live subscription: an async iterable of {@link Msg} (or a handler, when
 * one was given). Create with `client.subscribe()`.
 */
export class Subscription implements AsyncIterable<MsgType>, MsgSettler {
  /** The subscribed pattern. */
  readonly pattern: string;
  /** The durable name; undefined for an ephemeral subscription. */
  readonly name: string | undefined;
  /** The delivery guarantee the subscription was created with. */
  readonly guarantee: Guarantee;
  readonly #requestedMaxInFlight: number;
  #maxInFlight: number;
  /** Resolves when the subscription ended: undefined after unsubscribe/close, else the reason. */
  readonly closed: Promise<Error | undefined>;
  /** The last handler or automatic ack/fail error (also passed to `onError`). */
  lastError: Error | undefined;

  readonly #host: SubscriptionHost;
  readonly #options: SubscribeOptions;
  #serverId: string | undefined;
  #connection: Connection | undefined;
  #established = false;
  #epoch = 0;
  #open = true;
  #stopping = false;
  #closeError: Error | undefined;
  #resolveClosed!: (reason: Error | undefined) => void;
  readonly #buffer: Msg[] = [];
  #unsettled = 0;
  #creditOwed = 0;
  #creditTimer: TimerHandle | undefined;
  #settleQueue: SettleItem[] = [];
  #settleTimer: TimerHandle | undefined;
  readonly #settling = new Set<Promise<void>>();
  readonly #inProgress = new Set<string>();
  readonly #acked: LruSet<string> | undefined;
  #pull: Deferred<void> | undefined;
  #iterating = false;
  #lastHanded: Msg | undefined;
  #pumping = false;
  readonly #stats = { received: 0, processed: 0, acked: 0, failed: 0, duplicates: 0, overrun: 0, errors: 0 };

  /** Use `client.subscribe()`. */
  constructor(host: SubscriptionHost, pattern: string, options: SubscribeOptions) {
    this.#host = host;
    this.#options = options;
    this.pattern = pattern;
    this.name = options.name;
    this.guarantee = options.guarantee ?? "at-least-once";
    this.#requestedMaxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    if (!Number.isSafeInteger(this.#requestedMaxInFlight) || this.#requestedMaxInFlight < 1) {
      throw new RaftbusError("INVALID_ARGUMENT", `maxInFlight must be a positive integer, got ${this.#requestedMaxInFlight}`);
    }
    this.#maxInFlight = this.#requestedMaxInFlight;
    if (this.guarantee === "exactly-once") {
      const window = options.dedupWindowMax ?? DEFAULT_DEDUP_WINDOW;
      if (!Number.isSafeInteger(window) || window < 1) throw new RaftbusError("INVALID_ARGUMENT", `dedupWindowMax must be a positive integer, got ${window}`);
      this.#acked = new LruSet(window);
    }
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Most deliveries held unsettled: the requested maxInFlight, capped by the server's limit. */
  get maxInFlight(): number {
    return this.#maxInFlight;
  }

  /** The server's id of this subscription on the current connection (changes on reconnect). */
  get id(): string | undefined {
    return this.#serverId;
  }

  /** True until unsubscribed or closed. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** Counters so far. */
  get stats(): SubscriptionStats {
    return { ...this.#stats };
  }

  /** Deliveries received and not yet settled (buffered or being processed). */
  get unsettled(): number {
    return this.#unsettled;
  }

  /**
   * Stop receiving. Queued acks are sent first; a durable subscription keeps
   * its server state (resume later with the same name), unless `delete`.
   */
  async unsubscribe(options: { readonly delete?: boolean } = {}): Promise<void> {
    if (!this.#open || this.#stopping) return;
    this.#stopping = true;
    this.#ackLastHanded();
    await this.#drainSettles();
    try {
      if (options.delete === true) {
        await this.#host.session.request("unsubscribe", (conn) => ({ subscriptionId: this.#idOn(conn), delete: true }), { idempotent: true, ...this.#timeout() });
      } else if (this.#serverId !== undefined && this.#connection?.isOpen === true) {
        await this.#connection.request("unsubscribe", { subscriptionId: this.#serverId }, this.#options.timeoutMs ?? this.#host.session.defaultTimeoutMs);
      }
    } catch (err) {
      // A lost connection detaches the subscriber anyway (the server expires the session).
      if (!(err instanceof RaftbusError && (err.code === "CONNECTION_CLOSED" || err.code === "SUBSCRIPTION_NOT_FOUND"))) throw err;
    } finally {
      this.close();
    }
  }

  /** Unsubscribe and delete a durable subscription's server state. */
  delete(): Promise<void> {
    return this.unsubscribe({ delete: true });
  }

  /**
   * Iterate the messages. Only one iterator per subscription, and none with a
   * handler. Leaving the loop (`break`) unsubscribes.
   */
  [Symbol.asyncIterator](): AsyncIterator<MsgType> {
    if (this.#options.handler !== undefined) throw new RaftbusError("INVALID_ARGUMENT", "a subscription with a handler cannot be iterated");
    if (this.#iterating) throw new RaftbusError("INVALID_ARGUMENT", "a subscription can be iterated only once");
    this.#iterating = true;
    return {
      next: () => this.#next(),
      return: async () => {
        await this.unsubscribe();
        return { value: undefined, done: true };
      },
    };
  }

  // ------------------------------------------------------------ MsgSettler

  /** Settle `msg` as processed (use `msg.ack()`). */
  ack(msg: Msg): Promise<void> {
    this.#stats.acked++;
    if (this.guarantee === "at-most-once") return Promise.resolve();
    // Exactly-once: remember the key at once, so a redelivery racing the ack is dropped.
    this.#acked?.add(msg.key);
    const done = this.#enqueue({ topic: msg.topic, offset: msg.offset }, false);
    this.#release(msg); // after the enqueue: the freed credit rides on this ack
    return done;
  }

  /** Settle `msg` as failed (use `msg.fail()`). */
  fail(msg: Msg, reason: string): Promise<void> {
    this.#stats.failed++;
    if (this.guarantee === "at-most-once") return Promise.resolve();
    const done = this.#enqueue({ topic: msg.topic, offset: msg.offset, reason }, true);
    this.#release(msg);
    return done;
  }

  /** Publish a reply to `msg` (use `msg.respond()`). */
  respond(msg: Msg, payload: Payload, options: PublishOptions): Promise<PublishResult> {
    const replyTo = msg.replyTo;
    if (replyTo === undefined) return Promise.reject(new RaftbusError("INVALID_ARGUMENT", `message ${msg.id} has no reply-to header`));
    return this.#host.publish(replyTo, payload, {
      ttlMs: REPLY_TTL_MS,
      ...options,
      ...(msg.correlationId !== undefined ? { correlationId: msg.correlationId } : {}),
    });
  }

  // ------------------------------------------------------------ registry interface (internal)

  /** @internal The subscribe request body; `resubscribe` after a reconnect. */
  _body(resubscribe: boolean): SubscribeRequest {
    const o = this.#options;
    // An ephemeral subscription re-created after a loss starts at the tail, like a NATS core subscription.
    const from = resubscribe && this.name === undefined ? "latest" : o.from;
    return {
      pattern: this.pattern,
      guarantee: this.guarantee,
      maxInFlight: this.#requestedMaxInFlight,
      credit: Math.max(0, this.#maxInFlight - this.#unsettled),
      ...(this.name !== undefined ? { name: this.name } : {}),
      ...(o.filter !== undefined ? { filter: o.filter } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(o.ackTimeoutMs !== undefined ? { ackTimeoutMs: o.ackTimeoutMs } : {}),
      ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
      ...(o.backoff !== undefined ? { backoff: o.backoff } : {}),
    };
  }

  /** @internal Bind to the server subscription `response` created on `connection` with `creditSent` initial credit. */
  _attach(response: SubscribeResponse, connection: Connection, creditSent: number): void {
    if (!this.#open) return;
    this.#serverId = response.subscriptionId;
    this.#connection = connection;
    this.#established = true;
    this.#epoch++;
    this.#host.register(response.subscriptionId, this);
    // The server may cap maxInFlight; it caps the initial credit the same way.
    this.#maxInFlight = Math.min(this.#requestedMaxInFlight, response.maxInFlight);
    // Credits returned while the subscribe was in flight were counted neither in the body nor sent.
    this.#creditOwed = Math.max(0, this.#maxInFlight - this.#unsettled - Math.min(creditSent, this.#maxInFlight));
    if (this.#creditOwed > 0) this.#scheduleCredit();
  }

  /** @internal Subscribe the first time, through the session (waits for a connection, retries). */
  async _subscribe(): Promise<void> {
    let sent = 0;
    let target: Connection | undefined;
    await this.#host.session.request("subscribe", (conn) => {
      target = conn;
      const body = this._body(false);
      sent = body.credit ?? this.#maxInFlight;
      return body;
    }, {
      idempotent: true,
      ...this.#timeout(),
      onOk: (response) => {
        if (target !== undefined) this._attach(response, target, sent);
      },
    });
  }

  /** @internal Re-subscribe on a new connection (restore hook). Throws transient errors to make the session reconnect. */
  async _resubscribe(connection: Connection): Promise<void> {
    if (!this.#open || !this.#established) return;
    this.#serverId = undefined;
    this.#connection = undefined;
    const body = this._body(true);
    try {
      await connection.request("subscribe", body, this.#options.timeoutMs ?? this.#host.session.defaultTimeoutMs, (response) => this._attach(response, connection, body.credit ?? 0));
    } catch (err) {
      if (err instanceof RaftbusError && TRANSIENT.has(err.code)) throw err;
      this.close(errorOf(err));
    }
  }

  /** @internal Deliveries pushed for this subscription. */
  _receive(deliveries: readonly Delivery[]): void {
    for (const delivery of deliveries) this.#receiveOne(delivery);
    if (this.#options.handler !== undefined) void this.#pump();
    else this.#wake();
  }

  /** @internal The server ended this subscription. */
  _serverClosed(reason: RaftbusError): void {
    this.#serverId = undefined;
    if (!this.#open) return;
    if (!TRANSIENT.has(reason.code)) {
      this.close(reason);
      return;
    }
    // The node lost leadership (or is going down): re-subscribe wherever the session is now.
    const connection = this.#connection;
    this.#connection = undefined;
    void (async () => {
      try {
        const current = await this.#host.session.waitReady(Date.now() + this.#host.session.defaultTimeoutMs);
        if (this.#connection === current || !this.#open) return; // a restore already re-subscribed
        await this._resubscribe(current);
      } catch (err) {
        // Transient failures: the session reconnects and its restore hook re-subscribes.
        if (err instanceof RaftbusError && TRANSIENT.has(err.code)) {
          if (connection !== undefined) this.#host.session.recover(connection, err);
          return;
        }
        this.close(errorOf(err));
      }
    })();
  }

  /**
   * End the subscription locally without telling the server (use
   * {@link unsubscribe} for that). Queued acks fail; iterators end, or throw
   * `reason` when given.
   */
  close(reason?: Error): void {
    if (!this.#open) return;
    this.#open = false;
    this.#closeError = reason;
    clearTimeout(this.#creditTimer);
    clearTimeout(this.#settleTimer);
    const failure = reason ?? new RaftbusError("SUBSCRIPTION_NOT_FOUND", "subscription closed");
    for (const item of this.#settleQueue.splice(0)) item.done.reject(failure);
    this.#buffer.length = 0;
    this.#host.unregister(this);
    this.#wake();
    this.#resolveClosed(reason);
  }

  // ------------------------------------------------------------ receiving

  #receiveOne(delivery: Delivery): void {
    if (!this.#open || this.#stopping) return; // unacked: the server redelivers (durable) or forgets (ephemeral)
    this.#stats.received++;
    if (this.#unsettled >= 2 * this.#maxInFlight) {
      this.#stats.overrun++;
      return;
    }
    this.#unsettled++;
    const msg = new Msg(delivery, this, this.#epoch, this.#host.session.systemKeys);
    if (this.#acked !== undefined) {
      const key = msg.key;
      if (this.#acked.has(key)) {
        // Already acked here: the ack may not have reached the server. Re-ack; never hand it out again.
        this.#stats.duplicates++;
        this.#enqueue({ topic: msg.topic, offset: msg.offset }, false).catch((err: unknown) => this.#report(errorOf(err), msg));
        this.#returnCredit();
        return;
      }
      if (this.#inProgress.has(key)) {
        // Being processed here right now (the server's ack timeout fired): its ack or fail settles both.
        this.#stats.duplicates++;
        this.#returnCredit();
        return;
      }
      this.#inProgress.add(key);
    }
    this.#buffer.push(msg);
  }

  /** Take the next buffered message and account for handing it to the application. */
  #handOut(): Msg | undefined {
    const msg = this.#buffer.shift();
    if (msg === undefined) return undefined;
    this.#stats.processed++;
    if (this.guarantee === "at-most-once") this.#returnCredit();
    return msg;
  }

  async #next(): Promise<IteratorResult<MsgType>> {
    this.#ackLastHanded();
    // Each turn either returns or sleeps until a delivery or close wakes it.
    for (;;) {
      const msg = this.#handOut();
      if (msg !== undefined) {
        this.#lastHanded = msg;
        return { value: msg, done: false };
      }
      if (!this.#open || this.#stopping) {
        if (this.#closeError !== undefined) throw this.#closeError;
        return { value: undefined, done: true };
      }
      this.#pull ??= deferred();
      await this.#pull.promise;
    }
  }

  #ackLastHanded(): void {
    const last = this.#lastHanded;
    this.#lastHanded = undefined;
    if (last !== undefined && this.#options.autoAck === true && !last.settled) {
      last.ack().catch((err: unknown) => this.#report(errorOf(err), last));
    }
  }

  #wake(): void {
    const pull = this.#pull;
    this.#pull = undefined;
    pull?.resolve();
  }

  async #pump(): Promise<void> {
    const handler = this.#options.handler;
    if (this.#pumping || handler === undefined) return;
    this.#pumping = true;
    const autoAck = this.#options.autoAck ?? true;
    try {
      // Bounded by the buffer, which credit bounds.
      for (let msg = this.#handOut(); msg !== undefined && this.#open; msg = this.#handOut()) {
        const current = msg;
        try {
          await handler(current);
          if (autoAck && !current.settled) current.ack().catch((err: unknown) => this.#report(errorOf(err), current));
        } catch (err) {
          if (!current.settled) current.fail(errorOf(err).message).catch((e: unknown) => this.#report(errorOf(e), current));
          this.#report(errorOf(err), current);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  #report(err: Error, msg: Msg | undefined): void {
    this.#stats.errors++;
    this.lastError = err;
    this.#options.onError?.(err, msg);
  }

  // ------------------------------------------------------------ settling and credit

  /** A message's slot frees up: forget it as in-progress and return its credit. */
  #release(msg: Msg): void {
    this.#inProgress.delete(msg.key);
    this.#returnCredit();
  }

  #returnCredit(): void {
    this.#unsettled--;
    this.#creditOwed++;
    this.#scheduleCredit();
  }

  #scheduleCredit(): void {
    // An ack or fail about to go out carries the credit in the same frame.
    if (this.#settleQueue.length > 0) return;
    if (this.#creditOwed >= Math.max(1, Math.floor(this.#maxInFlight / 2))) this.#sendCredit();
    else this.#creditTimer ??= setTimeout(() => this.#sendCredit(), CREDIT_LINGER_MS);
  }

  #sendCredit(): void {
    clearTimeout(this.#creditTimer);
    this.#creditTimer = undefined;
    const credit = this.#creditOwed;
    const connection = this.#connection;
    const id = this.#serverId;
    // Not attached: the next (re)subscribe sends maxInFlight − unsettled, which includes this credit.
    if (credit === 0 || !this.#open || connection === undefined || id === undefined || !connection.isOpen) return;
    this.#creditOwed = 0;
    connection.request("credit", { subscriptionId: id, credit }, this.#host.session.defaultTimeoutMs).catch((err: unknown) => {
      if (!(err instanceof RaftbusError && err.code === "CONNECTION_CLOSED")) this.#report(errorOf(err), undefined);
    });
  }

  #enqueue(ref: MessageRef | FailedRef, fail: boolean): Promise<void> {
    if (!this.#open) return Promise.reject(this.#closeError ?? new RaftbusError("SUBSCRIPTION_NOT_FOUND", "subscription closed"));
    const done = deferred<void>();
    this.#settleQueue.push({ ref, fail, done });
    if (this.#settleQueue.length >= SETTLE_BATCH_MAX) this.#flushSettles();
    else this.#settleTimer ??= setTimeout(() => this.#flushSettles(), 0);
    return done.promise;
  }

  #flushSettles(): void {
    clearTimeout(this.#settleTimer);
    this.#settleTimer = undefined;
    const items = this.#settleQueue;
    this.#settleQueue = [];
    const acks = items.filter((i) => !i.fail);
    const fails = items.filter((i) => i.fail);
    // The credit these settles free travels with them (one frame), unless the connection is not usable.
    let credit = 0;
    if (this.#connection?.isOpen === true && this.#serverId !== undefined) {
      credit = this.#creditOwed;
      this.#creditOwed = 0;
      clearTimeout(this.#creditTimer);
      this.#creditTimer = undefined;
    }
    if (acks.length > 0) this.#track(this.#sendSettles(acks, "ack", credit));
    if (fails.length > 0) this.#track(this.#sendSettles(fails, "fail", acks.length > 0 ? 0 : credit));
    if (this.#creditOwed > 0) this.#scheduleCredit();
  }

  #track(sending: Promise<void>): void {
    const tracked = sending.finally(() => this.#settling.delete(tracked));
    this.#settling.add(tracked);
  }

  async #sendSettles(items: readonly SettleItem[], kind: "ack" | "fail", credit: number): Promise<void> {
    try {
      const options = { idempotent: true, ...this.#timeout() };
      // Credit goes with the first attempt only: a retry on a new connection re-subscribes with fresh credit.
      let creditLeft = credit;
      const creditOnce = (): { credit?: number } => {
        const c = creditLeft;
        creditLeft = 0;
        return c > 0 ? { credit: c } : {};
      };
      if (kind === "ack") {
        await this.#host.session.request("ack", (conn) => ({ subscriptionId: this.#idOn(conn), messages: items.map((i) => i.ref), ...creditOnce() }), options);
      } else {
        await this.#host.session.request("fail", (conn) => ({ subscriptionId: this.#idOn(conn), messages: items.map((i) => i.ref as FailedRef), ...creditOnce() }), options);
      }
      for (const item of items) item.done.resolve();
    } catch (err) {
      for (const item of items) item.done.reject(err);
    }
  }

  async #drainSettles(): Promise<void> {
    if (this.#settleQueue.length > 0) this.#flushSettles();
    await Promise.allSettled([...this.#settling]);
  }

  /** This subscription's id on `connection`, for a request about to go out on it. */
  #idOn(connection: Connection): string {
    if (!this.#open || this.#serverId === undefined || this.#connection !== connection) {
      throw new RaftbusError("SUBSCRIPTION_NOT_FOUND", `subscription ${this.name ?? this.pattern} is not established on ${connection.url}`);
    }
    return this.#serverId;
  }

  #timeout(): { timeoutMs?: number } {
    return this.#options.timeoutMs !== undefined ? { timeoutMs: this.#options.timeoutMs } : {};
  }
}

/** Routes pushes to subscriptions and re-subscribes them on every new connection. */
export class SubscriptionRegistry implements SubscriptionHost {
  /** The session the subscriptions run on. */
  readonly session: Session;
  readonly #subscriptions = new Set<Subscription>();
  readonly #byId = new Map<string, Subscription>();
  readonly #publish: (topic: string, payload: Payload, options: PublishOptions) => Promise<PublishResult>;

  /** @param publish how replies are published (`msg.respond()`). */
  constructor(session: Session, publish: (topic: string, payload: Payload, options: PublishOptions) => Promise<PublishResult>) {
    this.session = session;
    this.#publish = publish;
    session.onPush((frame) => this.#onPush(frame));
    session.addRestoreHook((connection) => this.#restore(connection));
    void session.closed.then((reason) => this.closeAll(reason));
  }

  /** Open subscriptions. */
  get size(): number {
    return this.#subscriptions.size;
  }

  /**
   * Subscribe and resolve once the server accepted.
   * @throws RaftbusError INVALID_PATTERN, INVALID_FILTER (details.position), INVALID_ARGUMENT, TIMEOUT…
   */
  async subscribe(pattern: string, options: SubscribeOptions = {}): Promise<Subscription> {
    const subscription = new Subscription(this, pattern, options);
    this.#subscriptions.add(subscription);
    try {
      await subscription._subscribe();
    } catch (err) {
      subscription.close(errorOf(err));
      throw err;
    }
    return subscription;
  }

  /** @internal */
  register(subscriptionId: string, subscription: Subscription): void {
    this.#byId.set(subscriptionId, subscription);
  }

  /** @internal */
  unregister(subscription: Subscription): void {
    this.#subscriptions.delete(subscription);
    for (const [id, sub] of this.#byId) if (sub === subscription) this.#byId.delete(id);
  }

  /** @internal */
  publish(topic: string, payload: Payload, options: PublishOptions): Promise<PublishResult> {
    return this.#publish(topic, payload, options);
  }

  /** Unsubscribe every subscription (the client is draining); failures only end them locally. */
  async unsubscribeAll(): Promise<void> {
    const subscriptions = [...this.#subscriptions];
    const results = await Promise.allSettled(subscriptions.map((s) => s.unsubscribe()));
    for (const [i, r] of results.entries()) if (r.status === "rejected") subscriptions[i]?.close(errorOf(r.reason));
  }

  /** Close every subscription locally (the client is closing). */
  closeAll(reason?: Error): void {
    for (const subscription of [...this.#subscriptions]) subscription.close(reason);
  }

  async #restore(connection: Connection): Promise<void> {
    // Ids belong to a session; the new connection is a new session.
    this.#byId.clear();
    await Promise.all([...this.#subscriptions].map((s) => s._resubscribe(connection)));
  }

  #onPush(frame: PushFrame): void {
    if (frame.t === "deliver") {
      // Unknown id: the subscription was just unsubscribed; its deliveries stay unacked on the server.
      this.#byId.get(frame.subscriptionId)?._receive(frame.messages);
    } else if (frame.t === "subscription-closed") {
      const subscription = this.#byId.get(frame.subscriptionId);
      this.#byId.delete(frame.subscriptionId);
      subscription?._serverClosed(RaftbusError.fromInfo(frame.reason));
    }
  }
}
