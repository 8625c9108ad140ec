/**
 * A naive in-memory reference model of the broker's semantics (SPEC §2–§4):
 * plain arrays and maps, no LevelDB, no counters kept incrementally, every
 * answer recomputed the obvious way. The model-based test drives it and the
 * real BrokerStateMachine with the same operations and compares.
 */
import type { Guarantee, Priority } from "@raftbus/client/protocol";
import { PRIORITY_SCHEDULE } from "../../src/index.ts";
import type { Backoff, Retention, StartPosition } from "../../src/index.ts";

export const PRIOS: Priority[] = ["critical", "high", "medium", "low"];

export interface MMessage {
  readonly offset: number;
  readonly seq: number;
  readonly id: string;
  readonly ts: number;
  readonly priority: number;
  readonly guarantee: Guarantee;
  readonly expiresAt: number; // 0 = none
  readonly maxRetries: number | null;
  readonly size: number;
  readonly n: number;
}

interface MTopic {
  readonly id: number;
  readonly name: string;
  retention: Retention;
  readonly msgs: MMessage[]; // ascending offsets, removed ones spliced out
  next: number;
  lastTs: number;
  readonly dedup: Map<string, { offset: number; index: number; expiresAt: number }>;
  dlq: MDead[];
}

export interface MDead {
  readonly id: number;
  readonly offset: number;
  readonly sub: string;
  readonly reason: string;
  readonly attempts: number;
  readonly msg: MMessage;
}

interface MOut {
  readonly topic: string;
  readonly offset: number;
  readonly seq: number;
  readonly priority: number;
  attempt: number;
  state: "inflight" | "retry";
  deadline: number;
  readonly expiresAt: number;
  readonly maxRetries: number;
}

export interface MSubSpec {
  readonly name: string;
  readonly pattern: string;
  readonly filter: boolean; // "n > 5"
  readonly guarantee: Guarantee;
  readonly start: StartPosition;
  readonly maxInFlight: number;
  readonly ackTimeoutMs: number;
  readonly maxRetries: number;
  readonly backoff: Backoff;
}

interface MSub {
  readonly id: number;
  readonly spec: MSubSpec;
  readonly pending: { topic: string; offset: number; seq: number; priority: number; expiresAt: number }[];
  readonly out: MOut[];
  cursor: number;
}

export type MPublishOutcome = { offset: number; duplicate: boolean };
export type MDelivery = { topic: string; offset: number; attempt: number; consumerId: string; priority: Priority };

export interface MPublishInput {
  readonly topic: string;
  readonly id: string;
  readonly idGenerated: boolean;
  readonly priority: number;
  readonly guarantee: Guarantee;
  readonly ttlMs?: number;
  readonly producer?: string;
  readonly sequence?: number;
  readonly n: number;
  readonly size: number;
}

/** The reference model. */
export class Model {
  now = 0;
  index = 0;
  private nextTopicId = 1;
  private nextSubId = 1;
  private nextSeq = 0;
  private nextDlqId = 1;
  readonly topics = new Map<string, MTopic>();
  readonly subs = new Map<string, MSub>();
  /** Dispatcher round-robin pointers (leader-local: reset on restart). */
  private rr = new Map<string, number>();

  constructor(private readonly dedupWindowMs: number) {}

  /** Every command: next Raft index, log time = max. */
  step(now: number): void {
    this.index += 1;
    this.now = Math.max(this.now, now);
  }

  restart(): void {
    this.rr = new Map();
  }

  publish(msgs: readonly MPublishInput[]): MPublishOutcome[] {
    return msgs.map((m) => {
      let t = this.topics.get(m.topic);
      if (t === undefined) t = this.createTopic(m.topic, {});
      const keys = [...(m.idGenerated ? [] : [`id:${m.id}`]), ...(m.producer !== undefined ? [`p:${m.producer}:${m.sequence}`] : [])];
      for (const k of keys) {
        const d = t.dedup.get(k);
        if (d !== undefined && d.expiresAt > this.now) return { offset: d.offset, duplicate: true };
      }
      const offset = this.append(t, {
        id: m.id, priority: m.priority, guarantee: m.guarantee, ttlMs: m.ttlMs ?? null, maxRetries: null, n: m.n, size: m.size, ts: this.now,
      });
      if (this.dedupWindowMs > 0) for (const k of keys) t.dedup.set(k, { offset, index: this.index, expiresAt: this.now + this.dedupWindowMs });
      this.retain(t);
      return { offset, duplicate: false };
    });
  }

  createTopic(name: string, retention: Retention): MTopic {
    const t: MTopic = { id: this.nextTopicId++, name, retention, msgs: [], next: 0, lastTs: 0, dedup: new Map(), dlq: [] };
    this.topics.set(name, t);
    return t;
  }

