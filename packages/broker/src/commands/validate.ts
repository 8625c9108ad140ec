/**
 * Validation of commands (STYLE.md practice 9): input is `unknown` (decoded
 * msgpack or a request built by the server), output is a fully typed Command
 * with only known fields. Runs twice:
 * - before proposing, with the configured limits: a bad command never enters
 *   the log and the caller gets a stable error code;
 * - in apply(), with HARD_LIMITS: an entry that is not a valid command is
 *   answered BAD_REQUEST and changes nothing. (An entry of a newer cluster
 *   version than this build implements never gets here: codec.ts refuses it,
 *   see version/cluster-version.ts.)
 *
 * Codes: BAD_REQUEST for a wrong shape or type, INVALID_ARGUMENT for a value
 * out of range, and the specific INVALID_TOPIC / INVALID_PATTERN /
 * INVALID_FILTER / PAYLOAD_TOO_LARGE / HEADERS_TOO_LARGE.
 */
import { GUARANTEES, PRIORITIES, RaftbusError, isGuarantee, isPriority, SIGNING_KEY_BYTES, SIGNING_KEY_NAME_RE } from "@raftbus/client/protocol";
import type { Guarantee, Priority } from "@raftbus/client/protocol";
import {
  DLQ_IDS_MAX, FILTER_CHARS_MAX, HARD_LIMITS, ID_CHARS_MAX, MAX_IN_FLIGHT_MAX, MAX_RETRIES_MAX,
  REASON_CHARS_MAX, SUBSCRIPTION_NAME_CHARS_MAX, backoffProblem, isDuration, retentionProblem,
} from "../config.ts";
import type { Backoff, CommandLimits, Retention } from "../config.ts";
import { compileFilter } from "../filter/index.ts";
import { normalizeGrants } from "../auth/grants.ts";
import { TOKEN_HASH_BYTES, USER_NAME_RE } from "../auth/tokens.ts";
import { compilePattern } from "../pattern/pattern.ts";
import { validateHeaders, validateTopicName } from "../topic/topic-name.ts";
import { COMMAND_TYPES } from "./types.ts";
import type {
  AckItem, Command, CommandMessage, CommandType, DeliverItem, FailItem, MaintenanceAction, MemberAddress, QueueHint,
  StartPosition, SubscriptionChanges, SubscriptionSpec,
} from "./types.ts";

/** Options of {@link validateCommand}. */
export interface ValidateOptions {
  /** Limits to enforce; HARD_LIMITS when absent. */
  readonly limits?: CommandLimits;
  /** Accept `$sys.` topics (commands proposed by the cluster itself, and apply()). */
  readonly allowSystem?: boolean;
}

const SUBSCRIPTION_NAME_RE = /^[A-Za-z0-9_.-]+$/;
const MAINTENANCE_ACTIONS: readonly MaintenanceAction[] = ["cleanup", "compact", "retryFailed"];
const commandTypes: ReadonlySet<string> = new Set(COMMAND_TYPES);

/**
 * Returns `value` as a valid Command, or throws a RaftbusError with a stable
 * code saying what is wrong (see module comment).
 */
export function validateCommand(value: unknown, opts: ValidateOptions = {}): Command {
  const o = object(value, "command");
  const type = o["type"];
  if (typeof type !== "string" || !commandTypes.has(type)) {
    throw bad(`unknown command type ${JSON.stringify(typeof type === "string" ? type.slice(0, 40) : type)}`);
  }
  const now = nonNegativeInt(o["now"], "now");
  const ctx: Ctx = { limits: opts.limits ?? HARD_LIMITS, allowSystem: opts.allowSystem === true };
  return validators[type as CommandType](o, now, ctx);
}

interface Ctx {
  readonly limits: CommandLimits;
  readonly allowSystem: boolean;
}

type Validator = (o: Record<string, unknown>, now: number, ctx: Ctx) => Command;

