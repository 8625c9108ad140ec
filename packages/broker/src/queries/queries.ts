/**
 * Read-side queries the node server answers (SPEC §3 topic info, §4, §6
 * statistics and DLQ list). They read the applied state of THIS replica:
 * for linearizable answers the server first waits for a ReadIndex.
 * Rates are computed at the replica's log time, never its wall clock.
 */
import { PRIORITIES, RaftbusError } from "@raftbus/client/protocol";
import type { Guarantee, Priority, StoredMessage } from "@raftbus/client/protocol";
import type { Backoff, Retention } from "../config.ts";
import type { StartPosition } from "../commands/types.ts";
import { isExpired } from "../state/messages.ts";
import type { BrokerState } from "../state/state.ts";
import { effectiveGuarantee } from "../state/subscription.ts";
import type { SubState } from "../state/subscription.ts";
import { dlqKey, logKey, logRange, readU64, topicDlqRange } from "../store/keys.ts";
import { decodeDlq, decodeMessage, expiresAtOf, rateOf } from "../store/records.ts";
import type { MessageRecord, TopicRecord } from "../store/records.ts";
import type { BinaryDb } from "../store/txn.ts";

/** Most messages or dead letters one read returns. */
export const READ_LIMIT_MAX = 1000;

/** A line of `topic list`. */
export interface TopicSummary {
  readonly name: string;
  readonly count: number;
  readonly bytes: number;
  /** Lowest stored offset (= nextOffset when empty). */
  readonly firstOffset: number;
  /** Highest offset ever assigned; -1 before the first message. */
  readonly lastOffset: number;
  readonly retention: Retention;
  readonly dlqSize: number;
}

/** A subscription's backlog in one topic. */
export interface TopicSubscriptionLag {
  readonly name: string;
  readonly pending: number;
  readonly outstanding: number;
  readonly lag: number;
}

/** `topic info` (SPEC §3). */
export interface TopicInfo extends TopicSummary {
  readonly createdAt: number;
  /** Messages per second over the last complete 10 s of log time. */
  readonly publishRate: number;
  readonly published: number;
  readonly publishedBytes: number;
  readonly duplicates: number;
  readonly removedByRetention: number;
  readonly expired: number;
  readonly deadLettered: number;
  readonly replayed: number;
  /** Subscriptions matching the topic or holding its messages, with their lag in it. */
  readonly subscriptions: readonly TopicSubscriptionLag[];
}

/** A line of `subscription list`. */
export interface SubscriptionSummary {
  readonly name: string;
  readonly pattern: string;
  readonly guarantee: Guarantee;
  readonly ephemeral: boolean;
  readonly lag: number;
}

/** Subscription details and statistics (SPEC §4, §6). */
export interface SubscriptionInfo extends SubscriptionSummary {
  readonly filter?: string;
  readonly start: StartPosition;
  readonly maxInFlight: number;
  readonly ackTimeoutMs: number;
  readonly maxRetries: number;
  readonly backoff: Backoff;
  readonly sessionId?: string;
  readonly createdAt: number;
  /** Never-delivered messages queued, per priority. */
  readonly pending: Readonly<Record<Priority, number>>;
  readonly inFlight: number;
  readonly waitingRetry: number;
  /** True while messages that existed at creation are still being enqueued. */
  readonly backfilling: boolean;
  readonly delivered: number;
  readonly redelivered: number;
  readonly acked: number;
  readonly failed: number;
  readonly timeouts: number;
  readonly deadLettered: number;
  readonly dropped: number;
  readonly deliverRate: number;
  readonly ackRate: number;
}

/** One dead letter. */
export interface DlqEntry {
  readonly id: number;
  readonly topic: string;
  readonly offset: number;
  readonly subscription: string;
  readonly reason: string;
  readonly attempts: number;
  readonly deadAt: number;
  readonly message: StoredMessage;
}

