/**
 * A subscription in memory: its persisted record, its compiled pattern and
 * filter, and its outstanding deliveries (at most maxInFlight, so they are
 * all held here; the never-delivered backlog stays on disk in `p` keys).
 */
import type { Guarantee } from "@raftbus/client/protocol";
import type { SubscriptionSpec } from "../commands/types.ts";
import { compileFilter } from "../filter/index.ts";
import type { CompiledFilter } from "../filter/index.ts";
import { compilePattern } from "../pattern/pattern.ts";
import type { CompiledPattern } from "../pattern/pattern.ts";
import { assert } from "../raft-api.ts";
import type { Outstanding, SubscriptionRecord } from "../store/records.ts";
import { newRate } from "../store/records.ts";

/** Identity of a message within the broker: `tid:offset`. */
export function refKey(tid: number, offset: number): string {
  return `${tid}:${offset}`;
}

/**
 * The delivery guarantee a message gets in a subscription: at-most-once if
 * either the publisher or the subscriber asked for it, else the
 * subscription's (README "Guarantees").
 */
export function effectiveGuarantee(subscription: Guarantee, message: Guarantee): Guarantee {
  return subscription === "at-most-once" || message === "at-most-once" ? "at-most-once" : subscription;
}

/** One subscription's live state. */
export class SubState {
  readonly rec: SubscriptionRecord;
  pattern: CompiledPattern;
  filter: CompiledFilter | undefined;
  /** Outstanding deliveries by message seq. */
  readonly outstanding = new Map<number, Outstanding>();
  /** refKey(tid, offset) → seq of outstanding deliveries (acks name messages by topic and offset). */
  private readonly byRef = new Map<string, number>();
  /** Outstanding deliveries per topic id. */
  private readonly outstandingByTopic = new Map<number, number>();
  /** Outstanding deliveries waiting for a retry (state changes go through markRetry / markInflight). */
  private retrying = 0;

  constructor(rec: SubscriptionRecord) {
    this.rec = rec;
    this.pattern = compilePattern(rec.spec.pattern);
    this.filter = rec.spec.filter === undefined ? undefined : compileFilter(rec.spec.filter);
  }

  /** A fresh subscription record for `spec`. */
  static create(id: number, spec: SubscriptionSpec, now: number): SubState {
    return new SubState({
      id, spec, createdAt: now, cursor: 0, pending: [0, 0, 0, 0], pendingByTopic: new Map(), backfill: [],
      stats: { delivered: 0, redelivered: 0, acked: 0, failed: 0, timeouts: 0, deadLettered: 0, dropped: 0, deliverRate: newRate(), ackRate: newRate() },
    });
  }

  get id(): number {
    return this.rec.id;
  }

  get name(): string {
    return this.rec.spec.name;
  }

  get spec(): SubscriptionSpec {
    return this.rec.spec;
  }

  /** Pending (never delivered) references, all priorities. */
  get pendingTotal(): number {
    return this.rec.pending.reduce((a, b) => a + b, 0);
  }

  /** True when the subscription holds any reference (pending or outstanding) to topic `tid`. */
  holds(tid: number): boolean {
    const c = this.rec.pendingByTopic.get(tid);
    return (c !== undefined && c.some((n) => n > 0)) || (this.outstandingByTopic.get(tid) ?? 0) > 0;
  }

  /** Pending count of topic `tid` at priority index `p`. */
  pendingOf(tid: number, p: number): number {
    return this.rec.pendingByTopic.get(tid)?.[p] ?? 0;
  }

  /** Outstanding deliveries of topic `tid`. */
  outstandingOf(tid: number): number {
    return this.outstandingByTopic.get(tid) ?? 0;
  }

  /** Counts one more pending reference. */
  addPending(tid: number, p: number): void {
    let c = this.rec.pendingByTopic.get(tid);
    if (c === undefined) {
      c = [0, 0, 0, 0];
      this.rec.pendingByTopic.set(tid, c);
    }
    c[p] = (c[p] as number) + 1;
    this.rec.pending[p] = (this.rec.pending[p] as number) + 1;
  }

