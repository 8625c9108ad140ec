/**
 * A cap on the distinct values of one metric label (topics, subscriptions):
 * the first `max` values seen keep their own series, every later one is
 * reported as {@link OTHER_LABEL}. Prometheus keeps every series in memory,
 * so a label fed by user input (topic names) must be bounded.
 */
import { assert } from "../raft-api.ts";

/** The label value of everything beyond the cap. */
export const OTHER_LABEL = "_other";

/** Bounded label values; see the module comment. */
export class LabelCap {
  private readonly admitted = new Set<string>();
  /** Values refused since start (reported as a metric, so the cap is visible). */
  overflowed = 0;

  constructor(readonly max: number) {
    assert(Number.isInteger(max) && max >= 1, () => `label cap must be a whole number ≥ 1, got ${max}`);
  }

  /** The label to use for `value`. */
  label(value: string): string {
    if (this.admitted.has(value)) return value;
    if (this.admitted.size < this.max) {
      this.admitted.add(value);
      return value;
    }
    this.overflowed++;
    return OTHER_LABEL;
  }

  /** Forget `value` (its topic was deleted), making room for another. */
  forget(value: string): void {
    this.admitted.delete(value);
  }
}