  updateRetention(name: string, retention: Retention): boolean {
    const t = this.topics.get(name);
    if (t === undefined) return false;
    t.retention = retention;
    this.retain(t, true);
    return true;
  }

  deleteTopic(name: string): boolean {
    const t = this.topics.get(name);
    if (t === undefined) return false;
    this.topics.delete(name);
    for (const s of this.subs.values()) {
      remove(s.pending, (p) => p.topic === name);
      remove(s.out, (o) => o.topic === name);
    }
    return true;
  }

  subscribe(spec: MSubSpec): "created" | "exists" | "conflict" {
    const old = this.subs.get(spec.name);
    if (old !== undefined) return JSON.stringify(old.spec) === JSON.stringify(spec) ? "exists" : "conflict";
    const s: MSub = { id: this.nextSubId++, spec, pending: [], out: [], cursor: 0 };
    this.subs.set(spec.name, s);
    for (const t of [...this.topics.values()].sort((a, b) => a.id - b.id)) {
      if (!matches(spec.pattern, t.name)) continue;
      const first = t.msgs[0]?.offset ?? t.next;
      const from = spec.start === "earliest" ? first : spec.start === "latest" ? t.next
        : "offset" in spec.start ? Math.min(Math.max(spec.start.offset, first), t.next) : t.msgs.find((m) => m.ts >= (spec.start as { time: number }).time)?.offset ?? t.next;
      for (const m of t.msgs) if (m.offset >= from && !expired(m.expiresAt, this.now) && wants(spec, m)) this.enqueue(s, t, m);
    }
    return "created";
  }

  /** The dispatcher's plan (same rule as the implementation, computed naively). */
  plan(now: number, consumers: readonly { subscription: string; consumerId: string; credit: number }[], maxDeliveries: number): { subscription: string; items: MDelivery[] }[] {
    const out: { subscription: string; items: MDelivery[] }[] = [];
    let budget = maxDeliveries;
    const names = [...new Set(consumers.filter((c) => c.credit > 0).map((c) => c.subscription))].sort();
    for (const name of names) {
      if (budget <= 0) break;
      const s = this.subs.get(name);
      if (s === undefined) continue;
      const cs = consumers.filter((c) => c.subscription === name && c.credit > 0).sort((a, b) => (a.consumerId < b.consumerId ? -1 : 1));
      const credit = cs.reduce((a, c) => a + c.credit, 0);
      const total = Math.min(credit, budget);
      let room = Math.max(0, s.spec.maxInFlight - s.out.length); // retries are already counted in it
      if (total <= 0) continue;
      let queues = PRIOS.map((_, p) => [
        ...s.out.filter((o) => o.priority === p && o.state === "retry" && o.deadline <= now && !expired(o.expiresAt, now))
          .map((o) => ({ topic: o.topic, offset: o.offset, seq: o.seq, attempt: o.attempt + 1 })),
        ...s.pending.filter((r) => r.priority === p && !expired(r.expiresAt, now)).map((r) => ({ topic: r.topic, offset: r.offset, seq: r.seq, attempt: 1 })),
      ].sort((a, b) => a.seq - b.seq));
      const items: MDelivery[] = [];
      const credits = cs.map((c) => c.credit);
      let rr = (this.rr.get(name) ?? 0) % cs.length;
      for (let i = 0; i < total; i++) {
        if (room === 0) queues = queues.map((q) => q.filter((c) => c.attempt > 1));
        const want = PRIORITY_SCHEDULE[(s.cursor + i) % PRIORITY_SCHEDULE.length] as number;
        const p = (queues[want]?.length ?? 0) > 0 ? want : queues.findIndex((q) => q.length > 0);
        if (p < 0) break;
        const c = queues[p]?.shift();
        if (c === undefined) break;
        if (c.attempt === 1) room -= 1;
        while ((credits[rr] as number) <= 0) rr = (rr + 1) % cs.length;
        credits[rr] = (credits[rr] as number) - 1;
        items.push({ topic: c.topic, offset: c.offset, attempt: c.attempt, consumerId: cs[rr]?.consumerId ?? "", priority: PRIOS[p] as Priority });
        rr = (rr + 1) % cs.length;
      }
      if (items.length > 0) {
        this.rr.set(name, rr); // the round-robin position moves only when something is planned
        out.push({ subscription: name, items });
        budget -= items.length;
      }
    }
    return out;
  }

