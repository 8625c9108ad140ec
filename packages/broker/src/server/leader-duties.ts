/**
 * What only the leader does, started when it takes office and stopped when
 * it loses it: write time entries into the log (TTL, retention by age, ack
 * timeouts and backoff are decided from log time), pump deliveries to the
 * attached consumers (dispatcher → deliver command → push after commit),
 * and expire ephemeral subscriptions whose session is gone.
 */
import type { Delivery } from "@raftbus/client/protocol";
import type { Logger, RaftNode } from "@raftbus/raft";
import type { BrokerStateMachine } from "../broker-state-machine.ts";
import type { DeliveryBatch } from "../dispatcher/dispatcher.ts";
import { deliverCommand } from "../dispatcher/dispatcher.ts";
import type { DeliveredMessage } from "../queries/queries.ts";
import type { DeliveredItem } from "../state/results.ts";
import type { NodeConfig } from "./config.ts";
import type { NodeServer } from "./node-server.ts";
import { proposeCommand } from "./proposer.ts";

/** Dispatch rounds one pump call may run before yielding to other work. */
const PUMP_ROUNDS_MAX = 16;
/** How often the pump runs without a trigger (retries that became due). */
const PUMP_INTERVAL_MS = 100;
/** How often ephemeral subscriptions are checked for a live session. */
const EXPIRY_INTERVAL_MS = 1000;

/** Parts the duties need. */
export interface LeaderDutiesParts {
  readonly config: NodeConfig;
  readonly raft: RaftNode<unknown>;
  readonly broker: BrokerStateMachine;
  readonly server: NodeServer;
  /** The `duties` component logger. */
  readonly logger: Logger;
}

/** The leader's periodic work; see the module comment. */
export class LeaderDuties {
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private stopped = false;
  private ticking = false;
  private pumping = false;
  private pumpAgain = false;
  /** Ephemeral subscription's session id → when it was first seen without a live session. */
  private readonly orphanSince = new Map<string, number>();

  constructor(private readonly p: LeaderDutiesParts) {}

  start(): void {
    this.p.broker.dispatcher.reset();
    this.p.server.setPumpTrigger(() => this.pump());
    const every = (ms: number, f: () => void) => {
      const t = setInterval(f, ms);
      t.unref?.();
      this.timers.push(t);
    };
    every(this.p.config.timeTickMs, () => void this.proposeTick());
    every(PUMP_INTERVAL_MS, () => this.pump());
    every(EXPIRY_INTERVAL_MS, () => void this.expireSessions());
    void this.proposeTick();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.p.server.setPumpTrigger(undefined);
    this.p.broker.dispatcher.reset();
  }

  private async proposeTick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      await proposeCommand(this.p.raft, this.p.broker.checkProposal({ type: "tick", now: Date.now() }) as { type: "tick"; now: number });
    } catch {
      // Not leader any more, or the entry was dropped: the next tick retries.
    } finally {
      this.ticking = false;
    }
  }

  /** Deliver what the dispatcher plans for consumers with credit, until nothing more can go. */
  pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.runPump().finally(() => {
      this.pumping = false;
      if (this.pumpAgain && !this.stopped) {
        this.pumpAgain = false;
        this.pump();
      }
    });
  }

  private async runPump(): Promise<void> {
    for (let round = 0; round < PUMP_ROUNDS_MAX && !this.stopped; round++) {
      const consumers = [...this.p.server.consumers.all()]
        .filter((c) => c.credit > 0 && c.session.canPush())
        .map((c) => ({ subscription: c.subscription, consumerId: c.id, credit: c.credit }));
      if (consumers.length === 0) return;
      const now = Date.now();
      let batches: DeliveryBatch[];
      try {
        batches = await this.p.broker.dispatcher.nextDeliveries({ now, consumers });
      } catch (err) {
        this.p.logger.warn({ err: String(err) }, "dispatcher failed");
        return;
      }
      if (batches.length === 0) return;
      await this.deliver(batches, now);
    }
  }

  /**
   * Record one round's deliveries in the log (one entry for every
   * subscription), then push exactly the deliveries the log accepted.
   */
  private async deliver(batches: readonly DeliveryBatch[], now: number): Promise<void> {
    const consumers = this.p.server.consumers;
    const items = batches.flatMap((b) => b.items);
    for (const it of items) {
      const c = consumers.get(it.consumerId);
      if (c) c.credit--;
    }
    let delivered: readonly DeliveredItem[] = [];
    try {
      delivered = (await proposeCommand(this.p.raft, deliverCommand(batches, now))).delivered;
    } catch {
      this.p.broker.dispatcher.release([...batches]);
    }
    // Credit for what was not handed out goes back to its consumer.
    const handed = new Set(delivered.map((d) => refKey(d.consumerId, d.topic, d.offset)));
    for (const it of items) {
      if (handed.has(refKey(it.consumerId, it.topic, it.offset))) continue;
      const c = consumers.get(it.consumerId);
      if (c) c.credit++;
    }
    const bySubscription = new Map<string, DeliveredItem[]>();
    for (const d of delivered) pushTo(bySubscription, d.subscription, d);
    const byConsumer = new Map<string, Delivery[]>();
    for (const [subscription, list] of bySubscription) {
      const messages = await this.p.broker.readDeliveries(subscription, list);
      list.forEach((d, i) => {
        const m = messages[i];
        if (m === undefined) return; // removed meanwhile (retention, TTL): nothing to hand out
        pushTo(byConsumer, d.consumerId, toDelivery(m));
      });
    }
    const pushedAt = Date.now();
    for (const [consumerId, list] of byConsumer) {
      // A consumer that left meanwhile: the deliveries time out and go to another (at-least-once).
      const c = consumers.get(consumerId);
      if (c === undefined) continue;
      c.session.send({ t: "deliver", subscriptionId: consumerId, messages: list });
      for (const m of list) this.p.server.metrics.deliveryPushed(m.topic, m.index, m.attempt, pushedAt);
    }
  }

  /** Ephemeral subscriptions die with their session, after the session timeout (SPEC §5). */
  private async expireSessions(): Promise<void> {
    if (this.stopped) return;
    const live = new Set([...this.p.server.sessions].map((s) => s.id));
    const now = Date.now();
    const seen = new Set<string>();
    try {
      for (const s of await this.p.broker.listSubscriptions()) {
        if (!s.ephemeral) continue;
        const info = await this.p.broker.subscriptionInfo(s.name);
        const sid = info.sessionId;
        if (sid === undefined || live.has(sid)) continue;
        seen.add(sid);
        const since = this.orphanSince.get(sid) ?? now;
        this.orphanSince.set(sid, since);
        if (now - since >= this.p.config.sessionTimeoutMs) {
          await proposeCommand(this.p.raft, this.p.broker.checkProposal({ type: "expireSession", now, sessionId: sid }) as { type: "expireSession"; now: number; sessionId: string });
          this.p.server.sys.subscription("expired", s.name, { ephemeral: true });
          this.orphanSince.delete(sid);
        }
      }
    } catch (err) {
      this.p.logger.warn({ err: String(err) }, "session expiry round failed");
    }
    for (const sid of [...this.orphanSince.keys()]) if (!seen.has(sid)) this.orphanSince.delete(sid);
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

function refKey(consumerId: string, topic: string, offset: number): string {
  return `${consumerId}\u0000${topic}\u0000${offset}`;
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
