/**
 * The message vocabulary of SPEC.md §2, shared by the broker (which stores
 * and delivers messages) and the SDK (which publishes and receives them):
 * constants without dependencies, and the types of the message shapes.
 */

/** Dispatch priority: a backlog is drained critical → high → medium → low (SPEC §4). */
export const PRIORITIES = ["critical", "high", "medium", "low"] as const;
/** One of the four priorities. */
export type Priority = (typeof PRIORITIES)[number];

/** Delivery guarantee of a message or subscription (SPEC §4). */
export const GUARANTEES = ["at-most-once", "at-least-once", "exactly-once"] as const;
/** One of the three guarantees. */
export type Guarantee = (typeof GUARANTEES)[number];

/** True when `v` is a priority name. */
export function isPriority(v: unknown): v is Priority {
  return typeof v === "string" && (PRIORITIES as readonly string[]).includes(v);
}

/** True when `v` is a guarantee name. */
export function isGuarantee(v: unknown): v is Guarantee {
  return typeof v === "string" && (GUARANTEES as readonly string[]).includes(v);
}

/** The maintenance jobs of SPEC §6. */
export const MAINTENANCE_KINDS = ["cleanup", "compact", "retry-failed"] as const;
/** One maintenance job. */
export type MaintenanceKind = (typeof MAINTENANCE_KINDS)[number];

/** A node's Raft role as reported by cluster status; `unknown` when the node is unreachable. */
export const NODE_ROLES = ["leader", "follower", "candidate", "learner", "unknown"] as const;
/** One node role. */
export type NodeRole = (typeof NODE_ROLES)[number];

// The message shapes are defined once, as wire schemas (schemas/messages.ts);
// their types are re-exported here. Type-only: this module stays dependency-free.
import type { Wire } from "./schemas/wire.ts";
import type * as S from "./schemas/messages.ts";

/** What a publisher sends: the envelope before the leader stamps it. */
export type PublishMessage = Wire<typeof S.PublishMessage>;
/** A committed message as stored in a topic log and delivered to subscribers. */
export type StoredMessage = Wire<typeof S.StoredMessage>;
/** What a publish resolves with once committed. */
export type PublishAck = Wire<typeof S.PublishAck>;
