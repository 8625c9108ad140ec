/**
 * The peer protocol, version 1: every WebSocket binary message ("packet")
 * holds one or more msgpack-encoded frames back to back. Raft frames are
 * batched into a packet up to maxFrameBytes; every other frame travels
 * alone.
 *
 * Connection set-up (the dialer is the node with the smaller id):
 *   acceptor → dialer: challenge(nonceA)
 *   dialer → acceptor: hello(dialer id, nonceD, auth = HMAC(secret, "dial", …, nonceA, nonceD))
 *   acceptor → dialer: hello(acceptor id, nonceA, auth = HMAC(secret, "accept", …, nonceD, nonceA))
 * Each side proves knowledge of the cluster secret over the other side's
 * fresh nonce, so a recorded handshake cannot be replayed.
 *
 * Snapshot transfer (sender = leader):
 *   snapOffer(msg) → ← snapAck(offset = bytes the receiver already holds)
 *   snapChunk(offset, data, done) … (at most a window of unacked chunks) → ← snapAck(offset)
 *   the receiver commits after the `done` chunk, delivers msg, then acks with done = true.
 */
import type { Message, SnapshotMessage, SnapshotMeta, NodeId } from "../core/types.ts";

/** The only protocol version this code speaks; frames with another `v` are rejected. */
export const PROTOCOL_VERSION = 1;

/** Bytes of an HMAC-SHA256 tag. */
export const AUTH_BYTES = 32;
/** Handshake nonces are 16..64 bytes; we send 32. */
export const NONCE_BYTES_MIN = 16;
/** Upper bound for a peer's nonce, so a hostile hello stays small. */
export const NONCE_BYTES_MAX = 64;
/** Node and cluster ids are 1..256 UTF-16 code units. */
export const ID_LENGTH_MAX = 256;
/** Members of one ConfState list; far above any real cluster, bounds validation work. */
export const CONF_MEMBERS_MAX = 1024;
/** Frames in one packet; bounds the work a single WebSocket message can cause. */
export const FRAMES_PER_PACKET_MAX = 65_536;
/**
 * Room reserved for the envelope around a snapshot chunk's data (meta with
 * its ConfState, offset, flags): snapshotChunkBytes + this ≤ maxFrameBytes.
 * Enough for a ConfState of several hundred members.
 */
export const CHUNK_OVERHEAD_BYTES_MAX = 16 * 1024;

/** Sent by the acceptor as soon as a connection opens. */
export interface ChallengeFrame {
  readonly v: 1;
  readonly kind: "challenge";
  readonly nonce: Uint8Array;
}

/** Identifies and authenticates one side of a connection (see the module comment). */
export interface HelloFrame {
  readonly v: 1;
  readonly kind: "hello";
  readonly nodeId: NodeId;
  readonly clusterId: string;
  /** The node the sender believes it is talking to. */
  readonly to: NodeId;
  /** The sender's own nonce. */
  readonly nonce: Uint8Array;
  /** HMAC-SHA256 over the handshake transcript, keyed with the cluster secret. */
  readonly auth: Uint8Array;
}

/** One Raft message other than `snap` (snapshots travel as snapOffer + chunks). */
export interface RaftFrame {
  readonly v: 1;
  readonly kind: "raft";
  readonly msg: Exclude<Message, SnapshotMessage>;
}

/** Opens (or, after a reconnect, resumes) a snapshot transfer. */
export interface SnapOfferFrame {
  readonly v: 1;
  readonly kind: "snapOffer";
  readonly msg: SnapshotMessage;
}

/** Snapshot bytes [offset, offset + data.length); `done` marks the last chunk. */
export interface SnapChunkFrame {
  readonly v: 1;
  readonly kind: "snapChunk";
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly done: boolean;
}

/**
 * Receiver → sender flow control: `offset` bytes of snapshot (index, term)
 * are stored. `done` once committed and delivered; `failed` when the
 * receiver gave up on the transfer (the sender reports it abandoned).
 */
export interface SnapAckFrame {
  readonly v: 1;
  readonly kind: "snapAck";
  readonly index: number;
  readonly term: number;
  readonly offset: number;
  readonly done: boolean;
  readonly failed: boolean;
}

/** Every frame of protocol version 1. */
export type Frame = ChallengeFrame | HelloFrame | RaftFrame | SnapOfferFrame | SnapChunkFrame | SnapAckFrame;

/** The frame kinds, for validation. */
export const FRAME_KINDS: ReadonlySet<Frame["kind"]> = new Set([
  "challenge", "hello", "raft", "snapOffer", "snapChunk", "snapAck",
]);
