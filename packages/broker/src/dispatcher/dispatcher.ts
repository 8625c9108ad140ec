/**
 * The dispatcher: which messages to deliver next, to which consumer
 * (SPEC §4 priority dispatch, work queues, flow control). The node server
 * drives it on the leader, without sockets in the loop:
 *
 *   1. batches = await dispatcher.nextDeliveries({ now, consumers }) — one per subscription
 *   2. at-least-once / exactly-once: push at once, and record the attempts in a
 *      later `delivery` entry (group commit); at-most-once: record first
 *      (deliverCommand(batches, now)), push the `delivered` items of the result;
 *   3. if a record is lost while still leading, call release(batches).
 *
 * The dispatcher only READS replicated state. It remembers which messages it
 * has planned but not yet seen recorded ("reservations", leader-local), so two
 * rounds never plan the same message, and which acks and fails are on their
 * way into the log (reserve()), so it never hands out a message whose ack is
 * about to commit. apply() validates every recorded item again: a stale plan
 * is refused, and an unrecorded push lost in a failover is delivered again
 * by the next leader (a redelivery, never a loss).
 *
 * Priority rule (anti-starvation): a subscription's k-th delivery (k counted
 * in the replicated state, so the schedule survives failover) prefers the
 * priority PRIORITY_SCHEDULE[k mod 15]: 8 critical, 4 high, 2 medium, 1 low
 * per 15. When that queue is empty, the highest non-empty priority goes
 * instead. With all queues backlogged, a low message therefore waits at most
 * 14 other deliveries once it heads its queue; with only higher priorities
 * backlogged it never waits. Within a priority: log order (message seq),
 * retries included, as they keep their priority.
 */
import { PRIORITIES } from "@raftbus/client/protocol";
import type { Priority } from "@raftbus/client/protocol";
import type { DeliverItem, DeliveryCommand } from "../commands/types.ts";
import { BUDGETS } from "../config.ts";
import { decodePendingValue, parsePendingKey, subPendingPriorityRange } from "../store/keys.ts";
import type { BinaryDb } from "../store/txn.ts";
import { isExpired } from "../state/messages.ts";
import type { BrokerState } from "../state/state.ts";
import type { SubState } from "../state/subscription.ts";

/** Weighted round-robin schedule of preferred priorities (indexes into PRIORITIES): 8:4:2:1. */
export const PRIORITY_SCHEDULE: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3];

/** A connected consumer of a subscription and how many more messages it may be sent now. */
export interface ConsumerCredit {
  readonly subscription: string;
  readonly consumerId: string;
  /** Free prefetch/credit, as tracked by the server (0 = send nothing). */
  readonly credit: number;
}

/** Input of one dispatch round. */
export interface DispatchRequest {
  /** The leader's clock: retries due at or before it are eligible. Use the same `now` in the deliver command. */
  readonly now: number;
  readonly consumers: readonly ConsumerCredit[];
  /** Most deliveries planned in this round across subscriptions (default 1000). */
  readonly maxDeliveries?: number;
}

/** One planned delivery. */
export interface PlannedDelivery extends DeliverItem {
  readonly priority: Priority;
}

/** The planned deliveries of one subscription. */
export interface DeliveryBatch {
  readonly subscription: string;
  readonly items: readonly PlannedDelivery[];
}

/** How the dispatcher reaches the state; reads run under the state machine's lock. */
export interface DispatchSource {
  readonly state: () => BrokerState;
  readonly db: () => BinaryDb;
  readonly exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** Options of the dispatcher. */
export interface DispatcherOptions {
  /** A reservation the server never settled or released is dropped after this long (leader clock). */
  readonly reservationTtlMs?: number;
}

/**
 * A planned, not yet recorded delivery, or an ack/fail not yet applied:
 * when (leader clock), and what it is — only first deliveries take
 * in-flight room, only deliveries advance the priority schedule.
 */
interface Reservation {
  readonly at: number;
  readonly kind: "new" | "retry" | "settle";
}

interface Candidate {
  readonly seq: number;
  readonly topic: string;
  readonly offset: number;
  readonly attempt: number;
}

const DEFAULT_MAX_DELIVERIES = 1000;

/** Builds one delivery command recording a batch's attempts, or all batches of a round. */
export function deliverCommand(batches: DeliveryBatch | readonly DeliveryBatch[], now: number): DeliveryCommand {
  const list: readonly DeliveryBatch[] = "items" in batches ? [batches] : batches;
  return { type: "delivery", now, delivered: list.flatMap((b) => b.items.map(deliverItemOf)), acked: [], failed: [] };
}

/** The recorded form of a planned delivery (with its queue hint, when it has one). */
export function deliverItemOf(i: DeliverItem): DeliverItem {
  return {
    subscription: i.subscription, topic: i.topic, offset: i.offset, attempt: i.attempt, consumerId: i.consumerId,
    ...(i.seq !== undefined && i.queue !== undefined ? { seq: i.seq, queue: i.queue } : {}),
  };
}

/** Plans deliveries; see the module comment. */
export class Dispatcher {
  /** subscription → (ref → reservation). */
  private readonly reserved = new Map<string, Map<string, Reservation>>();
  /** subscription → round-robin position among its consumers. */
  private readonly nextConsumer = new Map<string, number>();
  private readonly reservationTtlMs: number;

