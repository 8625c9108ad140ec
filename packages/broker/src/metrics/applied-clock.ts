/**
 * When each Raft index was applied on this node, for commit→delivery
 * latency: one (last index, time) mark per applied batch in a ring of
 * fixed size, so memory is bounded however long the node runs. An index
 * older than the ring is unknown (no observation rather than a wrong one).
 */
import { assert } from "../raft-api.ts";

/** Marks kept: at one batch per millisecond this covers the last ~4 s. */
const MARKS_MAX = 4096;

/** See the module comment. */
export class AppliedClock {
  private readonly indexes = new Float64Array(MARKS_MAX);
  private readonly times = new Float64Array(MARKS_MAX);
  /** Marks written so far (the ring holds the last MARKS_MAX). */
  private written = 0;

  /** Entries up to `lastIndex` were applied at `atMs`. */
  mark(lastIndex: number, atMs: number): void {
    if (this.written > 0) {
      const prev = this.indexes[(this.written - 1) % MARKS_MAX]!;
      // A snapshot restore may move the applied index back; start over then.
      if (lastIndex <= prev) this.written = 0;
    }
    this.indexes[this.written % MARKS_MAX] = lastIndex;
    this.times[this.written % MARKS_MAX] = atMs;
    this.written++;
  }

  /** When `index` was applied here, or undefined when it is not in the ring. */
  appliedAt(index: number): number | undefined {
    const n = Math.min(this.written, MARKS_MAX);
    if (n === 0) return undefined;
    const oldest = this.written - n;
    // The oldest mark kept has no known lower end: only its own last index counts.
    if (index < this.indexes[oldest % MARKS_MAX]!) return undefined;
    if (index > this.indexes[(this.written - 1) % MARKS_MAX]!) return undefined;
    // Binary search for the first mark whose last index ≥ index.
    let lo = oldest;
    let hi = this.written - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.indexes[mid % MARKS_MAX]! >= index) hi = mid;
      else lo = mid + 1;
    }
    assert(this.indexes[lo % MARKS_MAX]! >= index, "applied clock: search ended below the index");
    return this.times[lo % MARKS_MAX];
  }
}
