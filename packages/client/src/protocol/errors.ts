/**
 * Stable error codes shared by server and SDK (STYLE.md practice 4). A code
 * never changes meaning once published; the README lists them all.
 */
import type { Wire } from "./schemas/wire.ts";
import type { ErrorInfo as ErrorInfoSchema } from "./schemas/messages.ts";

/** Every expected failure raftbus reports, by stable code. */
export const ERROR_CODES = [
  "NOT_LEADER",          // write/subscribe sent to a follower; `leaderHint` says where to go
  "NO_LEADER",           // no leader known right now (election in progress); retry
  "NOT_MEMBER",          // this node is not a member of the cluster (removed); use another server (`leaderHint` when known)
  "PROPOSAL_DROPPED",    // the log entry was lost to a leader change; safe to retry idempotently
  "TIMEOUT",             // no answer within the deadline; outcome unknown
  "TOPIC_NOT_FOUND",
  "TOPIC_EXISTS",
  "SUBSCRIPTION_NOT_FOUND",
  "USER_NOT_FOUND",      // user remove/rotate/grant of a user the cluster does not know
  "USER_EXISTS",         // user add of a name already taken
  "INVALID_TOPIC",       // bad topic name syntax or reserved prefix
  "INVALID_PATTERN",     // bad subscription pattern (incl. unsafe regex)
  "INVALID_FILTER",      // bad filter expression; `details.position` says where
  "INVALID_ARGUMENT",    // a field out of range or of the wrong type
  "PAYLOAD_TOO_LARGE",
  "HEADERS_TOO_LARGE",
  "RATE_LIMITED",
  "BACKPRESSURE",        // server queues full; slow down and retry
  "LIMIT_EXCEEDED",      // a configured count or size limit; `details.limit` names it, `details.max` is its value
  "IDLE_TIMEOUT",        // the connection sent nothing (not even a pong) for the node's idleTimeoutMs
  "UNAUTHORIZED",        // no token, or one the node does not accept (hello refused)
  "FORBIDDEN",           // the user lacks the permission; `details.permission` names it
  "BAD_REQUEST",         // malformed frame or unknown request type
  "UNSUPPORTED_VERSION",
  "MESSAGE_NOT_FOUND",
  "CONNECTION_CLOSED",
  "SHUTTING_DOWN",
  "STORAGE_CORRUPT",
  "INTERNAL",
  "RESPONDER_ERROR",     // request/reply: the responder's handler failed; `message` is its message
  "FEATURE_NOT_ENABLED", // the cluster version does not include this yet: finish the upgrade (cluster finalize-upgrade)
  "VERSION_MISMATCH",    // a node's build does not implement the cluster version asked for (finalize, join)
  "STORAGE_FULL",        // the leader's disk is below its free-space floor: publishes are refused until space returns
  "BACKUP_INVALID",      // a backup file is damaged, truncated or not a backup (verify, restore)
  "BACKUP_NOT_FOUND",    // backup.read/close of a backup this node does not hold open (finished, idle too long, connection moved)
  "MEMBER_EXISTS",       // cluster add-node: the id is already a member (remove it first to give it a new address)
  "SIGNATURE_REQUIRED",  // publish to a topic a signing key guards, without a signature (`details.topic`)
  "SIGNATURE_INVALID",   // the signature does not verify under a key that guards the topic (altered, wrong key, no id)
  "KEY_EXISTS",          // key add: a signing key of that name exists
  "KEY_NOT_FOUND",       // key remove: no signing key of that name
  "DECRYPTION_FAILED",   // (SDK) an encrypted payload did not decrypt with the key given: wrong key, or altered
] as const;

/** One of the stable error codes. */
export type ErrorCode = (typeof ERROR_CODES)[number];

const codeSet: ReadonlySet<string> = new Set(ERROR_CODES);

/** True when `value` is a known error code (for validating what comes off the wire). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && codeSet.has(value);
}

/**
 * An error code as it may arrive from a peer: one of {@link ERROR_CODES}, or
 * a code a newer peer added. Receivers carry unknown codes (and treat them
 * as final failures) instead of failing to decode.
 */
export type AnyErrorCode = ErrorCode | (string & {});

/** The error shape that travels in responses and pushes (schemas/messages.ts). */
export type ErrorInfo = Wire<typeof ErrorInfoSchema>;

/** An expected failure with a stable `code`. Bugs are thrown as other errors. */
export class RaftbusError extends Error {
  override readonly name = "RaftbusError";
  /** One of {@link ERROR_CODES}, or a code from a newer server that this SDK does not know (see {@link RaftbusError.known}). */
  readonly code: AnyErrorCode;
  readonly leaderHint?: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;

  constructor(code: AnyErrorCode, message: string, extra: { leaderHint?: string; details?: Record<string, string | number | boolean>; cause?: unknown } = {}) {
    super(message, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.code = code;
    if (extra.leaderHint !== undefined) this.leaderHint = extra.leaderHint;
    if (extra.details !== undefined) this.details = extra.details;
  }

  /** False for a code this SDK does not know (a newer server's): handle it as a final failure. */
  get known(): boolean {
    return isErrorCode(this.code);
  }

  /** The wire form of this error. */
  toInfo(): ErrorInfo {
    return {
      code: this.code,
      message: this.message,
      ...(this.leaderHint !== undefined ? { leaderHint: this.leaderHint } : {}),
      ...(this.details !== undefined ? { details: this.details } : {}),
    };
  }

  /** True when this error's code is one of `codes` (or any code when none are given). */
  is(...codes: ErrorCode[]): boolean {
    return codes.length === 0 || (codes as readonly string[]).includes(this.code);
  }

  /** Rebuild from the wire form. */
  static fromInfo(info: ErrorInfo): RaftbusError {
    return new RaftbusError(info.code, info.message, {
      ...(info.leaderHint !== undefined ? { leaderHint: info.leaderHint } : {}),
      ...(info.details !== undefined ? { details: { ...info.details } } : {}),
    });
  }
}

/** True when `err` is a RaftbusError, with one of `codes` when given. */
export function isRaftbusError(err: unknown, ...codes: ErrorCode[]): err is RaftbusError {
  return err instanceof RaftbusError && err.is(...codes);
}