  constructor(private readonly source: DispatchSource, opts: DispatcherOptions = {}) {
    this.reservationTtlMs = opts.reservationTtlMs ?? 30_000;
  }

  /**
   * Plans the next deliveries for the given consumers (see module comment):
   * one batch per subscription with something to deliver, in name order.
   */
  async nextDeliveries(req: DispatchRequest): Promise<DeliveryBatch[]> {
    return this.source.exclusive(() => this.planLocked(req));
  }

  /** {@link nextDeliveries} for a caller that already holds the state machine's lock. */
  async planLocked(req: DispatchRequest): Promise<DeliveryBatch[]> {
    {
      const state = this.source.state();
      this.expireReservations(req.now);
      let budget = req.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
      const bySub = new Map<string, ConsumerCredit[]>();
      for (const c of req.consumers) {
        if (c.credit <= 0) continue;
        const sub = state.subsByName.get(c.subscription);
        if (sub === undefined || !mayDeliver(sub, req.now)) continue;
        const list = bySub.get(c.subscription) ?? [];
        list.push(c);
        bySub.set(c.subscription, list);
      }
      const batches: DeliveryBatch[] = [];
      for (const name of [...bySub.keys()].sort()) {
        if (budget <= 0) break;
        const sub = state.subsByName.get(name);
        if (sub === undefined) continue;
        const consumers = (bySub.get(name) ?? []).sort((a, b) => (a.consumerId < b.consumerId ? -1 : a.consumerId > b.consumerId ? 1 : 0));
        const items = await this.planSubscription(state, sub, consumers, req.now, budget);
        if (items.length === 0) continue;
        budget -= items.length;
        batches.push({ subscription: name, items });
      }
      return batches;
    }
  }

  /** Forgets the reservations of batches whose deliver command was not committed. */
  release(batches: DeliveryBatch | readonly DeliveryBatch[]): void {
    const list: readonly DeliveryBatch[] = "items" in batches ? [batches] : batches;
    for (const b of list) this.settle(b.items);
  }

  /**
   * Acks or fails on their way into the log (`now` on the leader clock): the
   * messages are not planned again until settle(). An existing reservation
   * (the push they answer) is kept as it is.
   */
  reserve(refs: readonly { readonly subscription: string; readonly topic: string; readonly offset: number }[], now: number): void {
    for (const i of refs) {
      let r = this.reserved.get(i.subscription);
      if (r === undefined) {
        r = new Map();
        this.reserved.set(i.subscription, r);
      }
      const k = reservationKey(i.topic, i.offset);
      if (!r.has(k)) r.set(k, { at: now, kind: "settle" });
    }
  }

  /** Called after a delivery command was applied: its items are no longer reserved. */
  settle(items: readonly { readonly subscription: string; readonly topic: string; readonly offset: number }[]): void {
    for (const i of items) {
      const r = this.reserved.get(i.subscription);
      if (r === undefined) continue;
      r.delete(reservationKey(i.topic, i.offset));
      if (r.size === 0) this.reserved.delete(i.subscription);
    }
  }

  /** Drops everything known about a deleted subscription. */
  forget(subscription: string): void {
    this.reserved.delete(subscription);
    this.nextConsumer.delete(subscription);
  }

  /** Drops all reservations (leadership lost or regained, snapshot restored). */
  reset(): void {
    this.reserved.clear();
    this.nextConsumer.clear();
  }

  /** Messages of `subscription` planned and not yet settled. */
  reservedCount(subscription: string): number {
    return this.reserved.get(subscription)?.size ?? 0;
  }

