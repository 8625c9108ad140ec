/**
 * One WebSocket to a peer, from the handshake to the close: authenticates
 * both sides (handshake.ts), decodes packets (codec.ts), counts and limits
 * malformed frames, and detects dead links with ping/pong. It knows nothing
 * about queues, routing or snapshots; the transport owns those.
 */
import { WebSocket } from "ws";
import type { RawData } from "ws";
import { assert } from "../core/assert.ts";
import type { NodeId } from "../core/types.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { decodePacket, encodeFrame } from "./codec.ts";
import { FrameError } from "./errors.ts";
import type { Frame, HelloFrame } from "./frames.ts";
import { PROTOCOL_VERSION } from "./frames.ts";
import { computeAuth, makeNonce, verifyAuth } from "./handshake.ts";

/** WebSocket close codes this transport uses (4000-4999 is the application range). */
export const CLOSE_CODES = {
  goingAway: 1001,
  authFailed: 4001,
  tooManyMalformedFrames: 4002,
  replaced: 4003,
  peerRemoved: 4004,
  handshakeTimeout: 4005,
  closedByOperator: 4007,
} as const;

/** What a connection needs to know about the local node. */
export interface ConnectionSettings {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly clusterSecret: string | Uint8Array;
  readonly handshakeTimeoutMs: number;
  readonly pingIntervalMs: number;
  /** More malformed frames than this on one connection close it. */
  readonly malformedFramesMax: number;
  readonly clock: Clock;
}

/** Callbacks to the owner. Every callback runs at most once per event, from a socket event. */
export interface ConnectionEvents {
  /**
   * The peer proved its identity; may this node talk to it? False (unknown
   * peer, shutting down) closes the connection as an authentication failure.
   */
  admit(peer: NodeId): boolean;
  /** The handshake completed: the connection carries frames from now on. */
  authenticated(conn: PeerConnection, peer: NodeId): void;
  /** Decoded frames from an authenticated peer, in arrival order. */
  frames(conn: PeerConnection, frames: readonly Frame[]): void;
  /** A frame was dropped: malformed (FrameError) or over maxPayload ("oversized"). */
  badFrame(conn: PeerConnection, problem: FrameError | "oversized"): void;
  /** The handshake failed (wrong secret, cluster, id, or protocol). */
  authFailed(conn: PeerConnection, reason: string): void;
  /** The socket closed; the connection is dead for good. */
  closed(conn: PeerConnection, code: number, reason: string): void;
}

type State = "handshake" | "open" | "closed";

/** One authenticated (or authenticating) WebSocket to a peer. */
export class PeerConnection {
  private state: State = "handshake";
  private peerId: NodeId | null = null;
  private readonly ownNonce = makeNonce();
  /** The acceptor's challenge, once sent (acceptor) or received (dialer). */
  private challengeNonce: Uint8Array | null = null;
  private malformed = 0;
  private alive = true;
  private timer: TimerHandle | null = null;

  /**
   * @param role `dial` for the connection this node opened (the peer id is
   *   then known up front: `target`), `accept` for one it accepted.
   * @param target the peer a dialed connection must reach; null when accepting.
   */
  constructor(
    private readonly ws: WebSocket,
    readonly role: "dial" | "accept",
    readonly target: NodeId | null,
    private readonly settings: ConnectionSettings,
    private readonly events: ConnectionEvents,
  ) {
    assert((role === "dial") === (target !== null), "a dialed connection knows its peer; an accepted one does not");
    ws.binaryType = "nodebuffer";
    ws.on("message", (data, isBinary) => this.onPacket(data, isBinary));
    ws.on("pong", () => { this.alive = true; });
    ws.on("error", (err: Error & { code?: string }) => {
      // ws closes the socket itself after an error; "close" follows.
      if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") this.events.badFrame(this, "oversized");
    });
    ws.on("close", (code, reason) => this.onClose(code, reason.toString("utf8")));
    this.arm(settings.handshakeTimeoutMs, () => this.close(CLOSE_CODES.handshakeTimeout, "handshake timeout"));
    if (role === "accept") {
      this.challengeNonce = this.ownNonce;
      this.sendFrame({ v: PROTOCOL_VERSION, kind: "challenge", nonce: this.ownNonce });
    }
  }

  /** The authenticated peer, or null during the handshake. */
  get peer(): NodeId | null {
    return this.peerId;
  }

  /** True once authenticated and until closed. */
  get isOpen(): boolean {
    return this.state === "open" && this.ws.readyState === WebSocket.OPEN;
  }

  /** Bytes handed to ws but not yet written to the socket: the backpressure signal. */
  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /**
   * Sends one packet. `written` runs once the bytes reached the socket (or
   * failed to); it is the transport's cue to send more. False when closed.
   */
  send(packet: Uint8Array, written?: () => void): boolean {
    if (this.ws.readyState !== WebSocket.OPEN || this.state === "closed") return false;
    this.ws.send(packet, { binary: true }, () => written?.());
    return true;
  }

  /** Encodes and sends one frame; false when closed. */
  sendFrame(frame: Frame, written?: () => void): boolean {
    return this.send(encodeFrame(frame), written);
  }