/** Broker-wide statistics (SPEC §6). */
export interface BrokerStats {
  readonly appliedIndex: number;
  readonly logNow: number;
  readonly topics: number;
  readonly subscriptions: number;
  readonly messages: number;
  readonly bytes: number;
  readonly published: number;
  readonly publishRate: number;
  readonly duplicates: number;
  readonly delivered: number;
  readonly redelivered: number;
  readonly acked: number;
  readonly failed: number;
  readonly timeouts: number;
  readonly deadLettered: number;
  readonly dlqSize: number;
  readonly pending: number;
  readonly inFlight: number;
  readonly waitingRetry: number;
}

/** A message handed to a consumer: the stored message plus its delivery attempt. */
export interface DeliveredMessage extends StoredMessage {
  readonly subscription: string;
  /** The consumer the log assigned it to. */
  readonly consumerId: string;
  /** 1 = first delivery. */
  readonly attempt: number;
  /** The guarantee this delivery gets: the weaker of the subscription's and the message's. */
  readonly deliveryGuarantee: Guarantee;
  /** attempt − 1 (SPEC §2 retryCount). */
  readonly retryCount: number;
  readonly redelivered: boolean;
}

/** All topics, by name. */
export function listTopics(state: BrokerState): TopicSummary[] {
  return [...state.topicsByName.values()].sort(byName).map(summary);
}

/** Details of one topic; TOPIC_NOT_FOUND when absent. */
export function topicInfo(state: BrokerState, name: string): TopicInfo {
  const t = requireTopic(state, name);
  const now = state.meta.logNow;
  const subscriptions: TopicSubscriptionLag[] = state.sortedSubs()
    .filter((s) => s.pattern.matches(t.name) || s.holds(t.id))
    .sort(byName)
    .map((s) => {
      const pending = [0, 1, 2, 3].reduce((a, p) => a + s.pendingOf(t.id, p), 0);
      const outstanding = s.outstandingOf(t.id);
      return { name: s.name, pending, outstanding, lag: pending + outstanding };
    });
  return {
    ...summary(t), createdAt: t.createdAt, publishRate: rateOf(t.rate, now), published: t.published,
    publishedBytes: t.publishedBytes, duplicates: t.duplicates, removedByRetention: t.removedByRetention,
    expired: t.expired, deadLettered: t.deadLettered, replayed: t.replayed, subscriptions,
  };
}

/** All subscriptions, by name. */
export function listSubscriptions(state: BrokerState): SubscriptionSummary[] {
  return [...state.subsByName.values()].sort(byName).map((s) => ({
    name: s.name, pattern: s.spec.pattern, guarantee: s.spec.guarantee, ephemeral: s.spec.ephemeral, lag: lagOf(s),
  }));
}

/** A session that owns ephemeral subscriptions, and their names. */
export interface EphemeralSession {
  readonly sessionId: string;
  readonly subscriptions: readonly string[];
}

/** The sessions that own ephemeral subscriptions, by session id, with their subscriptions' names (for session expiry). */
export function ephemeralSessions(state: BrokerState): EphemeralSession[] {
  // From the state's per-session index: the leader asks every second, and sorting
  // every subscription by name each time held its event loop ~25 ms at 10,000.
  return state.ephemeralSessionIds().map((sessionId) => ({
    sessionId, subscriptions: state.ephemeralSubsOf(sessionId).map((s) => s.name).sort(),
  }));
}

