/**
 * The values stored under the keys of keys.ts, with their codecs. Every
 * encoder writes fields in one fixed order (so equal states are equal bytes
 * on every replica) and every decoder checks what it reads back from disk
 * (STYLE.md practice 3): a malformed record is corruption and crashes loudly.
 */
import { GUARANTEES, PRIORITIES } from "@raftbus/client/protocol";
import type { Guarantee, Priority } from "@raftbus/client/protocol";
import type { Retention } from "../config.ts";
import { subscriptionSpec } from "../commands/validate.ts";
import type { SubscriptionSpec } from "../commands/types.ts";
import { pack, unpack } from "../msgpack.ts";
import { assert } from "../raft-api.ts";

/** Priority → queue index (0 = critical … 3 = low): the byte in pending keys. */
export function priorityIndex(p: Priority): number {
  const i = PRIORITIES.indexOf(p);
  assert(i >= 0, `unknown priority ${p}`);
  return i;
}

/** Queue index → priority. */
export function priorityAt(i: number): Priority {
  const p = PRIORITIES[i];
  assert(p !== undefined, `bad priority index ${i}`);
  return p;
}

/** A message as stored in its topic's log. */
export interface MessageRecord {
  readonly id: string;
  /** Global sequence number (log order across topics). */
  readonly seq: number;
  readonly timestamp: number;
  readonly priority: Priority;
  readonly guarantee: Guarantee;
  readonly ttlMs: number | null;
  readonly maxRetries: number | null;
  readonly correlationId: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly senderId: string;
  /** Raft index of the entry that stored it. */
  readonly index: number;
  /** Bytes counted by retention: payload plus header keys and values. */
  readonly size: number;
  readonly payload: Uint8Array;
}

/** Expiry time of a message, 0 when it has no TTL. */
export function expiresAtOf(m: { readonly timestamp: number; readonly ttlMs: number | null }): number {
  return m.ttlMs === null ? 0 : m.timestamp + m.ttlMs;
}

/** Encodes a message as a positional tuple (compact: it is the hot record). */
export function encodeMessage(m: MessageRecord): Uint8Array {
  return pack([
    m.id, m.seq, m.timestamp, priorityIndex(m.priority), GUARANTEES.indexOf(m.guarantee),
    m.ttlMs, m.maxRetries, m.correlationId, m.headers, m.senderId, m.index, m.size, m.payload,
  ]);
}

/** Decodes a stored message. */
export function decodeMessage(bytes: Uint8Array): MessageRecord {
  const t = unpack(bytes);
  assert(Array.isArray(t) && t.length === 13, "malformed message record");
  const [id, seq, timestamp, prio, g, ttlMs, maxRetries, correlationId, headers, senderId, index, size, payload] = t as unknown[];
  const guarantee = GUARANTEES[g as number];
  assert(typeof id === "string" && isNat(seq) && isNat(timestamp) && isNat(index) && isNat(size), "malformed message record fields");
  assert(guarantee !== undefined && (ttlMs === null || isNat(ttlMs)) && (maxRetries === null || isNat(maxRetries)), "malformed message record options");
  assert((correlationId === null || typeof correlationId === "string") && typeof senderId === "string", "malformed message record ids");
  assert(typeof headers === "object" && headers !== null && payload instanceof Uint8Array, "malformed message record body");
  return {
    id, seq, timestamp, priority: priorityAt(prio as number), guarantee,
    ttlMs, maxRetries, correlationId, headers: headers as Record<string, string>, senderId, index, size, payload,
  };
}

/** A fixed-window rate counter over log time: count in the current window and the one before. */
export interface RateWindow {
  windowStart: number;
  count: number;
  prevCount: number;
}

/** Width of a rate window: rates are "per second over the last complete 10 s". */
export const RATE_WINDOW_MS = 10_000;

/** Adds `n` events at log time `now`. */
export function rateAdd(r: RateWindow, now: number, n: number): void {
  rateRoll(r, now);
  r.count += n;
}

/** Events per second over the last complete window as of `now`. */
export function rateOf(r: RateWindow, now: number): number {
  const start = Math.floor(now / RATE_WINDOW_MS) * RATE_WINDOW_MS;
  if (start === r.windowStart) return r.prevCount / (RATE_WINDOW_MS / 1000);
  if (start === r.windowStart + RATE_WINDOW_MS) return r.count / (RATE_WINDOW_MS / 1000);
  return 0;
}

