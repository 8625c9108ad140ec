/**
 * Everything WsTransport keeps per peer: the bounded send queue, the current
 * connection, reconnect state, both halves of snapshot transfer and the
 * counters behind PeerStats. Outbound Raft messages flow
 * send() → queue → flush() → socket, in FIFO order per peer.
 */
import { assert } from "../core/assert.ts";
import type { Message, NodeId, SnapshotMessage } from "../core/types.ts";
import { Backoff } from "./backoff.ts";
import type { TimerHandle } from "./clock.ts";
import { encodeFrame, joinFrames } from "./codec.ts";
import type { Frame } from "./frames.ts";
import { PROTOCOL_VERSION } from "./frames.ts";
import type { PeerConnection } from "./peer-connection.ts";
import { SendQueue } from "./send-queue.ts";
import { SnapshotReceiver } from "./snapshot-receiver.ts";
import { SnapshotSender } from "./snapshot-sender.ts";
import type { PeerStats } from "./transport.ts";
import type { ResolvedWsOptions } from "./ws-options.ts";

/** Callbacks from a peer to the transport's handlers. */
export interface PeerHooks {
  readonly deliver: (m: Message) => void;
  readonly snapshotStatus: (peer: NodeId, ok: boolean) => void;
}

type Counter =
  | "dropped" | "sent" | "received" | "malformedFrames" | "oversizedFrames" | "reconnects"
  | "snapshotsSent" | "snapshotsFailed" | "snapshotsReceived";

/** Per-peer state of WsTransport. */
export class Peer {
  /** `host:port` or URL to dial; undefined for a peer known only from an inbound connection. */
  address: string | undefined;
  /** The authenticated connection, if any. Invariant: conn === null || conn.peer === id. */
  conn: PeerConnection | null = null;
  /** Our outbound connection still in its handshake (dialer side only). */
  dialing: PeerConnection | null = null;
  /** Pending redial (dialer side only). */
  redialTimer: TimerHandle | null = null;
  /** Set when onUnreachable fired for the current outage, so queue drops do not repeat it. */
  unreachableReported = false;
  readonly backoff: Backoff;
  readonly sender: SnapshotSender;
  readonly receiver: SnapshotReceiver;
  private readonly queue: SendQueue;
  private readonly counts: Record<Counter, number> = {
    dropped: 0, sent: 0, received: 0, malformedFrames: 0, oversizedFrames: 0, reconnects: 0,
    snapshotsSent: 0, snapshotsFailed: 0, snapshotsReceived: 0,
  };
  private everConnected = false;

  constructor(readonly id: NodeId, address: string | undefined, private readonly o: ResolvedWsOptions, hooks: PeerHooks) {
    this.address = address;
    this.queue = new SendQueue(o);
    this.backoff = new Backoff({ initialMs: o.reconnectInitialMs, maxMs: o.reconnectMaxMs, random: o.random });
    const common = {
      peer: id, snapshotWindowChunks: o.snapshotWindowChunks, snapshotTimeoutMs: o.snapshotTimeoutMs,
      clock: o.clock, sendFrame: (f: Frame) => this.sendFrame(f), onError: o.onError,
    };
    this.sender = new SnapshotSender({
      ...common, source: o.snapshotSource, snapshotChunkBytes: o.snapshotChunkBytes,
      report: (ok) => {
        this.count(ok ? "snapshotsSent" : "snapshotsFailed");
        hooks.snapshotStatus(id, ok);
      },
    });
    this.receiver = new SnapshotReceiver({
      ...common, sink: o.snapshotSink,
      deliver: (m: SnapshotMessage) => {
        this.count("snapshotsReceived");
        this.count("received");
        hooks.deliver(m);
      },
    });
  }

  /** Adds one to a counter. */
  count(c: Counter): void {
    this.counts[c]++;
  }

  /**
   * Queues a Raft message (not `snap`). False when dropped (queue full, or
   * larger than a frame), already counted.
   */
  enqueue(m: Exclude<Message, SnapshotMessage>): boolean {
    // Check the cheap limit before paying for the encoding.
    if (this.queue.length >= this.o.queueMessagesMax) return this.drop();
    const frame = encodeFrame({ v: PROTOCOL_VERSION, kind: "raft", msg: m });
    if (frame.byteLength > this.o.maxFrameBytes) return this.drop();
    return this.queue.push(frame) || this.drop();
  }

  /**
   * Moves queued frames to the socket in packets of at most maxFrameBytes,
   * while ws has less than socketBufferedBytesMax buffered. Resumes from the
   * write callback once the socket drains.
   */
  flush(): void {
    const conn = this.conn;
    if (conn === null || !conn.isOpen) return;
    while (this.queue.length > 0 && conn.bufferedBytes < this.o.socketBufferedBytesMax) {
      const frames = this.queue.take(this.o.maxFrameBytes);
      assert(frames.length > 0, "every queued frame fits in maxFrameBytes");
      if (!conn.send(joinFrames(frames), () => this.flush())) {
        this.counts.dropped += frames.length;
        return;
      }
      this.counts.sent += frames.length;
    }
  }

  /** Makes `conn` the peer's connection and sends what waited for it. */
  attach(conn: PeerConnection): void {
    assert(conn.peer === this.id, () => `connection of ${conn.peer} attached to ${this.id}`);
    this.conn = conn;
    if (this.everConnected) this.count("reconnects");
    this.everConnected = true;
    this.unreachableReported = false;
    this.backoff.reset();
    this.flush();
    this.sender.connected();
  }

  /** The connection closed; snapshot sending pauses until the next one. */
  detach(): void {
    this.conn = null;
    this.sender.disconnected();
  }

  /** Empties the queue, counting what was lost (peer removed, shutdown). */
  discardQueue(): void {
    this.counts.dropped += this.queue.clear();
  }

  /** A copy of the counters. */
  stats(): PeerStats {
    return {
      ...this.counts,
      connected: this.conn !== null && this.conn.isOpen,
      queuedMessages: this.queue.length,
      queuedBytes: this.queue.byteLength,
    };
  }

  private sendFrame(frame: Frame): boolean {
    const conn = this.conn;
    if (conn === null || !conn.isOpen) return false;
    const bytes = encodeFrame(frame);
    assert(bytes.byteLength <= this.o.maxFrameBytes, () => `${frame.kind} frame of ${bytes.byteLength} bytes exceeds maxFrameBytes`);
    return conn.send(bytes);
  }

  private drop(): false {
    this.count("dropped");
    return false;
  }
}