const validators: Record<CommandType, Validator> = {
  createTopic: (o, now, ctx) => ({ type: "createTopic", now, topic: topic(o["topic"], ctx), retention: retention(o["retention"] ?? {}) }),
  deleteTopic: (o, now, ctx) => ({ type: "deleteTopic", now, topic: topic(o["topic"], ctx) }),
  updateRetention: (o, now, ctx) => ({ type: "updateRetention", now, topic: topic(o["topic"], ctx), retention: retention(o["retention"]) }),
  publish: validatePublish,
  createSubscription: (o, now) => {
    const durablePerOwnerMax = optional(o["durablePerOwnerMax"], (v) => intIn(v, "durablePerOwnerMax", 1, 1_000_000));
    return { type: "createSubscription", now, subscription: subscriptionSpec(o["subscription"]), ...(durablePerOwnerMax !== undefined ? { durablePerOwnerMax } : {}) };
  },
  updateSubscription: (o, now) => ({ type: "updateSubscription", now, name: subscriptionName(o["name"]), changes: subscriptionChanges(o["changes"]) }),
  deleteSubscription: (o, now) => ({ type: "deleteSubscription", now, name: subscriptionName(o["name"]) }),
  expireSession: (o, now) => ({ type: "expireSession", now, sessionId: idString(o["sessionId"], "sessionId") }),
  delivery: validateDelivery,
  dlqReplay: (o, now, ctx) => {
    const ids = optionalIds(o["ids"]);
    const limit = o["limit"] === undefined ? DLQ_IDS_MAX : intIn(o["limit"], "limit", 1, DLQ_IDS_MAX);
    return { type: "dlqReplay", now, topic: topic(o["topic"], ctx), limit, ...(ids !== undefined ? { ids } : {}) };
  },
  dlqPurge: (o, now, ctx) => {
    const ids = optionalIds(o["ids"]);
    return { type: "dlqPurge", now, topic: topic(o["topic"], ctx), ...(ids !== undefined ? { ids } : {}) };
  },
  maintenance: (o, now, ctx) => {
    const action = o["action"];
    if (typeof action !== "string" || !(MAINTENANCE_ACTIONS as readonly string[]).includes(action)) {
      throw bad(`maintenance action must be one of ${MAINTENANCE_ACTIONS.join(", ")}`);
    }
    const t = o["topic"] === undefined ? undefined : topic(o["topic"], ctx);
    const includeDlq = o["includeDlq"] === undefined ? undefined : bool(o["includeDlq"], "includeDlq");
    return {
      type: "maintenance", now, action: action as MaintenanceAction,
      ...(t !== undefined ? { topic: t } : {}), ...(includeDlq !== undefined ? { includeDlq } : {}),
    };
  },
  tick: (_o, now) => ({ type: "tick", now }),
  setClusterVersion: (o, now) => ({ type: "setClusterVersion", now, version: intIn(o["version"], "version", 1, 65_535) }),
  recordMembers: (o, now) => {
    const raw = array(o["members"], "members");
    if (raw.length === 0 || raw.length > MEMBERS_MAX) throw invalid(`recordMembers carries ${raw.length} members; 1..${MEMBERS_MAX} allowed`);
    return { type: "recordMembers", now, members: raw.map((m, i) => memberAddress(m, `members[${i}]`)) };
  },
  putUser: (o, now) => {
    const create = bool(o["create"], "create");
    const tokenHash = o["tokenHash"] === undefined ? undefined : hash(o["tokenHash"], "tokenHash");
    const grants = o["grants"] === undefined ? undefined : normalizeGrants(array(o["grants"], "grants"));
    if (create && (tokenHash === undefined || grants === undefined)) throw invalid("putUser creating a user needs tokenHash and grants");
    if (!create && tokenHash === undefined && grants === undefined) throw invalid("putUser changes nothing (no tokenHash, no grants)");
    return {
      type: "putUser", now, name: userName(o["name"]), create,
      ...(tokenHash !== undefined ? { tokenHash } : {}), ...(grants !== undefined ? { grants } : {}),
    };
  },
  removeUser: (o, now) => ({ type: "removeUser", now, name: userName(o["name"]) }),
  putSigningKey: (o, now) => {
    const key = o["key"];
    if (!(key instanceof Uint8Array) || key.length !== SIGNING_KEY_BYTES) throw invalid(`key must be ${SIGNING_KEY_BYTES} bytes`);
    return { type: "putSigningKey", now, name: signingKeyName(o["name"]), pattern: signingPattern(o["pattern"]), key: new Uint8Array(key) };
  },
  removeSigningKey: (o, now) => ({ type: "removeSigningKey", now, name: signingKeyName(o["name"]) }),
};