function rateRoll(r: RateWindow, now: number): void {
  const start = Math.floor(now / RATE_WINDOW_MS) * RATE_WINDOW_MS;
  if (start <= r.windowStart) return;
  r.prevCount = start === r.windowStart + RATE_WINDOW_MS ? r.count : 0;
  r.count = 0;
  r.windowStart = start;
}

/** A new, empty rate window. */
export const newRate = (): RateWindow => ({ windowStart: 0, count: 0, prevCount: 0 });

/** Topic metadata and counters (SPEC §3 topic info). Mutable: it is also the in-memory state. */
export interface TopicRecord {
  readonly id: number;
  readonly name: string;
  retention: Retention;
  readonly createdAt: number;
  /** Every stored message has firstOffset ≤ offset < nextOffset; firstOffset is stored unless the topic is empty. */
  firstOffset: number;
  nextOffset: number;
  count: number;
  bytes: number;
  /** Timestamp of the newest message: stored timestamps never decrease within a topic. */
  lastTimestamp: number;
  published: number;
  publishedBytes: number;
  duplicates: number;
  removedByRetention: number;
  expired: number;
  /** Dead letters currently held. */
  dlqSize: number;
  /** Dead letters ever added. */
  deadLettered: number;
  replayed: number;
  rate: RateWindow;
}

/** Encodes a topic record as a positional tuple (it is rewritten by every publish batch that touches the topic). */
export function encodeTopic(t: TopicRecord): Uint8Array {
  return pack([
    t.id, t.name, canonicalRetention(t.retention), t.createdAt, t.firstOffset, t.nextOffset, t.count, t.bytes, t.lastTimestamp,
    t.published, t.publishedBytes, t.duplicates, t.removedByRetention, t.expired, t.dlqSize, t.deadLettered, t.replayed,
    t.rate.windowStart, t.rate.count, t.rate.prevCount,
  ]);
}

/** Decodes a topic record. */
export function decodeTopic(bytes: Uint8Array): TopicRecord {
  const v = unpack(bytes);
  assert(Array.isArray(v) && v.length === 20, "malformed topic record");
  const [id, name, retention, ...rest] = v as unknown[];
  assert(isNat(id) && typeof name === "string" && rest.every(isNat), "malformed topic record fields");
  const n = rest as number[];
  const at = (i: number): number => n[i] as number;
  const t: TopicRecord = {
    id, name, retention: canonicalRetention(record(retention, "retention") as Retention),
    createdAt: at(0), firstOffset: at(1), nextOffset: at(2), count: at(3), bytes: at(4), lastTimestamp: at(5),
    published: at(6), publishedBytes: at(7), duplicates: at(8), removedByRetention: at(9), expired: at(10),
    dlqSize: at(11), deadLettered: at(12), replayed: at(13),
    rate: { windowStart: at(14), count: at(15), prevCount: at(16) },
  };
  assert(t.firstOffset <= t.nextOffset && t.count <= t.nextOffset - t.firstOffset, () => `topic ${t.name}: inconsistent offsets`);
  return t;
}

/** Retention with fields in a fixed order and absent fields left out. */
export function canonicalRetention(r: Retention): Retention {
  return {
    ...(r.maxMessages !== undefined ? { maxMessages: r.maxMessages } : {}),
    ...(r.maxAgeMs !== undefined ? { maxAgeMs: r.maxAgeMs } : {}),
    ...(r.maxBytes !== undefined ? { maxBytes: r.maxBytes } : {}),
  };
}

/** Per-subscription counters (SPEC §6 statistics). */
export interface SubscriptionStats {
  /** Delivery attempts recorded, first deliveries and redeliveries. */
  delivered: number;
  redelivered: number;
  acked: number;
  /** `fail` reports plus ack timeouts. */
  failed: number;
  timeouts: number;
  deadLettered: number;
  /** Queued or outstanding messages dropped because they expired or retention removed them. */
  dropped: number;
  deliverRate: RateWindow;
  ackRate: RateWindow;
}

/** A backfill still to run: messages [next, end) of topic `tid`, enqueued within the tick budget. */
export interface BackfillCursor {
  readonly tid: number;
  next: number;
  readonly end: number;
}

/** Subscription record: spec plus queue counters. The queue itself is in `p` and `o` keys. */
export interface SubscriptionRecord {
  readonly id: number;
  spec: SubscriptionSpec;
  readonly createdAt: number;
  /** Successful deliveries so far: drives the weighted round-robin priority schedule. */
  cursor: number;
  /** Pending (never delivered) references per priority, and per topic per priority. */
  pending: number[];
  pendingByTopic: Map<number, number[]>;
  backfill: BackfillCursor[];
  stats: SubscriptionStats;
}

