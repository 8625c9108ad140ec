/**
 * Topic logs: appending (with fan-out into subscription queues), reading,
 * removing (retention, TTL) and retention enforcement (SPEC §3). Every
 * removal also drops the references subscriptions hold to the message, so
 * queue counters stay exact.
 */
import { GUARANTEES } from "@raftbus/client/protocol";
import type { Guarantee, Priority } from "@raftbus/client/protocol";
import { assert } from "../raft-api.ts";
import {
  encodePendingValue, logKey, logRange, outstandingKey, pendingKey, readU64, ttlKey,
} from "../store/keys.ts";
import { decodeMessage, encodeMessage, expiresAtOf, priorityIndex, rateAdd } from "../store/records.ts";
import type { MessageRecord, TopicRecord } from "../store/records.ts";
import type { Txn } from "../store/txn.ts";
import { utf8ByteLength } from "../topic/utf8.ts";
import { FILTER_STEPS_MAX, messageInput } from "../filter/index.ts";
import { LIMITS_IN_APPLY_VERSION, effectiveVersion } from "../version/cluster-version.ts";
import type { FilterInput } from "../filter/index.ts";
import type { ApplyContext } from "./context.ts";
import type { SubState } from "./subscription.ts";

/** What is needed to append a message (a publish, or a dead letter replayed). */
export interface NewMessage {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly priority: Priority;
  readonly guarantee: Guarantee;
  readonly ttlMs: number | null;
  readonly maxRetries: number | null;
  readonly correlationId: string | null;
  readonly senderId: string;
  readonly timestamp: number;
}

/** Bytes a message counts for retention: payload plus header keys and values (UTF-8). */
export function messageSize(payload: Uint8Array, headers: Readonly<Record<string, string>>): number {
  let n = payload.length;
  for (const [k, v] of Object.entries(headers)) n += utf8ByteLength(k) + utf8ByteLength(v);
  return n;
}

/** Reads message `offset` of topic `tid` as of the write set. */
export async function readMessage(txn: Txn, tid: number, offset: number): Promise<MessageRecord | undefined> {
  const bytes = await txn.get(logKey(tid, offset));
  return bytes === undefined ? undefined : decodeMessage(bytes);
}

/** True when a message (or reference) with expiry `expiresAt` (0 = none) has expired at `now`. */
export function isExpired(expiresAt: number, now: number): boolean {
  return expiresAt !== 0 && expiresAt <= now;
}

/**
 * Appends a message to `topic` and enqueues it for subscriptions: `only`
 * when given (a replayed dead letter goes back to the subscription that
 * failed it), else every subscription whose pattern and filter match.
 */
export function appendMessage(ctx: ApplyContext, topic: TopicRecord, m: NewMessage, only?: SubState): { offset: number; rec: MessageRecord } {
  const { state, txn } = ctx;
  const offset = topic.nextOffset;
  assert(topic.count > 0 || topic.firstOffset === offset, () => `topic ${topic.name}: empty but firstOffset ${topic.firstOffset} != nextOffset ${offset}`);
  topic.nextOffset += 1;
  const seq = state.meta.nextSeq;
  state.meta.nextSeq += 1;
  // Stored timestamps never decrease within a topic, whatever the leaders' clocks
  // did: retention by age and start-by-time rely on it.
  const timestamp = Math.max(m.timestamp, topic.lastTimestamp);
  topic.lastTimestamp = timestamp;
  const rec: MessageRecord = {
    id: m.id, seq, timestamp, priority: m.priority, guarantee: m.guarantee, ttlMs: m.ttlMs, maxRetries: m.maxRetries,
    correlationId: m.correlationId, headers: m.headers, senderId: m.senderId, index: ctx.index,
    size: messageSize(m.payload, m.headers), payload: m.payload,
  };
  txn.put(logKey(topic.id, offset), encodeMessage(rec));
  const expiresAt = expiresAtOf(rec);
  if (expiresAt !== 0) txn.put(ttlKey(expiresAt, topic.id, offset), new Uint8Array(0));
  topic.count += 1;
  topic.bytes += rec.size;
  topic.published += 1;
  topic.publishedBytes += rec.size;
  rateAdd(topic.rate, ctx.now, 1);
  state.touchTopic(topic);
  const subs = only !== undefined ? [only] : state.index.size === 0 ? [] : state.index.match(topic.name);
  // One view of the message for every filter: its payload is parsed at most once.
  if (subs.length === 0) return { offset, rec };
  const input = messageInput(rec.headers, rec.payload, filterStepsMax(state));
  let evaluated = 0;
  for (const sub of subs) {
    if (sub.filter !== undefined) evaluated++;
    if (wants(sub, input)) enqueue(ctx, sub, topic.id, offset, rec);
  }
  state.matchingWork.filterEvaluations += evaluated;
  state.matchingWork.payloadParses += input.parsed?.parses ?? 0;
  return { offset, rec };
}

/** True when `sub`'s filter (if any) accepts the message `input` (from messageInput: share it across subscriptions). */
export function wants(sub: SubState, input: FilterInput): boolean {
  return sub.filter === undefined || sub.filter.matches(input);
}

/**
 * The per-message filter step budget apply uses: from cluster version 3 on
 * (LIMITS_IN_APPLY_VERSION); before, none, as older builds have none and
 * every replica must match alike.
 */
export function filterStepsMax(state: { readonly meta: { readonly clusterVersion: number } }): number {
  return effectiveVersion(state.meta.clusterVersion) >= LIMITS_IN_APPLY_VERSION ? FILTER_STEPS_MAX : Number.POSITIVE_INFINITY;
}