  /** Counts one pending reference less. */
  removePending(tid: number, p: number): void {
    const c = this.rec.pendingByTopic.get(tid);
    assert(c !== undefined && (c[p] as number) > 0 && (this.rec.pending[p] as number) > 0, () => `${this.name}: pending count underflow`);
    c[p] = (c[p] as number) - 1;
    this.rec.pending[p] = (this.rec.pending[p] as number) - 1;
    if (c.every((n) => n === 0)) this.rec.pendingByTopic.delete(tid);
  }

  /** Forgets every pending reference of topic `tid` (topic deleted); returns how many. */
  clearPendingOf(tid: number): number {
    const c = this.rec.pendingByTopic.get(tid);
    if (c === undefined) return 0;
    c.forEach((n, p) => (this.rec.pending[p] = (this.rec.pending[p] as number) - n));
    this.rec.pendingByTopic.delete(tid);
    return c.reduce((a, b) => a + b, 0);
  }

  /** The outstanding delivery of message (tid, offset), if any. */
  outstandingAt(tid: number, offset: number): Outstanding | undefined {
    const seq = this.byRef.get(refKey(tid, offset));
    return seq === undefined ? undefined : this.outstanding.get(seq);
  }

  /** Adds (or replaces) an outstanding delivery. */
  putOutstanding(o: Outstanding): void {
    const old = this.outstanding.get(o.seq);
    if (old === undefined) {
      this.outstandingByTopic.set(o.tid, this.outstandingOf(o.tid) + 1);
      this.byRef.set(refKey(o.tid, o.offset), o.seq);
    } else if (old.state === "retry") {
      this.retrying -= 1;
    }
    if (o.state === "retry") this.retrying += 1;
    this.outstanding.set(o.seq, o);
  }

  /** Removes an outstanding delivery. */
  deleteOutstanding(o: Outstanding): void {
    assert(this.outstanding.get(o.seq) === o, () => `${this.name}: outstanding ${o.seq} not held`);
    if (o.state === "retry") this.retrying -= 1;
    this.outstanding.delete(o.seq);
    this.byRef.delete(refKey(o.tid, o.offset));
    const n = this.outstandingOf(o.tid) - 1;
    if (n === 0) this.outstandingByTopic.delete(o.tid);
    else this.outstandingByTopic.set(o.tid, n);
  }

  /** An outstanding delivery failed or timed out: it waits for its retry. */
  markRetry(o: Outstanding): void {
    assert(this.outstanding.get(o.seq) === o && o.state === "inflight", () => `${this.name}: outstanding ${o.seq} is not in flight`);
    o.state = "retry";
    this.retrying += 1;
  }

  /** A retry went out: the delivery is in flight again. */
  markInflight(o: Outstanding): void {
    assert(this.outstanding.get(o.seq) === o && o.state === "retry", () => `${this.name}: outstanding ${o.seq} is not waiting for a retry`);
    o.state = "inflight";
    this.retrying -= 1;
  }

  /** Whether an outstanding delivery waits for a retry (due or not). */
  get hasRetries(): boolean {
    return this.retrying > 0;
  }

  /** The earliest ack deadline of an in-flight delivery (log time), undefined when none is in flight. */
  earliestAckDeadline(): number | undefined {
    let min: number | undefined;
    for (const o of this.outstanding.values()) if (o.state === "inflight" && (min === undefined || o.deadline < min)) min = o.deadline;
    return min;
  }

  /** Outstanding deliveries in seq order (the canonical order for anything that changes state). */
  sortedOutstanding(): Outstanding[] {
    return [...this.outstanding.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Topic ids this subscription holds references to. */
  heldTopics(): number[] {
    const ids = new Set<number>([...this.rec.pendingByTopic.keys(), ...this.outstandingByTopic.keys()]);
    return [...ids].sort((a, b) => a - b);
  }
}