  deliver(items: readonly { subscription: string; topic: string; offset: number; attempt: number; consumerId: string }[]): { delivered: string[]; rejected: string[] } {
    const delivered: string[] = [];
    const rejected: string[] = [];
    for (const it of items) {
      const s = this.subs.get(it.subscription);
      const reason = s === undefined ? "subscription-not-found" : this.deliverOne(s, it);
      if (reason === undefined) delivered.push(`${it.subscription}:${it.topic}@${it.offset}#${it.attempt}`);
      else rejected.push(`${it.subscription}:${it.topic}@${it.offset}:${reason}`);
    }
    return { delivered, rejected };
  }

  private deliverOne(s: MSub, it: { topic: string; offset: number; attempt: number }): string | undefined {
    const t = this.topics.get(it.topic);
    if (t === undefined) return "topic-not-found";
    const o = s.out.find((x) => x.topic === it.topic && x.offset === it.offset);
    if (o !== undefined) {
      if (o.state !== "retry" || o.deadline > this.now || it.attempt !== o.attempt + 1) return "stale";
      if (expired(o.expiresAt, this.now)) return "expired";
      o.attempt = it.attempt;
      o.state = "inflight";
      o.deadline = this.now + s.spec.ackTimeoutMs;
      s.cursor += 1;
      return undefined;
    }
    const m = t.msgs.find((x) => x.offset === it.offset);
    if (m === undefined) return "gone";
    if (expired(m.expiresAt, this.now)) return "expired";
    const pi = s.pending.findIndex((p) => p.topic === it.topic && p.offset === it.offset);
    if (it.attempt !== 1 || pi < 0) return "stale";
    const atMostOnce = s.spec.guarantee === "at-most-once" || m.guarantee === "at-most-once";
    if (!atMostOnce && s.out.length >= s.spec.maxInFlight) return "no-capacity";
    s.pending.splice(pi, 1);
    if (!atMostOnce) {
      s.out.push({
        topic: it.topic, offset: it.offset, seq: m.seq, priority: m.priority, attempt: 1, state: "inflight",
        deadline: this.now + s.spec.ackTimeoutMs, expiresAt: m.expiresAt, maxRetries: m.maxRetries ?? s.spec.maxRetries,
      });
    }
    s.cursor += 1;
    return undefined;
  }

  /** An ack settles an outstanding delivery, or takes a pending message off the queue as delivered (a push never recorded). */
  ack(name: string, refs: readonly { topic: string; offset: number }[]): boolean[] {
    const s = this.subs.get(name);
    return refs.map((r) => {
      if (s === undefined) return false;
      if (remove(s.out, (o) => o.topic === r.topic && o.offset === r.offset) > 0) return true;
      if (remove(s.pending, (p) => p.topic === r.topic && p.offset === r.offset) === 0) return false;
      s.cursor += 1;
      return true;
    });
  }

  fail(name: string, items: readonly { topic: string; offset: number; attempt?: number; reason: string }[]): string[] {
    const s = this.subs.get(name);
    return items.map((it) => {
      if (s === undefined) return "ignored";
      const o = s.out.find((x) => x.topic === it.topic && x.offset === it.offset);
      if (o === undefined || o.state !== "inflight" || (it.attempt !== undefined && it.attempt !== o.attempt)) return "ignored";
      return this.failOut(s, o, it.reason, this.now);
    });
  }

  private failOut(s: MSub, o: MOut, reason: string, at: number): string {
    if (o.attempt > o.maxRetries) {
      const t = this.topics.get(o.topic);
      const m = t?.msgs.find((x) => x.offset === o.offset);
      if (t === undefined || m === undefined) throw new Error("model: outstanding without message");
      t.dlq.push({ id: this.nextDlqId++, offset: o.offset, sub: s.spec.name, reason, attempts: o.attempt, msg: m });
      remove(s.out, (x) => x === o);
      return "dead-lettered";
    }
    o.state = "retry";
    const b = s.spec.backoff;
    o.deadline = at + Math.min(b.maxMs, Math.floor(b.initialMs * b.multiplier ** (o.attempt - 1)));
    return "retry";
  }

  tick(): void {
    for (const s of [...this.subs.values()].sort((a, b) => a.id - b.id)) {
      for (const o of [...s.out].sort((a, b) => a.seq - b.seq)) {
        if (o.state === "inflight" && o.deadline <= this.now) this.failOut(s, o, "ack timeout", o.deadline);
      }
    }
    for (const t of this.topics.values()) {
      for (const m of [...t.msgs]) if (expired(m.expiresAt, this.now)) this.removeMsg(t, m);
    }
    for (const t of this.topics.values()) this.retain(t, true);
  }