function signingKeyName(value: unknown): string {
  if (typeof value !== "string" || !SIGNING_KEY_NAME_RE.test(value)) throw invalid("a signing key name is 1–64 of A-Z a-z 0-9 _ -");
  return value;
}

/** A signing key's topic pattern: exact or wildcard (no regex: which topics a key guards must be plain to read), never `$sys.`. */
function signingPattern(value: unknown): string {
  if (typeof value !== "string") throw bad("pattern must be a string");
  if (value.startsWith("$sys") || compilePattern(value).kind === "regex") {
    throw new RaftbusError("INVALID_PATTERN", "a signing key guards topics by an exact name or a wildcard pattern (a.*, a.**), not a regex or $sys.");
  }
  return value;
}

/** A user name: one topic segment (it names the user's reply inboxes). */
export function userName(value: unknown): string {
  if (typeof value !== "string" || !USER_NAME_RE.test(value)) throw invalid("a user name must be 1–64 of A-Z a-z 0-9 _ -");
  return value;
}

function hash(value: unknown, path: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== TOKEN_HASH_BYTES) throw bad(`${path} must be ${TOKEN_HASH_BYTES} bytes`);
  return value;
}

/** Most members one recordMembers command names (far above any real cluster). */
const MEMBERS_MAX = 1024;
const NODE_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function memberAddress(value: unknown, path: string): MemberAddress {
  const o = object(value, path);
  const id = o["id"];
  if (typeof id !== "string" || !NODE_ID_RE.test(id)) throw invalid(`${path}.id must be 1–64 of A-Z a-z 0-9 _ -`);
  const host = o["host"];
  if (typeof host !== "string" || host.length === 0 || host.length > 253) throw invalid(`${path}.host must be a host name or address`);
  return { id, host, peerPort: intIn(o["peerPort"], `${path}.peerPort`, 1, 65_535), clientPort: intIn(o["clientPort"], `${path}.clientPort`, 1, 65_535) };
}

function validatePublish(o: Record<string, unknown>, now: number, ctx: Ctx): Command {
  const raw = array(o["messages"], "messages");
  if (raw.length === 0) throw invalid("publish carries no messages");
  if (raw.length > ctx.limits.batchMessagesMax) throw invalid(`publish carries ${raw.length} messages; the limit is ${ctx.limits.batchMessagesMax}`);
  let bytes = 0;
  const messages = raw.map((m, i) => {
    const msg = commandMessage(m, `messages[${i}]`, ctx);
    bytes += msg.payload.length;
    return msg;
  });
  if (bytes > ctx.limits.batchBytesMax) {
    throw new RaftbusError("PAYLOAD_TOO_LARGE", `publish batch carries ${bytes} payload bytes; the limit is ${ctx.limits.batchBytesMax}`);
  }
  return {
    type: "publish", now, messages,
    autoCreate: bool(o["autoCreate"], "autoCreate"),
    defaultRetention: retention(o["defaultRetention"] ?? {}),
    dedupWindowMs: duration(o["dedupWindowMs"], "dedupWindowMs"),
  };
}

/**
 * Validates one stamped message of a publish command on its own, so a server
 * can answer a bad message in a batch individually and propose the rest.
 */
export function validateStampedMessage(value: unknown, opts: ValidateOptions = {}): CommandMessage {
  return commandMessage(value, "message", { limits: opts.limits ?? HARD_LIMITS, allowSystem: opts.allowSystem === true });
}

