/**
 * Subscription commands (SPEC §4): create (with backfill from the start
 * position), update, delete, and session expiry for ephemeral ones.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { subscriptionSpec } from "../commands/validate.ts";
import type {
  CreateSubscriptionCommand, DeleteSubscriptionCommand, ExpireSessionCommand, StartPosition, SubscriptionSpec,
  UpdateSubscriptionCommand,
} from "../commands/types.ts";
import { BUDGETS, SUBSCRIPTION_LIMITS } from "../config.ts";
import { compileFilter, messageInput } from "../filter/index.ts";
import { pack } from "../msgpack.ts";
import { compilePattern } from "../pattern/pattern.ts";
import { REGEX_SUBSCRIBE_STATES_MAX } from "../pattern/regex/program.ts";
import { LIMITS_IN_APPLY_VERSION, effectiveVersion } from "../version/cluster-version.ts";
import { logRange, outstandingKey, readU64, subPendingRange } from "../store/keys.ts";
import { decodeMessage, expiresAtOf } from "../store/records.ts";
import type { TopicRecord } from "../store/records.ts";
import type { ApplyContext } from "./context.ts";
import { enqueue, filterStepsMax, isExpired, nextStoredOffset, readMessage, wants } from "./messages.ts";
import type { ResultOf } from "./results.ts";
import { SubState } from "./subscription.ts";

/** The subscription named `name`, or SUBSCRIPTION_NOT_FOUND. */
export function requireSub(ctx: ApplyContext, name: string): SubState {
  const sub = ctx.state.subsByName.get(name);
  if (sub === undefined) throw new RaftbusError("SUBSCRIPTION_NOT_FOUND", `subscription '${name}' does not exist`);
  return sub;
}

/**
 * createSubscription. Creating an existing name with an identical spec is a
 * no-op (`created: false`: reconnecting consumers re-declare it); with a
 * different spec it is INVALID_ARGUMENT (use updateSubscription).
 */
export async function applyCreateSubscription(ctx: ApplyContext, cmd: CreateSubscriptionCommand): Promise<ResultOf<"createSubscription">> {
  const spec = cmd.subscription;
  const { state } = ctx;
  const existing = state.subsByName.get(spec.name);
  if (existing !== undefined) {
    if (sameSpec(existing.spec, spec)) return { ok: true, type: "createSubscription", name: spec.name, created: false };
    throw new RaftbusError("INVALID_ARGUMENT", `subscription '${spec.name}' exists with a different configuration; update or delete it first`);
  }
  const sub = SubState.create(state.meta.nextSubId, spec, ctx.now); // compiles: may throw before any change
  if (effectiveVersion(state.meta.clusterVersion) >= LIMITS_IN_APPLY_VERSION) checkSubscriptionLimits(ctx, sub, cmd.durablePerOwnerMax);
  state.meta.nextSubId += 1;
  state.addSub(sub);
  state.touchSubSpec(sub);
  // Starting at the latest offset backfills nothing: no need to test the pattern on every topic
  // (a regex subscription did so on each of them, so subscribing cost grew with the topics).
  if (spec.start === "latest") return { ok: true, type: "createSubscription", name: spec.name, created: true };
  for (const topic of state.sortedTopics()) {
    if (!sub.pattern.matches(topic.name)) continue;
    const from = await startOffset(ctx, topic, spec.start);
    if (from < topic.nextOffset) sub.rec.backfill.push({ tid: topic.id, next: from, end: topic.nextOffset });
  }
  await runBackfill(ctx, sub, BUDGETS.backfillOnCreate);
  return { ok: true, type: "createSubscription", name: spec.name, created: true };
}

/**
 * The limits a new subscription must fit, decided here in apply so every
 * replica agrees and no race between leaders' checks can overshoot them:
 * subscriptions in the cluster, regex states in the cluster (what every
 * publish to a new topic costs every replica), and durable subscriptions per
 * owner (the limit value travels in the command). Throws LIMIT_EXCEEDED
 * (INVALID_PATTERN for one regex over its own budget). From cluster version
 * 3 only: an older member would accept what this refuses.
 */
function checkSubscriptionLimits(ctx: ApplyContext, sub: SubState, durablePerOwnerMax: number | undefined): void {
  const { state } = ctx;
  if (state.subsById.size >= SUBSCRIPTION_LIMITS.subscriptionsMax) {
    throw limitExceeded("subscriptionsMax", SUBSCRIPTION_LIMITS.subscriptionsMax, "one more subscription in the cluster");
  }
  const states = sub.pattern.regexStates ?? 0;
  if (states > REGEX_SUBSCRIBE_STATES_MAX) {
    throw new RaftbusError("INVALID_PATTERN", `regex '${sub.spec.pattern}' is too complex: it needs ${states} states, more than ${REGEX_SUBSCRIBE_STATES_MAX} (reduce counted repeats)`);
  }
  if (states > 0 && state.index.regexStates + states > SUBSCRIPTION_LIMITS.regexStatesMax) {
    throw limitExceeded("regexStatesMax", SUBSCRIPTION_LIMITS.regexStatesMax, `the cluster's regex subscriptions with ${states} more NFA states (${state.index.regexStates} held)`);
  }
  const owner = sub.spec.owner;
  if (!sub.spec.ephemeral && owner !== undefined && durablePerOwnerMax !== undefined) {
    if (state.durableCountOf(owner) >= durablePerOwnerMax) {
      throw limitExceeded("durableSubscriptionsPerUserMax", durablePerOwnerMax, `one more durable subscription of '${owner}'`);
    }
  }
}

