/**
 * When does time-driven work next fall due? The leader asks this before it
 * writes a time entry (`tick`), so an idle cluster writes nothing (SPEC
 * §10): a tick is worth an entry only when an ack deadline passes, a TTL or
 * retention by age removes a message, or budgeted work (garbage collection,
 * a backfill feeding an empty queue, retention over its count or size
 * limit) is unfinished. Retries need no tick (the dispatcher delivers them
 * when due, and the delivery entry carries the time); dedup records expire
 * as publishing continues and are harmless while it does not.
 */
import { BACKFILL_LOW_WATER } from "../state/delivery.ts";
import type { BrokerState } from "../state/state.ts";
import { TAG, familyRange, logKey, parseTtlKey } from "../store/keys.ts";
import { decodeMessage } from "../store/records.ts";
import type { TopicRecord } from "../store/records.ts";
import type { BinaryDb } from "../store/txn.ts";

/**
 * Timestamps of topics' oldest messages, read once per first offset
 * (messages never change, so an entry is good until retention moves the
 * topic's first offset). Leader-local; cleared on restore.
 */
export class OldestTimestamps {
  private readonly byTopic = new Map<number, { readonly firstOffset: number; readonly timestamp: number | undefined }>();

  /** Timestamp of `topic`'s oldest stored message, undefined when it has none. */
  async of(db: BinaryDb, topic: TopicRecord): Promise<number | undefined> {
    const cached = this.byTopic.get(topic.id);
    if (cached !== undefined && cached.firstOffset === topic.firstOffset) return cached.timestamp;
    const bytes = (await db.get(logKey(topic.id, topic.firstOffset))) as Uint8Array | undefined;
    const timestamp = bytes === undefined ? undefined : decodeMessage(bytes).timestamp;
    this.byTopic.set(topic.id, { firstOffset: topic.firstOffset, timestamp });
    return timestamp;
  }

  /** Forget everything (state restored from a snapshot). */
  clear(): void {
    this.byTopic.clear();
  }
}

/** Log time at which time-driven work is next due (0: now), or undefined when none is pending. */
export async function nextTimeWork(state: BrokerState, db: BinaryDb, oldest: OldestTimestamps): Promise<number | undefined> {
  if (state.meta.gc.length > 0) return 0;
  let due: number | undefined;
  const at = (t: number): void => {
    if (due === undefined || t < due) due = t;
  };
  for (const sub of state.subsById.values()) {
    if (sub.rec.backfill.length > 0 && sub.pendingTotal < BACKFILL_LOW_WATER) return 0;
    const deadline = sub.earliestAckDeadline();
    if (deadline !== undefined) at(deadline);
  }
  for (const topic of state.topicsById.values()) {
    const r = topic.retention;
    if ((r.maxMessages !== undefined && topic.count > r.maxMessages) || (r.maxBytes !== undefined && topic.bytes > r.maxBytes)) return 0;
    if (r.maxAgeMs === undefined || topic.count === 0) continue;
    const ts = await oldest.of(db, topic);
    // Retention removes a message once it is strictly older than maxAgeMs.
    if (ts !== undefined) at(ts + r.maxAgeMs + 1);
  }
  for await (const [k] of db.iterator({ ...familyRange(TAG.ttl), limit: 1 })) at(parseTtlKey(k).expiresAt);
  return due;
}
