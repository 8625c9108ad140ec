/**
 * A delivered message as the application sees it: the stored envelope, its
 * delivery attempt, payload helpers, and ack/fail/respond. Settling is done
 * by whoever delivered it (a subscription), through the {@link MsgSettler}
 * interface, so this module depends on no subscription internals.
 */
import type { Delivery, Guarantee, Priority, SysKey, SysVerification, TopicSigningKey, TopicVerification } from "./protocol/index.ts";
import { parseTopicKey, verifySysMessage, verifyTopicMessage } from "./protocol/index.ts";
import { decryptPayload, isEncrypted, parsePayloadKey, type PayloadKey } from "./crypto/payload-cipher.ts";
import { decodeJson, decodeString, type Payload } from "./payload.ts";
import type { PublishOptions, PublishResult } from "./publish.ts";

/** The header that carries a request's reply topic (request/reply). */
export const REPLY_TO_HEADER = "reply-to";
/** The header a responder sets when its handler failed; the value is the failure message. */
export const REPLY_ERROR_HEADER = "raftbus-error";

/** What settles a {@link Msg}: implemented by the subscription that received it. */
export interface MsgSettler {
  /** Acknowledge `msg`. */
  ack(msg: Msg): Promise<void>;
  /** Report `msg` as failed with `reason`. */
  fail(msg: Msg, reason: string): Promise<void>;
  /** Publish a reply to `msg`'s reply topic. */
  respond(msg: Msg, payload: Payload, options: PublishOptions): Promise<PublishResult>;
}

/** A message delivered to a subscriber. */
export class Msg implements Delivery {
  readonly id: string;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly senderId: string;
  readonly timestamp: number;
  readonly priority: Priority;
  readonly guarantee: Guarantee;
  readonly ttlMs?: number;
  readonly maxRetries: number;
  readonly correlationId?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly offset: number;
  readonly index: number;
  /** 1 on first delivery; n > 1 on the n-th (a redelivery). */
  readonly attempt: number;
  /** The subscription (re)subscribe epoch the message arrived in. */
  readonly epoch: number;

  readonly #settler: MsgSettler;
  readonly #sysKeys: readonly SysKey[];
  #settlement: Promise<void> | undefined;
  #verification: SysVerification | undefined;

  /**
   * Built by subscriptions; applications receive instances.
   * @param sysKeys keys that verify system-message signatures (`connect({ systemKeys })`).
   */
  constructor(delivery: Delivery, settler: MsgSettler, epoch: number, sysKeys: readonly SysKey[] = []) {
    this.id = delivery.id;
    this.topic = delivery.topic;
    this.payload = delivery.payload;
    this.senderId = delivery.senderId;
    this.timestamp = delivery.timestamp;
    this.priority = delivery.priority;
    this.guarantee = delivery.guarantee;
    if (delivery.ttlMs !== undefined) this.ttlMs = delivery.ttlMs;
    this.maxRetries = delivery.maxRetries;
    if (delivery.correlationId !== undefined) this.correlationId = delivery.correlationId;
    this.headers = delivery.headers;
    this.offset = delivery.offset;
    this.index = delivery.index;
    this.attempt = delivery.attempt;
    this.epoch = epoch;
    this.#settler = settler;
    this.#sysKeys = sysKeys;
  }

  /**
   * True when this is a system message (`$sys.*`) whose HMAC signature
   * checks out under one of the client's system keys (`connect({ systemKeys })`;
   * docs/system-events.md §Signing). False for everything else, including
   * unsigned system messages of a cluster without a secret: see
   * {@link verification} for why.
   */
  get verified(): boolean {
    return this.verification === "verified";
  }

  /** The outcome of verifying the signature (computed once, on first use). */
  get verification(): SysVerification {
    this.#verification ??= verifySysMessage(this, this.#sysKeys);
    return this.#verification;
  }

  /** The payload bytes (alias of `payload`). */
  get data(): Uint8Array {
    return this.payload;
  }

  /** True when this is not the first delivery of the message. */
  get redelivered(): boolean {
    return this.attempt > 1;
  }

  /** True once `ack()` or `fail()` was called. */
  get settled(): boolean {
    return this.#settlement !== undefined;
  }

  /** The topic a reply should go to, when this message is a request. */
  get replyTo(): string | undefined {
    return this.headers[REPLY_TO_HEADER];
  }

  /**
   * Identity of the message for deduplication: topic, offset and id (the id
   * keeps a recreated topic's reused offsets apart).
   */
  get key(): string {
    return `${this.topic}\u0000${this.offset}\u0000${this.id}`;
  }

  /**
   * Check the topic signature (signed topics, `raftbus key add`) against the
   * keys the subscriber holds (objects or `rbtk1.…` strings): `verified`,
   * `not-signed`, `unknown-key` (signed by a key not given) or `invalid`.
   */
  verifySignature(keys: readonly (TopicSigningKey | string)[]): TopicVerification {
    return verifyTopicMessage(this, keys.map((k) => (typeof k === "string" ? parseTopicKey(k) : k)));
  }

  /** True when the payload is encrypted end to end (`encrypt` publish option). */
  get encrypted(): boolean {
    return isEncrypted(this.headers);
  }

  /**
   * The decrypted payload, with whichever of `keys` (objects or `rbek1.…`
   * strings) encrypted it.
   * @throws RaftbusError DECRYPTION_FAILED (no such key, wrong key, altered), INVALID_ARGUMENT when not encrypted.
   */
  decrypt(keys: PayloadKey | string | readonly (PayloadKey | string)[]): Promise<Uint8Array> {
    const list = (Array.isArray(keys) ? keys : [keys]) as readonly (PayloadKey | string)[];
    return decryptPayload(list.map((k) => (typeof k === "string" ? parsePayloadKey(k) : k)), this);
  }

  /** {@link decrypt}, then parse as JSON. */
  async decryptJson<T = unknown>(keys: PayloadKey | string | readonly (PayloadKey | string)[]): Promise<T> {
    return decodeJson<T>(await this.decrypt(keys));
  }

  /** The payload as UTF-8 text. */
  string(): string {
    return decodeString(this.payload);
  }

  /**
   * The payload parsed as JSON.
   * @throws RaftbusError INVALID_ARGUMENT when it is not JSON.
   */
  json<T = unknown>(): T {
    return decodeJson<T>(this.payload);
  }

  /**
   * Acknowledge: processed. Resolves once the server recorded the ack (it
   * went through the Raft log). Idempotent; after `fail()` it is a no-op.
   */
  ack(): Promise<void> {
    this.#settlement ??= this.#settler.ack(this);
    return this.#settlement;
  }

  /** Processing failed: the server redelivers after backoff, or dead-letters after maxRetries. Idempotent. */
  fail(reason: string): Promise<void> {
    this.#settlement ??= this.#settler.fail(this, reason);
    return this.#settlement;
  }

  /**
   * Reply to a request message (one published by `client.request()`).
   * @throws RaftbusError INVALID_ARGUMENT when the message has no reply topic.
   */
  respond(payload: Payload, options: PublishOptions = {}): Promise<PublishResult> {
    return this.#settler.respond(this, payload, options);
  }
}