function limitExceeded(limit: string, max: number, what: string): RaftbusError {
  return new RaftbusError("LIMIT_EXCEEDED", `${what} exceeds ${limit} (${max})`, { details: { limit, max } });
}

/** updateSubscription: the new settings govern deliveries and publishes from now on. */
export function applyUpdateSubscription(ctx: ApplyContext, cmd: UpdateSubscriptionCommand): ResultOf<"updateSubscription"> {
  const sub = requireSub(ctx, cmd.name);
  const { filter, ...rest } = cmd.changes;
  const merged: Record<string, unknown> = { ...sub.spec, ...rest };
  if (filter === null) delete merged["filter"];
  else if (filter !== undefined) merged["filter"] = filter;
  const spec = subscriptionSpec(merged);
  const pattern = compilePattern(spec.pattern);
  const compiledFilter = spec.filter === undefined ? undefined : compileFilter(spec.filter);
  sub.rec.spec = spec;
  ctx.state.setSubFilter(sub, compiledFilter);
  if (pattern.source !== sub.pattern.source) {
    sub.pattern = pattern;
    ctx.state.index.add(sub.name, pattern, sub);
  }
  ctx.state.touchSubSpec(sub);
  return { ok: true, type: "updateSubscription", name: sub.name };
}

/** deleteSubscription: gone at once; its queue keys are garbage-collected by later ticks. */
export function applyDeleteSubscription(ctx: ApplyContext, cmd: DeleteSubscriptionCommand): ResultOf<"deleteSubscription"> {
  deleteSubscription(ctx, requireSub(ctx, cmd.name));
  return { ok: true, type: "deleteSubscription", name: cmd.name };
}

/** expireSession: deletes the session's ephemeral subscriptions (SPEC §5 session timeout). */
export function applyExpireSession(ctx: ApplyContext, cmd: ExpireSessionCommand): ResultOf<"expireSession"> {
  const deleted: string[] = [];
  for (const sub of ctx.state.ephemeralSubsOf(cmd.sessionId)) {
    deleteSubscription(ctx, sub);
    deleted.push(sub.name);
  }
  return { ok: true, type: "expireSession", deleted };
}

function deleteSubscription(ctx: ApplyContext, sub: SubState): void {
  // Outstanding deliveries (≤ maxInFlight) go now, so every `o` key on disk has a
  // subscription; the backlog may be large and is garbage-collected by ticks.
  for (const out of sub.sortedOutstanding()) ctx.txn.del(outstandingKey(sub.id, out.seq));
  ctx.state.meta.gc.push(subPendingRange(sub.id));
  ctx.state.removeSub(ctx.txn, sub);
  ctx.effects.deletedSubscriptions.push(sub.name);
}

/** Equal specs, whoever declared them (a work-queue member re-declares another owner's subscription). */
function sameSpec(a: SubscriptionSpec, b: SubscriptionSpec): boolean {
  const { owner: _a, ...x } = a;
  const { owner: _b, ...y } = b;
  return Buffer.compare(pack(x), pack(y)) === 0;
}

/**
 * The first offset of `topic` a subscription starting at `start` reads:
 * `{ time }` is a binary search over offsets (stored timestamps never
 * decrease within a topic), skipping holes left by TTL removal.
 */
export async function startOffset(ctx: ApplyContext, topic: TopicRecord, start: StartPosition): Promise<number> {
  if (start === "earliest") return topic.firstOffset;
  if (start === "latest") return topic.nextOffset;
  if ("offset" in start) return Math.min(Math.max(start.offset, topic.firstOffset), topic.nextOffset);
  let lo = topic.firstOffset;
  let hi = topic.nextOffset;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const at = await nextStoredOffset(ctx.txn, topic, mid);
    if (at >= hi) {
      hi = mid;
      continue;
    }
    const rec = await readMessage(ctx.txn, topic.id, at);
    if (rec !== undefined && rec.timestamp >= start.time) hi = mid;
    else lo = at + 1;
  }
  return lo;
}

/**
 * Enqueues up to `budget` messages of `sub`'s pending backfills (messages
 * that existed when it was created, from its start position), skipping
 * expired ones and those its filter refuses. Returns messages scanned.
 */
export async function runBackfill(ctx: ApplyContext, sub: SubState, budget: number): Promise<number> {
  let used = 0;
  const cursors = sub.rec.backfill;
  while (used < budget && cursors.length > 0) {
    const c = cursors[0];
    if (c === undefined) break;
    const topic = ctx.state.topicsById.get(c.tid);
    const remaining = budget - used;
    let scanned = 0;
    if (topic !== undefined) {
      const from = Math.max(c.next, topic.firstOffset);
      for await (const [k, v] of ctx.txn.scan(logRange(topic.id, from, Math.max(from, c.end)), remaining)) {
        scanned += 1;
        const offset = readU64(k, 5);
        c.next = offset + 1;
        const rec = decodeMessage(v);
        if (!isExpired(expiresAtOf(rec), ctx.now) && wants(sub, messageInput(rec.headers, rec.payload, filterStepsMax(ctx.state)))) enqueue(ctx, sub, topic.id, offset, rec);
      }
    }
    used += scanned;
    if (scanned < remaining) cursors.shift(); // the range is exhausted
    ctx.state.touchSub(sub);
  }
  return used;
}
