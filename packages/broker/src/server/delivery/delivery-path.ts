/**
 * The delivery path of one node, as the request handlers see it: consumers
 * attach and detach, give credit, ack and fail. On the leader (after
 * {@link DeliveryPath.lead}) a pump pushes messages against credit and a
 * recorder group-commits what happened; elsewhere acks and fails are
 * refused with NOT_LEADER (handlers check leadership first).
 *
 * One direction per message: publish → commit → apply → push → handler →
 * ack (with the credit it frees, in one frame) → one group-committed entry.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type { Delivery, MessageRef } from "@raftbus/client/protocol";
import type { BrokerStateMachine } from "../../broker-state-machine.ts";
import type { DeliveryCommand } from "../../commands/types.ts";
import type { FailOutcome, ResultOf } from "../../state/results.ts";
import { ConsumerRegistry } from "../consumers.ts";
import type { Consumer } from "../consumers.ts";
import type { ClientSession } from "../session.ts";
import { DeliveryPump } from "./pump.ts";
import type { PumpLogger } from "./pump.ts";
import { DeliveryRecorder } from "./recorder.ts";

/** What handlers may do with consumers and deliveries (the narrow interface they get). */
export interface DeliveryPort {
  /** Attach `session` as a consumer of `subscription` with `credit` deliveries allowed now. */
  attach(session: ClientSession, subscription: string, durable: boolean, maxInFlight: number, credit: number): Consumer;
  /** The consumer `subscriptionId` of `session`, or SUBSCRIPTION_NOT_FOUND. */
  consumerOf(session: ClientSession, subscriptionId: string): Consumer;
  /** Detach a consumer; returns how many consumers of its subscription remain on this node. */
  detach(consumer: Consumer): number;
  /** Consumers `session` holds. */
  countForSession(session: ClientSession): number;
  /**
   * Takes one of `session`'s subscription slots for a subscribe in progress
   * (synchronously: concurrent subscribes cannot all pass); returns its
   * release, or undefined when the session already holds `max`.
   */
  reserve(session: ClientSession, max: number): (() => void) | undefined;
  /** Grant credit (capped at the consumer's maxInFlight); returns the credit now held. */
  credit(consumer: Consumer, credit: number): number;
  /** Ack (and grant `credit` at once); resolves once committed with, per ref, whether it newly settled. */
  ack(consumer: Consumer, refs: readonly MessageRef[], credit: number): Promise<boolean[]>;
  /** Fail (and grant `credit` at once); resolves with the outcomes once committed. */
  fail(consumer: Consumer, refs: readonly (MessageRef & { readonly reason: string })[], credit: number): Promise<FailOutcome[]>;
}

/** What the delivery path needs. */
export interface DeliveryPathParts {
  readonly broker: BrokerStateMachine;
  /** Propose a delivery command (validated here) and resolve with its applied result. */
  readonly propose: (command: DeliveryCommand) => Promise<ResultOf<"delivery">>;
  readonly logger: PumpLogger;
  readonly now?: () => number;
  /** Told about every push (metrics). */
  readonly onPushed?: (deliveries: readonly Delivery[], at: number) => void;
}

/** Acks and deliveries waiting to be recorded at most (beyond it acks get BACKPRESSURE). */
const WAITING_ITEMS_MAX = 100_000;
/** Delivery entries on their way into the log at once. */
const ENTRIES_IN_FLIGHT_MAX = 2;

interface Leading {
  readonly pump: DeliveryPump;
  readonly recorder: DeliveryRecorder;
}

/** Consumers of this node and, while it leads, the pump and the recorder. */
export class DeliveryPath implements DeliveryPort {
  readonly consumers = new ConsumerRegistry();
  private leading: Leading | undefined;
  private readonly now: () => number;

  constructor(private readonly p: DeliveryPathParts) {
    this.now = p.now ?? Date.now;
    p.broker.onApplied(() => this.trigger());
  }

