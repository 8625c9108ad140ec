/**
 * Receiver half of snapshot transfer, one instance per peer. Writes chunks
 * to the SnapshotSink strictly in order (one promise chain per peer), acks
 * each after it is written (the sender's window), and after the `done`
 * chunk commits, acks with done = true and delivers the `snap` message.
 * Transfer state outlives a connection, so a reconnecting sender resumes at
 * the bytes already written; it is dropped after snapshotTimeoutMs without
 * activity.
 */
import type { NodeId, SnapshotMessage } from "../core/types.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { SnapshotError } from "./errors.ts";
import type { Frame, SnapChunkFrame } from "./frames.ts";
import { PROTOCOL_VERSION } from "./frames.ts";
import type { SnapshotSink, SnapshotWriter } from "./transport.ts";

/** What a SnapshotReceiver needs from the transport. */
export interface SnapshotReceiverOptions {
  readonly peer: NodeId;
  readonly sink: SnapshotSink | undefined;
  /** Chunks accepted but not yet written; a sender that exceeds it breaks the protocol. */
  readonly snapshotWindowChunks: number;
  readonly snapshotTimeoutMs: number;
  readonly clock: Clock;
  /** Sends a frame on the peer's current connection, if any (acks are lost otherwise; the sender re-offers). */
  readonly sendFrame: (frame: Frame) => boolean;
  /** Hands the committed snapshot's message to the Raft handler. */
  readonly deliver: (msg: SnapshotMessage) => void;
  /** Why a transfer failed, for logs. */
  readonly onError: (error: Error) => void;
}

interface Incoming {
  readonly msg: SnapshotMessage;
  writer: SnapshotWriter | null;
  /** Offset the next accepted chunk must start at. Invariant: writtenOffset ≤ nextOffset. */
  nextOffset: number;
  writtenOffset: number;
  /** Operations queued on the chain for this transfer (bounded by the window). */
  pendingOps: number;
  /** Set once the sink committed: a late abort must not undo it. */
  committed: boolean;
  timer: TimerHandle | null;
}

/** Extra chain operations allowed beyond the window: offers and the done chunk. */
const PENDING_OPS_SLACK = 4;