  /** Counts a frame that decoded but broke the protocol (e.g. a spoofed `from`). */
  reportMalformed(error: FrameError): void {
    this.events.badFrame(this, error);
    this.malformed++;
    if (this.malformed > this.settings.malformedFramesMax) {
      this.close(CLOSE_CODES.tooManyMalformedFrames, `more than ${this.settings.malformedFramesMax} malformed frames`);
    }
  }

  /** Closes with a reason the peer can log; `close` runs when the socket is gone. */
  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.terminate();
      return;
    }
    this.ws.close(code, reason);
    // A peer that never answers the closing handshake must not hold the socket.
    this.arm(this.settings.handshakeTimeoutMs, () => this.ws.terminate());
  }

  /** Drops the socket at once (shutdown, dead peer). */
  terminate(): void {
    this.ws.terminate();
  }

  private onPacket(data: RawData, isBinary: boolean): void {
    if (this.state === "closed") return;
    this.alive = true;
    if (!isBinary || !Buffer.isBuffer(data)) {
      this.onBadPacket(new FrameError("packet", "expected one binary message"));
      return;
    }
    let frames: Frame[];
    try {
      frames = decodePacket(data);
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      this.onBadPacket(e);
      return;
    }
    if (this.state === "open") {
      this.events.frames(this, frames);
      return;
    }
    const first = frames[0];
    if (frames.length !== 1 || first === undefined) {
      this.failHandshake("handshake frames must travel alone");
    } else if (first.kind === "challenge" && this.role === "dial" && this.challengeNonce === null) {
      this.answerChallenge(first.nonce);
    } else if (first.kind === "hello") {
      this.onHello(first);
    } else {
      this.failHandshake(`unexpected ${first.kind} frame during the handshake`);
    }
  }

  private onBadPacket(error: FrameError): void {
    if (this.state === "handshake") {
      this.events.badFrame(this, error);
      this.failHandshake(error.message);
    } else {
      this.reportMalformed(error);
    }
  }

  private answerChallenge(nonce: Uint8Array): void {
    assert(this.target !== null, "dialer knows its peer");
    this.challengeNonce = nonce;
    const s = this.settings;
    this.sendFrame({
      v: PROTOCOL_VERSION, kind: "hello", nodeId: s.nodeId, clusterId: s.clusterId, to: this.target, nonce: this.ownNonce,
      auth: computeAuth(s.clusterSecret, {
        role: "dial", clusterId: s.clusterId, from: s.nodeId, to: this.target, peerNonce: nonce, ownNonce: this.ownNonce,
      }),
    });
  }

  private onHello(h: HelloFrame): void {
    const s = this.settings;
    if (this.challengeNonce === null) return this.failHandshake("hello before challenge");
    if (h.clusterId !== s.clusterId) return this.failHandshake(`wrong cluster id ${JSON.stringify(h.clusterId)}`);
    if (h.to !== s.nodeId) return this.failHandshake(`hello addressed to ${JSON.stringify(h.to)}`);
    // One connection per pair: the node with the smaller id dials (ws-transport.ts).
    if (this.role === "accept" && !(h.nodeId < s.nodeId)) return this.failHandshake(`${h.nodeId} must not dial ${s.nodeId}`);
    if (this.role === "dial" && h.nodeId !== this.target) return this.failHandshake(`expected ${this.target}, got ${h.nodeId}`);
    // The peer must have MAC'd the nonce we sent: that is what makes a replay useless.
    const transcript = {
      role: this.role === "accept" ? "dial" : "accept", clusterId: s.clusterId, from: h.nodeId, to: s.nodeId,
      peerNonce: this.ownNonce, ownNonce: h.nonce,
    } as const;
    if (!verifyAuth(s.clusterSecret, transcript, h.auth)) return this.failHandshake("wrong cluster secret");
    if (!this.events.admit(h.nodeId)) return this.failHandshake(`${h.nodeId} is not a configured peer`);
    if (this.role === "accept") {
      // Our hello goes out before anything the owner sends from authenticated().
      this.sendFrame({
        v: PROTOCOL_VERSION, kind: "hello", nodeId: s.nodeId, clusterId: s.clusterId, to: h.nodeId, nonce: this.ownNonce,
        auth: computeAuth(s.clusterSecret, {
          role: "accept", clusterId: s.clusterId, from: s.nodeId, to: h.nodeId, peerNonce: h.nonce, ownNonce: this.ownNonce,
        }),
      });
    }
    this.state = "open";
    this.peerId = h.nodeId;
    this.events.authenticated(this, h.nodeId);
    this.arm(s.pingIntervalMs, () => this.ping());
  }

  private failHandshake(reason: string): void {
    if (this.state === "closed") return;
    this.events.authFailed(this, reason);
    this.state = "closed";
    this.close(CLOSE_CODES.authFailed, "authentication failed");
  }

  private ping(): void {
    if (this.state !== "open") return;
    if (!this.alive) {
      this.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
    this.arm(this.settings.pingIntervalMs, () => this.ping());
  }

  private arm(delayMs: number, fn: () => void): void {
    if (this.timer !== null) this.settings.clock.clearTimeout(this.timer);
    this.timer = this.settings.clock.setTimeout(() => {
      this.timer = null;
      fn();
    }, delayMs);
  }

  private onClose(code: number, reason: string): void {
    if (this.timer !== null) this.settings.clock.clearTimeout(this.timer);
    this.timer = null;
    this.state = "closed";
    this.events.closed(this, code, reason);
  }
}
