/**
 * WsTransport: Raft peers over WebSocket (`ws`), one connection per pair of
 * nodes.
 *
 * Topology: the node whose id sorts first (JavaScript string order) dials,
 * the other accepts; both send and receive on that single connection. The
 * rule is deterministic, so two nodes never race to build two connections,
 * and an acceptor refuses a connection dialed the wrong way. A newer
 * authenticated connection from the same peer replaces the old one (the
 * peer restarted and its old socket is half-open). The acceptor cannot
 * reach a peer on its own: its messages wait in the bounded queue until the
 * dialer (re)connects, with capped exponential back-off and jitter.
 *
 * With the `tls` option every connection is mutual TLS under the cluster's
 * CA before anything else.
 *
 * Every connection starts with a mutual HMAC handshake over fresh nonces
 * (frames.ts); a peer with the wrong cluster secret or id is refused and
 * counted. Frames are validated (codec.ts); malformed ones are counted and
 * dropped, and too many close the connection. Snapshots stream beside the
 * Raft frames (snapshot-sender.ts, snapshot-receiver.ts).
 */
import { createServer as createHttpsServer } from "node:https";
import type { Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { assert } from "../core/assert.ts";
import type { Message, NodeId } from "../core/types.ts";
import { FrameError } from "./errors.ts";
import type { Frame } from "./frames.ts";
import { Peer } from "./peer.ts";
import type { ConnectionEvents, ConnectionSettings } from "./peer-connection.ts";
import { CLOSE_CODES, PeerConnection } from "./peer-connection.ts";
import type { PeerStats, Transport, TransportStats } from "./transport.ts";
import type { ResolvedWsOptions, WsTransportOptions } from "./ws-options.ts";
import { checkPeer, resolveWsOptions, toUrl } from "./ws-options.ts";

/** The WebSocket implementation of {@link Transport}. */
export class WsTransport implements Transport {
  private readonly o: ResolvedWsOptions;
  private readonly settings: ConnectionSettings;
  private readonly events: ConnectionEvents;
  private readonly peers = new Map<NodeId, Peer>();
  /**
   * Accepted connections still in their handshake (≤ pendingConnectionsMax),
   * with the address each came from (≤ pendingConnectionsPerAddressMax per
   * address, so sockets from one host that never authenticate cannot take
   * every slot and lock the real peers out).
   */
  private readonly pending = new Map<PeerConnection, string>();
  private readonly pendingByAddress = new Map<string, number>();
  private readonly flushPending = new Set<Peer>();
  private flushScheduled = false;
  private server: WebSocketServer | null = null;
  /** The HTTPS server under `server` when TLS is on. */
  private https: HttpsServer | undefined;
  private boundPort = 0;
  private state: "new" | "running" | "stopped" = "new";
  private messageHandler: ((m: Message) => void) | null = null;
  private snapshotHandler: ((to: NodeId, ok: boolean) => void) | null = null;
  private unreachableHandler: ((peer: NodeId) => void) | null = null;
  private authFailures = 0;
  private unattributedBadFrames = 0;
  private droppedUnknownPeer = 0;
  private refusedHandshakes = 0;

  /** Validates options (TransportConfigError) and registers the initial peers. Nothing listens until start(). */
  constructor(options: WsTransportOptions) {
    this.o = resolveWsOptions(options);
    this.settings = {
      nodeId: this.o.nodeId, clusterId: this.o.clusterId, clusterSecret: this.o.clusterSecret,
      handshakeTimeoutMs: this.o.handshakeTimeoutMs, pingIntervalMs: this.o.pingIntervalMs,
      malformedFramesMax: this.o.malformedFramesMax, clock: this.o.clock,
    };
    this.events = {
      admit: (peer) => this.state === "running" && this.peers.has(peer),
      authenticated: (conn, peer) => this.onAuthenticated(conn, peer),
      frames: (conn, frames) => this.onFrames(conn, frames),
      badFrame: (conn, problem) => this.onBadFrame(conn, problem),
      authFailed: () => { this.authFailures++; },
      closed: (conn) => this.onClosed(conn),
    };
    if (options.peers !== undefined) this.setPeers(options.peers);
  }

  /** This node's id. */
  get nodeId(): NodeId {
    return this.o.nodeId;
  }

  /** The port actually bound (useful with port 0). Only after start(). */
  get port(): number {
    assert(this.state === "running", "port is known once start() resolved");
    return this.boundPort;
  }

  /** `host:port` peers can dial. Only after start(). */
  get address(): string {
    return `${this.o.host}:${this.port}`;
  }

  /** {@inheritDoc Transport.send} */
  send(messages: readonly Message[]): void {
    for (const m of messages) {
      assert(m.from === this.o.nodeId, () => `message from ${m.from} sent through ${this.o.nodeId}'s transport`);
      assert(m.to !== this.o.nodeId, "a node never sends to itself");
      if (this.state === "stopped") return;
      const peer = this.peers.get(m.to);
      if (peer === undefined) {
        this.droppedUnknownPeer++;
        this.reportUnreachable(m.to);
      } else if (m.type === "snap") {
        peer.sender.start(m, peer.conn?.isOpen === true);
      } else if (peer.enqueue(m)) {
        this.scheduleFlush(peer);
      } else if (peer.conn === null && !peer.unreachableReported) {
        peer.unreachableReported = true;
        this.reportUnreachable(peer.id);
      }
    }
  }

  /** {@inheritDoc Transport.onMessage} */
  onMessage(handler: (m: Message) => void): void {
    this.messageHandler = handler;
  }

  /** {@inheritDoc Transport.onSnapshotStatus} */
  onSnapshotStatus(handler: (to: NodeId, ok: boolean) => void): void {
    this.snapshotHandler = handler;
  }

  /** {@inheritDoc Transport.onUnreachable} */
  onUnreachable(handler: (peer: NodeId) => void): void {
    this.unreachableHandler = handler;
  }

  /** {@inheritDoc Transport.setPeers} Throws TransportConfigError for a bad id or address. */
  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    for (const [id, address] of peers) {
      if (id === this.o.nodeId) continue;
      checkPeer(id, address);
      const peer = this.peers.get(id);
      if (peer === undefined) {
        this.peers.set(id, this.newPeer(id, address));
        continue;
      }
      if (peer.address === address) continue;
      peer.address = address;
      // Connections to the old address are dropped; the closed handler redials.
      peer.dialing?.close(CLOSE_CODES.closedByOperator, "peer address changed");
      if (this.dials(peer)) peer.conn?.close(CLOSE_CODES.closedByOperator, "peer address changed");
    }
    for (const peer of [...this.peers.values()]) {
      if (!peers.has(peer.id)) this.removePeer(peer);
    }
    for (const peer of this.peers.values()) this.dial(peer);
  }

  /** {@inheritDoc Transport.start} Rejects when the port cannot be bound. */
  async start(): Promise<void> {
    assert(this.state === "new", "start() is called once");
    assert(this.messageHandler !== null, "register onMessage() before start()");
    const tls = this.o.tls;
    // With TLS the WebSocket server rides on an HTTPS server that demands a client certificate from the CA.
    const https = tls === undefined ? undefined : createHttpsServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true });
    const server = new WebSocketServer({
      ...(https === undefined ? { host: this.o.host, port: this.o.port } : { server: https }),
      maxPayload: this.o.maxFrameBytes, perMessageDeflate: false, clientTracking: false,
      // Peers are raftbus nodes, never browsers: a page on any site may open a WebSocket
      // to a peer port on this machine, and browsers always send Origin. Refuse those.
      verifyClient: (info: { origin?: string }) => {
        const fromBrowser = info.origin !== undefined && info.origin !== "";
        if (fromBrowser) this.refusedHandshakes++;
        return !fromBrowser;
      },
    });
    await new Promise<void>((resolve, reject) => {
      const listening = https ?? server;
      listening.once("listening", resolve);
      listening.once("error", reject);
      https?.listen(this.o.port, this.o.host);
    });
    this.server = server;
    this.https = https;
    this.boundPort = ((https ?? server).address() as AddressInfo).port;
    // A plain-text or uncertified peer fails the TLS handshake: counted with the refused handshakes.
    https?.on("tlsClientError", () => { this.refusedHandshakes++; });
    server.on("connection", (ws, req) => this.accept(ws, req.socket.remoteAddress ?? ""));
    server.on("error", (e) => this.o.onError(e));
    this.state = "running";
    for (const peer of this.peers.values()) this.dial(peer);
  }

  /** {@inheritDoc Transport.stop} */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    for (const conn of this.pending.keys()) conn.terminate();
    this.pending.clear();
    this.pendingByAddress.clear();
    const receivers: Promise<void>[] = [];
    for (const peer of this.peers.values()) {
      this.quiet(peer);
      peer.conn?.terminate();
      receivers.push(peer.receiver.stop());
    }
    this.flushPending.clear();
    await Promise.all(receivers);
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
    const https = this.https;
    if (https !== undefined) {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
  }

  /** {@inheritDoc Transport.stats} */
  stats(): TransportStats {
    const peers = new Map<NodeId, PeerStats>();
    for (const [id, peer] of this.peers) peers.set(id, peer.stats());
    return {
      peers, authFailures: this.authFailures,
      unattributedBadFrames: this.unattributedBadFrames, droppedUnknownPeer: this.droppedUnknownPeer,
      refusedHandshakes: this.refusedHandshakes,
    };
  }

  /** Closes the connection to `peer` (operations, tests); the dialer reconnects after back-off. */
  disconnect(peer: NodeId): void {
    this.peers.get(peer)?.conn?.close(CLOSE_CODES.closedByOperator, "disconnected by operator");
  }

  private newPeer(id: NodeId, address: string): Peer {
    return new Peer(id, address, this.o, {
      deliver: (m) => this.deliver(m),
      snapshotStatus: (to, ok) => { if (this.state !== "stopped") this.snapshotHandler?.(to, ok); },
    });
  }

  /** Peer removed from the membership: drop its queue, transfers and connections. */
  private removePeer(peer: Peer): void {
    this.peers.delete(peer.id);
    this.quiet(peer);
    peer.conn?.close(CLOSE_CODES.peerRemoved, "peer removed");
    void peer.receiver.stop();
  }

  /** Stops everything of `peer` that would act on its own: timers, dials, snapshot sending, its queue. */
  private quiet(peer: Peer): void {
    if (peer.redialTimer !== null) this.o.clock.clearTimeout(peer.redialTimer);
    peer.redialTimer = null;
    peer.dialing?.terminate();
    peer.sender.stop();
    peer.discardQueue();
  }

  /** The smaller id dials, and only peers whose address it knows. */
  private dials(peer: Peer): boolean {
    return this.o.nodeId < peer.id && peer.address !== undefined;
  }

  private dial(peer: Peer): void {
    if (this.state !== "running" || !this.dials(peer) || this.peers.get(peer.id) !== peer) return;
    if (peer.conn !== null || peer.dialing !== null || peer.redialTimer !== null) return;
    assert(peer.address !== undefined, "dials() checked the address");
    const tls = this.o.tls;
    const ws = new WebSocket(toUrl(peer.address, tls !== undefined), {
      maxPayload: this.o.maxFrameBytes, perMessageDeflate: false, handshakeTimeout: this.o.handshakeTimeoutMs,
      ...(tls !== undefined ? { cert: tls.cert, key: tls.key, ca: tls.ca } : {}),
    });
    peer.dialing = new PeerConnection(ws, "dial", peer.id, this.settings, this.events);
  }

  private scheduleRedial(peer: Peer): void {
    if (this.state !== "running" || !this.dials(peer) || peer.redialTimer !== null) return;
    peer.redialTimer = this.o.clock.setTimeout(() => {
      peer.redialTimer = null;
      this.dial(peer);
    }, peer.backoff.next());
  }

  private accept(ws: WebSocket, address: string): void {
    const fromAddress = this.pendingByAddress.get(address) ?? 0;
    if (this.state !== "running" || this.pending.size >= this.o.pendingConnectionsMax || fromAddress >= this.o.pendingConnectionsPerAddressMax) {
      this.refusedHandshakes++;
      ws.terminate();
      return;
    }
    this.pendingByAddress.set(address, fromAddress + 1);
    this.pending.set(new PeerConnection(ws, "accept", null, this.settings, this.events), address);
  }

  /** A connection left the handshake (authenticated or closed): its slot is free. */
  private unpend(conn: PeerConnection): void {
    const address = this.pending.get(conn);
    if (address === undefined) return;
    this.pending.delete(conn);
    const n = (this.pendingByAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.pendingByAddress.delete(address);
    else this.pendingByAddress.set(address, n);
  }

  private onAuthenticated(conn: PeerConnection, id: NodeId): void {
    const peer = this.peers.get(id);
    assert(peer !== undefined && this.state === "running", "admit() checked the peer");
    if (conn.role === "accept") {
      this.unpend(conn);
      const old = peer.conn;
      if (old !== null) {
        peer.detach();
        old.close(CLOSE_CODES.replaced, "replaced by a newer connection");
      }
    } else {
      if (peer.dialing !== conn) {
        conn.close(CLOSE_CODES.closedByOperator, "superseded"); // the address changed while authenticating
        return;
      }
      peer.dialing = null;
    }
    peer.attach(conn);
  }

  private onFrames(conn: PeerConnection, frames: readonly Frame[]): void {
    const peer = conn.peer === null ? undefined : this.peers.get(conn.peer);
    for (const f of frames) {
      // The handler may stop the transport or the connection may be replaced mid-packet.
      if (peer === undefined || peer.conn !== conn || this.state !== "running") return;
      if ((f.kind === "raft" || f.kind === "snapOffer") && (f.msg.from !== peer.id || f.msg.to !== this.o.nodeId)) {
        conn.reportMalformed(new FrameError("frame.msg", `from/to ${f.msg.from}→${f.msg.to} on the connection from ${peer.id}`));
        continue;
      }
      switch (f.kind) {
        case "raft":
          peer.count("received");
          this.deliver(f.msg);
          break;
        case "snapOffer":
          peer.receiver.onOffer(f.msg);
          break;
        case "snapChunk":
          peer.receiver.onChunk(f);
          break;
        case "snapAck":
          peer.sender.onAck(f);
          break;
        case "challenge":
        case "hello":
          conn.reportMalformed(new FrameError("frame.kind", `${f.kind} after the handshake`));
          break;
      }
    }
  }

  private onBadFrame(conn: PeerConnection, problem: FrameError | "oversized"): void {
    const peer = conn.peer === null ? undefined : this.peers.get(conn.peer);
    if (peer === undefined) this.unattributedBadFrames++;
    else peer.count(problem === "oversized" ? "oversizedFrames" : "malformedFrames");
  }

  private onClosed(conn: PeerConnection): void {
    this.unpend(conn);
    const id = conn.peer ?? conn.target;
    const peer = id === null ? undefined : this.peers.get(id);
    if (peer === undefined || this.state === "stopped") return;
    if (peer.dialing === conn) {
      peer.dialing = null;
    } else if (peer.conn === conn) {
      peer.detach();
    } else {
      return; // a replaced or superseded connection
    }
    peer.unreachableReported = true;
    this.reportUnreachable(peer.id);
    this.scheduleRedial(peer);
  }

  private deliver(m: Message): void {
    if (this.state === "running") this.messageHandler?.(m);
  }

  /** Deferred so the handler never re-enters the driver from inside send(). */
  private reportUnreachable(id: NodeId): void {
    setImmediate(() => {
      if (this.state === "running") this.unreachableHandler?.(id);
    });
  }

  /** Coalesces the flushes of one event-loop turn: messages sent together share packets. */
  private scheduleFlush(peer: Peer): void {
    this.flushPending.add(peer);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const peers = [...this.flushPending];
      this.flushPending.clear();
      for (const p of peers) p.flush();
    });
  }
}
