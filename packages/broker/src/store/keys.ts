/**
 * The broker's LevelDB key space (STYLE.md practice 8: keys sort as bytes, so
 * every number is fixed-width big-endian). One ASCII tag byte, then fields:
 *
 *   m                                   meta: applied index, log time, id counters, GC jobs
 *   t  tid:4                            topic record
 *   l  tid:4 offset:8                   message (the topic's append-only log)
 *   e  expiresAt:8 tid:4 offset:8       TTL index (empty value)
 *   s  sid:4                            subscription spec (written on create/update)
 *   c  sid:4                            subscription counters: queue sizes, schedule cursor, stats
 *   p  sid:4 priority:1 seq:8           pending (never delivered) reference → tid:4 offset:8 expiresAt:8 guarantee:1 maxRetries:4
 *   o  sid:4 seq:8                      outstanding delivery (in flight or waiting to retry)
 *   u  tid:4 kind:1 ...                 dedup record (kind 0: message id; 1: producer id + sequence)
 *   x  expiresAt:8 <u key>              dedup expiry index (empty value)
 *   z  tid:4 dlqId:8                    dead letter
 *   n  nodeId (utf-8)                   a cluster member's addresses (cluster version ≥ 2)
 *   a  user name (utf-8)                a user: token hash and grants (cluster version ≥ 4)
 *   k  name (utf-8)                     a topic signing key (cluster version ≥ 5)
 *
 * Topic and subscription ids are numbers assigned at creation and never
 * reused, so keys are fixed width and a deleted topic's leftovers can never
 * be mistaken for a new topic's data. `seq` is a global sequence number
 * assigned to every stored message in log order: it orders a pattern
 * subscription's queue across topics.
 */
import { assert } from "../raft-api.ts";

/** Tag bytes of the key families. */
export const TAG = {
  meta: 0x6d, // m
  topic: 0x74, // t
  log: 0x6c, // l
  ttl: 0x65, // e
  sub: 0x73, // s
  subCounters: 0x63, // c
  pending: 0x70, // p
  outstanding: 0x6f, // o
  dedup: 0x75, // u
  dedupExpiry: 0x78, // x
  dlq: 0x7a, // z
  member: 0x6e, // n
  user: 0x61, // a
  signingKey: 0x6b, // k
} as const;

const TWO_32 = 2 ** 32;
const encoder = new TextEncoder();

// Byte arithmetic rather than a DataView per call: keys are built on the hot path.

/** Writes `n` (0 ≤ n < 2^53) as 8 bytes big-endian at `at`. */
export function writeU64(buf: Uint8Array, at: number, n: number): void {
  assert(Number.isSafeInteger(n) && n >= 0, () => `u64 field out of range: ${n}`);
  put32(buf, at, Math.floor(n / TWO_32));
  put32(buf, at + 4, n >>> 0);
}

/** Reads 8 bytes big-endian at `at`. */
export function readU64(buf: Uint8Array, at: number): number {
  const n = get32(buf, at) * TWO_32 + get32(buf, at + 4);
  assert(Number.isSafeInteger(n), "u64 field above 2^53 read back from disk");
  return n;
}

/** Writes `n` (0 ≤ n < 2^32) as 4 bytes big-endian at `at`. */
export function writeU32(buf: Uint8Array, at: number, n: number): void {
  assert(Number.isInteger(n) && n >= 0 && n < TWO_32, () => `u32 field out of range: ${n}`);
  put32(buf, at, n);
}

/** Reads 4 bytes big-endian at `at`. */
export function readU32(buf: Uint8Array, at: number): number {
  return get32(buf, at);
}

function put32(buf: Uint8Array, at: number, n: number): void {
  buf[at] = n >>> 24;
  buf[at + 1] = (n >>> 16) & 0xff;
  buf[at + 2] = (n >>> 8) & 0xff;
  buf[at + 3] = n & 0xff;
}

function get32(buf: Uint8Array, at: number): number {
  assert(at + 4 <= buf.length, "key field beyond the end of the key");
  return ((buf[at] as number) * 0x1000000) + (((buf[at + 1] as number) << 16) | ((buf[at + 2] as number) << 8) | (buf[at + 3] as number));
}

/** Key layout builder: a tag then fixed-width fields. */
function key(tag: number, ...fields: ([4, number] | [8, number] | [1, number])[]): Uint8Array {
  let size = 1;
  for (const [w] of fields) size += w;
  const buf = new Uint8Array(size);
  buf[0] = tag;
  let at = 1;
  for (const [w, n] of fields) {
    if (w === 4) writeU32(buf, at, n);
    else if (w === 8) writeU64(buf, at, n);
    else buf[at] = n;
    at += w;
  }
  return buf;
}

