/**
 * Broker configuration and limits (STYLE.md practice 5: a limit on
 * everything, units last in names, validated once at start-up).
 *
 * Two kinds of settings, kept apart on purpose:
 * - proposal-side settings (strictTopics, defaultRetention, dedupWindowMs,
 *   the configurable size limits, subscription defaults) are read by the
 *   LEADER when it builds a command; whatever apply() needs is copied INTO the
 *   command, so replicas never depend on their own configuration while
 *   applying (a rolling config change cannot make replicas diverge);
 * - HARD_LIMITS are code constants, identical on every replica running the
 *   same version: apply() re-validates each decoded entry against them.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { BASE_CLUSTER_VERSION, BUILD_CLUSTER_VERSION } from "./version/cluster-version.ts";

/** Retention of one topic (SPEC §3); any combination, absent = unlimited. */
export interface Retention {
  readonly maxMessages?: number;
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
}

/** Exponential backoff between redeliveries: delay(n) = min(maxMs, initialMs · multiplierⁿ). */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
}

/** Size limits a command is checked against before it is proposed (and, with HARD_LIMITS, when applied). */
export interface CommandLimits {
  /** Largest message payload (SPEC §2: default 1 MiB). */
  readonly payloadBytesMax: number;
  /** Most messages in one publish command. */
  readonly batchMessagesMax: number;
  /** Most payload bytes in one publish command (bounds one Raft entry). */
  readonly batchBytesMax: number;
  /** Most items in one ack / fail / deliver / dlq command. */
  readonly batchItemsMax: number;
}

/** Defaults applied to subscription requests that leave a field out. */
export interface SubscriptionDefaults {
  readonly maxInFlight: number;
  readonly ackTimeoutMs: number;
  readonly maxRetries: number;
  readonly backoff: Backoff;
}

/** Everything BrokerStateMachine.open() takes. */
export interface BrokerConfig {
  /** Publishing to a missing topic fails with TOPIC_NOT_FOUND instead of auto-creating it. */
  readonly strictTopics: boolean;
  /** Retention of auto-created topics (copied into each publish command). */
  readonly defaultRetention: Retention;
  /** How long a message id / producer sequence is remembered for publish dedup. */
  readonly dedupWindowMs: number;
  readonly limits: CommandLimits;
  readonly subscriptionDefaults: SubscriptionDefaults;
  /**
   * fsync the broker's LevelDB batch on every apply. Off by default: the Raft
   * log is fsync'd before entries are applied, so a batch lost in an OS crash
   * is re-applied from the log (see README "Durability").
   */
  readonly syncWrites: boolean;
  /**
   * The highest cluster version this node implements (version/cluster-version.ts):
   * the build's by default. A lower value makes the node behave as an older
   * build would (refuse entries above it, report it to the leader), to
   * rehearse a rolling upgrade.
   */
  readonly clusterVersionMax: number;
}

/** Absolute limits, the same on every replica; configured limits must not exceed them. */
export const HARD_LIMITS: CommandLimits = {
  payloadBytesMax: 16 * 1024 * 1024,
  batchMessagesMax: 10_000,
  batchBytesMax: 64 * 1024 * 1024,
  batchItemsMax: 10_000,
};

/** Longest id-like string (message id, sender, producer, consumer, session, correlation id), in characters. */
export const ID_CHARS_MAX = 256;
/** Longest fail reason kept with a DLQ entry, in characters. */
export const REASON_CHARS_MAX = 1024;
/** Longest filter expression source, in characters. */
export const FILTER_CHARS_MAX = 4096;
/** Longest subscription name, in characters. */
export const SUBSCRIPTION_NAME_CHARS_MAX = 200;
/** Upper bound of a subscription's in-flight limit. */
export const MAX_IN_FLIGHT_MAX = 10_000;
/** Upper bound of maxRetries. */
export const MAX_RETRIES_MAX = 1_000;
/** Longest ack timeout / backoff / TTL / dedup window / retention age: one year. */
export const DURATION_MS_MAX = 365 * 24 * 3600 * 1000;
/** Largest backoff multiplier. */
export const BACKOFF_MULTIPLIER_MAX = 100;
/** Most DLQ entries replayed or purged by id in one command. */
export const DLQ_IDS_MAX = 10_000;

/** The defaults: 1 MiB payloads, 2 minute dedup window (as JetStream), unlimited retention. */
export const DEFAULT_CONFIG: BrokerConfig = {
  strictTopics: false,
  defaultRetention: {},
  dedupWindowMs: 120_000,
  limits: {
    payloadBytesMax: 1024 * 1024,
    batchMessagesMax: 1000,
    batchBytesMax: 8 * 1024 * 1024,
    batchItemsMax: 1000,
  },
  subscriptionDefaults: {
    maxInFlight: 100,
    ackTimeoutMs: 30_000,
    maxRetries: 5,
    backoff: { initialMs: 1000, maxMs: 60_000, multiplier: 2 },
  },
  syncWrites: false,
  clusterVersionMax: BUILD_CLUSTER_VERSION,
};

/** Builds a config from DEFAULT_CONFIG and `overrides`, validated. */
export function makeConfig(overrides: Partial<BrokerConfig> = {}): BrokerConfig {
  const config: BrokerConfig = {
    ...DEFAULT_CONFIG,
    ...overrides,
    limits: { ...DEFAULT_CONFIG.limits, ...overrides.limits },
    subscriptionDefaults: { ...DEFAULT_CONFIG.subscriptionDefaults, ...overrides.subscriptionDefaults },
  };
  validateConfig(config);
  return config;
}