/**
 * Encodes the rarely changing part of a subscription (`s` key): id, spec,
 * creation time. The counters live apart (`c` key) because they change on
 * every publish that reaches the subscription.
 */
export function encodeSubscriptionSpec(s: SubscriptionRecord): Uint8Array {
  return pack({ id: s.id, spec: s.spec, createdAt: s.createdAt });
}

/** Encodes a subscription's counters as a positional tuple (`c` key). */
export function encodeSubscriptionCounters(s: SubscriptionRecord): Uint8Array {
  const byTopic = [...s.pendingByTopic.entries()].filter(([, c]) => c.some((n) => n > 0)).sort((a, b) => a[0] - b[0]).map(([tid, c]) => [tid, ...c]);
  const st = s.stats;
  return pack([
    s.cursor, s.pending, byTopic, s.backfill.map((b) => [b.tid, b.next, b.end]),
    [
      st.delivered, st.redelivered, st.acked, st.failed, st.timeouts, st.deadLettered, st.dropped,
      st.deliverRate.windowStart, st.deliverRate.count, st.deliverRate.prevCount,
      st.ackRate.windowStart, st.ackRate.count, st.ackRate.prevCount,
    ],
  ]);
}

/** Decodes a subscription from its spec and counters records. */
export function decodeSubscription(specBytes: Uint8Array, countersBytes: Uint8Array): SubscriptionRecord {
  const o = record(unpack(specBytes), "subscription");
  const c = unpack(countersBytes);
  assert(Array.isArray(c) && c.length === 5, "malformed subscription counters");
  const [cursor, pending, byTopic, backfill, stats] = c as unknown[];
  assert(isNat(cursor), "malformed subscription cursor");
  assert(Array.isArray(pending) && pending.length === 4 && pending.every(isNat), "malformed subscription pending");
  assert(Array.isArray(byTopic) && Array.isArray(backfill), "malformed subscription queues");
  const pendingByTopic = new Map<number, number[]>();
  for (const row of byTopic) {
    assert(Array.isArray(row) && row.length === 5 && row.every(isNat), "malformed pendingByTopic row");
    pendingByTopic.set(row[0] as number, row.slice(1) as number[]);
  }
  assert(Array.isArray(stats) && stats.length === 13 && stats.every(isNat), "malformed subscription stats");
  const at = (i: number): number => stats[i] as number;
  return {
    id: natField(o, "id", "subscription"),
    spec: subscriptionSpec(o["spec"]),
    createdAt: natField(o, "createdAt", "subscription"),
    cursor,
    pending: pending as number[],
    pendingByTopic,
    backfill: backfill.map((b: unknown) => {
      assert(Array.isArray(b) && b.length === 3 && b.every(isNat), "malformed backfill cursor");
      return { tid: b[0] as number, next: b[1] as number, end: b[2] as number };
    }),
    stats: {
      delivered: at(0), redelivered: at(1), acked: at(2), failed: at(3), timeouts: at(4), deadLettered: at(5), dropped: at(6),
      deliverRate: { windowStart: at(7), count: at(8), prevCount: at(9) },
      ackRate: { windowStart: at(10), count: at(11), prevCount: at(12) },
    },
  };
}

/** A delivered message awaiting its ack: in flight, or failed and waiting for its retry. */
export interface Outstanding {
  readonly seq: number;
  readonly tid: number;
  readonly offset: number;
  readonly priority: number;
  /** Number of the current (or last) delivery attempt; 1 = first delivery. */
  attempt: number;
  state: "inflight" | "retry";
  /** inflight: the ack deadline; retry: when the message may be delivered again (log time). */
  deadline: number;
  consumerId: string;
  /** 0 = no TTL. */
  readonly expiresAt: number;
  /** Redeliveries allowed (the message's own maxRetries, else the subscription's at first delivery). */
  readonly maxRetries: number;
}

/** Encodes an outstanding delivery. */
export function encodeOutstanding(o: Outstanding): Uint8Array {
  return pack([o.seq, o.tid, o.offset, o.priority, o.attempt, o.state === "inflight" ? 0 : 1, o.deadline, o.consumerId, o.expiresAt, o.maxRetries]);
}

