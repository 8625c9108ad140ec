/**
 * The leader's delivery pump: hands committed messages to consumers with
 * credit, in the same turn as the apply that made them deliverable (it runs
 * when an apply finishes, when credit arrives and when a consumer attaches),
 * without waiting for the log between rounds:
 *
 *   plan (dispatcher, with the messages read in the same step)
 *     ├─ at-least-once / exactly-once → push now, record later (recorder.pushed)
 *     └─ at-most-once                 → record first (recorder.recordFirst), push what the log accepted
 *
 * A consumer gets its messages in plan order (priority order): when its
 * share of a round holds an at-most-once message, or an earlier share of it
 * still waits for its record, the whole share is recorded first and pushed
 * after (recording before pushing is safe for every guarantee).
 *
 * Rounds are pipelined: a round's records are still on their way into the
 * log while the next round plans (the dispatcher's reservations keep the
 * rounds apart). Credit is spent when a delivery is planned and given back
 * for what is not handed out.
 *
 * Which subscriptions a round visits: after an apply, credit or an attach,
 * those with pending references (first deliveries); on the leader's
 * periodic sweep (every 100 ms), also those with deliveries waiting for a
 * retry (one may have come due). Never those only waiting for acks: with
 * 10,000 of them, walking them in the rounds after every apply and ack was
 * a quarter of the leader's busiest seconds (scale-10k-wildcard profile).
 */
import type { Delivery } from "@raftbus/client/protocol";
import type { PlannedMessage } from "../../broker-state-machine.ts";
import type { DeliverItem } from "../../commands/types.ts";
import { deliverItemOf } from "../../dispatcher/dispatcher.ts";
import type { ConsumerCredit, DispatchRequest } from "../../dispatcher/dispatcher.ts";
import type { DeliveredMessage } from "../../queries/queries.ts";
import type { ConsumerRegistry } from "../consumers.ts";
import type { DeliveryRecorder } from "./recorder.ts";

/** Planning rounds per pump run before it yields to other work (a run continues on the next turn). */
const ROUNDS_PER_RUN_MAX = 8;
/** Deliveries planned per round across subscriptions. */
const DELIVERIES_PER_ROUND_MAX = 1000;

/** What the pump needs from the broker. */
export interface PumpSource {
  nextDeliveries(req: DispatchRequest): Promise<PlannedMessage[][]>;
  /**
   * Names of the subscriptions holding pending references (first deliveries
   * to make): the others have nothing new, so a round asks about these only
   * (a round runs after every apply; walking every consumer made it cost as
   * much as the number of subscriptions, and subscribing quadratic).
   */
  subscriptionsWithPending(): Iterable<string>;
  /** Those, and the subscriptions with deliveries waiting for a retry, each once (the sweep). */
  subscriptionsToSweep(): Iterable<string>;
}

/** Where the pump reports trouble. */
export interface PumpLogger {
  warn(obj: object, msg?: string): void;
}

/** Everything the pump works with. */
export interface PumpParts {
  readonly source: PumpSource;
  readonly consumers: ConsumerRegistry;
  readonly recorder: DeliveryRecorder;
  /** Plans that were not handed out (their dispatcher reservations end). */
  readonly release: (items: readonly DeliverItem[]) => void;
  readonly logger: PumpLogger;
  readonly now: () => number;
  /** Told about every push (metrics). */
  readonly onPushed: (deliveries: readonly Delivery[], at: number) => void;
}

/** Drives deliveries on the leader; see the module comment. */
export class DeliveryPump {
  private running = false;
  private again = false;
  /** The next run also visits subscriptions whose only work may be a due retry (see the module comment). */
  private sweepNext = false;
  private stopped = false;
  /** Consumers with shares waiting for their record: later shares queue behind them (order). */
  private readonly awaitingRecord = new Map<string, number>();
  private readonly source: PumpSource;
  private readonly consumers: ConsumerRegistry;
  private readonly recorder: DeliveryRecorder;

  constructor(private readonly p: PumpParts) {
    this.source = p.source;
    this.consumers = p.consumers;
    this.recorder = p.recorder;
  }