  /** This node leads and has applied its own term's first entry: start pushing. */
  lead(): void {
    if (this.leading !== undefined) return;
    const { broker } = this.p;
    broker.dispatcher.reset();
    const recorder = new DeliveryRecorder({
      propose: this.p.propose,
      itemsPerEntryMax: broker.config.limits.batchItemsMax,
      itemsWaitingMax: WAITING_ITEMS_MAX,
      entriesInFlightMax: ENTRIES_IN_FLIGHT_MAX,
      now: this.now,
      onUnrecorded: (items) => broker.dispatcher.settle(items),
    });
    const pump = new DeliveryPump({
      source: broker, consumers: this.consumers, recorder, logger: this.p.logger, now: this.now,
      release: (items) => broker.dispatcher.settle(items),
      onPushed: this.p.onPushed ?? (() => undefined),
    });
    this.leading = { pump, recorder };
    pump.sweep(); // retries that came due under the last leader, too
  }

  /** Leadership lost: stop pushing; waiting acks fail with `reason` (the SDK retries them at the new leader). */
  unlead(reason: Error = new RaftbusError("NOT_LEADER", "this node no longer leads")): void {
    const l = this.leading;
    this.leading = undefined;
    l?.pump.stop();
    l?.recorder.stop(reason);
    this.p.broker.dispatcher.reset();
  }

  /** Run the pump for first deliveries (after an apply, credit, a new consumer). */
  trigger(): void {
    this.leading?.pump.trigger();
  }

  /** Run the pump over every subscription with work, retries that came due included (the leader's periodic nudge). */
  sweep(): void {
    this.leading?.pump.sweep();
  }

  attach(session: ClientSession, subscription: string, durable: boolean, maxInFlight: number, credit: number): Consumer {
    const c = this.consumers.attach(session, subscription, durable, maxInFlight, credit);
    this.trigger();
    return c;
  }

  consumerOf(session: ClientSession, subscriptionId: string): Consumer {
    const c = this.consumers.get(subscriptionId);
    if (c === undefined || c.session !== session) {
      throw new RaftbusError("SUBSCRIPTION_NOT_FOUND", `no subscription ${subscriptionId} on this connection (re-subscribe after a reconnect or leader change)`);
    }
    return c;
  }

  detach(consumer: Consumer): number {
    this.consumers.detach(consumer.id);
    return this.consumers.membersOf(consumer.subscription);
  }

  countForSession(session: ClientSession): number {
    return this.consumers.countForSession(session);
  }

  reserve(session: ClientSession, max: number): (() => void) | undefined {
    return this.consumers.reserve(session, max);
  }

  credit(consumer: Consumer, credit: number): number {
    consumer.credit = Math.min(consumer.credit + credit, consumer.maxInFlight);
    this.trigger();
    return consumer.credit;
  }

  async ack(consumer: Consumer, refs: readonly MessageRef[], credit: number): Promise<boolean[]> {
    const recorder = this.recorder();
    if (credit > 0) this.credit(consumer, credit);
    if (refs.length === 0) return [];
    const items = this.checked({ acked: refs.map((r) => ({ subscription: consumer.subscription, topic: r.topic, offset: r.offset })) }).acked;
    this.p.broker.dispatcher.reserve(items, this.now());
    return recorder.ack(items);
  }

  async fail(consumer: Consumer, refs: readonly (MessageRef & { readonly reason: string })[], credit: number): Promise<FailOutcome[]> {
    const recorder = this.recorder();
    if (credit > 0) this.credit(consumer, credit);
    if (refs.length === 0) return [];
    const items = this.checked({ failed: refs.map((r) => ({ subscription: consumer.subscription, topic: r.topic, offset: r.offset, reason: r.reason })) }).failed;
    this.p.broker.dispatcher.reserve(items, this.now());
    return recorder.fail(items);
  }

  /** Metrics: deliveries and acks waiting to be recorded. */
  get waiting(): number {
    return this.leading?.recorder.waiting ?? 0;
  }

  private recorder(): DeliveryRecorder {
    if (this.leading === undefined) throw new RaftbusError("NOT_LEADER", "this node does not lead (or has not caught up yet); retry at the leader");
    return this.leading.recorder;
  }

  /** Validates one request's items on their own, so a bad ref fails its request, not the shared entry. */
  private checked(part: Partial<Pick<DeliveryCommand, "acked" | "failed">>): DeliveryCommand {
    return this.p.broker.checkProposal({ type: "delivery", now: this.now(), delivered: [], acked: [], failed: [], ...part }) as DeliveryCommand;
  }
}