  private async planSubscription(state: BrokerState, sub: SubState, consumers: ConsumerCredit[], now: number, budget: number): Promise<PlannedDelivery[]> {
    const reserved = this.reserved.get(sub.name) ?? new Map<string, Reservation>();
    const credit = consumers.reduce((a, c) => a + c.credit, 0);
    const total = Math.min(credit, budget);
    // A retry is already counted in the in-flight limit; only first deliveries need room.
    let reservedNew = 0;
    let reservedPushes = 0;
    for (const r of reserved.values()) {
      if (r.kind === "new") reservedNew += 1;
      if (r.kind !== "settle") reservedPushes += 1;
    }
    let room = Math.max(0, sub.spec.maxInFlight - sub.outstanding.size - reservedNew);
    if (total <= 0) return [];
    const queues = await this.candidates(state, sub, reserved, now, total, room);
    const picked: { c: Candidate; p: number }[] = [];
    for (let i = 0; i < total; i++) {
      if (room === 0) for (let q = 0; q < 4; q++) queues[q] = (queues[q] as Candidate[]).filter((c) => c.attempt > 1);
      const want = PRIORITY_SCHEDULE[(sub.rec.cursor + reservedPushes + i) % PRIORITY_SCHEDULE.length] as number;
      const p = (queues[want] as Candidate[]).length > 0 ? want : queues.findIndex((q) => q.length > 0);
      if (p < 0) break;
      const c = (queues[p] as Candidate[]).shift() as Candidate;
      if (c.attempt === 1) room -= 1;
      picked.push({ c, p });
    }
    const credits = consumers.map((c) => c.credit);
    let rr = (this.nextConsumer.get(sub.name) ?? 0) % consumers.length;
    const out: PlannedDelivery[] = [];
    for (const { c, p } of picked) {
      while ((credits[rr] as number) <= 0) rr = (rr + 1) % consumers.length;
      credits[rr] = (credits[rr] as number) - 1;
      const consumer = consumers[rr] as ConsumerCredit;
      rr = (rr + 1) % consumers.length;
      out.push({
        subscription: sub.name, topic: c.topic, offset: c.offset, attempt: c.attempt, consumerId: consumer.consumerId, priority: PRIORITIES[p] as Priority,
        // First deliveries name their pending reference, so recording them reads no message.
        ...(c.attempt === 1 ? { seq: c.seq, queue: p } : {}),
      });
      reserved.set(reservationKey(c.topic, c.offset), { at: now, kind: c.attempt > 1 ? "retry" : "new" });
    }
    // The position moves only when something was planned: a round that skips a subscription with
    // nothing to deliver (mayDeliver) then leaves it exactly as a round that visits it would.
    if (out.length > 0) this.nextConsumer.set(sub.name, rr);
    if (reserved.size > 0) this.reserved.set(sub.name, reserved);
    return out;
  }

  /**
   * Per priority, deliverable messages in seq order: due retries (up to
   * `limit`) merged with pending references (up to `room`, the free
   * in-flight capacity).
   */
  private async candidates(state: BrokerState, sub: SubState, reserved: Map<string, Reservation>, now: number, limit: number, room: number): Promise<Candidate[][]> {
    const retries: Candidate[][] = [[], [], [], []];
    for (const o of sub.sortedOutstanding()) {
      if (o.state !== "retry" || o.deadline > now || isExpired(o.expiresAt, now)) continue;
      const topic = state.topicsById.get(o.tid);
      if (topic === undefined || reserved.has(reservationKey(topic.name, o.offset))) continue;
      const q = retries[o.priority] as Candidate[];
      if (q.length < limit) q.push({ seq: o.seq, topic: topic.name, offset: o.offset, attempt: o.attempt + 1 });
    }
    const out: Candidate[][] = [];
    for (let p = 0; p < 4; p++) {
      const n = Math.min(limit, room);
      const pending = n > 0 && (sub.rec.pending[p] as number) > 0 ? await this.pendingHead(state, sub, p, reserved, now, n) : [];
      out.push(mergeBySeq(retries[p] as Candidate[], pending, limit));
    }
    return out;
  }

  private async pendingHead(state: BrokerState, sub: SubState, p: number, reserved: Map<string, Reservation>, now: number, limit: number): Promise<Candidate[]> {
    const out: Candidate[] = [];
    const range = subPendingPriorityRange(sub.id, p);
    const it = this.source.db().iterator({ gte: range.gte, lt: range.lt, limit: limit + reserved.size + BUDGETS.dispatchSkip });
    try {
      for await (const [k, v] of it) {
        const { seq } = parsePendingKey(k);
        const ref = decodePendingValue(v);
        const topic = state.topicsById.get(ref.tid);
        if (topic === undefined || isExpired(ref.expiresAt, now) || reserved.has(reservationKey(topic.name, ref.offset))) continue;
        out.push({ seq, topic: topic.name, offset: ref.offset, attempt: 1 });
        if (out.length >= limit) break;
      }
    } finally {
      await it.close();
    }
    return out;
  }

  private expireReservations(now: number): void {
    for (const [sub, r] of this.reserved) {
      for (const [k, v] of r) if (now - v.at > this.reservationTtlMs) r.delete(k);
      if (r.size === 0) this.reserved.delete(sub);
    }
  }
}

/**
 * Whether a round could plan anything for `sub` at `now`: a pending
 * reference, or a retry that is due. With 10,000 wildcard subscriptions
 * each holding credit, rounds spent most of the leader's CPU sorting and
 * visiting subscriptions with neither (issue 14, scale-10k-wildcard).
 */
function mayDeliver(sub: SubState, now: number): boolean {
  if (sub.pendingTotal > 0) return true;
  for (const o of sub.outstanding.values()) if (o.state === "retry" && o.deadline <= now) return true;
  return false;
}

function mergeBySeq(a: Candidate[], b: Candidate[], limit: number): Candidate[] {
  const out: Candidate[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < a.length || j < b.length)) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.seq < y.seq)) {
      out.push(x as Candidate);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  return out;
}

function reservationKey(topic: string, offset: number): string {
  return `${topic}\u0000${offset}`;
}
