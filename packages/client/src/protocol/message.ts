/**
 * The message vocabulary of SPEC.md §2, shared by the broker (which stores
 * and delivers messages) and the SDK (which publishes and receives them).
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

/** What a publisher sends: the envelope before the leader stamps it. */
export interface PublishMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** Client-chosen unique id; the server generates one when absent. */
  readonly id?: string;
  readonly priority?: Priority;
  readonly guarantee?: Guarantee;
  readonly ttlMs?: number;
  readonly maxRetries?: number;
  readonly correlationId?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Idempotent producer: (producerId, sequence) is stored at most once per dedup window. */
  readonly producerId?: string;
  readonly sequence?: number;
}

/** A committed message as stored in a topic log and delivered to subscribers. */
export interface StoredMessage {
  readonly id: string;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly senderId: string;
  /** Leader's clock when the entry was proposed (ms since epoch). */
  readonly timestamp: number;
  readonly priority: Priority;
  readonly guarantee: Guarantee;
  readonly ttlMs?: number;
  readonly maxRetries: number;
  readonly correlationId?: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Per-topic offset: dense, increasing from 0. */
  readonly offset: number;
  /** Raft index of the entry that committed it. */
  readonly index: number;
}

/** What a publish resolves with once committed. */
export interface PublishAck {
  readonly topic: string;
  readonly offset: number;
  readonly index: number;
  /** True when the message id (or producer sequence) was already stored: `offset` is the original's. */
  readonly duplicate: boolean;
}
