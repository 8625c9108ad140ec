/** Capped exponential back-off with jitter, as a pure function of the attempt number. */

/** Delay bounds of a back-off. */
export interface BackoffBounds {
  /** Delay before the first retry, in ms. */
  readonly initialMs: number;
  /** Ceiling of any delay, in ms. */
  readonly maxMs: number;
  /** Growth per attempt (default 2). */
  readonly multiplier?: number;
}

/**
 * Delay before retry number `attempt` (1-based): `initialMs · multiplier^(attempt−1)`,
 * capped at `maxMs`, then "equal jitter": uniformly in [d/2, d]. Jitter
 * spreads the reconnects of many clients after a node restart; the lower
 * bound keeps a client from retrying in a tight loop.
 */
export function backoffDelayMs(attempt: number, bounds: BackoffBounds, random: () => number): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 64));
  const raw = bounds.initialMs * Math.pow(bounds.multiplier ?? 2, exponent);
  const capped = Math.min(bounds.maxMs, raw);
  return Math.round(capped / 2 + random() * (capped / 2));
}
