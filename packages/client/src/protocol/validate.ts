/**
 * Wire schemas: one per message shape, request body and response body. Each
 * is typed against its interface (`obj<T>()`), so a change to an interface
 * that is not mirrored here fails to compile.
 */
import { ERROR_CODES, type ErrorInfo } from "./errors.ts";
import { GUARANTEES, PRIORITIES, type PublishAck, type PublishMessage, type StoredMessage } from "./message.ts";
import type { ServerLimits } from "./limits.ts";
import {
  anyOf, arr, bool, bytes, isPlainObject, lit, nat, nonEmptyStr, nullable, num, obj, oneOf, opt, pos, record, str,
  type Schema,
} from "./schema.ts";
import {
  MAINTENANCE_KINDS, NODE_ROLES,
  type AckRequest, type AckResponse, type AddNodeRequest, type BackoffPolicy, type ClusterMember,
  type ClusterNodeStatus, type ClusterStatusResponse, type CreditRequest, type CreditResponse, type DeadLetter,
  type Delivery, type DlqListRequest, type DlqListResponse, type DlqPurgeResponse, type DlqReplayResponse,
  type DlqSelectRequest, type EmptyBody, type FailedRef, type FailRequest, type FailResponse,
  type MaintenanceRequest, type MaintenanceResponse, type MembershipResponse, type MessageRef, type NodeHealth,
  type PingResponse, type PublishOutcome, type PublishRequest, type PublishResponse, type RemoveNodeRequest,
  type RequestBodies, type ResponseBodies, type RetentionPolicy, type StartPosition, type StatsResponse,
  type SubscribeRequest, type SubscribeResponse, type SubscriptionInfo, type SubscriptionListRequest,
  type SubscriptionListResponse, type TopicCreateRequest, type TopicDeleteResponse, type TopicInfo,
  type TopicListRequest, type TopicListResponse, type TopicRequest, type TopicSubscriptionInfo, type TopicSummary,
  type TransferLeaderRequest, type TransferLeaderResponse, type UnsubscribeRequest,
} from "./requests.ts";

// ---------------------------------------------------------------- shared shapes

/** Schema of {@link ErrorInfo}. */
export const errorInfoSchema: Schema<ErrorInfo> = obj<ErrorInfo>({
  code: oneOf(ERROR_CODES),
  message: str,
  leaderHint: opt(str),
  details: opt(record(anyOf<string | number | boolean>("string|number|boolean", [str, num, bool]), 64)),
});

const headers = record(str);

/** Schema of {@link PublishMessage}. */
export const publishMessageSchema: Schema<PublishMessage> = obj<PublishMessage>({
  topic: nonEmptyStr,
  payload: bytes,
  id: opt(nonEmptyStr),
  priority: opt(oneOf(PRIORITIES)),
  guarantee: opt(oneOf(GUARANTEES)),
  ttlMs: opt(pos),
  maxRetries: opt(nat),
  correlationId: opt(str),
  headers: opt(headers),
  producerId: opt(nonEmptyStr),
  sequence: opt(nat),
});

/** Schema of {@link StoredMessage}. */
export const storedMessageSchema: Schema<StoredMessage> = obj<StoredMessage>({
  id: nonEmptyStr,
  topic: nonEmptyStr,
  payload: bytes,
  senderId: str,
  timestamp: nat,
  priority: oneOf(PRIORITIES),
  guarantee: oneOf(GUARANTEES),
  ttlMs: opt(pos),
  maxRetries: nat,
  correlationId: opt(str),
  headers,
  offset: nat,
  index: nat,
});

/** Schema of {@link Delivery}. */
export const deliverySchema: Schema<Delivery> = obj<Delivery>({
  id: nonEmptyStr,
  topic: nonEmptyStr,
  payload: bytes,
  senderId: str,
  timestamp: nat,
  priority: oneOf(PRIORITIES),
  guarantee: oneOf(GUARANTEES),
  ttlMs: opt(pos),
  maxRetries: nat,
  correlationId: opt(str),
  headers,
  offset: nat,
  index: nat,
  attempt: pos,
});

/** Schema of {@link PublishAck}. */
export const publishAckSchema: Schema<PublishAck> = obj<PublishAck>({ topic: nonEmptyStr, offset: nat, index: nat, duplicate: bool });

