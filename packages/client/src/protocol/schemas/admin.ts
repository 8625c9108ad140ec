/** Body group: maintenance, statistics and ping (SPEC §6). */
import { MAINTENANCE_KINDS, NODE_ROLES } from "../message.ts";
import { readRequestFields, readResponseFields } from "./reads.ts";
import { arr, bool, Empty, nat, nonEmptyStr, nullable, num, oneOf, shape } from "./wire.ts";

/** `maintenance`: run one job now. */
export const MaintenanceRequest = shape("MaintenanceRequest", { kind: oneOf(MAINTENANCE_KINDS, "the job") });

/** `maintenance` response. */
export const MaintenanceResponse = shape("MaintenanceResponse", {
  kind: oneOf(MAINTENANCE_KINDS, "the job"),
  affected: nat("messages removed (cleanup, compact) or re-queued (retry-failed)"),
  durationMs: nat("how long it took"),
});

/** One node's health within `stats`. */
export const NodeHealth = shape("NodeHealth", {
  id: nonEmptyStr("node id"),
  role: oneOf(NODE_ROLES, "Raft role; unknown when unreachable"),
  healthy: bool("reachable and caught up"),
  appliedIndex: nullable(nat(), "null when unknown"),
  lastContactMs: nullable(nat(), "since the leader last heard from it; null on the leader or when unknown"),
});

/** `stats`. */
export const StatsRequest = shape("StatsRequest", { ...readRequestFields });

/** `stats` response: cluster totals as of the answering node's applied state. */
export const StatsResponse = shape("StatsResponse", {
  topics: nat("topics"),
  subscriptions: nat("subscriptions"),
  messages: nat("retained messages"),
  bytes: nat("their payload bytes"),
  published: nat("messages published"),
  delivered: nat("deliveries"),
  acked: nat("acks"),
  failed: nat("fails"),
  retried: nat("redeliveries"),
  deadLettered: nat("messages dead-lettered"),
  publishRatePerSec: num("recent publish rate"),
  deliverRatePerSec: num("recent delivery rate"),
  nodes: arr(NodeHealth, "per-node health"),
  ...readResponseFields,
});

/** `ping` response. */
export const PingResponse = shape("PingResponse", {
  nodeId: nonEmptyStr("the answering node"),
  time: nat("its clock, ms since the epoch"),
});

/** The request kinds of this group. */
export const adminKinds = {
  maintenance: { request: MaintenanceRequest, response: MaintenanceResponse, servedBy: "leader" },
  stats: { request: StatsRequest, response: StatsResponse, servedBy: "read" },
  ping: { request: Empty, response: PingResponse, servedBy: "any" },
} as const;
