/**
 * The replicated per-topic and per-subscription figures the Prometheus
 * endpoint reports. They are the same on every replica at the same applied
 * index (they come from the state machine), so a dashboard takes `max` of
 * them across nodes, not the sum.
 */
import type { BrokerState } from "../state/state.ts";

/** One topic's replicated figures. */
export interface TopicFigures {
  readonly name: string;
  readonly messages: number;
  readonly bytes: number;
  readonly dlqSize: number;
  readonly deadLettered: number;
  /** Messages ever published to the topic. */
  readonly published: number;
}

/** One subscription's backlog. */
export interface SubscriptionFigures {
  readonly name: string;
  /** The topic pattern it follows (to tell the cluster's own `$sys.` readers apart). */
  readonly pattern: string;
  /** Messages matched and not yet delivered (consumer lag). */
  readonly pending: number;
  /** Delivered and not yet acked, or waiting for a retry. */
  readonly outstanding: number;
}

/** What {@link metricsSnapshot} returns. */
export interface BrokerFigures {
  readonly topics: readonly TopicFigures[];
  readonly subscriptions: readonly SubscriptionFigures[];
}

/** The figures of every topic and subscription (in memory; no disk read). */
export function metricsSnapshot(state: BrokerState): BrokerFigures {
  const topics = [...state.topicsById.values()].map((t) => ({
    name: t.name, messages: t.count, bytes: t.bytes, dlqSize: t.dlqSize, deadLettered: t.deadLettered, published: t.published,
  }));
  const subscriptions = [...state.subsById.values()].map((s) => ({ name: s.name, pattern: s.spec.pattern, pending: s.pendingTotal, outstanding: s.outstanding.size }));
  return { topics, subscriptions };
}
