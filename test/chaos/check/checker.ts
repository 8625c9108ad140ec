/**
 * The history checker: judges a run's history and the final replicas
 * against the promises of SPEC §4 and packages/broker/README.md — not
 * against how the delivery path happens to be built.
 *
 * Safety (any violation fails the run): lost, acked-offset, duplicated,
 * phantom, divergence, order, phantom-delivery, exactly-once, at-most-once,
 * request-reply, admin, node-crashes. Liveness (reported as failures, but
 * a run fails only on safety): at-least-once completeness and the DLQ,
 * judged after a bounded drain — a message not yet delivered is late, not
 * wrong. Warnings: unmarked redeliveries, which a failover may cause where
 * delivery does not wait for a commit.
 */
import type { DeliveryRecord, FaultRecord, HistoryRecord, OpRecord } from "../workload/history.ts";
import { CHECKED_TOPICS, SUBSCRIPTIONS, type WorkloadPayload } from "../workload/spec.ts";
import type { ReplicaState } from "./replicas.ts";

/** One line of the verdict table. */
export interface Verdict {
  readonly name: string;
  readonly severity: "safety" | "liveness" | "warning";
  readonly ok: boolean;
  /** Violations found. */
  readonly count: number;
  /** What was checked, in words. */
  readonly checked: string;
  /** Up to {@link SAMPLES_MAX} examples. */
  readonly samples: readonly string[];
}

/** Examples kept per verdict. */
export const SAMPLES_MAX = 10;

/** Everything the checker needs besides the history. */
export interface CheckInput {
  readonly history: readonly HistoryRecord[];
  readonly replicas: readonly ReplicaState[];
  /** Payloads the publishers sent, by key (the checker needs the filter fields). */
  readonly payloads: ReadonlyMap<string, WorkloadPayload>;
  /** Node exits nobody asked for. */
  readonly crashes: readonly { node: string; at: number; code: number | null; signal: string | null }[];
  /** Whether subscribers were drained to completion (otherwise at-least-once can only be judged as "not yet"). */
  readonly drained: boolean;
}

class Tally {
  count = 0;
  readonly samples: string[] = [];
  add(sample: string): void {
    this.count++;
    if (this.samples.length < SAMPLES_MAX) this.samples.push(sample);
  }
  verdict(name: string, checked: string, severity: Verdict["severity"] = "safety"): Verdict {
    return { name, severity, ok: this.count === 0, count: this.count, checked, samples: this.samples };
  }
}

const isPublish = (r: HistoryRecord): r is OpRecord => r.t === "op" && (r.f === "publish" || r.f === "produce");

/** Judge a run. The first readable replica is the reference for the log checks; divergence compares all. */
export function check(input: CheckInput): Verdict[] {
  const ops = input.history.filter((r): r is OpRecord => r.t === "op");
  const deliveries = input.history.filter((r): r is DeliveryRecord => r.t === "deliver");
  const ref = input.replicas.find((r) => r.error === undefined);
  const stored = new Map<string, { topic: string; offset: number; count: number }>();
  if (ref !== undefined) {
    for (const [topic, refs] of Object.entries(ref.topics)) {
      for (const m of refs) {
        const prev = stored.get(m.key);
        stored.set(m.key, { topic, offset: prev?.offset ?? m.offset, count: (prev?.count ?? 0) + 1 });
      }
    }
  }
  const published = new Map<string, OpRecord[]>();
  for (const op of ops.filter(isPublish)) {
    const k = op.value.key ?? "";
    published.set(k, [...(published.get(k) ?? []), op]);
  }
  return [
    ...checkLog(published, stored, ref, input.replicas),
    checkDivergence(input.replicas),
    ...checkDeliveries(deliveries, ops, published, stored, ref, input),
    checkRequests(ops),
    checkAdmin(ops, ref),
    checkCrashes(input.crashes),
  ];
}

function checkLog(published: Map<string, OpRecord[]>, stored: Map<string, { topic: string; offset: number; count: number }>, ref: ReplicaState | undefined,
  replicas: readonly ReplicaState[]): Verdict[] {
  const lost = new Tally();
  const offsets = new Tally();
  const dup = new Tally();
  const phantom = new Tally();
  let acked = 0;
  // Every member must hold every acknowledged message, not just the reference replica.
  const holds = replicas.filter((r) => r.error === undefined)
    .map((r) => ({ id: r.id, keys: new Set(Object.values(r.topics).flatMap((refs) => refs.map((m) => m.key))) }));
  for (const [key, attempts] of published) {
    const s = stored.get(key);
    const ack = attempts.find((a) => a.outcome === "ok");
    for (const op of attempts.filter((a) => a.outcome === "ok")) {
      acked++;
      if (s !== undefined && op.value.offset !== undefined && op.value.offset !== s.offset) offsets.add(`${key} acked with offset ${op.value.offset}, stored at ${s.offset}`);
    }
    const missing = holds.filter((h) => !h.keys.has(key)).map((h) => h.id);
    if (ack !== undefined && missing.length > 0) {
      lost.add(`${key} acked by ${ack.node ?? "?"} at offset ${ack.value.offset} (${ack.f}, ${ack.start}–${ack.end}) is not in ${ack.value.topic} on ${missing.join(", ")}`);
    }
  }
  for (const [key, s] of stored) {
    if (s.count > 1) dup.add(`${key} stored ${s.count} times in ${s.topic}`);
    const attempts = published.get(key);
    if (attempts === undefined) phantom.add(`${key} stored in ${s.topic} at ${s.offset} but never published`);
    else if (attempts.every((a) => a.outcome === "fail")) phantom.add(`${key} stored although every publish was refused (${attempts.map((a) => a.error).join(", ")})`);
  }
  if (ref === undefined) lost.add("no replica could be read");
  const checkedTopics = CHECKED_TOPICS.join(", ");
  return [
    lost.verdict("lost", `${acked} acknowledged publishes against the final log of ${checkedTopics}`),
    offsets.verdict("acked-offset", "the offset each acknowledgement named is where the message is stored"),
    dup.verdict("duplicated", `${stored.size} stored keys: each stored once despite resends (ids and producer sequences)`),
    phantom.verdict("phantom", "every stored message was published and not refused"),
  ];
}

