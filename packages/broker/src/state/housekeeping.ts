/**
 * Time-driven work (SPEC §3, §4, §6), run by the leader's periodic tick entry
 * and by maintenance commands, always at log time and within a budget so one
 * entry never does unbounded work: ack timeouts, TTL expiry, retention,
 * dedup expiry, garbage collection of deleted topics/subscriptions, and
 * subscription backfill.
 */
import type { MaintenanceCommand, TickCommand } from "../commands/types.ts";
import { BUDGETS, DLQ_IDS_MAX } from "../config.ts";
import { dedupDueRange, parseTtlKey, ttlDueRange } from "../store/keys.ts";
import { decodeDedup, expiresAtOf } from "../store/records.ts";
import type { ApplyContext } from "./context.ts";
import { expireAckDeadlines, retryNow } from "./delivery.ts";
import { oldestEntries, replay } from "./dlq.ts";
import type { TopicRecord } from "../store/records.ts";
import { enforceRetention, nextStoredOffset, readMessage, removeMessage } from "./messages.ts";
import type { HousekeepingReport, ResultOf } from "./results.ts";
import { runBackfill } from "./subscriptions.ts";
import { requireTopic } from "./topics.ts";

/** tick: one round of housekeeping with the tick budget. */
export async function applyTick(ctx: ApplyContext, _cmd: TickCommand): Promise<ResultOf<"tick">> {
  return { ok: true, type: "tick", report: await housekeeping(ctx, BUDGETS.tick) };
}

/**
 * maintenance: cleanup = housekeeping with the maintenance budget; compact =
 * cleanup, then LevelDB compaction after the commit; retryFailed = deliveries
 * waiting for a retry become due now, plus (includeDlq) dead letters replayed.
 */
export async function applyMaintenance(ctx: ApplyContext, cmd: MaintenanceCommand): Promise<ResultOf<"maintenance">> {
  const topic = cmd.topic === undefined ? undefined : requireTopic(ctx, cmd.topic);
  let retried = 0;
  let replayed = 0;
  if (cmd.action === "retryFailed") {
    retried = retryNow(ctx);
    if (cmd.includeDlq === true) {
      for (const t of topic !== undefined ? [topic] : ctx.state.sortedTopics()) {
        if (replayed >= DLQ_IDS_MAX) break;
        replayed += (await replay(ctx, t, await oldestEntries(ctx, t, DLQ_IDS_MAX - replayed))).length;
      }
    }
  }
  if (cmd.action === "compact") ctx.effects.compactRequested = true;
  const report = await housekeeping(ctx, cmd.action === "retryFailed" ? BUDGETS.tick : BUDGETS.maintenance);
  return { ok: true, type: "maintenance", action: cmd.action, report, retried, replayed };
}

/** One round of time-driven work with `budget` per category. */
export async function housekeeping(ctx: ApplyContext, budget: number): Promise<HousekeepingReport> {
  const timeouts = await expireAckDeadlines(ctx);
  const expired = await expireTtl(ctx, budget);
  let retained = 0;
  for (const topic of ctx.state.sortedTopics()) {
    if (retained >= budget) break;
    retained += await enforceRetention(ctx, topic, budget - retained, true);
  }
  const dedupExpired = await expireDedup(ctx, budget);
  const collected = await collectGarbage(ctx, budget);
  let backfilled = 0;
  for (const sub of ctx.state.sortedSubsWhere((s) => s.rec.backfill.length > 0)) {
    if (backfilled < budget) backfilled += await runBackfill(ctx, sub, budget - backfilled);
  }
  const more = expired >= budget || retained >= budget || dedupExpired >= budget || collected >= budget || ctx.state.meta.gc.length > 0 ||
    ctx.state.sortedSubsWhere((s) => s.rec.backfill.length > 0).length > 0 || retainedMore(ctx);
  return { timeouts, expired, retained, dedupExpired, collected, backfilled, more };
}

function retainedMore(ctx: ApplyContext): boolean {
  return ctx.state.sortedTopics().some((t) => {
    const r = t.retention;
    return (r.maxMessages !== undefined && t.count > r.maxMessages) || (r.maxBytes !== undefined && t.bytes > r.maxBytes);
  });
}

/**
 * Removes up to `budget` messages whose TTL has passed, earliest expiry
 * first. Each topic's firstOffset is fixed up once at the end (one seek per
 * topic, not one per removal).
 */
async function expireTtl(ctx: ApplyContext, budget: number): Promise<number> {
  let n = 0;
  const due: Uint8Array[] = [];
  for await (const [k] of ctx.txn.scan(ttlDueRange(ctx.now), budget)) due.push(k);
  const touched = new Map<number, TopicRecord>();
  for (const k of due) {
    const { expiresAt, tid, offset } = parseTtlKey(k);
    const topic = ctx.state.topicsById.get(tid);
    const rec = topic === undefined ? undefined : await readMessage(ctx.txn, tid, offset);
    if (topic !== undefined && rec !== undefined && expiresAtOf(rec) === expiresAt) {
      await removeMessage(ctx, topic, offset, rec, "expired");
      touched.set(topic.id, topic);
      n += 1;
    } else {
      ctx.txn.del(k); // the message went another way (retention, deleted topic)
    }
  }
  for (const topic of [...touched.values()].sort((a, b) => a.id - b.id)) {
    topic.firstOffset = await nextStoredOffset(ctx.txn, topic, topic.firstOffset);
  }
  return n;
}

/** Forgets up to `budget` dedup records whose window has passed. */
export async function expireDedup(ctx: ApplyContext, budget: number): Promise<number> {
  const due: Uint8Array[] = [];
  for await (const [k] of ctx.txn.scan(dedupDueRange(ctx.now), budget)) due.push(k);
  for (const k of due) {
    const dedupKey = k.subarray(9);
    const bytes = await ctx.txn.get(dedupKey);
    // The id may have been stored again after this record expired: keep the newer one.
    if (bytes !== undefined && decodeDedup(bytes).expiresAt <= ctx.now) ctx.txn.del(Uint8Array.from(dedupKey));
    ctx.txn.del(k);
  }
  return due.length;
}

/** Deletes up to `budget` keys of the pending GC ranges, oldest job first. */
async function collectGarbage(ctx: ApplyContext, budget: number): Promise<number> {
  const { meta } = ctx.state;
  let n = 0;
  while (meta.gc.length > 0 && n < budget) {
    const job = meta.gc[0];
    if (job === undefined) break;
    const remaining = budget - n;
    let deleted = 0;
    for await (const [k] of ctx.txn.scan(job, remaining)) {
      ctx.txn.del(k);
      deleted += 1;
    }
    n += deleted;
    if (deleted < remaining) meta.gc.shift();
  }
  return n;
}
