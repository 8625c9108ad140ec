/**
 * The application every simulated node runs: its state is a hash chain over
 * the entries it applied (checked against the one history), plus the
 * bookkeeping of its clients' proposals and linearizable reads. Shared by the
 * in-memory simulator node and the LevelDB one.
 */
import { decodeConfEntry } from "../../src/core/membership.ts";
import type { ConfState, Entry, NodeId } from "../../src/core/types.ts";
import type { Checker } from "./checker.ts";
import type { SnapData } from "./network.ts";

/** A client proposal waiting for its entry to be applied. */
export interface PendingProposal {
  readonly id: number;
  readonly index: number;
  readonly term: number;
}

/** What the application reports to the cluster. */
export interface SimAppHost {
  readonly checker: Checker;
  acked(node: NodeId, p: PendingProposal): void;
  dropped(node: NodeId, p: PendingProposal): void;
  /** Highest index acknowledged to a client so far. */
  ackedIndex(): number;
}

/** A node's application state and its clients' outstanding requests. */
export class SimApp {
  index = 0;
  hash = 0;
  conf: ConfState;
  readonly pending = new Map<number, PendingProposal>();
  /** Read ctx → highest index acknowledged to any client when the read was issued. */
  private readonly reads = new Map<number, number>();
  private readCtx = 0;
  snapshotsInstalled = 0;
  readsServed = 0;

  constructor(private readonly id: NodeId, private readonly host: SimAppHost, private readonly bootstrap: ConfState) {
    this.conf = bootstrap;
  }

  /** Start from the stored snapshot (`data` for index > 0) or from scratch. */
  load(index: number, data: SnapData | undefined, conf: ConfState): void {
    if (index > 0) {
      if (data === undefined) throw new Error(`${this.id}: snapshot ${index} data missing from store`);
      this.host.checker.snapshotRestored(this.id, index, data.hash);
      this.index = index;
      this.hash = data.hash;
      this.conf = conf;
    } else {
      this.index = 0;
      this.hash = 0;
      this.conf = this.bootstrap;
    }
  }

  /** Volatile state is lost: outstanding proposals have unknown outcomes, reads fail. */
  crash(): void {
    for (const p of this.pending.values()) this.host.dropped(this.id, p);
    this.pending.clear();
    this.reads.clear();
  }

  trackProposal(p: PendingProposal): void {
    this.pending.set(p.index, p);
  }

  /** A context for the next read; call `trackRead` once the core accepted it. */
  nextReadCtx(): number {
    return ++this.readCtx;
  }

  trackRead(ctx: number): void {
    this.reads.set(ctx, this.host.ackedIndex());
  }

  /** Install a snapshot the core received. */
  restore(index: number, data: SnapData | undefined): void {
    if (data === undefined) throw new Error(`${this.id}: installing snapshot ${index} without data`);
    this.host.checker.snapshotRestored(this.id, index, data.hash);
    this.index = index;
    this.hash = data.hash;
    this.conf = data.conf;
    this.snapshotsInstalled++;
    // Proposals the snapshot covers were either committed as proposed or overwritten: unknown here.
    for (const [i, p] of this.pending) {
      if (i > index) continue;
      this.pending.delete(i);
      this.host.dropped(this.id, p);
    }
  }

  /** Apply one committed entry: extend the hash chain (checked) and settle its proposal. */
  apply(e: Entry): void {
    if (e.index !== this.index + 1) throw new Error(`${this.id}: applying ${e.index} after ${this.index}`);
    this.hash = this.host.checker.applied(this.id, this.hash, e);
    this.index = e.index;
    if (e.type === "conf") this.conf = decodeConfEntry(e.data).conf;
    const p = this.pending.get(e.index);
    if (p === undefined) return;
    this.pending.delete(e.index);
    const sameEntry = e.term === p.term && e.type === "normal" && e.data.length === 8 &&
      new DataView(e.data.buffer, e.data.byteOffset).getUint32(0) === p.id;
    if (sameEntry) this.host.acked(this.id, p);
    else this.host.dropped(this.id, p);
  }

  /** A confirmed ReadIndex must cover every write acknowledged before the read began. */
  serveRead(ctx: number, index: number): void {
    const ackedAtIssue = this.reads.get(ctx);
    if (ackedAtIssue === undefined) return;
    this.reads.delete(ctx);
    if (index < ackedAtIssue) throw new Error(`${this.id}: stale read: read index ${index} is below acknowledged write ${ackedAtIssue}`);
    this.readsServed++;
  }

  /** Leadership lost: pending reads fail. */
  failReads(): void {
    this.reads.clear();
  }
}