/** Decodes an outstanding delivery. */
export function decodeOutstanding(bytes: Uint8Array): Outstanding {
  const t = unpack(bytes);
  assert(Array.isArray(t) && t.length === 10, "malformed outstanding record");
  const [seq, tid, offset, priority, attempt, state, deadline, consumerId, expiresAt, maxRetries] = t as unknown[];
  assert([seq, tid, offset, priority, attempt, deadline, expiresAt, maxRetries].every(isNat), "malformed outstanding fields");
  assert((state === 0 || state === 1) && typeof consumerId === "string" && (priority as number) < 4, "malformed outstanding state");
  return {
    seq: seq as number, tid: tid as number, offset: offset as number, priority: priority as number,
    attempt: attempt as number, state: state === 0 ? "inflight" : "retry", deadline: deadline as number,
    consumerId, expiresAt: expiresAt as number, maxRetries: maxRetries as number,
  };
}

/** What a dedup record remembers: the original's offset and Raft index, and when it is forgotten. */
export interface DedupRecord {
  readonly offset: number;
  readonly index: number;
  readonly expiresAt: number;
}

/** Encodes a dedup record. */
export const encodeDedup = (d: DedupRecord): Uint8Array => pack([d.offset, d.index, d.expiresAt]);

/** Decodes a dedup record. */
export function decodeDedup(bytes: Uint8Array): DedupRecord {
  const t = unpack(bytes);
  assert(Array.isArray(t) && t.length === 3 && t.every(isNat), "malformed dedup record");
  return { offset: t[0] as number, index: t[1] as number, expiresAt: t[2] as number };
}

/** A dead letter: a copy of the message with why and how often it failed (SPEC §4). */
export interface DlqRecord {
  readonly id: number;
  readonly offset: number;
  readonly subscription: string;
  readonly reason: string;
  readonly attempts: number;
  readonly deadAt: number;
  readonly message: MessageRecord;
}

/** Encodes a dead letter. */
export function encodeDlq(d: DlqRecord): Uint8Array {
  return pack([d.id, d.offset, d.subscription, d.reason, d.attempts, d.deadAt, encodeMessage(d.message)]);
}

/** Decodes a dead letter. */
export function decodeDlq(bytes: Uint8Array): DlqRecord {
  const t = unpack(bytes);
  assert(Array.isArray(t) && t.length === 7, "malformed DLQ record");
  const [id, offset, subscription, reason, attempts, deadAt, message] = t as unknown[];
  assert(isNat(id) && isNat(offset) && isNat(attempts) && isNat(deadAt), "malformed DLQ numbers");
  assert(typeof subscription === "string" && typeof reason === "string" && message instanceof Uint8Array, "malformed DLQ fields");
  return { id, offset, subscription, reason, attempts, deadAt, message: decodeMessage(message) };
}

/** Where a cluster member listens (the replicated address book, cluster version ≥ 2). */
export interface MemberRecord {
  readonly id: string;
  readonly host: string;
  readonly peerPort: number;
  readonly clientPort: number;
}

/** Encodes a member record. */
export function encodeMember(m: MemberRecord): Uint8Array {
  return pack([m.id, m.host, m.peerPort, m.clientPort]);
}

/** Decodes a member record. */
export function decodeMember(bytes: Uint8Array): MemberRecord {
  const t = unpack(bytes);
  assert(Array.isArray(t) && t.length === 4, "malformed member record");
  const [id, host, peerPort, clientPort] = t as unknown[];
  assert(typeof id === "string" && typeof host === "string" && isNat(peerPort) && isNat(clientPort), "malformed member record fields");
  return { id, host, peerPort, clientPort };
}

