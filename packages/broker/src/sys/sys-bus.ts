/**
 * Every node's outlet for system events. `emit()` is the only call sites
 * make; it costs one boolean check when the family is off. An accepted
 * event is signed here, on the node it is about, and queued; the queue is
 * flushed in batches (one publish command per batch on the leader, one
 * forward request from a follower), so a burst of events costs a handful of
 * log entries, not one each.
 *
 * Bounded everywhere: a token bucket per family (a flapping cluster cannot
 * flood its own log), a queue of QUEUE_MAX events, batches of BATCH_MAX; a
 * batch that cannot be delivered (no leader, partitioned follower) is
 * retried with back-off for about 23 s and then dropped. Every drop is counted
 * (`raftbus_sys_events_dropped_total{family,reason}`).
 */
import { randomUUID } from "node:crypto";
import type { Priority, PublishMessage } from "@raftbus/client/protocol";
import type { Logger } from "@raftbus/raft";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import { severityRank } from "./families.ts";
import type { FamilySettings, Severity, SysFamily, SysSettings } from "./families.ts";
import { SYS_EVENT_VERSION, SYS_KIND_HEADER, sysTopic } from "./events.ts";
import type { SysEvent } from "./events.ts";
import type { SysSigner } from "./signer.ts";

/** Most events waiting to be published. */
export const QUEUE_MAX = 1000;
/** Most events in one publish or forward. */
const BATCH_MAX = 200;
/** Events wait this long for company before a flush (batching). */
const FLUSH_DELAY_MS = 100;
/** A batch that failed is retried after this long, doubling up to RETRY_DELAY_MAX_MS… */
const RETRY_DELAY_MS = 1000;
const RETRY_DELAY_MAX_MS = 8000;
/**
 * …this many times, then dropped: about 23 s of retrying, which outlasts
 * an election or a run of leadership hand-overs (each drops in-flight
 * proposals), the moments an alert matters most.
 */
const ATTEMPTS_MAX = 6;

/** Token bucket per family: sustained events per second and burst. */
const RATES: Readonly<Record<SysFamily, { perSec: number; burst: number }>> = {
  system: { perSec: 5, burst: 20 },
  health: { perSec: 5, burst: 20 },
  metrics: { perSec: 5, burst: 20 },
  lifecycle: { perSec: 20, burst: 100 },
  alerts: { perSec: 5, burst: 30 },
  audit: { perSec: 50, burst: 200 },
  security: { perSec: 10, burst: 50 },
  diagnostics: { perSec: 2, burst: 10 },
  logging: { perSec: 2, burst: 10 },
};

/** Where batches go. */
export interface SysOutlet {
  isLeader(): boolean;
  /** This node leads: commit the messages (one publish command, sender = this node). */
  publish(messages: readonly PublishMessage[]): Promise<void>;
  /** A follower: hand the messages to the leader. */
  forward(messages: readonly PublishMessage[]): Promise<void>;
}

/** What the bus needs. */
export interface SysBusParts {
  readonly nodeId: string;
  readonly settings: () => SysSettings;
  readonly signer: SysSigner;
  readonly metrics: NodeMetrics;
  readonly outlet: SysOutlet;
  readonly log: Logger;
  readonly now?: () => number;
}

interface Queued {
  readonly family: SysFamily;
  readonly message: PublishMessage;
}

const PRIORITY: Readonly<Record<Severity, Priority>> = { info: "medium", warning: "high", critical: "critical" };

/** See the module comment. */
export class SysBus {
  private queue: Queued[] = [];
  private readonly tokens = new Map<SysFamily, { tokens: number; at: number }>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing = false;
  private attempts = 0;
  private stopped = false;
  private readonly now: () => number;
  private readonly encoder = new TextEncoder();

  constructor(private readonly p: SysBusParts) {
    this.now = p.now ?? Date.now;
  }