/** Details of one subscription; SUBSCRIPTION_NOT_FOUND when absent. */
export function subscriptionInfo(state: BrokerState, name: string): SubscriptionInfo {
  const s = state.subsByName.get(name);
  if (s === undefined) throw new RaftbusError("SUBSCRIPTION_NOT_FOUND", `subscription '${name}' does not exist`);
  const spec = s.spec;
  const st = s.rec.stats;
  const now = state.meta.logNow;
  const outstanding = [...s.outstanding.values()];
  return {
    name: s.name, pattern: spec.pattern, guarantee: spec.guarantee, ephemeral: spec.ephemeral, lag: lagOf(s),
    ...(spec.filter !== undefined ? { filter: spec.filter } : {}),
    start: spec.start, maxInFlight: spec.maxInFlight, ackTimeoutMs: spec.ackTimeoutMs, maxRetries: spec.maxRetries,
    backoff: spec.backoff, ...(spec.sessionId !== undefined ? { sessionId: spec.sessionId } : {}),
    createdAt: s.rec.createdAt,
    pending: Object.fromEntries(PRIORITIES.map((p, i) => [p, s.rec.pending[i] ?? 0])) as Record<Priority, number>,
    inFlight: outstanding.filter((o) => o.state === "inflight").length,
    waitingRetry: outstanding.filter((o) => o.state === "retry").length,
    backfilling: s.rec.backfill.length > 0,
    delivered: st.delivered, redelivered: st.redelivered, acked: st.acked, failed: st.failed, timeouts: st.timeouts,
    deadLettered: st.deadLettered, dropped: st.dropped, deliverRate: rateOf(st.deliverRate, now), ackRate: rateOf(st.ackRate, now),
  };
}

/** Broker-wide totals. */
export function stats(state: BrokerState): BrokerStats {
  const now = state.meta.logNow;
  let messages = 0, bytes = 0, published = 0, publishRate = 0, duplicates = 0, deadLettered = 0, dlqSize = 0;
  for (const t of state.topicsById.values()) {
    messages += t.count;
    bytes += t.bytes;
    published += t.published;
    publishRate += rateOf(t.rate, now);
    duplicates += t.duplicates;
    deadLettered += t.deadLettered;
    dlqSize += t.dlqSize;
  }
  let delivered = 0, redelivered = 0, acked = 0, failed = 0, timeouts = 0, pending = 0, inFlight = 0, waitingRetry = 0;
  for (const s of state.subsById.values()) {
    const st = s.rec.stats;
    delivered += st.delivered;
    redelivered += st.redelivered;
    acked += st.acked;
    failed += st.failed;
    timeouts += st.timeouts;
    pending += s.pendingTotal;
    for (const o of s.outstanding.values()) {
      if (o.state === "inflight") inFlight += 1;
      else waitingRetry += 1;
    }
  }
  return {
    appliedIndex: state.meta.appliedIndex, logNow: now, topics: state.topicsById.size, subscriptions: state.subsById.size,
    messages, bytes, published, publishRate, duplicates, delivered, redelivered, acked, failed, timeouts, deadLettered, dlqSize,
    pending, inFlight, waitingRetry,
  };
}

/** Up to `limit` stored, unexpired messages of `topic` from `fromOffset` on, in offset order. */
export async function readMessages(state: BrokerState, db: BinaryDb, topic: string, fromOffset: number, limit: number): Promise<StoredMessage[]> {
  const t = requireTopic(state, topic);
  checkLimit(limit);
  const from = Math.max(fromOffset, t.firstOffset);
  if (from >= t.nextOffset) return [];
  const out: StoredMessage[] = [];
  const range = logRange(t.id, from, t.nextOffset);
  for await (const [k, v] of db.iterator({ gte: range.gte, lt: range.lt })) {
    const rec = decodeMessage(v);
    if (isExpired(expiresAtOf(rec), state.meta.logNow)) continue;
    out.push(toStoredMessage(t.name, readU64(k, 5), rec));
    if (out.length >= limit) break;
  }
  return out;
}

/** An applied delivery to read back (a deliver result's `delivered` item). */
export interface DeliveryRef {
  readonly topic: string;
  readonly offset: number;
  readonly attempt: number;
  readonly consumerId: string;
}

/**
 * The messages of applied deliveries of `subscription`, ready to push, with
 * the attempt numbers the deliver result gave: aligned with `items`, undefined
 * where the message, topic or subscription is gone since (retention, delete).
 */
