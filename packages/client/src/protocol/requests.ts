/**
 * Every client request kind with its request body and its `ok` response body.
 *
 * This module is the contract between the SDK and the node server: the
 * server implements one handler per key of {@link RequestBodies} (see
 * {@link RequestHandlers}), the SDK sends exactly these bodies. Wire
 * validation of each body lives in `validate.ts`, tied to these interfaces by
 * the compiler. `docs/protocol.md` explains the semantics field by field.
 */
import type { ErrorInfo } from "./errors.ts";
import type { Guarantee, PublishAck, PublishMessage, StoredMessage } from "./message.ts";

// ---------------------------------------------------------------- shared shapes

/** The empty body of requests and responses that carry nothing. */
export type EmptyBody = Readonly<Record<string, never>>;

/**
 * Where a new subscription starts reading (SPEC §4). A durable subscription
 * that already exists resumes from its acknowledged state and ignores this.
 */
export type StartPosition =
  | "earliest"
  | "latest"
  | { readonly offset: number }
  /** The first message whose leader timestamp is ≥ `time` (ms since epoch). */
  | { readonly time: number };

/** Redelivery backoff after an ack timeout or a `fail` (SPEC §4, at-least-once). */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Growth factor per attempt, ≥ 1. */
  readonly multiplier: number;
}

/** Identifies one delivered message within a subscription: its topic and per-topic offset. */
export interface MessageRef {
  readonly topic: string;
  readonly offset: number;
}

/** A message pushed to a subscriber, with its delivery attempt (1 = first delivery). */
export interface Delivery extends StoredMessage {
  /** 1 on first delivery; n > 1 means the n-th delivery (the message was redelivered). */
  readonly attempt: number;
}

/** Per-topic retention (SPEC §3): any combination; absent fields mean unlimited. */
export interface RetentionPolicy {
  readonly maxMessages?: number;
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
}

/** The maintenance jobs of SPEC §6. */
export const MAINTENANCE_KINDS = ["cleanup", "compact", "retry-failed"] as const;
/** One maintenance job. */
export type MaintenanceKind = (typeof MAINTENANCE_KINDS)[number];

/** A node's Raft role as reported by cluster status; `unknown` when the node is unreachable. */
export const NODE_ROLES = ["leader", "follower", "candidate", "learner", "unknown"] as const;
/** One node role. */
export type NodeRole = (typeof NODE_ROLES)[number];

// ---------------------------------------------------------------- publish

/** `publish`: a batch of messages, possibly to several topics, committed together or one by one. */
export interface PublishRequest {
  readonly messages: readonly PublishMessage[];
}

/** The outcome of one message of a publish batch. */
export type PublishOutcome =
  | { readonly ok: true; readonly ack: PublishAck }
  | { readonly ok: false; readonly error: ErrorInfo };

/** `publish` response: one outcome per request message, same order and length. */
export interface PublishResponse {
  readonly results: readonly PublishOutcome[];
}

// ---------------------------------------------------------------- subscriptions

/**
 * `subscribe`. Absent options take the server defaults listed in
 * docs/protocol.md (guarantee at-least-once, from latest, …).
 */
export interface SubscribeRequest {
  /** Exact topic, `a.*` (one level), `a.**` (any depth), or a regex written `/…/`. */
  readonly pattern: string;
  /** Durable subscription name; absent = ephemeral (dies with the session). */
  readonly name?: string;
  /** Filter expression over headers and JSON payload fields, e.g. `usage > 90`. */
  readonly filter?: string;
  readonly guarantee?: Guarantee;
  readonly from?: StartPosition;
  /** Most unacknowledged deliveries outstanding for this subscriber. */
  readonly maxInFlight?: number;
  /** Redeliver when not acked within this time (at-least-once, exactly-once). */
  readonly ackTimeoutMs?: number;
  /** Deliveries after the first before a message goes to the dead-letter queue. */
  readonly maxRetries?: number;
  readonly backoff?: BackoffPolicy;
  /**
   * Initial credit: how many deliveries the server may push before the client
   * grants more with `credit`. Default `maxInFlight`. The SDK sends
   * `maxInFlight − deliveries it still holds` when it re-subscribes.
   */
  readonly credit?: number;
}