/** The single meta key. */
export const META_KEY = Uint8Array.of(TAG.meta);

/** Key of topic `tid`'s record. */
export const topicKey = (tid: number): Uint8Array => key(TAG.topic, [4, tid]);
/** Key of message `offset` of topic `tid` (hot: built without the generic builder). */
export function logKey(tid: number, offset: number): Uint8Array {
  const buf = new Uint8Array(13);
  buf[0] = TAG.log;
  writeU32(buf, 1, tid);
  writeU64(buf, 5, offset);
  return buf;
}
/** Key of the TTL index entry of a message. */
export const ttlKey = (expiresAt: number, tid: number, offset: number): Uint8Array => key(TAG.ttl, [8, expiresAt], [4, tid], [8, offset]);
/** Key of subscription `sid`'s record. */
export const subKey = (sid: number): Uint8Array => key(TAG.sub, [4, sid]);
/** Key of subscription `sid`'s counters. */
export const subCountersKey = (sid: number): Uint8Array => key(TAG.subCounters, [4, sid]);
/** Key of a pending reference in subscription `sid`'s queue for `priority` (0 = critical). Hot: built directly. */
export function pendingKey(sid: number, priority: number, seq: number): Uint8Array {
  assert(priority >= 0 && priority < 4, () => `bad priority queue ${priority}`);
  const buf = new Uint8Array(14);
  buf[0] = TAG.pending;
  writeU32(buf, 1, sid);
  buf[5] = priority;
  writeU64(buf, 6, seq);
  return buf;
}

/** Key of an outstanding delivery of subscription `sid`. Hot: built directly. */
export function outstandingKey(sid: number, seq: number): Uint8Array {
  const buf = new Uint8Array(13);
  buf[0] = TAG.outstanding;
  writeU32(buf, 1, sid);
  writeU64(buf, 5, seq);
  return buf;
}
/** Key of DLQ entry `id` of topic `tid`. */
export const dlqKey = (tid: number, id: number): Uint8Array => key(TAG.dlq, [4, tid], [8, id]);

/** Key of cluster member `nodeId`'s address record. */
export function memberKey(nodeId: string): Uint8Array {
  const id = encoder.encode(nodeId);
  const buf = new Uint8Array(1 + id.length);
  buf[0] = TAG.member;
  buf.set(id, 1);
  return buf;
}

/** Key of user `name`'s record. */
export function userKey(name: string): Uint8Array {
  const bytes = encoder.encode(name);
  const buf = new Uint8Array(1 + bytes.length);
  buf[0] = TAG.user;
  buf.set(bytes, 1);
  return buf;
}

/** Key of topic signing key `name`'s record. */
export function signingKeyKey(name: string): Uint8Array {
  const bytes = encoder.encode(name);
  const buf = new Uint8Array(1 + bytes.length);
  buf[0] = TAG.signingKey;
  buf.set(bytes, 1);
  return buf;
}

/** Key of the dedup record for message id `id` in topic `tid`. */
export function dedupIdKey(tid: number, id: string): Uint8Array {
  const idBytes = encoder.encode(id);
  const buf = new Uint8Array(6 + idBytes.length);
  buf[0] = TAG.dedup;
  writeU32(buf, 1, tid);
  buf[5] = 0;
  buf.set(idBytes, 6);
  return buf;
}

/** Key of the dedup record for (producerId, sequence) in topic `tid`: length-prefixed producer id. */
export function dedupProducerKey(tid: number, producerId: string, sequence: number): Uint8Array {
  const p = encoder.encode(producerId);
  const buf = new Uint8Array(6 + 4 + p.length + 8);
  buf[0] = TAG.dedup;
  writeU32(buf, 1, tid);
  buf[5] = 1;
  writeU32(buf, 6, p.length);
  buf.set(p, 10);
  writeU64(buf, 10 + p.length, sequence);
  return buf;
}

/** Key of the expiry index entry of dedup record `dedupKey`. */
export function dedupExpiryKey(expiresAt: number, dedupKey: Uint8Array): Uint8Array {
  const buf = new Uint8Array(9 + dedupKey.length);
  buf[0] = TAG.dedupExpiry;
  writeU64(buf, 1, expiresAt);
  buf.set(dedupKey, 9);
  return buf;
}

/** A half-open key range [gte, lt). */
export interface KeyRange {
  readonly gte: Uint8Array;
  readonly lt: Uint8Array;
}

/** Every key starting with `prefix`. */
export function prefixRange(prefix: Uint8Array): KeyRange {
  // The successor of the prefix: increment the last byte that is not 0xff.
  const lt = Uint8Array.from(prefix);
  let i = lt.length - 1;
  while (i >= 0 && lt[i] === 0xff) i--;
  assert(i >= 0, "prefix of all 0xff bytes has no successor");
  lt[i] = (lt[i] as number) + 1;
  return { gte: Uint8Array.from(prefix), lt: lt.subarray(0, i + 1) };
}

