/**
 * Publishing one message and awaiting its commit; also the message building
 * and checks the batching publisher shares.
 */
import {
  checkOf, DEFAULT_SERVER_LIMITS, parseTopicKey, RaftbusError, schemas, signTopicMessage, TOPIC_SIGNATURE_HEADER,
  type TopicSigningKey, type Guarantee, type PublishAck, type PublishMessage, type PublishOutcome, type Priority, type ServerLimits,
} from "./protocol/index.ts";
import { encodePayload, type Payload } from "./payload.ts";
import { ENCRYPTION_HEADER, encryptPayload, parsePayloadKey, type PayloadKey } from "./crypto/payload-cipher.ts";
import type { Session } from "./session.ts";
import { randomId } from "./util/ids.ts";
import { backoffDelayMs } from "./util/backoff.ts";
import { sleep } from "./util/timers.ts";

const checkPublishMessage = checkOf(schemas.PublishMessage);

/** Options of one published message (SPEC §2). */
export interface PublishOptions {
  /** Unique message id; the server stores a given id once per dedup window. Default: a random id, so retries are safe. */
  readonly id?: string;
  /** Default `medium`. */
  readonly priority?: Priority;
  readonly guarantee?: Guarantee;
  /** The message expires this long after it was published and is never delivered after that. */
  readonly ttlMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Request/reply correlation. */
  readonly correlationId?: string;
  /** Redeliveries before the message goes to the dead-letter queue. */
  readonly maxRetries?: number;
  /** Deadline for the commit, including retries after failover, in ms (default: the client's timeoutMs). */
  readonly timeoutMs?: number;
  /**
   * Sign with this topic signing key (`rbtk1.…` from `raftbus key add`):
   * required on topics a key guards. The signature covers the topic, the id
   * (one is generated when not given), the payload and the headers.
   */
  readonly sign?: TopicSigningKey | string;
  /**
   * Encrypt the payload end to end with this key (`rbek1.…`, see
   * generatePayloadKey) before it leaves the client: the nodes store
   * ciphertext (client.publish and the batching publisher).
   */
  readonly encrypt?: PayloadKey | string;
}

/** Where a committed message landed. `duplicate`: it was already stored (same id or producer sequence). */
export type PublishResult = PublishAck;

/** Rough encoded size of a message, for batch sizing: payload, strings and a fixed envelope overhead. */
export function estimateMessageBytes(message: PublishMessage): number {
  let bytes = 64 + message.payload.byteLength + message.topic.length + (message.id?.length ?? 0) + (message.correlationId?.length ?? 0);
  if (message.headers !== undefined) for (const [k, v] of Object.entries(message.headers)) bytes += k.length + v.length + 4;
  return bytes;
}

/**
 * Build and check a publish message.
 * @throws RaftbusError INVALID_ARGUMENT for malformed options, PAYLOAD_TOO_LARGE over `limits.maxPayloadBytes`.
 */
export function buildMessage(
  topic: string,
  payload: Payload,
  options: PublishOptions,
  limits: ServerLimits = DEFAULT_SERVER_LIMITS,
  extra: { readonly producerId?: string; readonly sequence?: number; readonly generateId?: boolean } = {},
): PublishMessage {
  const bytes = encodePayload(payload);
  if (bytes.byteLength > limits.maxPayloadBytes) {
    throw new RaftbusError("PAYLOAD_TOO_LARGE", `payload of ${bytes.byteLength} bytes exceeds the limit of ${limits.maxPayloadBytes}`, {
      details: { payloadBytes: bytes.byteLength, maxPayloadBytes: limits.maxPayloadBytes },
    });
  }
  if (options.encrypt !== undefined) throw new RaftbusError("INVALID_ARGUMENT", "encrypt: encryption is asynchronous; seal the message with sealForPublish first (client.publish and the publisher do)");
  // A signature covers the id, so a signed message always carries one.
  const id = options.id ?? (extra.generateId === true || options.sign !== undefined ? randomId(20) : undefined);
  const headers = options.sign === undefined ? options.headers : signedHeaders(topic, id!, bytes, options.headers ?? {}, options.sign);
  const message: PublishMessage = {
    topic,
    payload: bytes,
    ...(id !== undefined ? { id } : {}),
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
    ...(options.guarantee !== undefined ? { guarantee: options.guarantee } : {}),
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
    ...(headers !== undefined ? { headers } : {}),
    ...(options.correlationId !== undefined ? { correlationId: options.correlationId } : {}),
    ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
    ...(extra.producerId !== undefined ? { producerId: extra.producerId } : {}),
    ...(extra.sequence !== undefined ? { sequence: extra.sequence } : {}),
  };
  const err = checkPublishMessage(message, "message");
  if (err !== undefined) throw new RaftbusError("INVALID_ARGUMENT", err);
  return message;
}

