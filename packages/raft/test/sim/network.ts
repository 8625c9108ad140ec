/**
 * The simulated network: messages are delivered after a random delay
 * (reordering), may be dropped or duplicated, and partitions decide who can
 * reach whom at delivery time. Everything is driven by the run's one PRNG.
 */
import type { ConfState, Message, NodeId } from "../../src/core/types.ts";
import type { SeededRand } from "../../src/core/rand.ts";

/** A message on the wire; snapshot messages carry the data the transport streams. */
export interface Envelope {
  readonly msg: Message;
  /** For `snap` messages: the snapshot data read from the sender's store at send time. */
  readonly snapshotData?: SnapData;
}

/** What a simulated snapshot holds: the application state at an index. */
export interface SnapData {
  readonly index: number;
  readonly term: number;
  readonly hash: number;
  readonly conf: ConfState;
}

/** Network fault settings, changed by the fault schedule. */
export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  /** Delivery delay is uniform in [1, delayTicksMax]. */
  delayTicksMax: number;
}

/** Partitions are a set of blocked directed links. */
export class SimNetwork {
  private readonly buckets = new Map<number, Envelope[]>();
  private readonly blocked = new Set<string>();
  faults: NetworkFaults = { dropRate: 0, duplicateRate: 0, delayTicksMax: 1 };
  sent = 0;
  delivered = 0;
  dropped = 0;

  /** Told about every dropped message (the transport reports lost snapshots to Raft). */
  onDrop: (env: Envelope) => void = () => {};

  constructor(private readonly rand: SeededRand) {}

  /** Queue a message at simulated time `now`. */
  send(now: number, env: Envelope): void {
    this.sent++;
    if (this.rand.chance(this.faults.dropRate)) {
      this.dropped++;
      this.onDrop(env);
      return;
    }
    this.enqueue(now, env);
    if (this.rand.chance(this.faults.duplicateRate)) this.enqueue(now, env);
  }

  private enqueue(now: number, env: Envelope): void {
    const at = now + 1 + this.rand.int(this.faults.delayTicksMax);
    let b = this.buckets.get(at);
    if (b === undefined) {
      b = [];
      this.buckets.set(at, b);
    }
    b.push(env);
  }

  /** Messages due at `now`, shuffled, with blocked links filtered out. */
  due(now: number): Envelope[] {
    const b = this.buckets.get(now);
    if (b === undefined) return [];
    this.buckets.delete(now);
    for (let i = b.length - 1; i > 0; i--) {
      const j = this.rand.int(i + 1);
      [b[i], b[j]] = [b[j]!, b[i]!];
    }
    const out: Envelope[] = [];
    for (const e of b) {
      if (this.blocked.has(linkKey(e.msg.from, e.msg.to))) {
        this.dropped++;
        this.onDrop(e);
      } else {
        out.push(e);
      }
    }
    this.delivered += out.length;
    return out;
  }

  /** Block traffic between the two groups, both directions. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) for (const y of b) {
      this.blocked.add(linkKey(x, y));
      this.blocked.add(linkKey(y, x));
    }
  }

  /** Block one pair, both directions. */
  cut(x: NodeId, y: NodeId): void {
    this.partition([x], [y]);
  }

  heal(): void {
    this.blocked.clear();
  }

  isHealed(): boolean {
    return this.blocked.size === 0;
  }

  canReach(x: NodeId, y: NodeId): boolean {
    return !this.blocked.has(linkKey(x, y));
  }

  /** Messages still in flight (a bound the simulator checks). */
  inFlight(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.length;
    return n;
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}
