/**
 * publish (SPEC §2–§4): append each message of the batch to its topic
 * (auto-creating it unless the cluster is strict), deduplicate by message id
 * and by producer id + sequence within the dedup window, fan out to matching
 * subscriptions, and enforce retention.
 */
import type { ErrorInfo } from "@raftbus/client/protocol";
import type { CommandMessage, PublishCommand } from "../commands/types.ts";
import { BUDGETS } from "../config.ts";
import { dedupExpiryKey, dedupIdKey, dedupProducerKey } from "../store/keys.ts";
import { decodeDedup, encodeDedup } from "../store/records.ts";
import type { TopicRecord } from "../store/records.ts";
import { unsafe } from "@raftbus/raft";
import type { ApplyContext } from "./context.ts";
import { appendMessage, enforceRetention } from "./messages.ts";
import type { PublishOutcome, ResultOf } from "./results.ts";
import { expireDedup } from "./housekeeping.ts";
import { createTopicRecord } from "./topics.ts";

/**
 * Applies a publish batch; each message gets its own outcome. Retention is
 * enforced once per touched topic after the batch: removing oldest-first
 * until within count and bytes keeps the same messages as doing it after
 * every message (the kept set is the longest suffix within the limits).
 */
export async function applyPublish(ctx: ApplyContext, cmd: PublishCommand): Promise<ResultOf<"publish">> {
  await prefetchDedup(ctx, cmd);
  const results: PublishOutcome[] = [];
  const touched = new Map<number, TopicRecord>();
  for (const m of cmd.messages) results.push(await publishOne(ctx, cmd, m, touched));
  for (const topic of [...touched.values()].sort((a, b) => a.id - b.id)) {
    if (ctx.state.topicsById.get(topic.id) === topic) await enforceRetention(ctx, topic, BUDGETS.retentionPerMessage * cmd.messages.length, false);
  }
  // Dedup records whose window passed are forgotten as publishing goes on, not by time entries:
  // two per message keeps the table at about one window's worth.
  await expireDedup(ctx, BUDGETS.dedupExpiryPerMessage * cmd.messages.length);
  return { ok: true, type: "publish", results };
}

/** One round trip for the dedup records of the batch's messages to existing topics. */
async function prefetchDedup(ctx: ApplyContext, cmd: PublishCommand): Promise<void> {
  const keys: Uint8Array[] = [];
  for (const m of cmd.messages) {
    const topic = ctx.state.topicsByName.get(m.topic);
    if (topic !== undefined) keys.push(...dedupKeys(topic.id, m));
  }
  await ctx.txn.prefetch(keys);
}

/** Dedup keys of a message. Generated ids are unique by construction: only client-chosen ids are remembered. */
function dedupKeys(tid: number, m: CommandMessage): Uint8Array[] {
  const keys: Uint8Array[] = [];
  if (!m.idGenerated) keys.push(dedupIdKey(tid, m.id));
  if (m.producerId !== undefined && m.sequence !== undefined) keys.push(dedupProducerKey(tid, m.producerId, m.sequence));
  return keys;
}

async function publishOne(ctx: ApplyContext, cmd: PublishCommand, m: CommandMessage, touched: Map<number, TopicRecord>): Promise<PublishOutcome> {
  const { state, txn } = ctx;
  let topic = state.topicsByName.get(m.topic);
  if (topic === undefined) {
    if (!cmd.autoCreate) {
      const error: ErrorInfo = { code: "TOPIC_NOT_FOUND", message: `topic '${m.topic}' does not exist (the cluster does not auto-create topics)` };
      return { error };
    }
    topic = createTopicRecord(ctx, m.topic, cmd.defaultRetention);
  }
  // The chaos tests' skip-dedup switch (raft/src/unsafe.ts) turns publisher dedup off on purpose.
  const keys = unsafe("skip-dedup") ? [] : dedupKeys(topic.id, m);
  for (const k of keys) {
    const bytes = await txn.get(k);
    if (bytes === undefined) continue;
    const original = decodeDedup(bytes);
    if (original.expiresAt <= ctx.now) continue; // outside the window: forgotten
    topic.duplicates += 1;
    state.touchTopic(topic);
    return { topic: topic.name, offset: original.offset, index: original.index, duplicate: true };
  }
  const { offset } = appendMessage(ctx, topic, {
    id: m.id, payload: m.payload, headers: m.headers, priority: m.priority, guarantee: m.guarantee,
    ttlMs: m.ttlMs ?? null, maxRetries: m.maxRetries ?? null, correlationId: m.correlationId ?? null,
    senderId: m.senderId, timestamp: m.timestamp,
  });
  if (cmd.dedupWindowMs > 0) {
    const expiresAt = ctx.now + cmd.dedupWindowMs;
    for (const k of keys) {
      txn.put(k, encodeDedup({ offset, index: ctx.index, expiresAt }));
      txn.put(dedupExpiryKey(expiresAt, k), new Uint8Array(0));
    }
  }
  touched.set(topic.id, topic);
  return { topic: topic.name, offset, index: ctx.index, duplicate: false };
}
