/**
 * Dead-letter queue commands (SPEC §4, §6): replay and purge. A dead letter
 * holds a copy of the message, so it outlives the original's retention.
 */
import type { DlqPurgeCommand, DlqReplayCommand } from "../commands/types.ts";
import { BUDGETS } from "../config.ts";
import { dlqKey, topicDlqRange } from "../store/keys.ts";
import { decodeDlq } from "../store/records.ts";
import type { DlqRecord, TopicRecord } from "../store/records.ts";
import type { ApplyContext } from "./context.ts";
import { appendMessage, enforceRetention } from "./messages.ts";
import type { ResultOf } from "./results.ts";
import { requireTopic } from "./topics.ts";

/** dlqReplay: the chosen dead letters (by id, else the oldest `limit`) are put back. */
export async function applyDlqReplay(ctx: ApplyContext, cmd: DlqReplayCommand): Promise<ResultOf<"dlqReplay">> {
  const topic = requireTopic(ctx, cmd.topic);
  const entries = cmd.ids !== undefined ? await entriesById(ctx, topic, cmd.ids) : await oldestEntries(ctx, topic, cmd.limit);
  const replayed = await replay(ctx, topic, entries);
  return { ok: true, type: "dlqReplay", replayed };
}

/**
 * Re-appends dead letters to their topic as new messages (new offset, log
 * time, fresh attempt count; same id, payload, headers and priority), queued
 * only for the subscription that dead-lettered them, or for every matching
 * subscription if that one no longer exists. Publish dedup does not apply.
 */
export async function replay(ctx: ApplyContext, topic: TopicRecord, entries: readonly DlqRecord[]): Promise<{ id: number; offset: number }[]> {
  const out: { id: number; offset: number }[] = [];
  for (const e of entries) {
    const m = e.message;
    const only = ctx.state.subsByName.get(e.subscription);
    const { offset } = appendMessage(ctx, topic, {
      id: m.id, payload: m.payload, headers: m.headers, priority: m.priority, guarantee: m.guarantee, ttlMs: m.ttlMs,
      maxRetries: m.maxRetries, correlationId: m.correlationId, senderId: m.senderId, timestamp: ctx.now,
    }, only);
    ctx.txn.del(dlqKey(topic.id, e.id));
    topic.dlqSize -= 1;
    topic.replayed += 1;
    out.push({ id: e.id, offset });
  }
  ctx.state.touchTopic(topic);
  await enforceRetention(ctx, topic, BUDGETS.retentionPerMessage * Math.max(1, entries.length), false);
  return out;
}

/** dlqPurge: drops the chosen dead letters (by id, else all of the topic's). */
export async function applyDlqPurge(ctx: ApplyContext, cmd: DlqPurgeCommand): Promise<ResultOf<"dlqPurge">> {
  const topic = requireTopic(ctx, cmd.topic);
  const entries = cmd.ids !== undefined ? await entriesById(ctx, topic, cmd.ids) : await oldestEntries(ctx, topic, Number.POSITIVE_INFINITY);
  for (const e of entries) ctx.txn.del(dlqKey(topic.id, e.id));
  topic.dlqSize -= entries.length;
  ctx.state.touchTopic(topic);
  return { ok: true, type: "dlqPurge", purged: entries.length };
}

async function entriesById(ctx: ApplyContext, topic: TopicRecord, ids: readonly number[]): Promise<DlqRecord[]> {
  const unique = [...new Set(ids)].sort((a, b) => a - b);
  const values = await ctx.txn.getMany(unique.map((id) => dlqKey(topic.id, id)));
  return values.filter((v): v is Uint8Array => v !== undefined).map(decodeDlq);
}

/** The oldest `limit` dead letters of `topic` (DLQ ids grow with time). */
export async function oldestEntries(ctx: ApplyContext, topic: TopicRecord, limit: number): Promise<DlqRecord[]> {
  const out: DlqRecord[] = [];
  for await (const [, v] of ctx.txn.scan(topicDlqRange(topic.id), limit)) out.push(decodeDlq(v));
  return out;
}
