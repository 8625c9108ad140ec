/**
 * Options of WsTransport, their defaults, and the one-time validation
 * (STYLE.md practice 5: a limit on everything, checked at start-up with
 * messages that name the option).
 */
import type { NodeId } from "../core/types.ts";
import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import { TransportConfigError } from "./errors.ts";
import { CHUNK_OVERHEAD_BYTES_MAX, ID_LENGTH_MAX } from "./frames.ts";
import type { SnapshotSink, SnapshotSource } from "./transport.ts";

/** Constructor options of {@link WsTransport}. Only the first three are required. */
export interface WsTransportOptions {
  /** This node's id; the node with the smaller id (string order) dials. */
  readonly nodeId: NodeId;
  /** Peers must present the same cluster id. */
  readonly clusterId: string;
  /** Shared secret (≥ 16 bytes) every peer proves it knows (HMAC-SHA256 over a nonce exchange). */
  readonly clusterSecret: string | Uint8Array;
  /** Interface to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one (see WsTransport.port). Default 0. */
  readonly port?: number;
  /** Initial peer addresses (`host:port` or `ws://…`); same as calling setPeers before start. */
  readonly peers?: ReadonlyMap<NodeId, string>;
  /** Where outgoing snapshot data comes from; required to send `snap` messages. */
  readonly snapshotSource?: SnapshotSource;
  /** Where incoming snapshot data goes; without it, offered snapshots are refused. */
  readonly snapshotSink?: SnapshotSink;
  /** Largest WebSocket message sent or accepted (ws maxPayload). Default 4 MiB. Raft's per-message size limit must stay below it. */
  readonly maxFrameBytes?: number;
  /** Raft messages queued per peer. Default 4096. */
  readonly queueMessagesMax?: number;
  /** Encoded bytes queued per peer; at least maxFrameBytes. Default 16 MiB. */
  readonly queueBytesMax?: number;
  /** Stop handing packets to a socket while ws.bufferedAmount is at or above this. Default 1 MiB. */
  readonly socketBufferedBytesMax?: number;
  /** Snapshot data per chunk frame. Default 256 KiB. */
  readonly snapshotChunkBytes?: number;
  /** Unacknowledged snapshot chunks in flight per transfer; must match cluster-wide. Default 4. */
  readonly snapshotWindowChunks?: number;
  /** A snapshot transfer without progress for this long is abandoned. Default 30 s. */
  readonly snapshotTimeoutMs?: number;
  /** First reconnect delay (before jitter). Default 100 ms. */
  readonly reconnectInitialMs?: number;
  /** Reconnect delay cap. Default 5 s. */
  readonly reconnectMaxMs?: number;
  /** Connect plus authenticate within this long, or the attempt fails. Default 5 s. */
  readonly handshakeTimeoutMs?: number;
  /** Ping period; a connection silent for two periods is dropped. Default 5 s. */
  readonly pingIntervalMs?: number;
  /** More malformed frames than this on one connection close it. Default 16. */
  readonly malformedFramesMax?: number;
  /** Accepted connections still in their handshake; more are refused. Default 64. */
  readonly pendingConnectionsMax?: number;
  /** Accepted connections from one IP address still in their handshake; more are refused. Default 8. */
  readonly pendingConnectionsPerAddressMax?: number;
  /** Timers; injected by tests. Default: the system clock. */
  readonly clock?: Clock;
  /** Uniform random in [0, 1) for back-off jitter. Default Math.random. */
  readonly random?: () => number;
  /** Non-fatal errors the transport recovered from (snapshot source/sink failures), for logs. Default: ignored. */
  readonly onError?: (error: Error) => void;
  /**
   * Mutual TLS between peers: listen with TLS and demand a client
   * certificate signed by `ca`; dial `wss://` presenting `cert` and
   * checking the peer's certificate (and its host name) against `ca`. A
   * plain-text peer cannot complete a TLS handshake, so it never reaches
   * the HMAC exchange. Default: plain WebSocket (the HMAC handshake alone).
   */
  readonly tls?: PeerTls;
}

/** PEM material of {@link WsTransportOptions.tls}. */
export interface PeerTls {
  /** This node's certificate chain (PEM); used as server and as client certificate. */
  readonly cert: string | Buffer;
  /** Its private key (PEM). */
  readonly key: string | Buffer;
  /** The CA(s) that sign every member's certificate (PEM). */
  readonly ca: string | Buffer;
}

/** WsTransportOptions with every default filled in. */
export type ResolvedWsOptions = Required<Omit<WsTransportOptions, "peers" | "snapshotSource" | "snapshotSink" | "tls">>
  & Pick<WsTransportOptions, "snapshotSource" | "snapshotSink" | "tls">;

const KiB = 1024;
const MiB = 1024 * KiB;

