/**
 * Subscriptions and delivery feedback: subscribe (create or resume the
 * replicated subscription, then attach this session as a consumer),
 * unsubscribe, credit, ack and fail. Acks and fails go through the log so
 * they survive failover: the delivery path group-commits them with every
 * other session's, and applies the credit they carry at once.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type {
  AckRequest, AckResponse, CreditRequest, CreditResponse, EmptyBody, FailRequest, FailResponse,
  SubscribeRequest, SubscribeResponse, UnsubscribeRequest,
} from "@raftbus/client/protocol";
import type { Command } from "../../commands/types.ts";
import { LIMITS_IN_APPLY_VERSION, effectiveVersion } from "../../version/cluster-version.ts";
import type { HandlerContext } from "../node-server.ts";
import { proposeCommand } from "../proposer.ts";
import type { ClientSession } from "../session.ts";
import { requireLeader } from "./leader.ts";

let ephemeralSeq = 0;

/** `subscribe`. */
export async function subscribe(ctx: HandlerContext, session: ClientSession, body: SubscribeRequest): Promise<SubscribeResponse> {
  requireLeader(ctx);
  const max = ctx.config.subscriptionsPerSessionMax;
  const release = ctx.delivery.reserve(session, max);
  if (release === undefined) {
    throw new RaftbusError("LIMIT_EXCEEDED", `a connection may hold at most ${max} subscriptions (subscriptionsPerSessionMax)`, { details: { limit: "subscriptionsPerSessionMax", max } });
  }
  try {
    return await subscribeWithSlot(ctx, session, body);
  } finally {
    release();
  }
}

async function subscribeWithSlot(ctx: HandlerContext, session: ClientSession, body: SubscribeRequest): Promise<SubscribeResponse> {
  const durable = body.name !== undefined;
  if (body.name !== undefined) {
    const resumed = await resumeDurable(ctx, session, body.name, body);
    if (resumed !== undefined) return resumed;
  }
  const name = body.name ?? `_eph.${session.id}.${++ephemeralSeq}`;
  // The owner and its limit are cluster-version-3 fields: an older member would drop them.
  const limitsInApply = effectiveVersion(ctx.broker.clusterVersion()) >= LIMITS_IN_APPLY_VERSION;
  const spec = ctx.broker.subscriptionSpec({
    name, pattern: body.pattern, ephemeral: !durable,
    ...(durable ? (limitsInApply ? { owner: session.identity() } : {}) : { sessionId: session.id }),
    ...(body.filter !== undefined ? { filter: body.filter } : {}),
    ...(body.guarantee !== undefined ? { guarantee: body.guarantee } : {}),
    ...(body.from !== undefined ? { start: body.from } : {}),
    ...(body.maxInFlight !== undefined ? { maxInFlight: Math.min(body.maxInFlight, ctx.server.limits.maxInFlight) } : {}),
    ...(body.ackTimeoutMs !== undefined ? { ackTimeoutMs: body.ackTimeoutMs } : {}),
    ...(body.maxRetries !== undefined ? { maxRetries: body.maxRetries } : {}),
    ...(body.backoff !== undefined ? { backoff: body.backoff } : {}),
  });
  const res = await proposeCommand(ctx.raft, ctx.broker.checkProposal({
    type: "createSubscription", now: Date.now(), subscription: spec,
    ...(limitsInApply ? { durablePerOwnerMax: ctx.config.durableSubscriptionsPerUserMax } : {}),
  }) as Command & { type: "createSubscription" });
  const consumer = ctx.delivery.attach(session, name, durable, spec.maxInFlight, Math.min(body.credit ?? spec.maxInFlight, spec.maxInFlight));
  return { subscriptionId: consumer.id, durable, resumed: durable && !res.created, maxInFlight: spec.maxInFlight };
}

/**
 * Attach to an existing durable subscription (NATS/Kafka consumer-group
 * style): its position is its own, so `from` is ignored; a different
 * pattern, filter or guarantee is a conflict; changed delivery settings
 * (maxInFlight, ackTimeoutMs, maxRetries, backoff) are updated through the log.
 */