function commandMessage(value: unknown, path: string, ctx: Ctx): CommandMessage {
  const m = object(value, path);
  const payload = m["payload"];
  if (!(payload instanceof Uint8Array)) throw bad(`${path}.payload must be bytes`);
  if (payload.length > ctx.limits.payloadBytesMax) {
    throw new RaftbusError("PAYLOAD_TOO_LARGE", `payload is ${payload.length} bytes; the limit is ${ctx.limits.payloadBytesMax}`, {
      details: { size: payload.length, limit: ctx.limits.payloadBytesMax },
    });
  }
  const producerId = optional(m["producerId"], (v) => idString(v, `${path}.producerId`));
  const sequence = optional(m["sequence"], (v) => nonNegativeInt(v, `${path}.sequence`));
  if ((producerId === undefined) !== (sequence === undefined)) throw invalid(`${path}: producerId and sequence go together`);
  const ttlMs = optional(m["ttlMs"], (v) => duration(v, `${path}.ttlMs`));
  if (ttlMs === 0) throw invalid(`${path}.ttlMs must be positive`);
  const maxRetries = optional(m["maxRetries"], (v) => intIn(v, `${path}.maxRetries`, 0, MAX_RETRIES_MAX));
  const correlationId = optional(m["correlationId"], (v) => idString(v, `${path}.correlationId`));
  return {
    topic: topic(m["topic"], ctx),
    id: idString(m["id"], `${path}.id`),
    idGenerated: bool(m["idGenerated"], `${path}.idGenerated`),
    payload,
    timestamp: nonNegativeInt(m["timestamp"], `${path}.timestamp`),
    senderId: idString(m["senderId"], `${path}.senderId`),
    priority: priority(m["priority"]),
    guarantee: guarantee(m["guarantee"]),
    ...(ttlMs !== undefined ? { ttlMs } : {}),
    ...(maxRetries !== undefined ? { maxRetries } : {}),
    ...(correlationId !== undefined ? { correlationId } : {}),
    headers: validateHeaders(m["headers"]),
    ...(producerId !== undefined ? { producerId, sequence: sequence as number } : {}),
  };
}

/** Validates a full subscription spec (defaults must already be filled in). */
export function subscriptionSpec(value: unknown): SubscriptionSpec {
  const s = object(value, "subscription");
  const ephemeral = bool(s["ephemeral"], "ephemeral");
  const sessionId = optional(s["sessionId"], (v) => idString(v, "sessionId"));
  if (ephemeral && sessionId === undefined) throw invalid("an ephemeral subscription needs a sessionId");
  const filter = optional(s["filter"], filterSource);
  const owner = optional(s["owner"], (v) => idString(v, "owner"));
  return {
    name: subscriptionName(s["name"]),
    pattern: patternSource(s["pattern"]),
    ...(filter !== undefined ? { filter } : {}),
    guarantee: guarantee(s["guarantee"]),
    start: startPosition(s["start"]),
    maxInFlight: intIn(s["maxInFlight"], "maxInFlight", 1, MAX_IN_FLIGHT_MAX),
    ackTimeoutMs: positiveDuration(s["ackTimeoutMs"], "ackTimeoutMs"),
    maxRetries: intIn(s["maxRetries"], "maxRetries", 0, MAX_RETRIES_MAX),
    backoff: backoff(s["backoff"]),
    ephemeral,
    ...(sessionId !== undefined ? { sessionId } : {}),
    ...(owner !== undefined ? { owner } : {}),
  };
}

function subscriptionChanges(value: unknown): SubscriptionChanges {
  const c = object(value, "changes");
  const out: { -readonly [K in keyof SubscriptionChanges]: SubscriptionChanges[K] } = {};
  if (c["pattern"] !== undefined) out.pattern = patternSource(c["pattern"]);
  if (c["filter"] !== undefined) out.filter = c["filter"] === null ? null : filterSource(c["filter"]);
  if (c["guarantee"] !== undefined) out.guarantee = guarantee(c["guarantee"]);
  if (c["maxInFlight"] !== undefined) out.maxInFlight = intIn(c["maxInFlight"], "maxInFlight", 1, MAX_IN_FLIGHT_MAX);
  if (c["ackTimeoutMs"] !== undefined) out.ackTimeoutMs = positiveDuration(c["ackTimeoutMs"], "ackTimeoutMs");
  if (c["maxRetries"] !== undefined) out.maxRetries = intIn(c["maxRetries"], "maxRetries", 0, MAX_RETRIES_MAX);
  if (c["backoff"] !== undefined) out.backoff = backoff(c["backoff"]);
  if (Object.keys(out).length === 0) throw invalid("updateSubscription changes nothing");
  return out;
}