/** Schema of {@link ServerLimits}. */
export const serverLimitsSchema: Schema<ServerLimits> = obj<ServerLimits>({
  maxPayloadBytes: pos, maxFrameBytes: pos, maxBatchMessages: pos, maxInFlight: pos, sessionTimeoutMs: pos,
});

const startPosition: Schema<StartPosition> = anyOf<StartPosition>("earliest|latest|{offset}|{time}", [
  lit("earliest"), lit("latest"), obj<{ readonly offset: number }>({ offset: nat }), obj<{ readonly time: number }>({ time: nat }),
]);
const backoff = obj<BackoffPolicy>({ initialMs: pos, maxMs: pos, multiplier: num });
const retention = obj<RetentionPolicy>({ maxMessages: opt(pos), maxAgeMs: opt(pos), maxBytes: opt(pos) });
const messageRef = obj<MessageRef>({ topic: nonEmptyStr, offset: nat });
const failedRef = obj<FailedRef>({ topic: nonEmptyStr, offset: nat, reason: str });
const nodeRole = oneOf(NODE_ROLES);
const nullableNat = nullable(nat);

/** Schema of the empty body `{}` (extra fields are ignored like everywhere else). */
export const emptySchema: Schema<EmptyBody> = {
  check: (value, path) => (isPlainObject(value) ? undefined : `${path}: expected map`),
};

// ---------------------------------------------------------------- request bodies

/** Request body schema per request kind. */
export const requestSchemas: { readonly [K in keyof RequestBodies]: Schema<RequestBodies[K]> } = {
  publish: obj<PublishRequest>({ messages: arr(publishMessageSchema) }),
  subscribe: obj<SubscribeRequest>({
    pattern: nonEmptyStr,
    name: opt(nonEmptyStr),
    filter: opt(str),
    guarantee: opt(oneOf(GUARANTEES)),
    from: opt(startPosition),
    maxInFlight: opt(pos),
    ackTimeoutMs: opt(pos),
    maxRetries: opt(nat),
    backoff: opt(backoff),
    credit: opt(nat),
  }),
  unsubscribe: obj<UnsubscribeRequest>({ subscriptionId: nonEmptyStr, delete: opt(bool) }),
  credit: obj<CreditRequest>({ subscriptionId: nonEmptyStr, credit: pos }),
  ack: obj<AckRequest>({ subscriptionId: nonEmptyStr, messages: arr(messageRef) }),
  fail: obj<FailRequest>({ subscriptionId: nonEmptyStr, messages: arr(failedRef) }),
  "topic.create": obj<TopicCreateRequest>({ topic: nonEmptyStr, retention: opt(retention) }),
  "topic.list": obj<TopicListRequest>({ prefix: opt(str) }),
  "topic.info": obj<TopicRequest>({ topic: nonEmptyStr }),
  "topic.delete": obj<TopicRequest>({ topic: nonEmptyStr }),
  "subscription.list": obj<SubscriptionListRequest>({ topic: opt(nonEmptyStr) }),
  "dlq.list": obj<DlqListRequest>({ topic: nonEmptyStr, limit: opt(pos), fromId: opt(nat) }),
  "dlq.replay": obj<DlqSelectRequest>({ topic: nonEmptyStr, ids: opt(arr(nat)) }),
  "dlq.purge": obj<DlqSelectRequest>({ topic: nonEmptyStr, ids: opt(arr(nat)) }),
  maintenance: obj<MaintenanceRequest>({ kind: oneOf(MAINTENANCE_KINDS) }),
  stats: emptySchema,
  "cluster.status": emptySchema,
  "cluster.add-node": obj<AddNodeRequest>({ id: nonEmptyStr, peerAddress: nonEmptyStr, clientAddress: nonEmptyStr, voter: opt(bool) }),
  "cluster.remove-node": obj<RemoveNodeRequest>({ id: nonEmptyStr }),
  "cluster.transfer-leader": obj<TransferLeaderRequest>({ to: opt(nonEmptyStr) }),
  ping: emptySchema,
};

// ---------------------------------------------------------------- response bodies

const topicSummaryFields = {
  name: nonEmptyStr,
  retention,
  messages: nat,
  bytes: nat,
  firstOffset: nullableNat,
  lastOffset: nullableNat,
  createdAt: nat,
} as const;

const topicSummary = obj<TopicSummary>(topicSummaryFields);