export async function readDeliveries(
  state: BrokerState, db: BinaryDb, subscription: string, items: readonly DeliveryRef[],
): Promise<(DeliveredMessage | undefined)[]> {
  const s = state.subsByName.get(subscription);
  if (s === undefined) return items.map(() => undefined);
  const topics = items.map((item) => state.topicsByName.get(item.topic));
  const keys: Uint8Array[] = [];
  topics.forEach((t, i) => {
    if (t !== undefined) keys.push(logKey(t.id, (items[i] as DeliveryRef).offset));
  });
  const values = keys.length === 0 ? [] : ((await db.getMany(keys)) as (Uint8Array | undefined)[]);
  let at = 0;
  return items.map((item, i) => {
    const t = topics[i];
    if (t === undefined) return undefined;
    const bytes = values[at++];
    if (bytes === undefined) return undefined;
    const rec = decodeMessage(bytes);
    const maxRetries = s.outstandingAt(t.id, item.offset)?.maxRetries ?? rec.maxRetries ?? s.spec.maxRetries;
    return {
      ...toStoredMessage(t.name, item.offset, rec), maxRetries, deliveryGuarantee: effectiveGuarantee(s.spec.guarantee, rec.guarantee),
      subscription: s.name, consumerId: item.consumerId, attempt: item.attempt, retryCount: item.attempt - 1, redelivered: item.attempt > 1,
    };
  });
}

/** Dead letters of `topic` with id > `afterId` (default: from the oldest), at most `limit`. */
export async function dlqList(state: BrokerState, db: BinaryDb, topic: string, opts: { afterId?: number; limit?: number } = {}): Promise<DlqEntry[]> {
  const t = requireTopic(state, topic);
  const limit = opts.limit ?? 100;
  checkLimit(limit);
  const range = topicDlqRange(t.id);
  const gte = opts.afterId === undefined ? range.gte : dlqKey(t.id, opts.afterId + 1);
  const out: DlqEntry[] = [];
  for await (const [, v] of db.iterator({ gte, lt: range.lt, limit })) {
    const d = decodeDlq(v);
    out.push({
      id: d.id, topic: t.name, offset: d.offset, subscription: d.subscription, reason: d.reason, attempts: d.attempts,
      deadAt: d.deadAt, message: toStoredMessage(t.name, d.offset, d.message),
    });
  }
  return out;
}

/** The SDK's view of a stored message. `maxRetries` is 0 when the publisher set none (the subscription decides). */
export function toStoredMessage(topic: string, offset: number, rec: MessageRecord): StoredMessage {
  return {
    id: rec.id, topic, payload: rec.payload, senderId: rec.senderId, timestamp: rec.timestamp, priority: rec.priority,
    guarantee: rec.guarantee, ...(rec.ttlMs !== null ? { ttlMs: rec.ttlMs } : {}), maxRetries: rec.maxRetries ?? 0,
    ...(rec.correlationId !== null ? { correlationId: rec.correlationId } : {}), headers: rec.headers, offset, index: rec.index,
  };
}

function summary(t: TopicRecord): TopicSummary {
  return {
    name: t.name, count: t.count, bytes: t.bytes, firstOffset: t.firstOffset, lastOffset: t.nextOffset - 1,
    retention: t.retention, dlqSize: t.dlqSize,
  };
}

function lagOf(s: SubState): number {
  return s.pendingTotal + s.outstanding.size;
}

function requireTopic(state: BrokerState, name: string): TopicRecord {
  const t = state.topicsByName.get(name);
  if (t === undefined) throw new RaftbusError("TOPIC_NOT_FOUND", `topic '${name}' does not exist`);
  return t;
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > READ_LIMIT_MAX) {
    throw new RaftbusError("INVALID_ARGUMENT", `limit must be in 1..${READ_LIMIT_MAX}`);
  }
}

function byName(a: { readonly name: string }, b: { readonly name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