/** Adds a pending reference to `sub`'s queue at the message's priority, ordered by seq. */
export function enqueue(ctx: ApplyContext, sub: SubState, tid: number, offset: number, rec: MessageRecord): void {
  const p = priorityIndex(rec.priority);
  ctx.txn.put(pendingKey(sub.id, p, rec.seq), encodePendingValue({
    tid, offset, expiresAt: expiresAtOf(rec), guarantee: GUARANTEES.indexOf(rec.guarantee), maxRetries: rec.maxRetries,
  }));
  sub.addPending(tid, p);
  ctx.state.updateHolder(sub, tid);
  ctx.state.touchSub(sub);
}

/**
 * Removes a stored message and every reference to it: pending references
 * and outstanding deliveries of the subscriptions that hold the topic. The
 * caller moves topic.firstOffset on afterwards (once per batch of removals:
 * finding the next stored offset may need a seek).
 */
export async function removeMessage(ctx: ApplyContext, topic: TopicRecord, offset: number, rec: MessageRecord, reason: "retention" | "expired"): Promise<void> {
  const { state, txn } = ctx;
  txn.del(logKey(topic.id, offset));
  const expiresAt = expiresAtOf(rec);
  if (expiresAt !== 0) txn.del(ttlKey(expiresAt, topic.id, offset));
  assert(topic.count > 0 && topic.bytes >= rec.size, () => `topic ${topic.name}: count/bytes underflow`);
  topic.count -= 1;
  topic.bytes -= rec.size;
  if (reason === "expired") topic.expired += 1;
  else topic.removedByRetention += 1;
  const p = priorityIndex(rec.priority);
  for (const sub of state.holdersOf(topic.id)) {
    if (sub.pendingOf(topic.id, p) > 0) {
      const k = pendingKey(sub.id, p, rec.seq);
      if ((await txn.get(k)) !== undefined) {
        txn.del(k);
        sub.removePending(topic.id, p);
        sub.rec.stats.dropped += 1;
        state.touchSub(sub);
      }
    }
    const out = sub.outstanding.get(rec.seq);
    if (out !== undefined) {
      assert(out.tid === topic.id && out.offset === offset, "outstanding seq names another message");
      sub.deleteOutstanding(out);
      txn.del(outstandingKey(sub.id, out.seq));
      sub.rec.stats.dropped += 1;
      state.touchSub(sub);
    }
    state.updateHolder(sub, topic.id);
  }
  state.touchTopic(topic);
}

/** The first stored offset ≥ `from` of `topic`, or nextOffset when there is none. */
export async function nextStoredOffset(txn: Txn, topic: TopicRecord, from: number): Promise<number> {
  if (from >= topic.nextOffset) return topic.nextOffset;
  if ((await txn.get(logKey(topic.id, from))) !== undefined) return from; // dense: the common case
  for await (const [k] of txn.scan(logRange(topic.id, from, topic.nextOffset), 1)) return readU64(k, 5);
  return topic.nextOffset;
}

/** Most messages read per step while enforcing retention. */
const RETENTION_PAGE_MAX = 1024;

/**
 * Removes the oldest messages while the topic exceeds its retention
 * (maxMessages, maxBytes, and with `byAge` older than maxAgeMs at log time),
 * at most `budget` of them. Oldest-first is offset order, so every replica
 * removes exactly the same messages. Publishing checks count and bytes only;
 * age is enforced by ticks. Returns how many were removed.
 */
export async function enforceRetention(ctx: ApplyContext, topic: TopicRecord, budget: number, byAge: boolean): Promise<number> {
  const r = topic.retention;
  const maxAgeMs = byAge ? r.maxAgeMs : undefined;
  const overCount = (): boolean => r.maxMessages !== undefined && topic.count > r.maxMessages;
  const overBytes = (): boolean => r.maxBytes !== undefined && topic.bytes > r.maxBytes;
  const tooOld = (rec: MessageRecord): boolean => maxAgeMs !== undefined && ctx.now - rec.timestamp > maxAgeMs;
  let removed = 0;
  let settled = false; // firstOffset names a stored message (or the topic is empty)
  while (removed < budget && topic.count > 0 && (overCount() || overBytes() || maxAgeMs !== undefined)) {
    // Read the oldest messages a page at a time: as many as the count limit says must go.
    const need = overCount() ? topic.count - (r.maxMessages as number) : 0;
    const page = Math.min(Math.max(need + 1, 16), budget - removed + 1, RETENTION_PAGE_MAX);
    let seen = 0;
    for await (const [k, v] of ctx.txn.scan(logRange(topic.id, topic.firstOffset, topic.nextOffset), page)) {
      seen += 1;
      const offset = readU64(k, 5);
      const rec = decodeMessage(v);
      if (removed >= budget || !(overCount() || overBytes() || tooOld(rec))) {
        topic.firstOffset = offset;
        settled = true;
        break;
      }
      await removeMessage(ctx, topic, offset, rec, "retention");
      topic.firstOffset = offset + 1;
      removed += 1;
    }
    assert(seen > 0 || topic.count === 0, () => `topic ${topic.name}: ${topic.count} messages but none stored from ${topic.firstOffset}`);
    if (settled) break;
  }
  if (removed > 0 && !settled) topic.firstOffset = await nextStoredOffset(ctx.txn, topic, topic.firstOffset);
  return removed;
}