  dlqReplay(topic: string, limit: number): { id: number; offset: number }[] | "not-found" {
    const t = this.topics.get(topic);
    if (t === undefined) return "not-found";
    const chosen = t.dlq.slice(0, limit);
    t.dlq = t.dlq.slice(chosen.length);
    const out = chosen.map((d) => {
      const s = this.subs.get(d.sub);
      const offset = this.append(t, { ...d.msg, ttlMs: d.msg.expiresAt === 0 ? null : d.msg.expiresAt - d.msg.ts, ts: this.now }, s);
      return { id: d.id, offset };
    });
    this.retain(t);
    return out;
  }

  private append(t: MTopic, m: { id: string; priority: number; guarantee: Guarantee; ttlMs: number | null; maxRetries: number | null; n: number; size: number; ts: number }, only?: MSub): number {
    const ts = Math.max(m.ts, t.lastTs);
    t.lastTs = ts;
    const msg: MMessage = {
      offset: t.next++, seq: this.nextSeq++, id: m.id, ts, priority: m.priority, guarantee: m.guarantee,
      expiresAt: m.ttlMs === null ? 0 : ts + m.ttlMs, maxRetries: m.maxRetries, size: m.size, n: m.n,
    };
    t.msgs.push(msg);
    const subs = only !== undefined ? [only] : [...this.subs.values()].filter((s) => matches(s.spec.pattern, t.name));
    for (const s of subs) if (wants(s.spec, msg)) this.enqueue(s, t, msg);
    return msg.offset;
  }

  private enqueue(s: MSub, t: MTopic, m: MMessage): void {
    s.pending.push({ topic: t.name, offset: m.offset, seq: m.seq, priority: m.priority, expiresAt: m.expiresAt });
  }

  /** Count and bytes always; age only on ticks and retention updates (publishing does no disk read). */
  private retain(t: MTopic, byAge = false): void {
    const r = t.retention;
    for (;;) {
      const oldest = t.msgs[0];
      if (oldest === undefined) return;
      const count = t.msgs.length;
      const bytes = t.msgs.reduce((a, m) => a + m.size, 0);
      const over = (r.maxMessages !== undefined && count > r.maxMessages) || (r.maxBytes !== undefined && bytes > r.maxBytes) ||
        (byAge && r.maxAgeMs !== undefined && this.now - oldest.ts > r.maxAgeMs);
      if (!over) return;
      this.removeMsg(t, oldest);
    }
  }

  private removeMsg(t: MTopic, m: MMessage): void {
    remove(t.msgs, (x) => x === m);
    for (const s of this.subs.values()) {
      remove(s.pending, (p) => p.topic === t.name && p.offset === m.offset);
      remove(s.out, (o) => o.topic === t.name && o.offset === m.offset);
    }
  }

  /** What the comparison looks at, per subscription. */
  subView(name: string): { pending: number[]; inFlight: number; waitingRetry: number } | undefined {
    const s = this.subs.get(name);
    if (s === undefined) return undefined;
    return {
      pending: PRIOS.map((_, p) => s.pending.filter((x) => x.priority === p).length),
      inFlight: s.out.filter((o) => o.state === "inflight").length,
      waitingRetry: s.out.filter((o) => o.state === "retry").length,
    };
  }

  /** Unexpired stored offsets of a topic (what readMessages returns at log time). */
  offsets(topic: string): number[] {
    return (this.topics.get(topic)?.msgs ?? []).filter((m) => !expired(m.expiresAt, this.now)).map((m) => m.offset);
  }

  outstandingOf(name: string): MOut[] {
    return [...(this.subs.get(name)?.out ?? [])].sort((a, b) => a.seq - b.seq);
  }

  /** Pending (never recorded as delivered) references of a subscription, in seq order. */
  pendingOf(name: string): { topic: string; offset: number }[] {
    return [...(this.subs.get(name)?.pending ?? [])].sort((a, b) => a.seq - b.seq);
  }
}

/** Pattern semantics for the patterns the model test uses. */
export function matches(pattern: string, topic: string): boolean {
  if (pattern === "**") return true;
  if (pattern.endsWith(".*")) {
    const prefix = pattern.slice(0, -1);
    return topic.startsWith(prefix) && !topic.slice(prefix.length).includes(".") && topic.length > prefix.length;
  }
  return pattern === topic;
}

function wants(spec: MSubSpec, m: MMessage): boolean {
  return !spec.filter || m.n > 5;
}

function expired(expiresAt: number, now: number): boolean {
  return expiresAt !== 0 && expiresAt <= now;
}

function remove<T>(xs: T[], pred: (x: T) => boolean): number {
  let n = 0;
  for (let i = xs.length - 1; i >= 0; i--) {
    if (pred(xs[i] as T)) {
      xs.splice(i, 1);
      n++;
    }
  }
  return n;
}