  /** Run soon (coalesced: many triggers while a run is going cause one more run). */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    queueMicrotask(() => void this.run());
  }

  /** Run soon, visiting every subscription with work, retries included (the leader's periodic sweep). */
  sweep(): void {
    this.sweepNext = true;
    this.trigger();
  }

  /** Stop for good (leadership lost). */
  stop(): void {
    this.stopped = true;
  }

  private async run(): Promise<void> {
    let more = false;
    const sweep = this.sweepNext;
    this.sweepNext = false;
    try {
      for (let round = 0; round < ROUNDS_PER_RUN_MAX && !this.stopped; round++) {
        this.again = false;
        if (!(await this.round(sweep))) break;
        more = round === ROUNDS_PER_RUN_MAX - 1;
      }
    } catch (err) {
      this.p.logger.warn({ err: String(err) }, "delivery round failed");
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (more) setImmediate(() => (sweep ? this.sweep() : this.trigger())); // yield to I/O, then carry on
    else if (this.again) this.trigger();
  }

  /** One planning round; false when nothing was planned. */
  private async round(sweep: boolean): Promise<boolean> {
    const credits: ConsumerCredit[] = [];
    for (const name of sweep ? this.source.subscriptionsToSweep() : this.source.subscriptionsWithPending()) {
      for (const c of this.consumers.of(name)) {
        if (c.credit > 0 && c.session.canPush()) credits.push({ subscription: c.subscription, consumerId: c.id, credit: c.credit });
      }
    }
    if (credits.length === 0) return false;
    const planned = await this.source.nextDeliveries({ now: this.p.now(), consumers: credits, maxDeliveries: DELIVERIES_PER_ROUND_MAX });
    if (planned.length === 0) return false;
    const shares = new Map<string, PlannedMessage[]>();
    const unhanded: DeliverItem[] = [];
    for (const batch of planned) {
      for (const p of batch) {
        const consumer = this.consumers.get(p.item.consumerId);
        if (consumer === undefined || p.message === undefined) {
          // Gone meanwhile (consumer left, message removed): not handed out, not recorded.
          unhanded.push(p.item);
          continue;
        }
        consumer.credit -= 1;
        push(shares, consumer.id, p);
      }
    }
    if (unhanded.length > 0) this.p.release(unhanded);
    const pushed: DeliverItem[] = [];
    for (const [consumerId, share] of shares) {
      if ((this.awaitingRecord.get(consumerId) ?? 0) > 0 || share.some((p) => p.message?.deliveryGuarantee === "at-most-once")) {
        void this.recordThenPush(consumerId, share);
        continue;
      }
      this.send(consumerId, share.map((p) => toDelivery(p.message as DeliveredMessage)));
      for (const p of share) pushed.push(deliverItemOf(p.item));
    }
    if (pushed.length > 0) this.recorder.pushed(pushed);
    return true;
  }

  /** The record commits first; then exactly the accepted deliveries go out, in plan order. */
  private async recordThenPush(consumerId: string, planned: readonly PlannedMessage[]): Promise<void> {
    this.awaitingRecord.set(consumerId, (this.awaitingRecord.get(consumerId) ?? 0) + 1);
    let accepted = new Set<string>();
    try {
      const r = await this.recorder.recordFirst(planned.map((p) => deliverItemOf(p.item)));
      accepted = new Set(r.delivered.map((d) => `${d.consumerId}\u0000${d.topic}\u0000${d.offset}`));
    } catch {
      // Not recorded (leadership lost): nothing goes out; the next leader delivers it.
    }
    const waiting = (this.awaitingRecord.get(consumerId) ?? 1) - 1;
    if (waiting > 0) this.awaitingRecord.set(consumerId, waiting);
    else this.awaitingRecord.delete(consumerId);
    const out: Delivery[] = [];
    const consumer = this.consumers.get(consumerId);
    for (const p of planned) {
      const { topic, offset } = p.item;
      if (accepted.has(`${consumerId}\u0000${topic}\u0000${offset}`)) out.push(toDelivery(p.message as DeliveredMessage));
      else if (consumer !== undefined) consumer.credit += 1; // refused: its credit goes back
    }
    if (out.length > 0) this.send(consumerId, out);
    if (accepted.size < planned.length) this.trigger();
  }

  private send(consumerId: string, messages: Delivery[]): void {
    // A consumer that left meanwhile: its deliveries time out and go to another (at-least-once).
    const c = this.consumers.get(consumerId);
    if (c === undefined) return;
    c.session.send({ t: "deliver", subscriptionId: consumerId, messages });
    this.p.onPushed(messages, this.p.now());
  }
}

/** The wire shape of one delivery: the stored message plus its attempt number. */
export function toDelivery(m: DeliveredMessage): Delivery {
  return {
    id: m.id, topic: m.topic, payload: m.payload, senderId: m.senderId, timestamp: m.timestamp,
    priority: m.priority, guarantee: m.guarantee, maxRetries: m.maxRetries, headers: m.headers,
    offset: m.offset, index: m.index, attempt: m.attempt,
    ...(m.ttlMs !== undefined ? { ttlMs: m.ttlMs } : {}),
    ...(m.correlationId !== undefined ? { correlationId: m.correlationId } : {}),
  };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