/** Receives one snapshot at a time from one peer. */
export class SnapshotReceiver {
  private t: Incoming | null = null;
  /** Serializes every sink call for this peer. Never rejects. */
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: SnapshotReceiverOptions) {}

  /** True while a transfer is open. */
  get active(): boolean {
    return this.t !== null;
  }

  /** A sender (re)offers a snapshot: open it in the sink, or resume the open one. */
  onOffer(msg: SnapshotMessage): void {
    const cur = this.t;
    const meta = msg.snapshot;
    if (cur !== null && cur.msg.snapshot.index === meta.index && cur.msg.snapshot.term === meta.term) {
      this.touch(cur);
      // After the chunks still being written, tell the sender where to resume.
      this.enqueue(cur, async () => {
        cur.nextOffset = cur.writtenOffset;
        this.ack(cur, cur.writtenOffset, false);
      });
      return;
    }
    if (cur !== null) this.drop(cur, null);
    const sink = this.o.sink;
    if (sink === undefined) {
      this.sendAck(meta, 0, false, true);
      this.o.onError(new SnapshotError(`snapshot offered by ${this.o.peer} but no snapshotSink is configured`));
      return;
    }
    const t: Incoming = { msg, writer: null, nextOffset: 0, writtenOffset: 0, pendingOps: 0, committed: false, timer: null };
    this.t = t;
    this.touch(t);
    this.enqueue(t, async () => {
      const writer = await sink.begin(meta, this.o.peer);
      t.writer = writer;
      // Dropped while opening: the abort queued by drop() runs next.
      if (this.t !== t) return;
      t.writtenOffset = t.nextOffset = writer.receivedBytes;
      this.ack(t, t.writtenOffset, false);
    });
  }

  /** A chunk: must continue the open transfer exactly where the last one ended. */
  onChunk(c: SnapChunkFrame): void {
    const t = this.t;
    if (t === null || t.msg.snapshot.index !== c.meta.index || t.msg.snapshot.term !== c.meta.term) {
      // Unknown transfer (we timed out or restarted): make the sender give up; Raft resends.
      this.sendAck(c.meta, c.offset, false, true);
      return;
    }
    if (c.offset !== t.nextOffset || t.pendingOps >= this.o.snapshotWindowChunks + PENDING_OPS_SLACK) {
      this.drop(t, new SnapshotError(`snapshot from ${this.o.peer}: chunk at ${c.offset}, expected ${t.nextOffset} (or window exceeded)`));
      return;
    }
    t.nextOffset += c.data.byteLength;
    this.touch(t);
    this.enqueue(t, async () => {
      const writer = t.writer;
      if (writer === null) throw new SnapshotError("chunk before the transfer was opened");
      if (c.data.byteLength > 0) await writer.write(c.data);
      t.writtenOffset += c.data.byteLength;
      if (!c.done) return this.ack(t, t.writtenOffset, false);
      await writer.commit();
      t.committed = true;
      // Stopped during the commit: the data is durable but nobody is listening.
      if (this.t !== t) return;
      this.clear(t);
      this.ack(t, t.writtenOffset, true);
      // Outside this chain's catch: a throwing handler is a driver bug and must crash, not read as a sink failure.
      queueMicrotask(() => this.o.deliver(t.msg));
    });
  }

  /** Shutdown or peer removed: abort the open transfer and wait for the sink. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.t !== null) this.drop(this.t, null);
    await this.chain;
  }

  private enqueue(t: Incoming, op: () => Promise<void>): void {
    t.pendingOps++;
    this.chain = this.chain.then(async () => {
      try {
        // A transfer dropped meanwhile skips its remaining operations.
        if (this.t === t) await op();
      } catch (e) {
        if (this.t === t) this.drop(t, e instanceof Error ? e : new SnapshotError(String(e)));
      } finally {
        t.pendingOps--;
      }
    });
  }

  /** Abandons a transfer: tell the sender, abort the sink's partial state. */
  private drop(t: Incoming, error: Error | null): void {
    if (this.t !== t) return;
    this.clear(t);
    if (!this.stopped) this.sendAck(t.msg.snapshot, t.writtenOffset, false, true);
    if (error !== null) this.o.onError(error);
    this.chain = this.chain.then(async () => {
      try {
        if (!t.committed) await t.writer?.abort();
      } catch (e) {
        this.o.onError(e instanceof Error ? e : new SnapshotError(String(e)));
      }
    });
  }

  private clear(t: Incoming): void {
    if (t.timer !== null) this.o.clock.clearTimeout(t.timer);
    t.timer = null;
    if (this.t === t) this.t = null;
  }

  private touch(t: Incoming): void {
    if (t.timer !== null) this.o.clock.clearTimeout(t.timer);
    t.timer = this.o.clock.setTimeout(() => {
      t.timer = null;
      // A sink still busy with our chunks is slow, not idle; the sender's own timeout bounds it.
      if (t.pendingOps > 0) return this.touch(t);
      this.drop(t, new SnapshotError(`snapshot from ${this.o.peer}: idle for ${this.o.snapshotTimeoutMs} ms`));
    }, this.o.snapshotTimeoutMs);
  }

  private ack(t: Incoming, offset: number, done: boolean): void {
    if (!this.stopped) this.sendAck(t.msg.snapshot, offset, done, false);
  }

  private sendAck(meta: { readonly index: number; readonly term: number }, offset: number, done: boolean, failed: boolean): void {
    this.o.sendFrame({ v: PROTOCOL_VERSION, kind: "snapAck", index: meta.index, term: meta.term, offset, done, failed });
  }
}
