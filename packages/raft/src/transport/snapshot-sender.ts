/**
 * Sender half of snapshot transfer, one instance per peer. Streams the data
 * of a `snap` message from the SnapshotSource in chunks, keeping at most
 * `snapshotWindowChunks` chunks unacknowledged (flow control: a slow
 * receiver's disk sets the pace, not our memory). After a reconnect it
 * re-offers the snapshot and resumes at the offset the receiver reports.
 * The outcome is reported once: ok when the receiver committed, not ok only
 * when the transfer is abandoned (no progress for snapshotTimeoutMs, the
 * receiver gave up, or the source failed).
 */
import { assert } from "../core/assert.ts";
import type { NodeId, SnapshotMessage } from "../core/types.ts";
import { ChunkReader } from "./chunk-reader.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { SnapshotError } from "./errors.ts";
import type { Frame, SnapAckFrame } from "./frames.ts";
import { PROTOCOL_VERSION } from "./frames.ts";
import type { SnapshotSource } from "./transport.ts";

/** What a SnapshotSender needs from the transport. */
export interface SnapshotSenderOptions {
  readonly peer: NodeId;
  readonly source: SnapshotSource | undefined;
  readonly snapshotChunkBytes: number;
  readonly snapshotWindowChunks: number;
  readonly snapshotTimeoutMs: number;
  readonly clock: Clock;
  /** Sends a frame on the peer's current connection; false when there is none. */
  readonly sendFrame: (frame: Frame) => boolean;
  /** The transfer's outcome (onSnapshotStatus). Called once per transfer, never for a replaced one. */
  readonly report: (ok: boolean) => void;
  /** Why a transfer was abandoned, for logs. */
  readonly onError: (error: Error) => void;
}

/** One pass over the source, valid for one connection. */
interface Stream {
  readonly reader: ChunkReader;
  pumping: boolean;
}

interface Transfer {
  readonly msg: SnapshotMessage;
  /** waiting: no connection; offered: snapOffer sent, awaiting the resume offset; streaming; sentAll: done chunk sent. */
  phase: "waiting" | "offered" | "streaming" | "sentAll";
  stream: Stream | null;
  /** Invariant: ackedOffset ≤ sentOffset; sentOffset - ackedOffset ≤ window (+ one chunk being read). */
  ackedOffset: number;
  sentOffset: number;
  timer: TimerHandle | null;
}

/** Streams one snapshot at a time to one peer. */
export class SnapshotSender {
  private t: Transfer | null = null;

  constructor(private readonly o: SnapshotSenderOptions) {}

  /** True while a transfer is in progress. */
  get active(): boolean {
    return this.t !== null;
  }

  /**
   * Starts sending `msg`'s snapshot. A transfer of the same snapshot already
   * in progress continues; one of an older snapshot is replaced silently
   * (its status no longer matters to the core).
   */
  start(msg: SnapshotMessage, connected: boolean): void {
    assert(this.o.source !== undefined, "a snap message was sent but the transport has no snapshotSource");
    assert(msg.to === this.o.peer, "snapshot routed to the wrong peer");
    const cur = this.t;
    if (cur !== null && cur.msg.snapshot.index === msg.snapshot.index && cur.msg.snapshot.term === msg.snapshot.term) return;
    if (cur !== null) this.cancel(cur);
    const t: Transfer = { msg, phase: "waiting", stream: null, ackedOffset: 0, sentOffset: 0, timer: null };
    this.t = t;
    this.touch(t);
    if (connected) this.offer(t);
  }

  /** A connection to the peer opened: (re)offer, and resume where the receiver says. */
  connected(): void {
    const t = this.t;
    if (t === null) return;
    this.dropStream(t);
    this.offer(t);
  }

  /** The connection closed: pause until the next one. Unacked chunks are re-sent after the resume offer. */
  disconnected(): void {
    const t = this.t;
    if (t === null) return;
    this.dropStream(t);
    t.phase = "waiting";
  }

