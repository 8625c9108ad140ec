/**
 * Publish rate limits per user (issue 13 item 5): two token buckets per
 * identity, one counting messages and one counting bytes, each refilled at
 * its rate per second up to a burst of one second's worth. A request is
 * admitted while both buckets are positive and then pays its full cost, so
 * one batch larger than a second's worth still goes through and is paid
 * back before the next (a 4 MiB batch is never refused forever). The leader
 * decides alone: rates are about the leader's load, not replicated state.
 *
 * Time comes from an injected clock, so tests step it.
 */
import { RaftbusError } from "@raftbus/client/protocol";

/** Milliseconds since some fixed point; `Date.now` in production. */
export type Clock = () => number;

/**
 * Buckets kept at most; beyond it full (idle) buckets are forgotten, which
 * changes nothing, and if none is full the oldest is.
 */
const IDENTITIES_MAX = 10_000;

interface Buckets {
  messages: number;
  bytes: number;
  at: number;
}

/** Rates of one limiter. */
export interface PublishRates {
  readonly publishMessagesPerSecMax: number;
  readonly publishBytesPerSecMax: number;
}

/** Token buckets per identity. */
export class PublishRateLimiter {
  private readonly buckets = new Map<string, Buckets>();
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly rates: PublishRates, private readonly clock: Clock = Date.now) {}

  /**
   * Charges `identity` for a publish of `messages` messages and `bytes`
   * bytes, or throws RATE_LIMITED (with `details.retryAfterMs`) when either
   * bucket is empty.
   */
  charge(identity: string, messages: number, bytes: number): void {
    const now = this.clock();
    const b = this.refilled(identity, now);
    if (b.messages <= 0 || b.bytes <= 0) {
      const { publishMessagesPerSecMax: mps, publishBytesPerSecMax: bps } = this.rates;
      const waitMs = Math.ceil(Math.max(b.messages <= 0 ? ((1 - b.messages) / mps) * 1000 : 0, b.bytes <= 0 ? ((1 - b.bytes) / bps) * 1000 : 0));
      const which = b.messages <= 0 ? "publishMessagesPerSecMax" : "publishBytesPerSecMax";
      throw new RaftbusError("RATE_LIMITED", `publish rate of '${identity}' is over ${which} (${which === "publishMessagesPerSecMax" ? mps : bps} per second); retry in ${waitMs} ms`, {
        details: { limit: which, max: which === "publishMessagesPerSecMax" ? mps : bps, retryAfterMs: waitMs },
      });
    }
    b.messages -= messages;
    b.bytes -= bytes;
  }

  /** The identity's buckets, refilled for the time since they were last used. */
  private refilled(identity: string, now: number): Buckets {
    const { publishMessagesPerSecMax: mps, publishBytesPerSecMax: bps } = this.rates;
    let b = this.buckets.get(identity);
    if (b === undefined) {
      // A sweep costs one pass over the map: at most once a second.
      if (this.buckets.size >= IDENTITIES_MAX && now - this.sweptAt >= 1000) {
        this.sweptAt = now;
        this.forgetFull(now);
      }
      // Still full: forget the longest-known identity (it starts over with a full bucket).
      if (this.buckets.size >= IDENTITIES_MAX) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { messages: mps, bytes: bps, at: now };
      this.buckets.set(identity, b);
      return b;
    }
    const elapsedSec = Math.max(0, now - b.at) / 1000;
    b.messages = Math.min(mps, b.messages + elapsedSec * mps);
    b.bytes = Math.min(bps, b.bytes + elapsedSec * bps);
    b.at = now;
    return b;
  }

  /** Drops buckets that have refilled completely: a fresh bucket is the same. */
  private forgetFull(now: number): void {
    for (const [id, b] of this.buckets) {
      const elapsedSec = Math.max(0, now - b.at) / 1000;
      if (b.messages + elapsedSec * this.rates.publishMessagesPerSecMax >= this.rates.publishMessagesPerSecMax
        && b.bytes + elapsedSec * this.rates.publishBytesPerSecMax >= this.rates.publishBytesPerSecMax) {
        this.buckets.delete(id);
      }
    }
  }

  /** Identities with a bucket (for tests of the bound). */
  get size(): number {
    return this.buckets.size;
  }
}
