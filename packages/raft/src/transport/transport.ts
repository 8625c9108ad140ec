/**
 * The contract between the Raft driver and whatever carries messages between
 * peers: WebSocket in production, an in-memory hub in the simulator and in
 * driver tests. Both pass the same conformance suite
 * (test/transport/conformance.ts).
 *
 * A transport is lossy on purpose: Raft retries everything, so `send()`
 * never blocks and never throws for a down peer; bounded queues drop instead
 * (STYLE.md: no unbounded buffers).
 */
import type { Message, NodeId, SnapshotMeta } from "../core/types.ts";

/** Carries Raft messages between the nodes of one cluster. */
export interface Transport {
  /**
   * Queues messages for delivery. Never blocks and never throws for a down
   * or unknown peer: when a per-peer queue is full the message is dropped and
   * counted (Raft retries). A `snap` message starts a snapshot transfer that
   * streams the data from the configured {@link SnapshotSource}.
   */
  send(messages: readonly Message[]): void;
  /**
   * Registers the single inbound handler (a second call replaces it). For
   * `snap` messages it is called only after the snapshot data was fully
   * received and committed through the {@link SnapshotSink}.
   */
  onMessage(handler: (m: Message) => void): void;
  /**
   * Registers the handler told how a `snap` message ended: `ok` true once the
   * receiver committed the data, false when the transfer was abandoned. The
   * driver forwards it to the core's reportSnapshot(to, ok).
   */
  onSnapshotStatus(handler: (to: NodeId, ok: boolean) => void): void;
  /** Registers the handler told that a peer could not be reached (core: reportUnreachable). */
  onUnreachable(handler: (peer: NodeId) => void): void;
  /**
   * Replaces the peer address list (membership changes). Entries are
   * `host:port` (or a full `ws://` URL); the node's own id is ignored.
   */
  setPeers(peers: ReadonlyMap<NodeId, string>): void;
  /** Starts listening and connecting. Resolves once the node accepts connections. */
  start(): Promise<void>;
  /** Closes every connection, aborts snapshot transfers and frees timers. Idempotent. */
  stop(): Promise<void>;
  /** Counters for monitoring and tests; a fresh copy on every call. */
  stats(): TransportStats;
}

/** Per-peer counters. Monotonic except `connected`, `queuedMessages` and `queuedBytes`. */
export interface PeerStats {
  /** True while an authenticated connection to the peer is open. */
  readonly connected: boolean;
  /** Raft messages waiting in the send queue (≤ queueMessagesMax). */
  readonly queuedMessages: number;
  /** Encoded bytes waiting in the send queue (≤ queueBytesMax). */
  readonly queuedBytes: number;
  /** Raft messages dropped: queue full, too large for one frame, or peer unknown. */
  readonly dropped: number;
  /** Raft messages handed to the socket. */
  readonly sent: number;
  /** Raft messages received and delivered to the handler (incl. `snap`). */
  readonly received: number;
  /** Frames from this peer that failed validation (dropped). */
  readonly malformedFrames: number;
  /** Frames from this peer over maxFrameBytes (the connection is closed by ws). */
  readonly oversizedFrames: number;
  /** Connections established after the first one. */
  readonly reconnects: number;
  /** Snapshot transfers to this peer that the receiver committed. */
  readonly snapshotsSent: number;
  /** Snapshot transfers to this peer that were abandoned. */
  readonly snapshotsFailed: number;
  /** Snapshot transfers from this peer that were committed and delivered. */
  readonly snapshotsReceived: number;
}

/** What {@link Transport.stats} returns. */
export interface TransportStats {
  /** One entry per known peer (configured or connected). */
  readonly peers: ReadonlyMap<NodeId, PeerStats>;
  /** Handshakes rejected: wrong cluster secret or id, or bad handshake frames. */
  readonly authFailures: number;
  /** Malformed or oversized frames on connections not yet authenticated. */
  readonly unattributedBadFrames: number;
  /** Raft messages addressed to a node that is not a peer (dropped). */
  readonly droppedUnknownPeer: number;
  /** Accepted connections dropped because the handshake slots (in total or for their address) were full. */
  readonly refusedHandshakes?: number;
}

/**
 * Sender side of a snapshot transfer: streams the bytes of the snapshot
 * described by `meta`. Each call starts from byte 0; the transport skips the
 * bytes a receiver already holds when it resumes a transfer.
 */
export interface SnapshotSource {
  /** Streams the snapshot data from its first byte. */
  open(meta: SnapshotMeta): AsyncIterable<Uint8Array>;
}

/** One in-progress incoming snapshot, as opened by {@link SnapshotSink.begin}. */
export interface SnapshotWriter {
  /** Bytes already stored from an earlier, interrupted attempt: the transfer resumes there. */
  readonly receivedBytes: number;
  /** Appends the next chunk (the transport calls it in order, one at a time). */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the whole snapshot durable; the `snap` message is delivered only after this resolves. */
  commit(): Promise<void>;
  /** Discards the transfer (timeout, failure, newer snapshot, shutdown). */
  abort(): Promise<void>;
}

/** Receiver side of snapshot transfers: where incoming snapshot data is stored. */
export interface SnapshotSink {
  /** Opens (or reopens, for resume) the incoming snapshot `meta` sent by `from`. */
  begin(meta: SnapshotMeta, from: NodeId): Promise<SnapshotWriter>;
}
