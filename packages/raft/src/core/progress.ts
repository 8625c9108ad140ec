/**
 * A leader's view of one follower's log (etcd-io/raft tracker/progress.go):
 * probe (one append at a time until a match is found), replicate (pipelined
 * appends bounded by in-flight limits) or snapshot (waiting for a snapshot).
 */
import { assert } from "./assert.ts";

/** Sliding window of unacknowledged appends, bounded in count and bytes. */
export class Inflights {
  private readonly items: { index: number; bytes: number }[] = [];
  private bytes = 0;

  constructor(private readonly countMax: number, private readonly bytesMax: number) {}

  /** Record an append whose last entry is `index`. Indexes must increase. */
  add(index: number, bytes: number): void {
    const last = this.items[this.items.length - 1];
    assert(last === undefined || index > last.index, () => `inflight index ${index} not after ${last?.index}`);
    assert(!this.full(), "inflights: add while full");
    this.items.push({ index, bytes });
    this.bytes += bytes;
  }

  /** Forget every append up to and including `index` (acknowledged). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.items.length && this.items[n]!.index <= index) {
      this.bytes -= this.items[n]!.bytes;
      n++;
    }
    if (n > 0) this.items.splice(0, n);
  }

  /** Forget the oldest append (used when it was probably lost). */
  freeFirstOne(): void {
    const first = this.items.shift();
    if (first !== undefined) this.bytes -= first.bytes;
  }

  full(): boolean {
    return this.items.length >= this.countMax || this.bytes >= this.bytesMax;
  }

  count(): number {
    return this.items.length;
  }

  reset(): void {
    this.items.length = 0;
    this.bytes = 0;
  }
}

/** Replication state of one follower. */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** What the leader knows about one peer. Invariant: match < next. */
export class Progress {
  /** Highest index known to be replicated on the peer. */
  match = 0;
  /** Index of the next entry to send. */
  next: number;
  state: ProgressState = "probe";
  /** In snapshot state: index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In probe state: an append is outstanding, wait for its answer or a heartbeat response. */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(next: number, inflightMessagesMax: number, inflightBytesMax: number, public isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
  }

  /** Record an acknowledgement up to `n`; returns true when `match` advanced. */
  maybeUpdate(n: number): boolean {
    const updated = this.match < n;
    if (updated) {
      this.match = n;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the append at `rejected`; `matchHint` is the highest index
   * that may still match. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** True when nothing more should be sent now. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe": return this.probeSent;
      case "replicate": return this.inflights.full();
      case "snapshot": return true;
    }
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    } else {
      this.next = this.match + 1;
    }
    this.resetState("probe");
  }

  becomeReplicate(): void {
    this.next = this.match + 1;
    this.resetState("replicate");
  }

  becomeSnapshot(index: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = index;
  }

  /** Account for an append whose last entry is `lastIndex` (0 entries: a probe). */
  sentEntries(lastIndex: number, entryCount: number, bytes: number): void {
    if (this.state === "replicate" && entryCount > 0) {
      this.next = lastIndex + 1;
      this.inflights.add(lastIndex, bytes);
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }
}