async function resumeDurable(ctx: HandlerContext, session: ClientSession, name: string, body: SubscribeRequest): Promise<SubscribeResponse | undefined> {
  const existing = await ctx.broker.subscriptionInfo(name).catch((err: unknown) => {
    if (err instanceof RaftbusError && err.code === "SUBSCRIPTION_NOT_FOUND") return undefined;
    throw err;
  });
  if (existing === undefined) return undefined;
  const conflicts: string[] = [];
  if (existing.pattern !== body.pattern) conflicts.push(`pattern '${existing.pattern}'`);
  if ((existing.filter ?? "") !== (body.filter ?? "")) conflicts.push(existing.filter === undefined ? "no filter" : `filter '${existing.filter}'`);
  if (body.guarantee !== undefined && body.guarantee !== existing.guarantee) conflicts.push(`guarantee ${existing.guarantee}`);
  if (existing.ephemeral) conflicts.push("is ephemeral");
  if (conflicts.length > 0) {
    throw new RaftbusError("INVALID_ARGUMENT", `durable subscription '${name}' exists with ${conflicts.join(", ")}; use another name, or unsubscribe with delete first`);
  }
  const maxInFlight = body.maxInFlight === undefined ? existing.maxInFlight : Math.min(body.maxInFlight, ctx.server.limits.maxInFlight);
  const changes = {
    ...(maxInFlight !== existing.maxInFlight ? { maxInFlight } : {}),
    ...(body.ackTimeoutMs !== undefined && body.ackTimeoutMs !== existing.ackTimeoutMs ? { ackTimeoutMs: body.ackTimeoutMs } : {}),
    ...(body.maxRetries !== undefined && body.maxRetries !== existing.maxRetries ? { maxRetries: body.maxRetries } : {}),
    ...(body.backoff !== undefined && JSON.stringify(body.backoff) !== JSON.stringify(existing.backoff) ? { backoff: body.backoff } : {}),
  };
  if (Object.keys(changes).length > 0) {
    await proposeCommand(ctx.raft, ctx.broker.checkProposal({ type: "updateSubscription", now: Date.now(), name, changes }) as Command & { type: "updateSubscription" });
  }
  const consumer = ctx.delivery.attach(session, name, true, maxInFlight, Math.min(body.credit ?? maxInFlight, maxInFlight));
  return { subscriptionId: consumer.id, durable: true, resumed: true, maxInFlight };
}

/** `unsubscribe`: detach; delete the replicated state for ephemeral subscriptions or when asked. */
export async function unsubscribe(ctx: HandlerContext, session: ClientSession, body: UnsubscribeRequest): Promise<EmptyBody> {
  const c = ctx.delivery.consumerOf(session, body.subscriptionId);
  const remaining = ctx.delivery.detach(c);
  if ((!c.durable || body.delete === true) && remaining === 0) {
    requireLeader(ctx);
    await proposeCommand(ctx.raft, ctx.broker.checkProposal({ type: "deleteSubscription", now: Date.now(), name: c.subscription }) as Command & { type: "deleteSubscription" });
  }
  return {};
}

/** `credit`: the client can take more deliveries. */
export async function credit(ctx: HandlerContext, session: ClientSession, body: CreditRequest): Promise<CreditResponse> {
  const c = ctx.delivery.consumerOf(session, body.subscriptionId);
  return { credit: ctx.delivery.credit(c, body.credit) };
}

/** `ack`: the credit it carries applies at once; answered once the acks are committed. Idempotent. */
export async function ack(ctx: HandlerContext, session: ClientSession, body: AckRequest): Promise<AckResponse> {
  requireLeader(ctx);
  const c = ctx.delivery.consumerOf(session, body.subscriptionId);
  const acked = await ctx.delivery.ack(c, body.messages, body.credit ?? 0);
  ctx.server.metrics.settled("ack", body.messages.filter((_, i) => acked[i] === true).map((m) => m.topic));
  return { acked: acked.filter(Boolean).length };
}

/** `fail`: retry after backoff, or dead-letter after maxRetries; carries credit like ack. */
export async function fail(ctx: HandlerContext, session: ClientSession, body: FailRequest): Promise<FailResponse> {
  requireLeader(ctx);
  const c = ctx.delivery.consumerOf(session, body.subscriptionId);
  const outcomes = await ctx.delivery.fail(c, body.messages, body.credit ?? 0);
  ctx.server.metrics.settled("fail", body.messages.filter((_, i) => outcomes[i] !== undefined && outcomes[i] !== "ignored").map((m) => m.topic));
  return { failed: outcomes.filter((o) => o !== "ignored").length, deadLettered: outcomes.filter((o) => o === "dead-lettered").length };
}
