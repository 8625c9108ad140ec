/**
 * Linearizable reads through ReadIndex (thesis §6.4): the leader records its
 * commit index, confirms it is still leader with one heartbeat round acked by
 * a majority, and only then releases the read at that index.
 */
import { majority } from "./quorum.ts";
import type { NodeId, ReadState } from "./types.ts";

interface PendingRead {
  readonly ctx: number;
  readonly index: number;
  /** Heartbeat round that confirms this read. */
  readonly seq: number;
  readonly acks: Set<NodeId>;
}

/** Reads waiting for a heartbeat quorum, released in arrival order. */
export class ReadOnlyQueue {
  private pending: PendingRead[] = [];
  /** Sequence of the newest heartbeat round; heartbeats echo it back. */
  seq = 0;

  constructor(private readonly queueMax: number) {}

  /** Queue a read at `index`; returns the heartbeat round to broadcast, or undefined when full. */
  add(ctx: number, index: number, self: NodeId): number | undefined {
    if (this.pending.length >= this.queueMax) return undefined;
    this.seq++;
    this.pending.push({ ctx, index, seq: this.seq, acks: new Set([self]) });
    return this.seq;
  }

  /** A voter acked heartbeat round `seq`: every read of that round or earlier counts it. */
  ack(from: NodeId, seq: number, voters: readonly NodeId[]): ReadState[] {
    for (const r of this.pending) {
      if (r.seq > seq) break;
      r.acks.add(from);
    }
    const released: ReadState[] = [];
    const need = majority(voters.length);
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      let n = 0;
      for (const v of voters) if (head.acks.has(v)) n++;
      if (n < need) break;
      released.push({ ctx: head.ctx, index: head.index });
      this.pending.shift();
    }
    return released;
  }

  size(): number {
    return this.pending.length;
  }

  /** Leadership lost: every pending read fails (the driver rejects them). */
  reset(): void {
    this.pending = [];
  }
}