function signedHeaders(topic: string, id: string, payload: Uint8Array, headers: Readonly<Record<string, string>>, key: TopicSigningKey | string): Record<string, string> {
  const k = typeof key === "string" ? parseTopicKey(key) : key;
  const { [TOPIC_SIGNATURE_HEADER]: _old, ...rest } = headers;
  return { ...rest, [TOPIC_SIGNATURE_HEADER]: signTopicMessage({ topic, id, payload, headers: rest }, k) };
}

/**
 * The payload and options of an encrypted publish: the payload encrypted
 * for `topic` and its header added (signing, if asked, comes after and
 * covers both). Options without `encrypt` come back as they are.
 */
export async function sealForPublish(topic: string, payload: Payload, options: PublishOptions): Promise<{ payload: Payload; options: PublishOptions }> {
  if (options.encrypt === undefined) return { payload, options };
  const key = typeof options.encrypt === "string" ? parsePayloadKey(options.encrypt) : options.encrypt;
  const sealed = await encryptPayload(key, topic, encodePayload(payload));
  const { encrypt: _e, ...rest } = options;
  return { payload: sealed.payload, options: { ...rest, headers: { ...options.headers, [ENCRYPTION_HEADER]: sealed.header } } };
}

/** The PublishAck of an outcome, or its error as a RaftbusError. */
export function outcomeResult(outcome: PublishOutcome): PublishResult {
  if (outcome.ok) return outcome.ack;
  throw RaftbusError.fromInfo(outcome.error);
}

/**
 * Per-message error codes after which the message was not stored and may be
 * sent again with the same id or producer sequence (dedup makes a resend
 * that did land harmless).
 */
const RETRYABLE_OUTCOME_CODES: ReadonlySet<string> = new Set(["NOT_LEADER", "NO_LEADER", "PROPOSAL_DROPPED", "BACKPRESSURE", "RATE_LIMITED", "SHUTTING_DOWN"]);

/** True when a message that failed with `code` should be resent. */
export function isRetryableOutcome(code: string): boolean {
  return RETRYABLE_OUTCOME_CODES.has(code);
}

/** Delays between resends of messages whose outcome was retryable. */
export const PUBLISH_RETRY_BACKOFF = { initialMs: 50, maxMs: 1000 } as const;

/** Upper bound on resends of one message; the deadline normally ends it first. */
export const PUBLISH_ATTEMPTS_MAX = 100;

/**
 * Publish one message and resolve once it is committed. The message carries
 * an id (given or generated), so a retry after a failover is stored once.
 * @throws RaftbusError: the server's error for the message, TIMEOUT at the deadline.
 */
export async function publishOne(session: Session, topic: string, payload: Payload, options: PublishOptions = {}): Promise<PublishResult> {
  const sealed = await sealForPublish(topic, payload, options);
  const message = buildMessage(topic, sealed.payload, sealed.options, session.limits, { generateId: true });
  const deadline = Date.now() + (options.timeoutMs ?? session.defaultTimeoutMs);
  let last: RaftbusError | undefined;
  for (let attempt = 1; attempt <= PUBLISH_ATTEMPTS_MAX && Date.now() < deadline; attempt++) {
    const response = await session.request("publish", { messages: [message] }, { idempotent: true, timeoutMs: Math.max(1, deadline - Date.now()) });
    const [outcome] = response.results;
    if (outcome === undefined || response.results.length !== 1) {
      throw new RaftbusError("BAD_REQUEST", `publish of 1 message got ${response.results.length} results`);
    }
    if (outcome.ok || !isRetryableOutcome(outcome.error.code)) return outcomeResult(outcome);
    last = RaftbusError.fromInfo(outcome.error);
    await sleep(Math.min(backoffDelayMs(attempt, PUBLISH_RETRY_BACKOFF, session.random), deadline - Date.now()));
  }
  throw new RaftbusError("TIMEOUT", `publish to ${topic} did not commit in time${last ? ` (last error ${last.code}: ${last.message})` : ""}`);
}