function checkDivergence(replicas: readonly ReplicaState[]): Verdict {
  const t = new Tally();
  const readable = replicas.filter((r) => r.error === undefined);
  for (const r of replicas) if (r.error !== undefined) t.add(`${r.id}: ${r.error}`);
  for (let i = 0; i < readable.length; i++) {
    for (let j = i + 1; j < readable.length; j++) {
      const a = readable[i]!;
      const b = readable[j]!;
      const upTo = Math.min(a.commitIndex, b.commitIndex);
      for (let x = 0; x < upTo; x++) {
        const ha = a.committed[x];
        const hb = b.committed[x];
        if (ha !== undefined && hb !== undefined && ha !== hb) {
          t.add(`committed entry ${x + 1} differs: ${a.id} ${ha} vs ${b.id} ${hb}`);
          break;
        }
      }
      if (a.comparedAt === b.comparedAt && a.digest !== b.digest) t.add(`state digest at index ${a.comparedAt} differs: ${a.id} ${a.digest.slice(0, 12)} vs ${b.id} ${b.digest.slice(0, 12)}`);
      if (a.comparedAt !== b.comparedAt) t.add(`${a.id} and ${b.id} could not be compared at one index (${a.comparedAt} vs ${b.comparedAt})`);
      for (const topic of CHECKED_TOPICS) {
        const la = (a.topics[topic] ?? []).map((m) => `${m.offset}:${m.key}`).join(",");
        const lb = (b.topics[topic] ?? []).map((m) => `${m.offset}:${m.key}`).join(",");
        if (la !== lb) t.add(`${topic} log differs between ${a.id} and ${b.id}`);
      }
      if (a.subscriptions.join(",") !== b.subscriptions.join(",")) t.add(`subscriptions differ between ${a.id} and ${b.id}`);
    }
  }
  const where = readable.map((r) => `${r.id}@${r.comparedAt}${r.replayedFrom !== undefined && r.appliedIndex !== r.comparedAt ? ` (replayed from ${r.appliedIndex})` : ""}`).join(", ");
  return t.verdict("divergence", `committed Raft entries, state digests, topic logs and subscriptions of ${where}`);
}

