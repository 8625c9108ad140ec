/**
 * @raftbus/broker: the broker state machine applied from the committed Raft
 * log (SPEC §2–§4, §6), its command set, dispatcher and read-side queries.
 * (The node server will add its exports here.)
 */

// The state machine
export { BrokerStateMachine } from "./broker-state-machine.ts";
export type { BrokerOpenOptions } from "./broker-state-machine.ts";
export type { BinaryDb, StoreVolume } from "./store/volume.ts";
export { DirectoryVolume } from "./store/volume-directory.ts";
export { MemoryVolume } from "./store/volume-memory.ts";
export { CHECKED_VALUES, storageCorruption } from "./store/checksum.ts";

// Configuration and limits
export { LIMIT_DEFAULTS, LIMIT_FIELDS } from "./server/limits-config.ts";
export type { LimitsConfig } from "./server/limits-config.ts";
export { BUDGETS, DEFAULT_CONFIG, HARD_LIMITS, makeConfig, validateConfig } from "./config.ts";
export type { Backoff, BrokerConfig, CommandLimits, Retention, SubscriptionDefaults } from "./config.ts";

// Commands
export type * from "./commands/types.ts";
export { COMMAND_TYPES } from "./commands/types.ts";
export { COMMAND_VERSION, decodeCommand, encodeCommand } from "./commands/codec.ts";
export { validateCommand, validateStampedMessage } from "./commands/validate.ts";
export type { ValidateOptions } from "./commands/validate.ts";
export { buildPublish, checkProposal, generateMessageId, subscriptionDefaults } from "./commands/build.ts";
export type { BuildPublishInput, SubscriptionRequest } from "./commands/build.ts";

// Results of applied commands
export type * from "./state/results.ts";
export { backoffDelay } from "./state/delivery.ts";
export { effectiveGuarantee } from "./state/subscription.ts";

// Dispatcher
export { Dispatcher, PRIORITY_SCHEDULE, deliverCommand, deliverItemOf } from "./dispatcher/dispatcher.ts";
export type { ConsumerCredit, DeliveryBatch, DispatchRequest, DispatcherOptions, PlannedDelivery } from "./dispatcher/dispatcher.ts";

// Queries
export { READ_LIMIT_MAX } from "./queries/queries.ts";
export type {
  BrokerStats, DeliveredMessage, DeliveryRef, DlqEntry, SubscriptionInfo, SubscriptionSummary, TopicInfo, TopicSubscriptionLag, TopicSummary,
} from "./queries/queries.ts";

// Topic names, patterns and filters
export { isSystemTopic, validateHeaders, validateTopicName } from "./topic/topic-name.ts";
export { compilePattern } from "./pattern/pattern.ts";
export type { CompiledPattern, PatternKind } from "./pattern/pattern.ts";
export { SubscriptionIndex } from "./pattern/subscription-index.ts";
export { compileFilter } from "./filter/index.ts";
export type { CompiledFilter } from "./filter/index.ts";

// Cluster versions (rolling upgrades)
export {
  BASE_CLUSTER_VERSION, BUILD_CLUSTER_VERSION, CLUSTER_VERSIONS, COMMAND_SINCE, effectiveVersion, requiredVersion, versionChanges,
} from "./version/cluster-version.ts";
export { UnsupportedEntryError, unsupportedEntry } from "./version/unsupported-entry.ts";
export { decodeEntry } from "./commands/codec.ts";
export type { DecodedEntry, DecodeOptions } from "./commands/codec.ts";

// The node server
export * from "./server/index.ts";

// Backups
export { BACKUP_FORMAT, BACKUP_VERSION, BackupEncoder, BackupInvalidError, snapshotOfBackup } from "./backup/backup-format.ts";
export type { BackupHeader, BackupReadState } from "./backup/backup-format.ts";
export { TOPICS_LISTED_MAX, inspectBackup } from "./backup/backup-inspect.ts";
export type { BackupSummary, BackupTopic } from "./backup/backup-inspect.ts";
export { restoreBackup } from "./backup/restore.ts";
export type { RestoreOptions } from "./backup/restore.ts";
export { BACKUPS_OPEN_MAX, BACKUP_IDLE_MS, BackupStreams } from "./backup/backup-streams.ts";