/** Throws INVALID_ARGUMENT naming the first bad setting. */
export function validateConfig(config: BrokerConfig): void {
  const { limits, subscriptionDefaults: d } = config;
  for (const key of Object.keys(HARD_LIMITS) as (keyof CommandLimits)[]) {
    const value = limits[key];
    check(Number.isSafeInteger(value) && value >= 1 && value <= HARD_LIMITS[key], `limits.${key} must be an integer in 1..${HARD_LIMITS[key]}, got ${value}`);
  }
  check(limits.payloadBytesMax <= limits.batchBytesMax, "limits.payloadBytesMax must not exceed limits.batchBytesMax");
  check(isDuration(config.dedupWindowMs), `dedupWindowMs must be an integer in 0..${DURATION_MS_MAX}`);
  const retentionError = retentionProblem(config.defaultRetention);
  check(retentionError === undefined, `defaultRetention: ${retentionError ?? ""}`);
  check(Number.isSafeInteger(d.maxInFlight) && d.maxInFlight >= 1 && d.maxInFlight <= MAX_IN_FLIGHT_MAX, "subscriptionDefaults.maxInFlight out of range");
  check(isDuration(d.ackTimeoutMs) && d.ackTimeoutMs >= 1, "subscriptionDefaults.ackTimeoutMs out of range");
  check(Number.isSafeInteger(d.maxRetries) && d.maxRetries >= 0 && d.maxRetries <= MAX_RETRIES_MAX, "subscriptionDefaults.maxRetries out of range");
  const backoffError = backoffProblem(d.backoff);
  check(backoffError === undefined, `subscriptionDefaults.backoff: ${backoffError ?? ""}`);
  check(typeof config.strictTopics === "boolean" && typeof config.syncWrites === "boolean", "strictTopics and syncWrites are booleans");
  check(Number.isSafeInteger(config.clusterVersionMax) && config.clusterVersionMax >= BASE_CLUSTER_VERSION && config.clusterVersionMax <= BUILD_CLUSTER_VERSION,
    `clusterVersionMax must be an integer in ${BASE_CLUSTER_VERSION}..${BUILD_CLUSTER_VERSION} (this build's), got ${config.clusterVersionMax}`);
}

/** A description of what is wrong with `r`, or undefined when it is a valid retention. */
export function retentionProblem(r: unknown): string | undefined {
  if (typeof r !== "object" || r === null || Array.isArray(r)) return "retention must be an object";
  const rec = r as Record<string, unknown>;
  for (const key of Object.keys(rec)) {
    if (key !== "maxMessages" && key !== "maxAgeMs" && key !== "maxBytes") return `unknown retention field '${key}'`;
    const v = rec[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || (v as number) < 1) return `${key} must be a positive integer, got ${String(v)}`;
    if (key === "maxAgeMs" && (v as number) > DURATION_MS_MAX) return `maxAgeMs must be at most ${DURATION_MS_MAX}`;
  }
  return undefined;
}

/** A description of what is wrong with `b`, or undefined when it is a valid backoff. */
export function backoffProblem(b: unknown): string | undefined {
  if (typeof b !== "object" || b === null) return "backoff must be an object";
  const { initialMs, maxMs, multiplier } = b as Record<string, unknown>;
  if (!isDuration(initialMs)) return "initialMs must be an integer duration";
  if (!isDuration(maxMs) || (maxMs as number) < (initialMs as number)) return "maxMs must be an integer duration >= initialMs";
  if (typeof multiplier !== "number" || !Number.isFinite(multiplier) || multiplier < 1 || multiplier > BACKOFF_MULTIPLIER_MAX) {
    return `multiplier must be a number in 1..${BACKOFF_MULTIPLIER_MAX}`;
  }
  return undefined;
}

/** True for an integer number of milliseconds in 0..DURATION_MS_MAX. */
export function isDuration(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= DURATION_MS_MAX;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RaftbusError("INVALID_ARGUMENT", `broker config: ${message}`);
}

/**
 * Limits on subscriptions that apply decides (code constants: every replica
 * must use the same). `regexStatesMax` bounds what matching a topic no
 * subscription has seen before costs every replica: at most this many NFA
 * states × the topic's length (≤ 255) steps.
 */
export const SUBSCRIPTION_LIMITS = {
  subscriptionsMax: 100_000,
  regexStatesMax: 200_000,
} as const;

/**
 * Work budgets of apply(), in keys or messages per category. They bound how
 * much one entry can do (STYLE.md practice 5); leftover work continues on the
 * next tick. Code constants, not settings: every replica must use the same.
 */
export const BUDGETS = {
  /** Per tick entry: TTL removals, retention removals, dedup expiries, GC keys, backfilled messages. */
  tick: 2_000,
  /** Per maintenance entry (cleanup / compact); bounds one apply call's write set in memory. */
  maintenance: 20_000,
  /** Backfilled at once when a subscription is created; the rest follows as deliveries drain the queue, and on ticks. */
  backfillOnCreate: 2_000,
  /** Backfilled when a delivery entry finds the queue low (README "Subscriptions and the queue model"). */
  backfillRefill: 2_000,
  /** Expired dedup records forgotten per published message (steady state is at most two: id and producer sequence). */
  dedupExpiryPerMessage: 2,
  /** Retention removals per published message (steady state is one). */
  retentionPerMessage: 1_000,
  /** Scan allowance past expired or reserved references when the dispatcher reads a queue. */
  dispatchSkip: 256,
} as const;
