/**
 * What apply() returns for each broker command. Expected failures are values
 * (`ok: false` with a stable error code, STYLE.md practice 4) and leave the
 * state unchanged; they are decided identically on every replica.
 */
import type { ErrorInfo, PublishAck } from "@raftbus/client/protocol";
import type { MaintenanceAction } from "../commands/types.ts";

/** Outcome of one message of a publish batch. */
export type PublishOutcome = PublishAck | { readonly error: ErrorInfo };

/** A delivery the log accepted: the server may now hand the message out. */
export interface DeliveredItem {
  readonly subscription: string;
  readonly topic: string;
  readonly offset: number;
  readonly attempt: number;
  readonly consumerId: string;
}

/** Why a delivery attempt was refused; the message must NOT be handed out for it. */
export type DeliveryRejection =
  | "subscription-not-found" // the subscription was deleted
  | "topic-not-found" // the topic was deleted
  | "gone" // the message was removed (retention, TTL, deleted topic)
  | "expired" // its TTL has passed
  | "stale" // not pending, already delivered/acked, not yet due for retry, or wrong attempt number
  | "no-capacity"; // the subscription's in-flight limit is reached

/** A refused delivery attempt. */
export interface RejectedDelivery {
  readonly subscription: string;
  readonly topic: string;
  readonly offset: number;
  readonly reason: DeliveryRejection;
}

/** What happened to one failed message. */
export type FailOutcome = "retry" | "dead-lettered" | "ignored";

/** What one round of housekeeping did (tick and maintenance). */
export interface HousekeepingReport {
  /** Deliveries whose ack deadline passed. */
  readonly timeouts: number;
  /** Messages removed because their TTL passed. */
  readonly expired: number;
  /** Messages removed by retention (count, bytes or age). */
  readonly retained: number;
  /** Dedup records forgotten. */
  readonly dedupExpired: number;
  /** Keys of deleted topics/subscriptions garbage-collected. */
  readonly collected: number;
  /** Messages enqueued by subscription backfills. */
  readonly backfilled: number;
  /** True when a budget ran out and work is left for the next round. */
  readonly more: boolean;
}

/** Result of one applied broker command. */
export type CommandResult =
  | { readonly ok: false; readonly error: ErrorInfo }
  | { readonly ok: true; readonly type: "createTopic"; readonly topic: string }
  | { readonly ok: true; readonly type: "deleteTopic"; readonly topic: string }
  | { readonly ok: true; readonly type: "updateRetention"; readonly topic: string; readonly removed: number }
  | { readonly ok: true; readonly type: "publish"; readonly results: readonly PublishOutcome[] }
  | { readonly ok: true; readonly type: "createSubscription"; readonly name: string; readonly created: boolean }
  | { readonly ok: true; readonly type: "updateSubscription"; readonly name: string }
  | { readonly ok: true; readonly type: "deleteSubscription"; readonly name: string }
  | { readonly ok: true; readonly type: "expireSession"; readonly deleted: readonly string[] }
  | {
    readonly ok: true; readonly type: "delivery";
    /** Attempts recorded; the rest are `rejected` (never hand those out; for at-most-once, never before this). */
    readonly delivered: readonly DeliveredItem[];
    readonly rejected: readonly RejectedDelivery[];
    /** Per ack item: true when it settled the message (false: already settled, unknown, or not this subscription's). */
    readonly acked: readonly boolean[];
    /** Per fail item. */
    readonly failed: readonly FailOutcome[];
  }
  | { readonly ok: true; readonly type: "dlqReplay"; readonly replayed: readonly { readonly id: number; readonly offset: number }[] }
  | { readonly ok: true; readonly type: "dlqPurge"; readonly purged: number }
  | { readonly ok: true; readonly type: "maintenance"; readonly action: MaintenanceAction; readonly report: HousekeepingReport; readonly retried: number; readonly replayed: number }
  | { readonly ok: true; readonly type: "tick"; readonly report: HousekeepingReport }
  | { readonly ok: true; readonly type: "setClusterVersion"; readonly version: number; readonly previous: number }
  | { readonly ok: true; readonly type: "recordMembers"; readonly recorded: readonly string[] }
  | { readonly ok: true; readonly type: "putUser"; readonly name: string; readonly created: boolean }
  | { readonly ok: true; readonly type: "removeUser"; readonly name: string }
  | { readonly ok: true; readonly type: "putSigningKey"; readonly name: string; readonly pattern: string; readonly createdAt: number }
  | { readonly ok: true; readonly type: "removeSigningKey"; readonly name: string };

/** A successful result of command type `T`. */
export type ResultOf<T extends string> = Extract<CommandResult, { readonly ok: true; readonly type: T }>;