  /** The current settings of `family`. */
  settingsOf(family: SysFamily): FamilySettings {
    return this.p.settings()[family];
  }

  /** True when `family` is on (callers skip building costly events otherwise). */
  enabled(family: SysFamily): boolean {
    return this.p.settings()[family].enabled;
  }

  /**
   * Publish an event of `family` (on `$sys.<family>[.<sub>]`) unless the
   * family is off, below its minimum severity, or over its rate.
   */
  emit<D>(family: SysFamily, kind: string, severity: Severity, data: D, sub?: string): void {
    if (this.stopped) return;
    const s = this.p.settings()[family];
    if (!s.enabled || severityRank(severity) < severityRank(s.minSeverity)) return;
    if (!this.take(family)) return this.drop(family, "rate-limited");
    if (this.queue.length >= QUEUE_MAX) return this.drop(family, "queue-full");
    const event: SysEvent<D> = { v: SYS_EVENT_VERSION, family, kind, node: this.p.nodeId, at: this.now(), severity, data };
    const unsigned = {
      topic: sysTopic(family, sub), id: randomUUID(), senderId: this.p.nodeId,
      payload: this.encoder.encode(JSON.stringify(event)), headers: { [SYS_KIND_HEADER]: kind },
    };
    const message: PublishMessage = {
      topic: unsigned.topic, id: unsigned.id, payload: unsigned.payload, priority: PRIORITY[severity],
      headers: this.p.signer.signedHeaders(unsigned),
    };
    this.queue.push({ family, message });
    this.schedule(FLUSH_DELAY_MS);
  }

  /** Events waiting. */
  get queued(): number {
    return this.queue.length;
  }

  /** Publish what is queued now (shutdown), then stop accepting events. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
    this.stopped = true;
    clearTimeout(this.timer);
    for (const q of this.queue.splice(0)) this.drop(q.family, "shutdown");
  }

  private take(family: SysFamily): boolean {
    const rate = RATES[family];
    const now = this.now();
    const b = this.tokens.get(family) ?? { tokens: rate.burst, at: now };
    b.tokens = Math.min(rate.burst, b.tokens + ((now - b.at) / 1000) * rate.perSec);
    b.at = now;
    this.tokens.set(family, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private drop(family: SysFamily, reason: string, n = 1): void {
    this.p.metrics.sysEventsDropped(family, reason, n);
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, ms);
    this.timer.unref?.();
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue.splice(0, BATCH_MAX);
    const messages = batch.map((q) => q.message);
    try {
      if (this.p.outlet.isLeader()) await this.p.outlet.publish(messages);
      else await this.p.outlet.forward(messages);
      this.attempts = 0;
      for (const [family, n] of countBy(batch)) this.p.metrics.sysEventsPublished(family, n);
    } catch (err) {
      this.attempts++;
      if (this.attempts >= ATTEMPTS_MAX) {
        this.attempts = 0;
        for (const [family, n] of countBy(batch)) this.drop(family, "undeliverable", n);
        this.p.log.debug({ err: String(err), events: batch.length }, "system events dropped: no leader took them");
      } else {
        // Back to the front, newest dropped first if the queue filled meanwhile.
        const room = QUEUE_MAX - this.queue.length;
        const kept = batch.slice(0, Math.max(0, room));
        for (const [family, n] of countBy(batch.slice(kept.length))) this.drop(family, "queue-full", n);
        this.queue = [...kept, ...this.queue];
      }
    } finally {
      this.flushing = false;
    }
    if (this.queue.length > 0) this.schedule(this.attempts > 0 ? Math.min(RETRY_DELAY_MAX_MS, RETRY_DELAY_MS * 2 ** (this.attempts - 1)) : 0);
  }
}

function countBy(batch: readonly Queued[]): Map<SysFamily, number> {
  const m = new Map<SysFamily, number>();
  for (const q of batch) m.set(q.family, (m.get(q.family) ?? 0) + 1);
  return m;
}