/** `subscribe` response. */
export interface SubscribeResponse {
  /** Server-assigned id used by deliver, credit, ack, fail and unsubscribe on this session. */
  readonly subscriptionId: string;
  /** True when `name` was given: state survives reconnects and failover. */
  readonly durable: boolean;
  /** True when an existing durable subscription was resumed from its acked state. */
  readonly resumed: boolean;
  /** The effective in-flight limit (the request's, capped by the server limit). */
  readonly maxInFlight: number;
}

/** `unsubscribe`: detach this session's subscriber; `delete` also removes a durable subscription's state. */
export interface UnsubscribeRequest {
  readonly subscriptionId: string;
  readonly delete?: boolean;
}

/** `credit`: allow the server `credit` more deliveries on this subscription. */
export interface CreditRequest {
  readonly subscriptionId: string;
  readonly credit: number;
}

/** `credit` response: the credit now outstanding on the server for this subscriber. */
export interface CreditResponse {
  readonly credit: number;
}

/** `ack`: these deliveries were processed. Acks are idempotent; unknown refs are ignored. */
export interface AckRequest {
  readonly subscriptionId: string;
  readonly messages: readonly MessageRef[];
}

/** `ack` response. */
export interface AckResponse {
  /** How many of the refs were newly acknowledged (already acked or unknown ones are not counted). */
  readonly acked: number;
}

/** One failed delivery with the reason the handler gave. */
export interface FailedRef extends MessageRef {
  readonly reason: string;
}

/** `fail`: processing failed; redeliver after backoff, or dead-letter after `maxRetries`. */
export interface FailRequest {
  readonly subscriptionId: string;
  readonly messages: readonly FailedRef[];
}

/** `fail` response. */
export interface FailResponse {
  /** How many refs were recorded as failed. */
  readonly failed: number;
  /** How many of them reached `maxRetries` and went to the dead-letter queue. */
  readonly deadLettered: number;
}

/** `subscription.list`: all subscriptions, or those whose pattern matches `topic`. */
export interface SubscriptionListRequest {
  readonly topic?: string;
}

/** One subscription as listed by `subscription.list`. */
export interface SubscriptionInfo {
  /** The durable name, or the ephemeral subscription's id. */
  readonly id: string;
  readonly durable: boolean;
  readonly pattern: string;
  readonly filter?: string;
  readonly guarantee: Guarantee;
  /** Connected subscribers (several = work queue). */
  readonly members: number;
  readonly maxInFlight: number;
  /** Delivered, not yet acked. */
  readonly inFlight: number;
  /** Matching messages not yet delivered. */
  readonly lag: number;
  readonly delivered: number;
  readonly acked: number;
  readonly failed: number;
  readonly deadLettered: number;
  readonly createdAt: number;
}

/** `subscription.list` response. */
export interface SubscriptionListResponse {
  readonly subscriptions: readonly SubscriptionInfo[];
}

// ---------------------------------------------------------------- topics

/** `topic.create`. */
export interface TopicCreateRequest {
  readonly topic: string;
  readonly retention?: RetentionPolicy;
}

/** A topic's identity, retention and size. */
export interface TopicSummary {
  readonly name: string;
  readonly retention: RetentionPolicy;
  /** Retained messages. */
  readonly messages: number;
  readonly bytes: number;
  /** Lowest retained offset; null when the topic holds no message. */
  readonly firstOffset: number | null;
  /** Highest assigned offset; null when nothing was ever published. */
  readonly lastOffset: number | null;
  readonly createdAt: number;
}

/** `topic.list`. */
export interface TopicListRequest {
  /** Only topics whose name starts with this. */
  readonly prefix?: string;
}

/** `topic.list` response. */
export interface TopicListResponse {
  readonly topics: readonly TopicSummary[];
}

/** `topic.info` and `topic.delete`: names one topic. */
export interface TopicRequest {
  readonly topic: string;
}

/** A subscription's view of one topic, within `topic.info`. */
export interface TopicSubscriptionInfo {
  /** Durable name or ephemeral subscription id. */
  readonly id: string;
  readonly durable: boolean;
  readonly pattern: string;
  readonly inFlight: number;
  /** Consumer lag on this topic: matching messages not yet delivered. */
  readonly lag: number;
}

