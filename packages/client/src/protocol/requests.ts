/**
 * Every client request kind with its request body, its `ok` response body
 * and which node serves it — assembled from one file per body group under
 * schemas/ (publish, subscriptions, topics, dlq, admin, cluster).
 *
 * This table is the contract between the SDK and the node server: the
 * server implements one handler per kind ({@link RequestHandlers}), the SDK
 * sends exactly these bodies, the codec validates them, and the JSON Schema
 * files and docs/protocol.md are generated from it. To add a kind: define
 * its bodies in the group's file, add it to that group's `…Kinds` table,
 * run `pnpm protocol:gen` and describe it in docs/protocol.md.
 */
import type { TSchema } from "@sinclair/typebox";
import { adminKinds } from "./schemas/admin.ts";
import { backupKinds } from "./schemas/backup.ts";
import { clusterKinds } from "./schemas/cluster.ts";
import { dlqKinds } from "./schemas/dlq.ts";
import { keyKinds } from "./schemas/keys.ts";
import { publishKinds } from "./schemas/publish.ts";
import { subscriptionKinds } from "./schemas/subscriptions.ts";
import { sysKinds } from "./schemas/sys.ts";
import { topicKinds } from "./schemas/topics.ts";
import { userKinds } from "./schemas/users.ts";
import type * as Admin from "./schemas/admin.ts";
import type * as Backup from "./schemas/backup.ts";
import type * as Cluster from "./schemas/cluster.ts";
import type * as Dlq from "./schemas/dlq.ts";
import type * as Keys from "./schemas/keys.ts";
import type * as Messages from "./schemas/messages.ts";
import type * as Publish from "./schemas/publish.ts";
import type * as Subs from "./schemas/subscriptions.ts";
import type * as Sys from "./schemas/sys.ts";
import type * as Topics from "./schemas/topics.ts";
import type * as Users from "./schemas/users.ts";
import type { Empty, Wire } from "./schemas/wire.ts";
import type * as Reads from "./schemas/reads.ts";

export { MAINTENANCE_KINDS, NODE_ROLES, type MaintenanceKind, type NodeRole } from "./message.ts";
export { CONSISTENCIES, type Consistency } from "./schemas/reads.ts";

/**
 * Which node answers a kind: only the leader (a follower answers NOT_LEADER
 * / NO_LEADER), any node, or — for reads — the leader by default
 * (linearizable) and any node when the request asks for `consistency: "stale"`.
 */
export type ServedBy = "leader" | "any" | "read";

/** One row of the request table. */
export interface RequestSpec {
  readonly request: TSchema;
  readonly response: TSchema;
  readonly servedBy: ServedBy;
}

/** The request table: kind → request body, `ok` response body, serving node. */
export const REQUESTS = {
  ...publishKinds,
  ...subscriptionKinds,
  ...topicKinds,
  ...dlqKinds,
  ...adminKinds,
  ...clusterKinds,
  ...sysKinds,
  ...backupKinds,
  ...userKinds,
  ...keyKinds,
} as const satisfies Record<string, RequestSpec>;

/** A request kind. */
export type RequestKind = keyof typeof REQUESTS;

/** Request body per request kind. */
export type RequestBodies = { readonly [K in RequestKind]: Wire<(typeof REQUESTS)[K]["request"]> };
/** `ok` response body per request kind. */
export type ResponseBodies = { readonly [K in RequestKind]: Wire<(typeof REQUESTS)[K]["response"]> };

/** Every request kind, in table order. */
export const REQUEST_KINDS = Object.keys(REQUESTS) as readonly RequestKind[];

/**
 * Kinds any node answers: those served by "any" node, and the reads when
 * they ask for `consistency: "stale"` (answered from the node's own applied
 * state, which may lag the leader by the replication delay). Every other
 * request is served by the leader, and a follower answers it with
 * NOT_LEADER + `leaderHint` (or NO_LEADER during an election).
 */
export const FOLLOWER_KINDS: readonly RequestKind[] = REQUEST_KINDS.filter((k) => REQUESTS[k].servedBy !== "leader");

const kindSet: ReadonlySet<unknown> = new Set(REQUEST_KINDS);

/** True when `value` names a request kind. */
export function isRequestKind(value: unknown): value is RequestKind {
  return kindSet.has(value);
}

/**
 * A complete server-side handler table: one function per request kind, each
 * returning that kind's response body or throwing a RaftbusError. `C` is the
 * server's per-request context (session, client id…). Typing a handler map
 * with this makes a missing kind a compile error.
 */
export type RequestHandlers<C> = {
  readonly [K in RequestKind]: (body: RequestBodies[K], context: C) => Promise<ResponseBodies[K]>;
};

