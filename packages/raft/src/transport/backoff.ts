/**
 * Capped exponential back-off with jitter for reconnects. Jitter spreads the
 * redials of a cluster that lost a node at the same moment; the cap keeps a
 * long outage from stretching the first retry after recovery.
 */
import { assert } from "../core/assert.ts";

/** Back-off parameters. */
export interface BackoffOptions {
  /** Delay before the first retry. */
  readonly initialMs: number;
  /** Ceiling of the delay, however many attempts failed. */
  readonly maxMs: number;
  /** Uniform random in [0, 1); injected for deterministic tests. */
  readonly random: () => number;
}

/**
 * The delay before retry number `attempt` (0 = first retry): the
 * exponential value `min(maxMs, initialMs·2^attempt)` with "equal jitter":
 * uniformly in [half of it, all of it], so a retry never fires immediately.
 */
export function backoffDelayMs(attempt: number, o: BackoffOptions): number {
  assert(Number.isInteger(attempt) && attempt >= 0, () => `backoff attempt must be a non-negative integer, got ${attempt}`);
  // 2^attempt overflows to Infinity for huge attempts; min() then caps it.
  const ceiling = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(attempt, 64));
  const r = o.random();
  assert(r >= 0 && r < 1, () => `random() must be in [0, 1), got ${r}`);
  return Math.round(ceiling / 2 + r * (ceiling / 2));
}

/** Attempt counter over backoffDelayMs: `next()` after a failure, `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions) {
    assert(options.initialMs > 0 && options.initialMs <= options.maxMs,
      () => `backoff needs 0 < initialMs (${options.initialMs}) ≤ maxMs (${options.maxMs})`);
  }

  /** The delay before the next retry; each call doubles the next one (up to the cap). */
  next(): number {
    const d = backoffDelayMs(this.attempt, this.options);
    this.attempt = Math.min(this.attempt + 1, 64);
    return d;
  }

  /** Starts over after a successful connection. */
  reset(): void {
    this.attempt = 0;
  }
}
