/**
 * Delivery state (SPEC §4): a delivery entry records attempts (for
 * at-most-once before the message is handed out, for the others after), ack settles them, fail or an ack timeout schedules a retry with
 * exponential backoff, and after maxRetries the message becomes a dead letter.
 * Every time comes from the log (ctx.now, deadlines stored in the log's
 * terms), so retry counts and backoff survive failover and restarts.
 */
import { GUARANTEES } from "@raftbus/client/protocol";
import type { Guarantee } from "@raftbus/client/protocol";
import type { AckItem, DeliverItem, DeliveryCommand, FailItem, QueueHint, SubscriptionRef } from "../commands/types.ts";
import { BUDGETS } from "../config.ts";
import type { Backoff } from "../config.ts";
import { assert } from "../raft-api.ts";
import { decodePendingValue, dlqKey, outstandingKey, pendingKey } from "../store/keys.ts";
import type { PendingValue } from "../store/keys.ts";
import { encodeDlq, encodeOutstanding, expiresAtOf, priorityIndex, rateAdd } from "../store/records.ts";
import type { Outstanding } from "../store/records.ts";
import type { ApplyContext } from "./context.ts";
import { isExpired, readMessage } from "./messages.ts";
import type { DeliveredItem, DeliveryRejection, FailOutcome, RejectedDelivery, ResultOf } from "./results.ts";
import { runBackfill } from "./subscriptions.ts";
import { effectiveGuarantee } from "./subscription.ts";
import type { SubState } from "./subscription.ts";

/**
 * Delay before redelivery after attempt `attempt` (≥ 1) failed:
 * min(maxMs, initialMs · multiplier^(attempt−1)), by repeated
 * multiplication (plain IEEE arithmetic: the same on every replica).
 */
export function backoffDelay(b: Backoff, attempt: number): number {
  let delay = b.initialMs;
  for (let i = 1; i < attempt && delay < b.maxMs; i++) delay *= b.multiplier;
  return Math.min(b.maxMs, Math.floor(delay));
}

/**
 * delivery: record attempts, then acks, then fails (README "Guarantees").
 * Subscriptions whose queue ran low continue their backfill here, so a
 * consumer draining an old backlog is fed at its own pace, not the tick's.
 */
export async function applyDelivery(ctx: ApplyContext, cmd: DeliveryCommand): Promise<ResultOf<"delivery">> {
  const delivered: DeliveredItem[] = [];
  const rejected: RejectedDelivery[] = [];
  const touched = new Set<SubState>();
  await prefetchHinted(ctx, [...cmd.delivered, ...cmd.acked]);
  for (const item of cmd.delivered) {
    const reason = await deliverOne(ctx, item);
    const { subscription, topic, offset } = item;
    if (reason === undefined) delivered.push({ subscription, topic, offset, attempt: item.attempt, consumerId: item.consumerId });
    else rejected.push({ subscription, topic, offset, reason });
    touch(ctx, touched, item.subscription);
  }
  const acked: boolean[] = [];
  for (const item of cmd.acked) {
    acked.push(await ackOne(ctx, item));
    touch(ctx, touched, item.subscription);
  }
  const failed: FailOutcome[] = [];
  for (const item of cmd.failed) {
    failed.push(await failOne(ctx, item));
    touch(ctx, touched, item.subscription);
  }
  // What this entry records, settles or fails is no longer the leader's plan.
  ctx.effects.settledReservations.push(...cmd.delivered, ...cmd.acked, ...cmd.failed);
  for (const sub of [...touched].sort((a, b) => a.id - b.id)) await refillBackfill(ctx, sub);
  return { ok: true, type: "delivery", delivered, rejected, acked, failed };
}

function touch(ctx: ApplyContext, touched: Set<SubState>, name: string): void {
  const sub = ctx.state.subsByName.get(name);
  if (sub !== undefined) touched.add(sub);
}

/** Queue length under which a subscription's backfill continues when its deliveries are recorded. */
export const BACKFILL_LOW_WATER = 1000;

async function refillBackfill(ctx: ApplyContext, sub: SubState): Promise<void> {
  if (sub.rec.backfill.length === 0 || sub.pendingTotal >= BACKFILL_LOW_WATER) return;
  await runBackfill(ctx, sub, BUDGETS.backfillRefill);
}

/** A message's reference in a subscription's pending queue. */
interface FoundPending {
  readonly key: Uint8Array;
  /** Priority queue (0 = critical). */
  readonly p: number;
  readonly seq: number;
  readonly ref: PendingValue;
}

/**
 * The pending reference of message (tid, offset) in `sub`'s queue: through
 * the leader's hint when it names a matching reference (no message read),
 * else the long way through the message. A rejection reason when there is
 * none: the message is gone, has expired (unless `expiredToo`), or is not
 * pending (stale).
 */
