/**
 * Request/reply over topics (SPEC §9): a request is a message with a
 * `correlationId` and a `reply-to` header naming the requester's reply topic
 * (the inbox the server names in its welcome: `_reply.<user>.<clientId>`, or
 * `_reply.<clientId>` when the node runs without authentication; a session
 * may read only its own); a responder publishes its answer there with the same
 * correlation id. The requester listens on its reply topic through one
 * ephemeral at-most-once subscription, opened on first use.
 */
import { REPLY_ERROR_HEADER, REPLY_TO_HEADER, type Msg } from "./msg.ts";
import type { Payload } from "./payload.ts";
import { RaftbusError } from "./protocol/index.ts";
import type { PublishOptions, PublishResult } from "./publish.ts";
import type { SubscribeOptions, Subscription, SubscriptionRegistry } from "./subscription.ts";
import { randomId } from "./util/ids.ts";
import type { TimerHandle } from "./util/timers.ts";

/** Options of `client.request()`. */
export interface RequestOptions extends Omit<PublishOptions, "correlationId" | "timeoutMs"> {
  /** How long to wait for the reply, in ms (default 5000). Also the request message's TTL unless `ttlMs` is set. */
  readonly timeoutMs?: number;
}

/** Computes a reply; its return value is published as the reply payload. */
export type ReplyHandler = (msg: Msg) => Payload | Promise<Payload>;

interface PendingReply {
  readonly resolve: (msg: Msg) => void;
  readonly reject: (err: RaftbusError) => void;
  readonly timer: TimerHandle;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** The reply subscription holds this many undelivered replies at most. */
const INBOX_IN_FLIGHT = 1000;

/** The prefix of reply topics; the server must let clients publish to and subscribe to `_reply.*`. */
export const REPLY_TOPIC_PREFIX = "_reply";

/** Sends requests and matches replies to them. */
export class Requester {
  readonly #inboxOf: () => string;
  /** The topic the inbox subscription listens on, once opened. */
  #inboxTopic: string | undefined;
  readonly #registry: SubscriptionRegistry;
  readonly #publish: (topic: string, payload: Payload, options: PublishOptions) => Promise<PublishResult>;
  readonly #pending = new Map<string, PendingReply>();
  readonly #pendingMax: number;
  #inbox: Promise<Subscription> | undefined;

  /** Used by the client. */
  constructor(
    registry: SubscriptionRegistry,
    inboxOf: () => string,
    publish: (topic: string, payload: Payload, options: PublishOptions) => Promise<PublishResult>,
    pendingMax: number,
  ) {
    this.#registry = registry;
    this.#publish = publish;
    this.#pendingMax = pendingMax;
    this.#inboxOf = inboxOf;
  }

  /** This client's reply topic (the inbox the server assigned this connection). */
  get replyTopic(): string {
    return this.#inboxTopic ?? this.#inboxOf();
  }

  /**
   * Publish a request on `topic` and resolve with the first reply.
   * @throws RaftbusError TIMEOUT when no reply came within `timeoutMs`;
   *   RESPONDER_ERROR when the responder's handler failed; publish errors.
   */
  async request(topic: string, payload: Payload, options: RequestOptions = {}): Promise<Msg> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (this.#pending.size >= this.#pendingMax) throw new RaftbusError("BACKPRESSURE", `${this.#pending.size} requests already await replies`);
    const started = Date.now();
    await this.#ensureInbox(timeoutMs);
    const correlationId = randomId(20);
    const reply = new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(correlationId);
        reject(new RaftbusError("TIMEOUT", `no reply to the request on ${topic} within ${timeoutMs} ms`));
      }, Math.max(1, timeoutMs - (Date.now() - started)));
      this.#pending.set(correlationId, { resolve, reject, timer });
    });
    // The timer may reject `reply` while the publish below is still in
    // flight, before anyone awaits it: mark it handled so Node does not end
    // the process; the caller still receives the rejection below.
    reply.catch(() => undefined);
    const { timeoutMs: _ignored, ...publishOptions } = options;
    try {
      await this.#publish(topic, payload, {
        ...publishOptions,
        correlationId,
        ttlMs: options.ttlMs ?? timeoutMs,
        headers: { ...options.headers, [REPLY_TO_HEADER]: this.replyTopic },
        timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)),
      });
    } catch (err) {
      this.#settle(correlationId, err instanceof RaftbusError ? err : new RaftbusError("INTERNAL", String(err)));
    }
    return reply;
  }

  /**
   * Serve requests on `pattern`: each request's handler result is published
   * to its reply topic; a throwing handler sends a RESPONDER_ERROR reply.
   * Messages without a reply topic are acked and ignored.
   */
  reply(pattern: string, handler: ReplyHandler, options: Omit<SubscribeOptions, "handler"> = {}): Promise<Subscription> {
    return this.#registry.subscribe(pattern, {
      ...options,
      handler: async (msg) => {
        if (msg.replyTo === undefined || msg.correlationId === undefined) return;
        let answer: Payload;
        try {
          answer = await handler(msg);
        } catch (err) {
          await msg.respond(new Uint8Array(0), { headers: { [REPLY_ERROR_HEADER]: err instanceof Error ? err.message : String(err) } });
          return;
        }
        await msg.respond(answer);
      },
    });
  }

  /** Fail every waiting request (the client is closing). */
  close(reason: RaftbusError): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, reason);
  }

  #ensureInbox(timeoutMs: number): Promise<Subscription> {
    const topic = this.#inboxOf();
    this.#inboxTopic = topic;
    this.#inbox ??= this.#registry.subscribe(topic, {
      guarantee: "at-most-once",
      from: "latest",
      maxInFlight: INBOX_IN_FLIGHT,
      timeoutMs,
      handler: (msg) => this.#onReply(msg),
    });
    // A failed inbox subscribe is retried by the next request.
    this.#inbox.catch(() => {
      this.#inbox = undefined;
      this.#inboxTopic = undefined;
    });
    return this.#inbox;
  }

  #onReply(msg: Msg): void {
    const id = msg.correlationId;
    // No pending entry: a late reply to a request that timed out.
    if (id === undefined) return;
    const error = msg.headers[REPLY_ERROR_HEADER];
    this.#settle(id, error !== undefined ? new RaftbusError("RESPONDER_ERROR", error) : msg);
  }

  #settle(id: string, outcome: Msg | RaftbusError): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (outcome instanceof RaftbusError) pending.reject(outcome);
    else pending.resolve(outcome);
  }
}
