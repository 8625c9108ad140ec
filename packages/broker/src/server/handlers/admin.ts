/** Subscriptions list, dead letters, maintenance and statistics. */
import { RaftbusError } from "@raftbus/client/protocol";
import type {
  DlqListRequest, DlqListResponse, DlqPurgeResponse, DlqReplayResponse, DlqSelectRequest,
  MaintenanceRequest, MaintenanceResponse, StatsRequest, StatsResponse, SubscriptionInfo, SubscriptionListRequest, SubscriptionListResponse,
} from "@raftbus/client/protocol";
import type { Command } from "../../commands/types.ts";
import { compilePattern } from "../../pattern/pattern.ts";
import type { HandlerContext } from "../node-server.ts";
import { proposeCommand } from "../proposer.ts";
import type { ClientSession } from "../session.ts";
import { clusterStatus } from "./cluster.ts";
import { requireLeader } from "./leader.ts";
import { GONE, mapYielding, pageOf, unlessGone } from "./page.ts";
import { readBarrier } from "./read.ts";

/** `subscription.list`: one page, by id (linearizable, or this node's applied state when stale). */
export async function listSubscriptions(ctx: HandlerContext, session: ClientSession, body: SubscriptionListRequest): Promise<SubscriptionListResponse> {
  const readAt = await readBarrier(ctx, body.consistency);
  const topic = body.topic;
  const page = pageOf(await ctx.broker.listSubscriptions(), (s) => s.name, {
    ...(body.after !== undefined ? { after: body.after } : {}), ...(body.limit !== undefined ? { limit: body.limit } : {}),
    max: ctx.config.listPageMax, ...(topic !== undefined ? { keep: (s) => compilePattern(s.pattern).matches(topic) } : {}),
  });
  const out: SubscriptionInfo[] = await mapYielding(page.items, async (s) => {
    const i = await unlessGone(ctx.broker.subscriptionInfo(s.name), "SUBSCRIPTION_NOT_FOUND");
    if (i === GONE) return GONE;
    return {
      id: i.name, durable: !i.ephemeral, pattern: i.pattern, ...(i.filter !== undefined ? { filter: i.filter } : {}),
      guarantee: i.guarantee, members: ctx.server.consumers.membersOf(i.name), maxInFlight: i.maxInFlight,
      inFlight: i.inFlight, lag: i.lag, delivered: i.delivered, acked: i.acked, failed: i.failed,
      deadLettered: i.deadLettered, createdAt: i.createdAt,
    };
  }, () => session.isClosed);
  return { subscriptions: out, readAt, ...(page.next !== undefined ? { next: page.next } : {}) };
}

/** `dlq.list`. */
export async function dlqList(ctx: HandlerContext, _s: ClientSession, body: DlqListRequest): Promise<DlqListResponse> {
  const readAt = await readBarrier(ctx, body.consistency);
  const entries = await ctx.broker.dlqList(body.topic, {
    ...(body.fromId !== undefined ? { afterId: body.fromId - 1 } : {}),
    ...(body.limit !== undefined ? { limit: body.limit } : {}),
  });
  return {
    messages: entries.map((e) => ({ dlqId: e.id, message: e.message, subscription: e.subscription, reason: e.reason, attempts: e.attempts, deadAt: e.deadAt })),
    readAt,
  };
}

/** `dlq.replay`: republish dead letters to their topic. */
export async function dlqReplay(ctx: HandlerContext, _s: ClientSession, body: DlqSelectRequest): Promise<DlqReplayResponse> {
  requireLeader(ctx);
  const res = await proposeCommand(ctx.raft, ctx.broker.checkProposal({
    type: "dlqReplay", now: Date.now(), topic: body.topic, ...(body.ids !== undefined ? { ids: body.ids } : {}),
  }) as Command & { type: "dlqReplay" });
  ctx.server.pump();
  return { replayed: res.replayed.length };
}

/** `dlq.purge`. */
export async function dlqPurge(ctx: HandlerContext, _s: ClientSession, body: DlqSelectRequest): Promise<DlqPurgeResponse> {
  requireLeader(ctx);
  const res = await proposeCommand(ctx.raft, ctx.broker.checkProposal({
    type: "dlqPurge", now: Date.now(), topic: body.topic, ...(body.ids !== undefined ? { ids: body.ids } : {}),
  }) as Command & { type: "dlqPurge" });
  return { purged: res.purged };
}

const ACTIONS = { cleanup: "cleanup", compact: "compact", "retry-failed": "retryFailed" } as const;

/** `maintenance`: on demand; compaction also snapshots and compacts the Raft log. */
export async function maintenance(ctx: HandlerContext, _s: ClientSession, body: MaintenanceRequest): Promise<MaintenanceResponse> {
  requireLeader(ctx);
  const action = ACTIONS[body.kind];
  if (action === undefined) throw new RaftbusError("INVALID_ARGUMENT", `unknown maintenance kind "${String(body.kind)}"`);
  const started = Date.now();
  const res = await proposeCommand(ctx.raft, ctx.broker.checkProposal({ type: "maintenance", now: started, action }) as Command & { type: "maintenance" });
  if (action === "compact") await ctx.raft.snapshotNow();
  ctx.server.pump();
  const r = res.report;
  return { kind: body.kind, affected: r.expired + r.retained + r.collected + res.retried + res.replayed, durationMs: Date.now() - started };
}

/** `stats`: broker statistics plus per-node health. */
export async function stats(ctx: HandlerContext, s: ClientSession, body: StatsRequest): Promise<StatsResponse> {
  const readAt = await readBarrier(ctx, body.consistency);
  const b = await ctx.broker.stats();
  const cluster = await clusterStatus(ctx);
  const subs = await ctx.broker.listSubscriptions();
  const rates = await mapYielding(subs, async (sub) => {
    const i = await unlessGone(ctx.broker.subscriptionInfo(sub.name), "SUBSCRIPTION_NOT_FOUND");
    return i === GONE ? GONE : i.deliverRate;
  }, () => s.isClosed);
  const deliverRate = rates.reduce((a, b) => a + b, 0);
  return {
    topics: b.topics, subscriptions: b.subscriptions, messages: b.messages, bytes: b.bytes, published: b.published,
    delivered: b.delivered, acked: b.acked, failed: b.failed, retried: b.redelivered, deadLettered: b.deadLettered,
    publishRatePerSec: b.publishRate, deliverRatePerSec: deliverRate,
    nodes: cluster.nodes.map((n) => ({ id: n.id, role: n.role, healthy: n.healthy, appliedIndex: n.appliedIndex, lastContactMs: n.lastContactMs })),
    readAt,
  };
}