  /** Handles the receiver's flow-control ack. */
  onAck(a: SnapAckFrame): void {
    const t = this.t;
    if (t === null || a.index !== t.msg.snapshot.index || a.term !== t.msg.snapshot.term) return; // stale
    if (a.failed) return this.finish(t, false, new SnapshotError(`${this.o.peer} gave up on snapshot ${a.index}`));
    if (t.phase === "offered") {
      const source = this.o.source;
      assert(source !== undefined, "checked in start()");
      t.ackedOffset = a.offset;
      t.sentOffset = a.offset;
      t.phase = "streaming";
      t.stream = { reader: new ChunkReader(source.open(t.msg.snapshot), this.o.snapshotChunkBytes, a.offset), pumping: false };
      this.touch(t);
      void this.pump(t, t.stream);
      return;
    }
    if (t.phase !== "streaming" && t.phase !== "sentAll") return;
    if (a.offset > t.ackedOffset && a.offset <= t.sentOffset) {
      t.ackedOffset = a.offset;
      this.touch(t);
    }
    if (a.done && t.phase === "sentAll" && a.offset === t.sentOffset) return this.finish(t, true, null);
    if (t.stream !== null) void this.pump(t, t.stream);
  }

  /** Shutdown or peer removed: drop the transfer without a report. */
  stop(): void {
    if (this.t !== null) this.cancel(this.t);
  }

  private offer(t: Transfer): void {
    t.phase = this.o.sendFrame({ v: PROTOCOL_VERSION, kind: "snapOffer", msg: t.msg }) ? "offered" : "waiting";
  }

  /** Sends chunks while the window has room. One pump per stream at a time. */
  private async pump(t: Transfer, s: Stream): Promise<void> {
    if (s.pumping) return;
    s.pumping = true;
    const windowBytes = this.o.snapshotWindowChunks * this.o.snapshotChunkBytes;
    const current = (): boolean => this.t === t && t.stream === s && t.phase === "streaming";
    try {
      while (current() && t.sentOffset - t.ackedOffset < windowBytes) {
        const chunk = await s.reader.next();
        if (!current()) return;
        assert(chunk.offset === t.sentOffset, () => `chunk at ${chunk.offset}, expected ${t.sentOffset}`);
        const sent = this.o.sendFrame({
          v: PROTOCOL_VERSION, kind: "snapChunk", meta: t.msg.snapshot, offset: chunk.offset, data: chunk.data, done: chunk.done,
        });
        // Not connected: the next connection re-offers and restarts the stream.
        if (!sent) return;
        t.sentOffset += chunk.data.byteLength;
        if (chunk.done) t.phase = "sentAll";
      }
    } catch (e) {
      if (current()) this.finish(t, false, e instanceof Error ? e : new SnapshotError(String(e)));
    } finally {
      s.pumping = false;
    }
  }

  /** Restarts the no-progress timer. */
  private touch(t: Transfer): void {
    const clock = this.o.clock;
    if (t.timer !== null) clock.clearTimeout(t.timer);
    t.timer = clock.setTimeout(() => {
      t.timer = null;
      if (this.t === t) {
        this.finish(t, false, new SnapshotError(`snapshot ${t.msg.snapshot.index} to ${this.o.peer}: no progress in ${this.o.snapshotTimeoutMs} ms`));
      }
    }, this.o.snapshotTimeoutMs);
  }

  private finish(t: Transfer, ok: boolean, error: Error | null): void {
    this.cancel(t);
    if (error !== null) this.o.onError(error);
    this.o.report(ok);
  }

  private cancel(t: Transfer): void {
    if (t.timer !== null) this.o.clock.clearTimeout(t.timer);
    t.timer = null;
    this.dropStream(t);
    if (this.t === t) this.t = null;
  }

  private dropStream(t: Transfer): void {
    const s = t.stream;
    t.stream = null;
    // Closing a source may fail (e.g. an iterator already broken): that is
    // worth a log line, nothing more, since the transfer has moved on.
    if (s !== null) s.reader.close().catch((e: unknown) => this.o.onError(e instanceof Error ? e : new SnapshotError(String(e))));
  }
}