// ---------------------------------------------------------------- named body types
// (derived from the schemas; the names the server, the SDK and the docs use)

/** One family's settings in `sys.status`. */
export type SysFamilyStatus = Wire<typeof Sys.SysFamilyStatus>;
/** `sys.status` / `sys.set` response. */
export type SysStatusResponse = Wire<typeof Sys.SysStatusResponse>;
/** `sys.set` request. */
export type SysSetRequest = Wire<typeof Sys.SysSetRequest>;
/** `sys.diagnose` request. */
export type SysDiagnoseRequest = Wire<typeof Sys.SysDiagnoseRequest>;
/** `sys.diagnose` response. */
export type SysDiagnoseResponse = Wire<typeof Sys.SysDiagnoseResponse>;
/** `sys.forward` request. */
export type SysForwardRequest = Wire<typeof Sys.SysForwardRequest>;
/** `sys.forward` response. */
export type SysForwardResponse = Wire<typeof Sys.SysForwardResponse>;

/** `user.add` request. */
export type UserAddRequest = Wire<typeof Users.UserAddRequest>;
/** `user.add` / `user.rotate` response: the token, shown once. */
export type UserTokenResponse = Wire<typeof Users.UserTokenResponse>;
/** One user in `user.list`. */
export type UserSummary = Wire<typeof Users.UserSummary>;
/** `user.list` response. */
export type UserListResponse = Wire<typeof Users.UserListResponse>;
/** `user.remove` / `user.grant` response. */
export type UserNameResponse = Wire<typeof Users.UserNameResponse>;
/** `user.rotate` request. */
export type UserRotateRequest = Wire<typeof Users.UserRotateRequest>;
/** `user.grant` request. */
export type UserGrantRequest = Wire<typeof Users.UserGrantRequest>;
/** `user.remove` request. */
export type UserRemoveRequest = Wire<typeof Users.UserRemoveRequest>;
/** `key.add` request. */
export type KeyAddRequest = Wire<typeof Keys.KeyAddRequest>;
/** `key.add` response (the only one that carries the secret). */
export type KeyAddResponse = Wire<typeof Keys.KeyAddResponse>;
/** One signing key as listed. */
export type KeyInfo = Wire<typeof Keys.KeyInfo>;
/** `key.list` response. */
export type KeyListResponse = Wire<typeof Keys.KeyListResponse>;
/** `key.remove` request. */
export type KeyRemoveRequest = Wire<typeof Keys.KeyRemoveRequest>;
/** `key.remove` response. */
export type KeyRemoveResponse = Wire<typeof Keys.KeyRemoveResponse>;

/** The empty body of requests and responses that carry nothing. */
export type EmptyBody = Wire<typeof Empty>;
/** Redelivery backoff after an ack timeout or a `fail`. */
export type BackoffPolicy = Wire<typeof Messages.BackoffPolicy>;
/** A message pushed to a subscriber, with its delivery attempt (1 = first delivery). */
export type Delivery = Wire<typeof Messages.Delivery>;

/** `publish` request. */
export type PublishRequest = Wire<typeof Publish.PublishRequest>;
/** The outcome of one message of a publish batch. */
export type PublishOutcome = Wire<typeof Publish.PublishOutcome>;
/** `publish` response. */
export type PublishResponse = Wire<typeof Publish.PublishResponse>;

/** Where a new subscription starts reading. */
export type StartPosition = Wire<typeof Subs.StartPosition>;
/** `subscribe` request. */
export type SubscribeRequest = Wire<typeof Subs.SubscribeRequest>;
/** `subscribe` response. */
export type SubscribeResponse = Wire<typeof Subs.SubscribeResponse>;
/** `unsubscribe` request. */
export type UnsubscribeRequest = Wire<typeof Subs.UnsubscribeRequest>;
/** `credit` request. */
export type CreditRequest = Wire<typeof Subs.CreditRequest>;
/** `credit` response. */
export type CreditResponse = Wire<typeof Subs.CreditResponse>;
/** One delivered message within a subscription: topic and offset. */
export type MessageRef = Wire<typeof Subs.MessageRef>;
/** `ack` request. */
export type AckRequest = Wire<typeof Subs.AckRequest>;
/** `ack` response. */
export type AckResponse = Wire<typeof Subs.AckResponse>;
/** One failed delivery with the handler's reason. */
export type FailedRef = Wire<typeof Subs.FailedRef>;
/** `fail` request. */
export type FailRequest = Wire<typeof Subs.FailRequest>;
/** `fail` response. */
export type FailResponse = Wire<typeof Subs.FailResponse>;
/** `subscription.list` request. */
export type SubscriptionListRequest = Wire<typeof Subs.SubscriptionListRequest>;
/** One subscription as listed. */
export type SubscriptionInfo = Wire<typeof Subs.SubscriptionInfo>;
/** `subscription.list` response. */
export type SubscriptionListResponse = Wire<typeof Subs.SubscriptionListResponse>;

