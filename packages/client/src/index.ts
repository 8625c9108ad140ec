/**
 * @raftbus/client — the raftbus SDK, platform-neutral core.
 *
 * In Node, import from `@raftbus/client/node` (same API, `ws` sockets by
 * default). In a browser, import from here: the global WebSocket is used.
 *
 * Module layering (one-way): protocol ← transport ← connection ← session ←
 * features (publish, publisher, msg, subscription, request-reply, admin) ← client.
 */
export { connect, parseServers, RaftbusClient, type ConnectOptions, type ConnectionInfo } from "./client.ts";
export type { StatusEvent, ReconnectOptions } from "./session.ts";
export type { PublishOptions, PublishResult } from "./publish.ts";
export { Publisher, type PublisherOptions, type PendingPublish } from "./publisher.ts";
export { Subscription, type SubscribeOptions, type SubscriptionStats } from "./subscription.ts";
export { Msg, REPLY_TO_HEADER, REPLY_ERROR_HEADER } from "./msg.ts";
export { REPLY_TOPIC_PREFIX, type RequestOptions, type ReplyHandler } from "./request-reply.ts";
export { TopicsApi, SubscriptionsApi, DlqApi, MaintenanceApi, ClusterApi, SysApi, UsersApi, KeysApi, type AdminOptions, type ReadOptions } from "./admin.ts";
export { BackupApi } from "./backup.ts";
export {
  ENCRYPTION_HEADER, decryptPayload, encryptPayload, formatPayloadKey, generatePayloadKey, isEncrypted, parsePayloadKey, type PayloadKey,
} from "./crypto/payload-cipher.ts";
export { encodePayload, decodeJson, decodeString, type Payload } from "./payload.ts";
export type { WebSocketFactory, WebSocketLike } from "./transport.ts";
export {
  RaftbusError, isRaftbusError, ERROR_CODES, PRIORITIES, GUARANTEES, PROTOCOL_VERSION,
  type ErrorCode, type ErrorInfo, type Priority, type Guarantee, type StartPosition, type BackoffPolicy,
  type RetentionPolicy, type MaintenanceKind, type TopicSummary, type TopicInfo, type SubscriptionInfo,
  type DeadLetter, type StatsResponse, type ClusterStatusResponse, type MembershipResponse,
  type TransferLeaderResponse, type MaintenanceResponse, type TopicDeleteResponse, type StoredMessage,
  type ServerLimits, type SysVerification, type SysStatusResponse, type SysKey, SYS_SIGNATURE_HEADER, deriveSysKey, formatSysKey, parseSysKey, verifySysMessage,
  type ReadAt, type FinalizeUpgradeResponse, type Consistency, CONSISTENCIES, type BackupOpenResponse, type BackupReadResponse,
  type TopicSigningKey, type TopicVerification, type KeyAddResponse, type KeyInfo, TOPIC_SIGNATURE_HEADER, formatTopicKey, parseTopicKey, signTopicMessage, verifyTopicMessage,
} from "./protocol/index.ts";