/** `topic.info` response (SPEC §3). */
export interface TopicInfo extends TopicSummary {
  readonly publishRatePerSec: number;
  readonly subscriptions: readonly TopicSubscriptionInfo[];
  readonly deadLettered: number;
}

/** `topic.delete` response. */
export interface TopicDeleteResponse {
  readonly topic: string;
  readonly messagesRemoved: number;
}

// ---------------------------------------------------------------- dead letters

/** `dlq.list`: a topic's dead letters, oldest first. */
export interface DlqListRequest {
  readonly topic: string;
  /** At most this many (server default 100). */
  readonly limit?: number;
  /** Start at this dead-letter id. */
  readonly fromId?: number;
}

/** A message that exhausted its retries. */
export interface DeadLetter {
  /** Dead-letter id, unique and increasing per topic. */
  readonly dlqId: number;
  readonly message: StoredMessage;
  /** The subscription that gave up on it. */
  readonly subscription: string;
  /** The last `fail` reason, or `ack timeout`. */
  readonly reason: string;
  readonly attempts: number;
  readonly deadAt: number;
}

/** `dlq.list` response. */
export interface DlqListResponse {
  readonly messages: readonly DeadLetter[];
}

/** `dlq.replay` and `dlq.purge`: the given dead letters, or all of the topic's when `ids` is absent. */
export interface DlqSelectRequest {
  readonly topic: string;
  readonly ids?: readonly number[];
}

/** `dlq.replay` response: replayed messages are republished to their topic (new offsets). */
export interface DlqReplayResponse {
  readonly replayed: number;
}

/** `dlq.purge` response. */
export interface DlqPurgeResponse {
  readonly purged: number;
}

// ---------------------------------------------------------------- maintenance and stats

/** `maintenance`: run one job now. */
export interface MaintenanceRequest {
  readonly kind: MaintenanceKind;
}

/** `maintenance` response. */
export interface MaintenanceResponse {
  readonly kind: MaintenanceKind;
  /** Messages removed (cleanup, compact) or re-queued (retry-failed). */
  readonly affected: number;
  readonly durationMs: number;
}

/** One node's health within `stats`. */
export interface NodeHealth {
  readonly id: string;
  readonly role: NodeRole;
  readonly healthy: boolean;
  readonly appliedIndex: number | null;
  /** Since the leader last heard from it; null on the leader itself or when unknown. */
  readonly lastContactMs: number | null;
}

/** `stats` response (SPEC §6). Counters are cluster totals as of the answering node's applied state. */
export interface StatsResponse {
  readonly topics: number;
  readonly subscriptions: number;
  /** Retained messages and their bytes. */
  readonly messages: number;
  readonly bytes: number;
  readonly published: number;
  readonly delivered: number;
  readonly acked: number;
  readonly failed: number;
  readonly retried: number;
  readonly deadLettered: number;
  readonly publishRatePerSec: number;
  readonly deliverRatePerSec: number;
  readonly nodes: readonly NodeHealth[];
}

// ---------------------------------------------------------------- cluster

/** One member of the cluster as seen by the answering node. */
export interface ClusterNodeStatus {
  readonly id: string;
  /** The node's client WebSocket address, e.g. `ws://10.0.0.2:7001`. */
  readonly clientAddress: string;
  readonly peerAddress: string;
  readonly role: NodeRole;
  readonly voter: boolean;
  readonly healthy: boolean;
  /** Null when the node is unreachable. */
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  /** Leader's view of the node's replicated index; null when not known. */
  readonly matchIndex: number | null;
  readonly lastContactMs: number | null;
  /** Digest of the replicated state at `appliedIndex`; equal digests at equal indexes show replicas agree. */
  readonly stateDigest?: string;
}

/** `cluster.status` response. */
export interface ClusterStatusResponse {
  readonly nodeId: string;
  readonly leaderId: string | null;
  readonly term: number;
  readonly commitIndex: number;
  readonly nodes: readonly ClusterNodeStatus[];
}

/** A member of the Raft configuration. */
export interface ClusterMember {
  readonly id: string;
  readonly peerAddress: string;
  readonly clientAddress: string;
  readonly voter: boolean;
}

/** `cluster.add-node`: a membership change through the Raft log. */
export interface AddNodeRequest {
  readonly id: string;
  readonly peerAddress: string;
  readonly clientAddress: string;
  /** Default true; false adds a non-voting learner. */
  readonly voter?: boolean;
}