/** A user (cluster version ≥ 4): the SHA-256 of its token and its grants (auth/grants.ts). */
export interface UserRecord {
  readonly name: string;
  readonly tokenHash: Uint8Array;
  readonly grants: readonly string[];
  /** Log time of the user's creation and of its last change (rotation, grants). */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Encodes a user record. */
export function encodeUser(u: UserRecord): Uint8Array {
  return pack([u.name, u.tokenHash, [...u.grants], u.createdAt, u.updatedAt]);
}

/** Decodes a user record. */
export function decodeUser(bytes: Uint8Array): UserRecord {
  const t = unpack(bytes);
  assert(Array.isArray(t) && t.length === 5, "malformed user record");
  const [name, tokenHash, grants, createdAt, updatedAt] = t as unknown[];
  assert(typeof name === "string" && tokenHash instanceof Uint8Array && tokenHash.length === 32, "malformed user record fields");
  assert(Array.isArray(grants) && grants.every((g) => typeof g === "string") && isNat(createdAt) && isNat(updatedAt), "malformed user record grants");
  return { name, tokenHash, grants: grants as string[], createdAt, updatedAt };
}

/** A topic signing key (cluster version ≥ 5): publishes to topics its pattern matches must carry its signature. */
export interface SigningKeyRecord {
  readonly name: string;
  readonly pattern: string;
  readonly key: Uint8Array;
  /** Log time of the entry that added it. */
  readonly createdAt: number;
}

/** Encodes a signing key record. */
export function encodeSigningKey(k: SigningKeyRecord): Uint8Array {
  return pack([k.name, k.pattern, k.key, k.createdAt]);
}

/** Decodes a signing key record. */
export function decodeSigningKey(bytes: Uint8Array): SigningKeyRecord {
  const t = unpack(bytes);
  assert(Array.isArray(t) && t.length === 4, "malformed signing key record");
  const [name, pattern, key, createdAt] = t as unknown[];
  assert(typeof name === "string" && typeof pattern === "string" && key instanceof Uint8Array && key.length === 32 && isNat(createdAt), "malformed signing key record fields");
  return { name, pattern, key, createdAt };
}

/** A pending range deletion, processed within the tick budget (deleted topics and subscriptions). */
export interface GcJob {
  readonly gte: Uint8Array;
  readonly lt: Uint8Array;
}

/** Broker-wide state: written in every apply batch together with what it describes. */
export interface MetaRecord {
  /** Index of the last applied entry (the StateMachine's appliedIndex). */
  appliedIndex: number;
  /** Log time: the largest `now` of any applied command (never goes backwards). */
  logNow: number;
  nextTopicId: number;
  nextSubId: number;
  nextSeq: number;
  nextDlqId: number;
  gc: GcJob[];
  /** The state digest after entry `appliedIndex` (state/digest.ts); 32 zero bytes before the first entry. */
  digest: Uint8Array;
  /**
   * The cluster version (version/cluster-version.ts): 0 in a fresh state
   * until the first leader sets it; records written before versioning
   * existed read as 1 (those clusters ran the base version).
   */
  clusterVersion: number;
}

/** Meta of an empty broker. */
export const emptyMeta = (): MetaRecord => ({
  appliedIndex: 0, logNow: 0, nextTopicId: 1, nextSubId: 1, nextSeq: 0, nextDlqId: 1, gc: [], digest: new Uint8Array(32), clusterVersion: 0,
});

/** Encodes the meta record. */
export function encodeMeta(m: MetaRecord): Uint8Array {
  return pack({
    version: 1, appliedIndex: m.appliedIndex, logNow: m.logNow, nextTopicId: m.nextTopicId, nextSubId: m.nextSubId,
    nextSeq: m.nextSeq, nextDlqId: m.nextDlqId, gc: m.gc.map((j) => [j.gte, j.lt]), digest: m.digest, clusterVersion: m.clusterVersion,
  });
}

/** Decodes the meta record. */
export function decodeMeta(bytes: Uint8Array): MetaRecord {
  const o = record(unpack(bytes), "meta");
  assert(o["version"] === 1, () => `unknown broker state version ${String(o["version"])}`);
  const gc = o["gc"];
  assert(Array.isArray(gc), "malformed meta gc");
  const nat = (k: string): number => natField(o, k, "meta");
  // Absent in state written before digests existed: the chain starts from zero there.
  const digest = o["digest"] ?? new Uint8Array(32);
  assert(digest instanceof Uint8Array && digest.byteLength === 32, "malformed meta digest");
  return {
    digest: Uint8Array.from(digest),
    appliedIndex: nat("appliedIndex"), logNow: nat("logNow"), nextTopicId: nat("nextTopicId"), nextSubId: nat("nextSubId"),
    nextSeq: nat("nextSeq"), nextDlqId: nat("nextDlqId"),
    clusterVersion: o["clusterVersion"] === undefined ? 1 : nat("clusterVersion"),
    gc: gc.map((j: unknown) => {
      assert(Array.isArray(j) && j.length === 2 && j[0] instanceof Uint8Array && j[1] instanceof Uint8Array, "malformed gc job");
      return { gte: Uint8Array.from(j[0]), lt: Uint8Array.from(j[1]) };
    }),
  };
}

function isNat(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function natField(o: Record<string, unknown>, k: string, what: string): number {
  const v = o[k];
  assert(isNat(v), () => `malformed ${what} record: ${k} = ${String(v)}`);
  return v;
}

function record(v: unknown, what: string): Record<string, unknown> {
  assert(typeof v === "object" && v !== null && !Array.isArray(v), () => `malformed ${what} record`);
  return v as Record<string, unknown>;
}