async function findPending(ctx: ApplyContext, sub: SubState, tid: number, offset: number, hint: QueueHint, expiredToo = false): Promise<FoundPending | DeliveryRejection> {
  if (hint.seq !== undefined && hint.queue !== undefined && sub.pendingOf(tid, hint.queue) > 0) {
    const key = pendingKey(sub.id, hint.queue, hint.seq);
    const v = await ctx.txn.get(key);
    const ref = v === undefined ? undefined : decodePendingValue(v);
    if (ref !== undefined && ref.tid === tid && ref.offset === offset) {
      // A reference exists only while its message does; it carries the message's expiry.
      return !expiredToo && isExpired(ref.expiresAt, ctx.now) ? "expired" : { key, p: hint.queue, seq: hint.seq, ref };
    }
  }
  const rec = await readMessage(ctx.txn, tid, offset);
  if (rec === undefined) return "gone";
  if (!expiredToo && isExpired(expiresAtOf(rec), ctx.now)) return "expired";
  const p = priorityIndex(rec.priority);
  if (sub.pendingOf(tid, p) === 0) return "stale";
  const key = pendingKey(sub.id, p, rec.seq);
  const v = await ctx.txn.get(key);
  return v === undefined ? "stale" : { key, p, seq: rec.seq, ref: decodePendingValue(v) };
}

/** Reads the pending references the items' hints name, in one round trip. */
async function prefetchHinted(ctx: ApplyContext, items: readonly (SubscriptionRef & QueueHint)[]): Promise<void> {
  const keys: Uint8Array[] = [];
  for (const i of items) {
    const sub = ctx.state.subsByName.get(i.subscription);
    if (sub !== undefined && i.seq !== undefined && i.queue !== undefined) keys.push(pendingKey(sub.id, i.queue, i.seq));
  }
  if (keys.length > 0) await ctx.txn.prefetch(keys);
}

async function deliverOne(ctx: ApplyContext, item: DeliverItem): Promise<DeliveryRejection | undefined> {
  const { state, txn } = ctx;
  const sub = state.subsByName.get(item.subscription);
  if (sub === undefined) return "subscription-not-found";
  state.touchSub(sub);
  const topic = state.topicsByName.get(item.topic);
  if (topic === undefined) return "topic-not-found";
  const out = sub.outstandingAt(topic.id, item.offset);
  if (out !== undefined) {
    // A redelivery: only of a message waiting for its retry, once it is due, as the next attempt.
    if (out.state !== "retry" || out.deadline > ctx.now || item.attempt !== out.attempt + 1) return "stale";
    if (isExpired(out.expiresAt, ctx.now)) return "expired";
    out.attempt = item.attempt;
    sub.markInflight(out);
    out.deadline = ctx.now + sub.spec.ackTimeoutMs;
    out.consumerId = item.consumerId;
    txn.put(outstandingKey(sub.id, out.seq), encodeOutstanding(out));
    state.updateHolder(sub, topic.id); // no longer waiting for a retry
    sub.rec.stats.redelivered += 1;
    countDelivery(ctx, sub);
    return undefined;
  }
  const found = await findPending(ctx, sub, topic.id, item.offset, item.attempt === 1 ? item : {});
  if (typeof found === "string") return found;
  if (item.attempt !== 1) return "stale";
  const { ref, p } = found;
  const guarantee = effectiveGuarantee(sub.spec.guarantee, GUARANTEES[ref.guarantee] as Guarantee);
  if (guarantee !== "at-most-once" && sub.outstanding.size >= sub.spec.maxInFlight) return "no-capacity";
  txn.del(found.key);
  sub.removePending(topic.id, p);
  if (guarantee !== "at-most-once") {
    const o: Outstanding = {
      seq: found.seq, tid: topic.id, offset: item.offset, priority: p, attempt: 1, state: "inflight",
      deadline: ctx.now + sub.spec.ackTimeoutMs, consumerId: item.consumerId, expiresAt: ref.expiresAt,
      maxRetries: ref.maxRetries ?? sub.spec.maxRetries,
    };
    sub.putOutstanding(o);
    txn.put(outstandingKey(sub.id, o.seq), encodeOutstanding(o));
  }
  // at-most-once: the delivery is recorded (the reference is gone) before anyone
  // hands the message out, so it can never be delivered again.
  state.updateHolder(sub, topic.id);
  countDelivery(ctx, sub);
  return undefined;
}

function countDelivery(ctx: ApplyContext, sub: SubState): void {
  sub.rec.stats.delivered += 1;
  sub.rec.cursor += 1;
  rateAdd(sub.rec.stats.deliverRate, ctx.now, 1);
}

/**
 * One ack: settles the outstanding delivery; or, for a message still
 * pending (pushed by a leader whose delivery record never committed, or
 * acked before its record was proposed), takes it off the queue as
 * delivered and acked. Anything else is a harmless no-op (idempotent).
 */
async function ackOne(ctx: ApplyContext, item: AckItem): Promise<boolean> {
  const { state } = ctx;
  const sub = state.subsByName.get(item.subscription);
  const topic = state.topicsByName.get(item.topic);
  if (sub === undefined || topic === undefined) return false;
  const out = sub.outstandingAt(topic.id, item.offset);
  if (out !== undefined) settle(ctx, sub, out);
  else if (!(await takePending(ctx, sub, topic.id, item.offset, item))) return false;
  sub.rec.stats.acked += 1;
  rateAdd(sub.rec.stats.ackRate, ctx.now, 1);
  state.touchSub(sub);
  return true;
}