/** `cluster.remove-node`. */
export interface RemoveNodeRequest {
  readonly id: string;
}

/** `cluster.add-node` / `cluster.remove-node` response: the configuration once committed. */
export interface MembershipResponse {
  /** Raft index of the committed configuration change. */
  readonly index: number;
  readonly members: readonly ClusterMember[];
}

/** `cluster.transfer-leader`: to the given node, or to the most caught-up voter. */
export interface TransferLeaderRequest {
  readonly to?: string;
}

/** `cluster.transfer-leader` response, once the transfer completed. */
export interface TransferLeaderResponse {
  readonly from: string;
  readonly to: string;
}

/** `ping` response. */
export interface PingResponse {
  /** The answering node. */
  readonly nodeId: string;
  /** Its clock, ms since epoch. */
  readonly time: number;
}

// ---------------------------------------------------------------- the table

/** Request body per request kind. */
export interface RequestBodies {
  readonly publish: PublishRequest;
  readonly subscribe: SubscribeRequest;
  readonly unsubscribe: UnsubscribeRequest;
  readonly credit: CreditRequest;
  readonly ack: AckRequest;
  readonly fail: FailRequest;
  readonly "topic.create": TopicCreateRequest;
  readonly "topic.list": TopicListRequest;
  readonly "topic.info": TopicRequest;
  readonly "topic.delete": TopicRequest;
  readonly "subscription.list": SubscriptionListRequest;
  readonly "dlq.list": DlqListRequest;
  readonly "dlq.replay": DlqSelectRequest;
  readonly "dlq.purge": DlqSelectRequest;
  readonly maintenance: MaintenanceRequest;
  readonly stats: EmptyBody;
  readonly "cluster.status": EmptyBody;
  readonly "cluster.add-node": AddNodeRequest;
  readonly "cluster.remove-node": RemoveNodeRequest;
  readonly "cluster.transfer-leader": TransferLeaderRequest;
  readonly ping: EmptyBody;
}

/** `ok` response body per request kind. */
export interface ResponseBodies {
  readonly publish: PublishResponse;
  readonly subscribe: SubscribeResponse;
  readonly unsubscribe: EmptyBody;
  readonly credit: CreditResponse;
  readonly ack: AckResponse;
  readonly fail: FailResponse;
  readonly "topic.create": TopicSummary;
  readonly "topic.list": TopicListResponse;
  readonly "topic.info": TopicInfo;
  readonly "topic.delete": TopicDeleteResponse;
  readonly "subscription.list": SubscriptionListResponse;
  readonly "dlq.list": DlqListResponse;
  readonly "dlq.replay": DlqReplayResponse;
  readonly "dlq.purge": DlqPurgeResponse;
  readonly maintenance: MaintenanceResponse;
  readonly stats: StatsResponse;
  readonly "cluster.status": ClusterStatusResponse;
  readonly "cluster.add-node": MembershipResponse;
  readonly "cluster.remove-node": MembershipResponse;
  readonly "cluster.transfer-leader": TransferLeaderResponse;
  readonly ping: PingResponse;
}

/** A request kind. */
export type RequestKind = keyof RequestBodies;

/** Every request kind, in the order of the table above. */
export const REQUEST_KINDS = [
  "publish", "subscribe", "unsubscribe", "credit", "ack", "fail",
  "topic.create", "topic.list", "topic.info", "topic.delete",
  "subscription.list", "dlq.list", "dlq.replay", "dlq.purge",
  "maintenance", "stats",
  "cluster.status", "cluster.add-node", "cluster.remove-node", "cluster.transfer-leader",
  "ping",
] as const satisfies readonly RequestKind[];

/**
 * Kinds a follower may answer itself; every other kind is served by the
 * leader, and a follower answers it with NOT_LEADER + `leaderHint`.
 */
export const FOLLOWER_KINDS: readonly RequestKind[] = ["ping", "stats", "cluster.status"];

/** Compile-time proof that REQUEST_KINDS lists every kind of RequestBodies. */
const _everyKindListed: [Exclude<RequestKind, (typeof REQUEST_KINDS)[number]>] extends [never] ? true : false = true;

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
