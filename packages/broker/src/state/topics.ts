/**
 * Topic commands (SPEC §3): create, delete with all data, update retention.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { CreateTopicCommand, DeleteTopicCommand, UpdateRetentionCommand } from "../commands/types.ts";
import { BUDGETS } from "../config.ts";
import type { Retention } from "../config.ts";
import {
  decodePendingValue, outstandingKey, subPendingRange, topicDedupRange, topicDlqRange, topicLogRange,
} from "../store/keys.ts";
import { canonicalRetention, newRate } from "../store/records.ts";
import type { TopicRecord } from "../store/records.ts";
import type { ApplyContext } from "./context.ts";
import { enforceRetention } from "./messages.ts";
import type { ResultOf } from "./results.ts";

/** Creates and registers a new, empty topic with the next topic id. */
export function createTopicRecord(ctx: ApplyContext, name: string, retention: Retention): TopicRecord {
  const { meta } = ctx.state;
  const topic: TopicRecord = {
    id: meta.nextTopicId, name, retention: canonicalRetention(retention), createdAt: ctx.now,
    firstOffset: 0, nextOffset: 0, count: 0, bytes: 0, lastTimestamp: 0,
    published: 0, publishedBytes: 0, duplicates: 0, removedByRetention: 0, expired: 0,
    dlqSize: 0, deadLettered: 0, replayed: 0, rate: newRate(),
  };
  meta.nextTopicId += 1;
  ctx.state.addTopic(topic);
  ctx.state.touchTopic(topic);
  return topic;
}

/** The topic named `name`, or TOPIC_NOT_FOUND. */
export function requireTopic(ctx: ApplyContext, name: string): TopicRecord {
  const topic = ctx.state.topicsByName.get(name);
  if (topic === undefined) throw new RaftbusError("TOPIC_NOT_FOUND", `topic '${name}' does not exist`);
  return topic;
}

/** createTopic: TOPIC_EXISTS when the name is taken. */
export function applyCreateTopic(ctx: ApplyContext, cmd: CreateTopicCommand): ResultOf<"createTopic"> {
  if (ctx.state.topicsByName.has(cmd.topic)) throw new RaftbusError("TOPIC_EXISTS", `topic '${cmd.topic}' already exists`);
  createTopicRecord(ctx, cmd.topic, cmd.retention);
  return { ok: true, type: "createTopic", topic: cmd.topic };
}

/**
 * deleteTopic: the topic disappears at once (its id is never reused, so
 * leftovers are invisible); its messages, dedup records and dead letters are
 * garbage-collected by later ticks. Subscriptions drop their references now.
 */
export async function applyDeleteTopic(ctx: ApplyContext, cmd: DeleteTopicCommand): Promise<ResultOf<"deleteTopic">> {
  const topic = requireTopic(ctx, cmd.topic);
  const { state, txn } = ctx;
  for (const sub of state.holdersOf(topic.id)) {
    if (sub.rec.pendingByTopic.has(topic.id)) {
      for await (const [k, v] of txn.scan(subPendingRange(sub.id))) {
        if (decodePendingValue(v).tid === topic.id) txn.del(k);
      }
      sub.clearPendingOf(topic.id);
    }
    for (const out of sub.sortedOutstanding()) {
      if (out.tid !== topic.id) continue;
      sub.deleteOutstanding(out);
      txn.del(outstandingKey(sub.id, out.seq));
    }
    state.updateHolder(sub, topic.id);
    state.touchSub(sub);
  }
  for (const sub of state.sortedSubs()) {
    if (sub.rec.backfill.some((b) => b.tid === topic.id)) {
      sub.rec.backfill = sub.rec.backfill.filter((b) => b.tid !== topic.id);
      state.touchSub(sub);
    }
  }
  state.meta.gc.push(topicLogRange(topic.id), topicDedupRange(topic.id), topicDlqRange(topic.id));
  state.removeTopic(txn, topic);
  return { ok: true, type: "deleteTopic", topic: cmd.topic };
}

/** updateRetention: the new policy applies at once, within the tick budget; ticks finish the job. */
export async function applyUpdateRetention(ctx: ApplyContext, cmd: UpdateRetentionCommand): Promise<ResultOf<"updateRetention">> {
  const topic = requireTopic(ctx, cmd.topic);
  topic.retention = canonicalRetention(cmd.retention);
  ctx.state.touchTopic(topic);
  const removed = await enforceRetention(ctx, topic, BUDGETS.tick, true);
  return { ok: true, type: "updateRetention", topic: cmd.topic, removed };
}
