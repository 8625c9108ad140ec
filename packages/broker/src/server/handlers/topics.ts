/** Topic administration: create and delete through the log; list and info from local state. */
import type {
  TopicCreateRequest, TopicDeleteResponse, TopicInfo, TopicInfoRequest, TopicListRequest, TopicListResponse, TopicRequest, TopicSummary,
} from "@raftbus/client/protocol";
import type { Command } from "../../commands/types.ts";
import type { TopicInfo as BrokerTopicInfo, TopicSummary as BrokerTopicSummary } from "../../queries/queries.ts";
import type { HandlerContext } from "../node-server.ts";
import { proposeCommand } from "../proposer.ts";
import type { ClientSession } from "../session.ts";
import { requireLeader } from "./leader.ts";
import { GONE, mapYielding, pageOf, unlessGone } from "./page.ts";
import { readBarrier } from "./read.ts";

function summary(t: BrokerTopicSummary, createdAt: number): TopicSummary {
  const empty = t.count === 0;
  return {
    name: t.name, retention: t.retention, messages: t.count, bytes: t.bytes,
    firstOffset: empty ? null : t.firstOffset, lastOffset: empty ? null : t.lastOffset, createdAt,
  };
}

function info(t: BrokerTopicInfo, members: (sub: string) => number): TopicInfo {
  return {
    ...summary(t, t.createdAt),
    publishRatePerSec: t.publishRate,
    deadLettered: t.deadLettered,
    subscriptions: t.subscriptions.map((s) => ({
      id: s.name, durable: !s.name.startsWith("_eph."), pattern: "", inFlight: s.outstanding, lag: s.lag,
    })).map((s) => ({ ...s, members: members(s.id) })).map(({ members: _m, ...rest }) => rest),
  };
}

/** `topic.create`. */
export async function createTopic(ctx: HandlerContext, _s: ClientSession, body: TopicCreateRequest): Promise<TopicSummary> {
  requireLeader(ctx);
  await proposeCommand(ctx.raft, ctx.broker.checkProposal({
    type: "createTopic", now: Date.now(), topic: body.topic, retention: body.retention ?? ctx.broker.config.defaultRetention,
  }) as Command & { type: "createTopic" });
  const t = await ctx.broker.topicInfo(body.topic);
  return summary(t, t.createdAt);
}

/** `topic.list`, one page (linearizable, or this node's applied state when stale). */
export async function listTopics(ctx: HandlerContext, session: ClientSession, body: TopicListRequest): Promise<TopicListResponse> {
  const readAt = await readBarrier(ctx, body.consistency);
  const prefix = body.prefix;
  const page = pageOf(await ctx.broker.listTopics(), (t) => t.name, {
    ...(body.after !== undefined ? { after: body.after } : {}), ...(body.limit !== undefined ? { limit: body.limit } : {}),
    max: ctx.config.listPageMax, ...(prefix !== undefined ? { keep: (t) => t.name.startsWith(prefix) } : {}),
  });
  const out: TopicSummary[] = await mapYielding(page.items, async (t) => {
    const i = await unlessGone(ctx.broker.topicInfo(t.name), "TOPIC_NOT_FOUND");
    return i === GONE ? GONE : summary(t, i.createdAt);
  }, () => session.isClosed);
  return { topics: out, readAt, ...(page.next !== undefined ? { next: page.next } : {}) };
}

/** `topic.info`: counts, bytes, offsets, publish rate, subscriptions and their lag. */
export async function topicInfo(ctx: HandlerContext, _s: ClientSession, body: TopicInfoRequest): Promise<TopicInfo> {
  const readAt = await readBarrier(ctx, body.consistency);
  const t = await ctx.broker.topicInfo(body.topic);
  const subs = await ctx.broker.listSubscriptions();
  const patterns = new Map(subs.map((s) => [s.name, s]));
  const base = info(t, (sub) => ctx.server.consumers.membersOf(sub));
  return {
    ...base,
    subscriptions: base.subscriptions.map((s) => {
      const sub = patterns.get(s.id);
      return { ...s, pattern: sub?.pattern ?? "", durable: sub ? !sub.ephemeral : s.durable };
    }),
    readAt,
  };
}

/** `topic.delete`: removes the topic and its messages on every replica. */
export async function deleteTopic(ctx: HandlerContext, _s: ClientSession, body: TopicRequest): Promise<TopicDeleteResponse> {
  requireLeader(ctx);
  const before = await ctx.broker.topicInfo(body.topic);
  await proposeCommand(ctx.raft, ctx.broker.checkProposal({ type: "deleteTopic", now: Date.now(), topic: body.topic }) as Command & { type: "deleteTopic" });
  return { topic: body.topic, messagesRemoved: before.count };
}
