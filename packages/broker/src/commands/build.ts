/**
 * Leader-side helpers that turn client requests into commands ready to
 * propose: ids and timestamps are stamped HERE (where randomness and the
 * clock are allowed), defaults come from the config, and the result is
 * validated against the configured limits, so an invalid request fails with
 * a stable code and never reaches the log.
 */
import { randomUUID } from "node:crypto";
import type { Guarantee, PublishMessage } from "@raftbus/client/protocol";
import type { Backoff, BrokerConfig, Retention } from "../config.ts";
import type { Command, PublishCommand, StartPosition, SubscriptionSpec } from "./types.ts";
import { validateCommand } from "./validate.ts";

/** A fresh message id (random UUID): only ever called on the leader, never in apply(). */
export function generateMessageId(): string {
  return randomUUID();
}

/** What {@link buildPublish} needs. */
export interface BuildPublishInput {
  readonly now: number;
  /** Authenticated identity of the publishing client (or the node for system events). */
  readonly senderId: string;
  readonly messages: readonly PublishMessage[];
  /** Allow `$sys.` topics: only for the cluster's own events. */
  readonly system?: boolean;
  /** Retention of topics this publish auto-creates; default the config's (system events use their own, bounded). */
  readonly defaultRetention?: Retention;
  /** Id source for messages without one; defaults to random UUIDs. */
  readonly newId?: () => string;
}

/** Stamps and validates a publish batch. Throws RaftbusError with a stable code. */
export function buildPublish(config: BrokerConfig, input: BuildPublishInput): PublishCommand {
  const newId = input.newId ?? generateMessageId;
  const raw = {
    type: "publish",
    now: input.now,
    autoCreate: !config.strictTopics,
    defaultRetention: input.defaultRetention ?? config.defaultRetention,
    dedupWindowMs: config.dedupWindowMs,
    messages: input.messages.map((m) => ({
      ...m,
      id: m.id ?? newId(),
      idGenerated: m.id === undefined,
      timestamp: input.now,
      senderId: input.senderId,
      priority: m.priority ?? "medium",
      guarantee: m.guarantee ?? "at-least-once",
      headers: m.headers ?? {},
    })),
  };
  return validateCommand(raw, { limits: config.limits, allowSystem: input.system === true }) as PublishCommand;
}

/** A subscription request: only name and pattern are required. */
export interface SubscriptionRequest {
  readonly name: string;
  readonly pattern: string;
  readonly filter?: string;
  readonly guarantee?: Guarantee;
  readonly start?: StartPosition;
  readonly maxInFlight?: number;
  readonly ackTimeoutMs?: number;
  readonly maxRetries?: number;
  readonly backoff?: Partial<Backoff>;
  readonly ephemeral?: boolean;
  readonly sessionId?: string;
  /** Who creates it (durable subscriptions per owner are limited in apply). */
  readonly owner?: string;
}

/**
 * Fills a subscription request with the configured defaults. Durable
 * subscriptions start at `earliest` by default, ephemeral ones at `latest`.
 */
export function subscriptionDefaults(config: BrokerConfig, req: SubscriptionRequest): SubscriptionSpec {
  const d = config.subscriptionDefaults;
  const ephemeral = req.ephemeral ?? false;
  return {
    name: req.name,
    pattern: req.pattern,
    ...(req.filter !== undefined ? { filter: req.filter } : {}),
    guarantee: req.guarantee ?? "at-least-once",
    start: req.start ?? (ephemeral ? "latest" : "earliest"),
    maxInFlight: req.maxInFlight ?? d.maxInFlight,
    ackTimeoutMs: req.ackTimeoutMs ?? d.ackTimeoutMs,
    maxRetries: req.maxRetries ?? d.maxRetries,
    backoff: { ...d.backoff, ...req.backoff },
    ephemeral,
    ...(req.sessionId !== undefined ? { sessionId: req.sessionId } : {}),
    ...(req.owner !== undefined ? { owner: req.owner } : {}),
  };
}

/** Validates any command against the configured limits before it is proposed. */
export function checkProposal(config: BrokerConfig, command: unknown, opts: { system?: boolean } = {}): Command {
  return validateCommand(command, { limits: config.limits, allowSystem: opts.system === true });
}