function checkDeliveries(deliveries: readonly DeliveryRecord[], ops: readonly OpRecord[], published: Map<string, OpRecord[]>,
  stored: Map<string, { topic: string; offset: number; count: number }>, ref: ReplicaState | undefined, input: CheckInput): Verdict[] {
  const order = new Tally();
  const unmarked = new Tally();
  const phantomDelivery = new Tally();
  const alo = new Tally();
  const dlq = new Tally();
  const eo = new Tally();
  const amo = new Tally();
  // Order and unmarked redeliveries, per consumer and topic.
  const lastFirst = new Map<string, number>();
  const seenBy = new Map<string, Set<string>>();
  for (const d of deliveries) {
    if (!published.has(d.key)) phantomDelivery.add(`${d.proc} was handed ${d.key} (${d.topic}@${d.offset}), never published`);
    const seen = seenBy.get(d.sub) ?? new Set<string>();
    seenBy.set(d.sub, seen);
    const first = d.attempt <= 1 && !d.redelivered;
    if (first && seen.has(d.key)) unmarked.add(`${d.proc} got ${d.key} (${d.topic}@${d.offset}) again as a first delivery`);
    else if (first) {
      const k = `${d.proc}|${d.topic}`;
      const last = lastFirst.get(k) ?? -1;
      if (d.offset <= last) order.add(`${d.proc} got ${d.topic}@${d.offset} after @${last}`);
      lastFirst.set(k, Math.max(last, d.offset));
    }
    seen.add(d.key);
  }
  // Exactly-once: no delivery of a key after an acknowledged (committed) ack of it.
  for (const spec of SUBSCRIPTIONS.filter((s) => s.guarantee === "exactly-once")) {
    const ackedAt = new Map<string, number>();
    for (const op of ops) if (op.f === "ack" && op.outcome === "ok" && op.value.sub === spec.name) ackedAt.set(op.value.key ?? "", Math.min(ackedAt.get(op.value.key ?? "") ?? Infinity, op.end));
    for (const d of deliveries.filter((x) => x.sub === spec.name)) {
      const at = ackedAt.get(d.key);
      if (at !== undefined && d.time > at) eo.add(`${d.proc} handed ${d.key} (attempt ${d.attempt}) ${d.time - at} ms after its ack committed`);
    }
  }
  // At-most-once: never twice.
  for (const spec of SUBSCRIPTIONS.filter((s) => s.guarantee === "at-most-once")) {
    const count = new Map<string, number>();
    for (const d of deliveries.filter((x) => x.sub === spec.name)) count.set(d.key, (count.get(d.key) ?? 0) + 1);
    for (const [k, c] of count) if (c > 1) amo.add(`${spec.name} delivered ${k} ${c} times`);
  }
  // At-least-once completeness: every stored message a durable subscription matches was handed to it, or dead-lettered.
  let expected = 0;
  for (const spec of SUBSCRIPTIONS.filter((s) => s.durable)) {
    const got = seenBy.get(spec.name) ?? new Set<string>();
    const dead = new Set(Object.values(ref?.dlq ?? {}).flat().filter((x) => x.subscription === spec.name).map((x) => x.key));
    for (const [key, s] of stored) {
      const p = input.payloads.get(key);
      if (p === undefined || !spec.matches(s.topic, p)) continue;
      expected++;
      if (!got.has(key) && !dead.has(key)) alo.add(`${spec.name} never got ${key} (${s.topic}@${s.offset})${input.drained ? "" : " (drain timed out)"}`);
      if (spec.maxRetries !== undefined && p.poison === true && got.has(key) && !dead.has(key)) dlq.add(`${spec.name}: poison ${key} was handed out but is not in the DLQ`);
    }
  }
  const subs = SUBSCRIPTIONS.map((s) => `${s.name} (${s.guarantee}${s.durable ? "" : ", ephemeral"}${s.members > 1 ? `, ${s.members} members` : ""})`).join(", ");
  return [
    order.verdict("order", `first deliveries in offset order per consumer and topic: ${subs}`),
    phantomDelivery.verdict("phantom-delivery", `${deliveries.length} deliveries were of published messages`),
    alo.verdict("at-least-once", `${expected} (subscription, stored message) pairs delivered or dead-lettered`, "liveness"),
    dlq.verdict("dlq", "messages the handler always fails end in the topic's DLQ after maxRetries", "liveness"),
    eo.verdict("exactly-once", "no exactly-once handler is handed a message after its ack committed"),
    amo.verdict("at-most-once", "no at-most-once message delivered twice"),
    unmarked.verdict("unmarked-redelivery", "a message handed again without the redelivered mark (allowed after a failover)", "warning"),
  ];
}

function checkRequests(ops: readonly OpRecord[]): Verdict {
  const t = new Tally();
  const reqs = ops.filter((o) => o.f === "request" && o.outcome === "ok");
  for (const o of reqs) if (o.value.reply !== o.value.key) t.add(`request ${o.value.key} answered with ${o.value.reply}`);
  return t.verdict("request-reply", `${reqs.length} answered requests got their own reply`);
}

function checkAdmin(ops: readonly OpRecord[], ref: ReplicaState | undefined): Verdict {
  const t = new Tally();
  const names = new Set(ref?.topicNames ?? []);
  const admin = ops.filter((o) => o.f === "topic-create" || o.f === "topic-delete");
  const last = new Map<string, OpRecord>();
  for (const o of admin) last.set(o.value.topic ?? "", o);
  for (const [topic, o] of last) {
    if (o.outcome !== "ok") continue;
    if (o.f === "topic-create" && !names.has(topic)) t.add(`${topic} was created (acknowledged) but does not exist`);
    if (o.f === "topic-delete" && names.has(topic)) t.add(`${topic} was deleted (acknowledged) but still exists`);
  }
  return t.verdict("admin", `${admin.length} topic creates/deletes: acknowledged ones are reflected in the final state`);
}

function checkCrashes(crashes: CheckInput["crashes"]): Verdict {
  const t = new Tally();
  for (const c of crashes) t.add(`${c.node} exited on its own at ${new Date(c.at).toISOString()} (code ${c.code}, signal ${c.signal})`);
  return t.verdict("node-crashes", "no node process exited unless the schedule killed or stopped it");
}

/** Fault windows as [start, end] pairs from the history. */
export function faultWindows(history: readonly HistoryRecord[]): { kind: string; detail: string; start: number; end: number }[] {
  const open = new Map<string, FaultRecord>();
  const out: { kind: string; detail: string; start: number; end: number }[] = [];
  for (const r of history) {
    if (r.t !== "fault") continue;
    if (r.phase === "start") open.set(r.kind, r);
    else {
      const s = open.get(r.kind);
      open.delete(r.kind);
      if (s !== undefined) out.push({ kind: r.kind, detail: s.detail, start: s.time, end: r.time });
    }
  }
  return out;
}