/** Removes a never-recorded delivery from the pending queue, counted as delivered. */
async function takePending(ctx: ApplyContext, sub: SubState, tid: number, offset: number, hint: QueueHint): Promise<boolean> {
  if (!sub.holds(tid)) return false;
  // A message pushed before its TTL passed may be acked after: it still leaves the queue.
  const found = await findPending(ctx, sub, tid, offset, hint, true);
  if (typeof found === "string") return false;
  ctx.txn.del(found.key);
  sub.removePending(tid, found.p);
  ctx.state.updateHolder(sub, tid);
  countDelivery(ctx, sub);
  return true;
}

/**
 * One fail of an in-flight delivery. With `attempt`, a fail for an older
 * attempt than the current one is ignored (the message was redelivered).
 */
async function failOne(ctx: ApplyContext, item: FailItem): Promise<FailOutcome> {
  const sub = ctx.state.subsByName.get(item.subscription);
  const topic = ctx.state.topicsByName.get(item.topic);
  const out = sub === undefined || topic === undefined ? undefined : sub.outstandingAt(topic.id, item.offset);
  if (sub === undefined || out === undefined || out.state !== "inflight" || (item.attempt !== undefined && item.attempt !== out.attempt)) return "ignored";
  return failOutstanding(ctx, sub, out, item.reason, ctx.now);
}

/**
 * A delivery failed at log time `at` (a fail, or its ack deadline passing):
 * schedule the retry, or dead-letter it once attempts exceed maxRetries.
 */
export async function failOutstanding(ctx: ApplyContext, sub: SubState, out: Outstanding, reason: string, at: number): Promise<FailOutcome> {
  sub.rec.stats.failed += 1;
  ctx.state.touchSub(sub);
  if (out.attempt > out.maxRetries) {
    await deadLetter(ctx, sub, out, reason);
    return "dead-lettered";
  }
  sub.markRetry(out);
  out.deadline = at + backoffDelay(sub.spec.backoff, out.attempt);
  ctx.txn.put(outstandingKey(sub.id, out.seq), encodeOutstanding(out));
  ctx.state.updateHolder(sub, out.tid); // now waiting for a retry
  return "retry";
}

/** Moves an outstanding delivery to its topic's DLQ with a copy of the message. */
async function deadLetter(ctx: ApplyContext, sub: SubState, out: Outstanding, reason: string): Promise<void> {
  const { state, txn } = ctx;
  const topic = state.topicsById.get(out.tid);
  const rec = await readMessage(txn, out.tid, out.offset);
  // Removing a message or a topic drops outstanding deliveries, so both exist here.
  assert(topic !== undefined && rec !== undefined, () => `${sub.name}: outstanding ${out.tid}:${out.offset} has no message`);
  const id = state.meta.nextDlqId;
  state.meta.nextDlqId += 1;
  txn.put(dlqKey(topic.id, id), encodeDlq({ id, offset: out.offset, subscription: sub.name, reason, attempts: out.attempt, deadAt: ctx.now, message: rec }));
  topic.dlqSize += 1;
  topic.deadLettered += 1;
  state.touchTopic(topic);
  settle(ctx, sub, out);
  sub.rec.stats.deadLettered += 1;
}

function settle(ctx: ApplyContext, sub: SubState, out: Outstanding): void {
  sub.deleteOutstanding(out);
  ctx.txn.del(outstandingKey(sub.id, out.seq));
  ctx.state.updateHolder(sub, out.tid);
  ctx.state.touchSub(sub);
}

/** Fails every in-flight delivery whose ack deadline has passed (as of ctx.now). Returns how many. */
export async function expireAckDeadlines(ctx: ApplyContext): Promise<number> {
  let n = 0;
  const due = (sub: SubState): boolean => sub.outstanding.size > 0 && (sub.earliestAckDeadline() ?? Number.POSITIVE_INFINITY) <= ctx.now;
  for (const sub of ctx.state.sortedSubsWhere(due)) {
    for (const out of sub.sortedOutstanding()) {
      if (out.state !== "inflight" || out.deadline > ctx.now) continue;
      sub.rec.stats.timeouts += 1;
      await failOutstanding(ctx, sub, out, "ack timeout", out.deadline);
      n += 1;
    }
  }
  return n;
}

/** Makes every delivery waiting for a retry due now (maintenance retryFailed). Returns how many. */
export function retryNow(ctx: ApplyContext): number {
  let n = 0;
  for (const sub of ctx.state.sortedSubs()) {
    for (const out of sub.sortedOutstanding()) {
      if (out.state !== "retry" || out.deadline <= ctx.now) continue;
      out.deadline = ctx.now;
      ctx.txn.put(outstandingKey(sub.id, out.seq), encodeOutstanding(out));
      n += 1;
    }
  }
  return n;
}