/** Per-topic retention. */
export type RetentionPolicy = Wire<typeof Topics.RetentionPolicy>;
/** `topic.create` request. */
export type TopicCreateRequest = Wire<typeof Topics.TopicCreateRequest>;
/** A topic's identity, retention and size. */
export type TopicSummary = Wire<typeof Topics.TopicSummary>;
/** Where and as of what a read was answered (`readAt` of read responses). */
export type ReadAt = Wire<typeof Reads.ReadAt>;
/** `topic.list` request. */
export type TopicListRequest = Wire<typeof Topics.TopicListRequest>;
/** `topic.list` response. */
export type TopicListResponse = Wire<typeof Topics.TopicListResponse>;
/** `topic.delete` request. */
export type TopicRequest = Wire<typeof Topics.TopicRequest>;
/** `topic.info` request. */
export type TopicInfoRequest = Wire<typeof Topics.TopicInfoRequest>;
/** A subscription's view of one topic. */
export type TopicSubscriptionInfo = Wire<typeof Topics.TopicSubscriptionInfo>;
/** `topic.info` response. */
export type TopicInfo = Wire<typeof Topics.TopicInfo>;
/** `topic.delete` response. */
export type TopicDeleteResponse = Wire<typeof Topics.TopicDeleteResponse>;

/** `dlq.list` request. */
export type DlqListRequest = Wire<typeof Dlq.DlqListRequest>;
/** A message that exhausted its retries. */
export type DeadLetter = Wire<typeof Dlq.DeadLetter>;
/** `dlq.list` response. */
export type DlqListResponse = Wire<typeof Dlq.DlqListResponse>;
/** `dlq.replay` / `dlq.purge` request. */
export type DlqSelectRequest = Wire<typeof Dlq.DlqSelectRequest>;
/** `dlq.replay` response. */
export type DlqReplayResponse = Wire<typeof Dlq.DlqReplayResponse>;
/** `dlq.purge` response. */
export type DlqPurgeResponse = Wire<typeof Dlq.DlqPurgeResponse>;

/** `maintenance` request. */
export type MaintenanceRequest = Wire<typeof Admin.MaintenanceRequest>;
/** `maintenance` response. */
export type MaintenanceResponse = Wire<typeof Admin.MaintenanceResponse>;
/** One node's health within `stats`. */
export type NodeHealth = Wire<typeof Admin.NodeHealth>;
/** `stats` request. */
export type StatsRequest = Wire<typeof Admin.StatsRequest>;
/** `stats` response. */
export type StatsResponse = Wire<typeof Admin.StatsResponse>;
/** `ping` response. */
export type PingResponse = Wire<typeof Admin.PingResponse>;

/** One member of the cluster as seen by the answering node. */
export type ClusterNodeStatus = Wire<typeof Cluster.ClusterNodeStatus>;
/** `cluster.status` response. */
export type ClusterStatusResponse = Wire<typeof Cluster.ClusterStatusResponse>;
/** Whether the replicas' state digests agree at one applied index (part of `cluster.status`). */
export type ReplicaAgreement = Wire<typeof Cluster.ReplicaAgreement>;
/** A member of the Raft configuration. */
export type ClusterMember = Wire<typeof Cluster.ClusterMember>;
/** `cluster.add-node` request. */
export type AddNodeRequest = Wire<typeof Cluster.AddNodeRequest>;
/** `cluster.remove-node` request. */
export type RemoveNodeRequest = Wire<typeof Cluster.RemoveNodeRequest>;
/** Membership change response. */
export type MembershipResponse = Wire<typeof Cluster.MembershipResponse>;
/** `cluster.transfer-leader` request. */
export type TransferLeaderRequest = Wire<typeof Cluster.TransferLeaderRequest>;
/** `cluster.transfer-leader` response. */
export type TransferLeaderResponse = Wire<typeof Cluster.TransferLeaderResponse>;
/** `cluster.finalize-upgrade` request. */
export type FinalizeUpgradeRequest = Wire<typeof Cluster.FinalizeUpgradeRequest>;
/** `cluster.finalize-upgrade` response. */
export type FinalizeUpgradeResponse = Wire<typeof Cluster.FinalizeUpgradeResponse>;

/** `backup.open` response. */
export type BackupOpenResponse = Wire<typeof Backup.BackupOpenResponse>;
/** `backup.read` request. */
export type BackupReadRequest = Wire<typeof Backup.BackupReadRequest>;
/** `backup.read` response. */
export type BackupReadResponse = Wire<typeof Backup.BackupReadResponse>;