function startPosition(value: unknown): StartPosition {
  if (value === "earliest" || value === "latest") return value;
  const o = object(value, "start");
  if (o["offset"] !== undefined && o["time"] === undefined) return { offset: nonNegativeInt(o["offset"], "start.offset") };
  if (o["time"] !== undefined && o["offset"] === undefined) return { time: nonNegativeInt(o["time"], "start.time") };
  throw bad("start must be 'earliest', 'latest', { offset } or { time }");
}

/** delivery: at least one item, at most batchItemsMax in all. */
function validateDelivery(o: Record<string, unknown>, now: number, ctx: Ctx): Command {
  const delivered = items(o["delivered"] ?? [], "delivered", ctx, deliverItem);
  const acked = items(o["acked"] ?? [], "acked", ctx, ackItem);
  const failed = items(o["failed"] ?? [], "failed", ctx, failItem);
  const n = delivered.length + acked.length + failed.length;
  if (n === 0) throw invalid("the command carries no items");
  if (n > ctx.limits.batchItemsMax) throw invalid(`the command carries ${n} items; the limit is ${ctx.limits.batchItemsMax}`);
  return { type: "delivery", now, delivered, acked, failed };
}

function ackItem(v: unknown, path: string, ctx: Ctx): AckItem {
  const o = object(v, path);
  const attempt = optional(o["attempt"], (a) => intIn(a, `${path}.attempt`, 1, MAX_RETRIES_MAX + 1));
  return { subscription: subscriptionName(o["subscription"]), ...messageRef(o, path, ctx), ...(attempt !== undefined ? { attempt } : {}), ...queueHint(o, path) };
}

/** The optional queue hint of a delivery item: seq and queue, both or neither. */
function queueHint(o: Record<string, unknown>, path: string): QueueHint {
  if (o["seq"] === undefined && o["queue"] === undefined) return {};
  return { seq: nonNegativeInt(o["seq"], `${path}.seq`), queue: intIn(o["queue"], `${path}.queue`, 0, 3) };
}

function failItem(v: unknown, path: string, ctx: Ctx): FailItem {
  const o = object(v, path);
  const attempt = optional(o["attempt"], (a) => intIn(a, `${path}.attempt`, 1, MAX_RETRIES_MAX + 1));
  const reason = o["reason"] === undefined ? "failed" : string(o["reason"], `${path}.reason`, REASON_CHARS_MAX);
  return { subscription: subscriptionName(o["subscription"]), ...messageRef(o, path, ctx), reason, ...(attempt !== undefined ? { attempt } : {}) };
}

function deliverItem(v: unknown, path: string, ctx: Ctx): DeliverItem {
  const o = object(v, path);
  return {
    subscription: subscriptionName(o["subscription"]),
    ...messageRef(o, path, ctx),
    attempt: intIn(o["attempt"], `${path}.attempt`, 1, MAX_RETRIES_MAX + 1),
    consumerId: idString(o["consumerId"], `${path}.consumerId`),
    ...queueHint(o, path),
  };
}

function messageRef(o: Record<string, unknown>, path: string, ctx: Ctx): { topic: string; offset: number } {
  return { topic: topic(o["topic"], { ...ctx, allowSystem: true }), offset: nonNegativeInt(o["offset"], `${path}.offset`) };
}

function items<T>(value: unknown, path: string, ctx: Ctx, one: (v: unknown, path: string, ctx: Ctx) => T): T[] {
  const raw = array(value, path);
  if (raw.length > ctx.limits.batchItemsMax) throw invalid(`the command carries ${raw.length} ${path} items; the limit is ${ctx.limits.batchItemsMax}`);
  return raw.map((v, i) => one(v, `${path}[${i}]`, ctx));
}

function optionalIds(value: unknown): number[] | undefined {
  if (value === undefined) return undefined;
  const raw = array(value, "ids");
  if (raw.length === 0 || raw.length > DLQ_IDS_MAX) throw invalid(`ids must hold 1..${DLQ_IDS_MAX} entries`);
  return raw.map((v, i) => nonNegativeInt(v, `ids[${i}]`));
}