/** Fills defaults and validates; throws TransportConfigError naming the first bad option. */
export function resolveWsOptions(o: WsTransportOptions): ResolvedWsOptions {
  const r: ResolvedWsOptions = {
    nodeId: o.nodeId,
    clusterId: o.clusterId,
    clusterSecret: o.clusterSecret,
    host: o.host ?? "127.0.0.1",
    port: o.port ?? 0,
    snapshotSource: o.snapshotSource,
    snapshotSink: o.snapshotSink,
    tls: o.tls,
    maxFrameBytes: o.maxFrameBytes ?? 4 * MiB,
    queueMessagesMax: o.queueMessagesMax ?? 4096,
    queueBytesMax: o.queueBytesMax ?? 16 * MiB,
    socketBufferedBytesMax: o.socketBufferedBytesMax ?? 1 * MiB,
    snapshotChunkBytes: o.snapshotChunkBytes ?? 256 * KiB,
    snapshotWindowChunks: o.snapshotWindowChunks ?? 4,
    snapshotTimeoutMs: o.snapshotTimeoutMs ?? 30_000,
    reconnectInitialMs: o.reconnectInitialMs ?? 100,
    reconnectMaxMs: o.reconnectMaxMs ?? 5_000,
    handshakeTimeoutMs: o.handshakeTimeoutMs ?? 5_000,
    pingIntervalMs: o.pingIntervalMs ?? 5_000,
    malformedFramesMax: o.malformedFramesMax ?? 16,
    pendingConnectionsMax: o.pendingConnectionsMax ?? 64,
    pendingConnectionsPerAddressMax: o.pendingConnectionsPerAddressMax ?? Math.min(8, o.pendingConnectionsMax ?? 64),
    clock: o.clock ?? systemClock,
    random: o.random ?? Math.random,
    onError: o.onError ?? (() => undefined),
  };
  validate(r);
  return r;
}

function validate(r: ResolvedWsOptions): void {
  const check = (ok: boolean, message: string): void => {
    if (!ok) throw new TransportConfigError(message);
  };
  const int = (name: keyof ResolvedWsOptions, min: number, max: number): void => {
    const v = r[name];
    check(typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max, `${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  };
  const id = (name: "nodeId" | "clusterId"): void => {
    const v = r[name];
    check(typeof v === "string" && v.length > 0 && v.length <= ID_LENGTH_MAX, `${name} must be a string of 1..${ID_LENGTH_MAX} characters`);
  };
  id("nodeId");
  id("clusterId");
  const secretBytes = typeof r.clusterSecret === "string" ? Buffer.byteLength(r.clusterSecret) : r.clusterSecret.byteLength;
  check(secretBytes >= 16, "clusterSecret must be at least 16 bytes");
  int("port", 0, 65_535);
  int("maxFrameBytes", 64 * KiB, 256 * MiB);
  int("queueMessagesMax", 1, 1_000_000);
  int("queueBytesMax", r.maxFrameBytes, 4096 * MiB);
  int("socketBufferedBytesMax", 1, 4096 * MiB);
  // A chunk frame is its data plus the envelope (meta with conf, offset, flags).
  int("snapshotChunkBytes", 1, r.maxFrameBytes - CHUNK_OVERHEAD_BYTES_MAX);
  int("snapshotWindowChunks", 1, 64);
  int("snapshotTimeoutMs", 1, 24 * 3600_000);
  int("reconnectInitialMs", 1, 3600_000);
  int("reconnectMaxMs", r.reconnectInitialMs, 3600_000);
  int("handshakeTimeoutMs", 1, 600_000);
  int("pingIntervalMs", 1, 600_000);
  int("malformedFramesMax", 0, 1_000_000);
  int("pendingConnectionsMax", 1, 100_000);
  int("pendingConnectionsPerAddressMax", 1, r.pendingConnectionsMax);
  if (r.tls !== undefined) {
    for (const part of ["cert", "key", "ca"] as const) {
      const v = r.tls[part];
      check((typeof v === "string" || Buffer.isBuffer(v)) && v.length > 0, `tls.${part} must be PEM text`);
    }
  }
}

/** `host:port` → `ws://host:port/` (`wss://` with TLS); full ws:// and wss:// URLs pass through. */
export function toUrl(address: string, tls = false): string {
  return /^wss?:\/\//.test(address) ? address : `${tls ? "wss" : "ws"}://${address}/`;
}

/** Validates a peer entry of setPeers(); throws TransportConfigError. */
export function checkPeer(id: NodeId, address: string): void {
  if (typeof id !== "string" || id.length === 0 || id.length > ID_LENGTH_MAX) {
    throw new TransportConfigError(`peer id must be a string of 1..${ID_LENGTH_MAX} characters, got ${JSON.stringify(id)}`);
  }
  let url: URL;
  try {
    url = new URL(toUrl(address));
  } catch {
    throw new TransportConfigError(`peer ${id}: address ${JSON.stringify(address)} is not host:port or a ws:// URL`);
  }
  if (url.port === "") throw new TransportConfigError(`peer ${id}: address ${JSON.stringify(address)} has no port`);
}