const publishOutcome: Schema<PublishOutcome> = anyOf<PublishOutcome>("{ok:true,ack}|{ok:false,error}", [
  obj<{ readonly ok: true; readonly ack: PublishAck }>({ ok: lit(true), ack: publishAckSchema }),
  obj<{ readonly ok: false; readonly error: ErrorInfo }>({ ok: lit(false), error: errorInfoSchema }),
]);

const subscriptionInfo = obj<SubscriptionInfo>({
  id: nonEmptyStr, durable: bool, pattern: nonEmptyStr, filter: opt(str), guarantee: oneOf(GUARANTEES),
  members: nat, maxInFlight: nat, inFlight: nat, lag: nat, delivered: nat, acked: nat, failed: nat,
  deadLettered: nat, createdAt: nat,
});

const topicSubscriptionInfo = obj<TopicSubscriptionInfo>({
  id: nonEmptyStr, durable: bool, pattern: nonEmptyStr, inFlight: nat, lag: nat,
});

const deadLetter = obj<DeadLetter>({
  dlqId: nat, message: storedMessageSchema, subscription: str, reason: str, attempts: nat, deadAt: nat,
});

const nodeHealth = obj<NodeHealth>({ id: nonEmptyStr, role: nodeRole, healthy: bool, appliedIndex: nullableNat, lastContactMs: nullableNat });

const clusterNode = obj<ClusterNodeStatus>({
  id: nonEmptyStr, clientAddress: str, peerAddress: str, role: nodeRole, voter: bool, healthy: bool,
  term: nullableNat, commitIndex: nullableNat, appliedIndex: nullableNat, matchIndex: nullableNat,
  lastContactMs: nullableNat, stateDigest: opt(str),
});

const clusterMember = obj<ClusterMember>({ id: nonEmptyStr, peerAddress: str, clientAddress: str, voter: bool });
const membership = obj<MembershipResponse>({ index: nat, members: arr(clusterMember) });

/** `ok` response body schema per request kind. */
export const responseSchemas: { readonly [K in keyof ResponseBodies]: Schema<ResponseBodies[K]> } = {
  publish: obj<PublishResponse>({ results: arr(publishOutcome) }),
  subscribe: obj<SubscribeResponse>({ subscriptionId: nonEmptyStr, durable: bool, resumed: bool, maxInFlight: pos }),
  unsubscribe: emptySchema,
  credit: obj<CreditResponse>({ credit: nat }),
  ack: obj<AckResponse>({ acked: nat }),
  fail: obj<FailResponse>({ failed: nat, deadLettered: nat }),
  "topic.create": topicSummary,
  "topic.list": obj<TopicListResponse>({ topics: arr(topicSummary) }),
  "topic.info": obj<TopicInfo>({
    ...topicSummaryFields,
    publishRatePerSec: num,
    subscriptions: arr(topicSubscriptionInfo),
    deadLettered: nat,
  }),
  "topic.delete": obj<TopicDeleteResponse>({ topic: nonEmptyStr, messagesRemoved: nat }),
  "subscription.list": obj<SubscriptionListResponse>({ subscriptions: arr(subscriptionInfo) }),
  "dlq.list": obj<DlqListResponse>({ messages: arr(deadLetter) }),
  "dlq.replay": obj<DlqReplayResponse>({ replayed: nat }),
  "dlq.purge": obj<DlqPurgeResponse>({ purged: nat }),
  maintenance: obj<MaintenanceResponse>({ kind: oneOf(MAINTENANCE_KINDS), affected: nat, durationMs: nat }),
  stats: obj<StatsResponse>({
    topics: nat, subscriptions: nat, messages: nat, bytes: nat, published: nat, delivered: nat, acked: nat,
    failed: nat, retried: nat, deadLettered: nat, publishRatePerSec: num, deliverRatePerSec: num,
    nodes: arr(nodeHealth),
  }),
  "cluster.status": obj<ClusterStatusResponse>({
    nodeId: nonEmptyStr, leaderId: nullable(nonEmptyStr), term: nat, commitIndex: nat, nodes: arr(clusterNode),
  }),
  "cluster.add-node": membership,
  "cluster.remove-node": membership,
  "cluster.transfer-leader": obj<TransferLeaderResponse>({ from: nonEmptyStr, to: nonEmptyStr }),
  ping: obj<PingResponse>({ nodeId: nonEmptyStr, time: nat }),
};