function retention(value: unknown): Retention {
  const problem = retentionProblem(value);
  if (problem !== undefined) throw invalid(`retention: ${problem}`);
  const r = value as Record<string, number | undefined>;
  return {
    ...(r["maxMessages"] !== undefined ? { maxMessages: r["maxMessages"] } : {}),
    ...(r["maxAgeMs"] !== undefined ? { maxAgeMs: r["maxAgeMs"] } : {}),
    ...(r["maxBytes"] !== undefined ? { maxBytes: r["maxBytes"] } : {}),
  };
}

function backoff(value: unknown): Backoff {
  const problem = backoffProblem(value);
  if (problem !== undefined) throw invalid(`backoff: ${problem}`);
  const b = value as Backoff;
  return { initialMs: b.initialMs, maxMs: b.maxMs, multiplier: b.multiplier };
}

function topic(value: unknown, ctx: Ctx): string {
  if (typeof value !== "string") throw bad("topic must be a string");
  validateTopicName(value, { allowSystem: ctx.allowSystem });
  return value;
}

/** Checks a subscription name: 1..200 of A-Z a-z 0-9 _ . - */
export function subscriptionName(value: unknown): string {
  if (typeof value !== "string") throw bad("subscription name must be a string");
  if (value.length === 0 || value.length > SUBSCRIPTION_NAME_CHARS_MAX || !SUBSCRIPTION_NAME_RE.test(value)) {
    throw invalid(`subscription name must be 1..${SUBSCRIPTION_NAME_CHARS_MAX} characters of A-Z a-z 0-9 _ . -`);
  }
  return value;
}

function patternSource(value: unknown): string {
  if (typeof value !== "string") throw bad("pattern must be a string");
  compilePattern(value);
  return value;
}

function filterSource(value: unknown): string {
  if (typeof value !== "string") throw bad("filter must be a string");
  if (value.length > FILTER_CHARS_MAX) throw new RaftbusError("INVALID_FILTER", `filter is ${value.length} characters; the limit is ${FILTER_CHARS_MAX}`, { details: { position: FILTER_CHARS_MAX } });
  compileFilter(value);
  return value;
}

function priority(value: unknown): Priority {
  if (!isPriority(value)) throw invalid(`priority must be one of ${PRIORITIES.join(", ")}`);
  return value;
}

function guarantee(value: unknown): Guarantee {
  if (!isGuarantee(value)) throw invalid(`guarantee must be one of ${GUARANTEES.join(", ")}`);
  return value;
}

function idString(value: unknown, path: string): string {
  const s = string(value, path, ID_CHARS_MAX);
  if (s.length === 0) throw invalid(`${path} must not be empty`);
  return s;
}

function string(value: unknown, path: string, maxChars: number): string {
  if (typeof value !== "string") throw bad(`${path} must be a string`);
  if (value.length > maxChars) throw invalid(`${path} is ${value.length} characters; the limit is ${maxChars}`);
  return value;
}

function bool(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") throw bad(`${path} must be a boolean`);
  return value;
}

function nonNegativeInt(value: unknown, path: string): number {
  if (typeof value !== "number") throw bad(`${path} must be a number`);
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${path} must be a non-negative integer, got ${value}`);
  return value;
}

function intIn(value: unknown, path: string, min: number, max: number): number {
  const n = nonNegativeInt(value, path);
  if (n < min || n > max) throw invalid(`${path} must be in ${min}..${max}, got ${n}`);
  return n;
}

function duration(value: unknown, path: string): number {
  if (typeof value !== "number") throw bad(`${path} must be a number`);
  if (!isDuration(value)) throw invalid(`${path} must be a whole number of milliseconds up to one year`);
  return value;
}

function positiveDuration(value: unknown, path: string): number {
  const d = duration(value, path);
  if (d === 0) throw invalid(`${path} must be positive`);
  return d;
}

function optional<T>(value: unknown, parse: (v: unknown) => T): T | undefined {
  return value === undefined || value === null ? undefined : parse(value);
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw bad(`${path} must be an object`);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw bad(`${path} must be a plain object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw bad(`${path} must be an array`);
  return value;
}

function bad(message: string): RaftbusError {
  return new RaftbusError("BAD_REQUEST", message);
}

function invalid(message: string): RaftbusError {
  return new RaftbusError("INVALID_ARGUMENT", message);
}