/** Keys of one family (all keys with tag `tag`). */
export const familyRange = (tag: number): KeyRange => prefixRange(Uint8Array.of(tag));
/** Messages of topic `tid` with offsets in [from, to). */
export const logRange = (tid: number, from: number, to: number): KeyRange => ({ gte: logKey(tid, from), lt: logKey(tid, to) });
/** All messages of topic `tid`. */
export const topicLogRange = (tid: number): KeyRange => prefixRange(key(TAG.log, [4, tid]));
/** Pending references of subscription `sid` (every priority). */
export const subPendingRange = (sid: number): KeyRange => prefixRange(key(TAG.pending, [4, sid]));
/** Pending references of subscription `sid` at one priority. */
export const subPendingPriorityRange = (sid: number, priority: number): KeyRange => prefixRange(key(TAG.pending, [4, sid], [1, priority]));
/** Outstanding deliveries of subscription `sid`. */
export const subOutstandingRange = (sid: number): KeyRange => prefixRange(key(TAG.outstanding, [4, sid]));
/** Dead letters of topic `tid`. */
export const topicDlqRange = (tid: number): KeyRange => prefixRange(key(TAG.dlq, [4, tid]));
/** Dedup records of topic `tid`. */
export const topicDedupRange = (tid: number): KeyRange => prefixRange(key(TAG.dedup, [4, tid]));
/** TTL index entries expiring at or before `now`. */
export const ttlDueRange = (now: number): KeyRange => ({ gte: Uint8Array.of(TAG.ttl), lt: key(TAG.ttl, [8, now + 1]) });
/** Dedup expiry entries expiring at or before `now`. */
export const dedupDueRange = (now: number): KeyRange => ({ gte: Uint8Array.of(TAG.dedupExpiry), lt: key(TAG.dedupExpiry, [8, now + 1]) });

/** Parts of a TTL index key. */
export function parseTtlKey(k: Uint8Array): { expiresAt: number; tid: number; offset: number } {
  assert(k.length === 21 && k[0] === TAG.ttl, "malformed TTL index key");
  return { expiresAt: readU64(k, 1), tid: readU32(k, 9), offset: readU64(k, 13) };
}

/** Parts of a pending key. */
export function parsePendingKey(k: Uint8Array): { sid: number; priority: number; seq: number } {
  assert(k.length === 14 && k[0] === TAG.pending, "malformed pending key");
  return { sid: readU32(k, 1), priority: k[5] as number, seq: readU64(k, 6) };
}

/** Parts of a DLQ key. */
export function parseDlqKey(k: Uint8Array): { tid: number; id: number } {
  assert(k.length === 13 && k[0] === TAG.dlq, "malformed DLQ key");
  return { tid: readU32(k, 1), id: readU64(k, 5) };
}

/** What a pending reference holds: enough to record a first delivery without reading the message. */
export interface PendingValue {
  readonly tid: number;
  readonly offset: number;
  /** 0 = never. */
  readonly expiresAt: number;
  /** Index into GUARANTEES of the message's guarantee. */
  readonly guarantee: number;
  /** The message's own maxRetries, or null (the subscription's applies). */
  readonly maxRetries: number | null;
}

const NO_MAX_RETRIES = 0xffffffff;

/** Pending reference value: where the message is, when it expires, its guarantee and maxRetries. */
export function encodePendingValue(v: PendingValue): Uint8Array {
  const buf = new Uint8Array(25);
  writeU32(buf, 0, v.tid);
  writeU64(buf, 4, v.offset);
  writeU64(buf, 12, v.expiresAt);
  buf[20] = v.guarantee;
  writeU32(buf, 21, v.maxRetries ?? NO_MAX_RETRIES);
  return buf;
}

/** Decodes a pending reference value. */
export function decodePendingValue(v: Uint8Array): PendingValue {
  assert(v.length === 25 && (v[20] as number) < 3, "malformed pending value read back from disk");
  const maxRetries = readU32(v, 21);
  return { tid: readU32(v, 0), offset: readU64(v, 4), expiresAt: readU64(v, 12), guarantee: v[20] as number, maxRetries: maxRetries === NO_MAX_RETRIES ? null : maxRetries };
}

/** A string form of key bytes that sorts like the bytes (one char per byte). */
export function keyString(k: Uint8Array): string {
  if (k.length <= 64) return String.fromCharCode.apply(null, k as unknown as number[]); // short keys: no Buffer allocation
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString("latin1");
}

/** Byte-order comparison of two keys. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
