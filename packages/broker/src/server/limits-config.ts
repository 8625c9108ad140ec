/**
 * The node's limits on what clients and peers may hold or do (issue 13
 * item 5; NATS's max_connections, max_subscriptions, ping/auth timeouts and
 * slow-consumer rules). Each is a config key with a default, validated at
 * start-up; each refusal carries a stable code (README "Limits").
 *
 * Only leader-local or connection-local limits live here. What must be the
 * same on every replica (durable subscriptions per user, subscriptions in
 * the cluster, regex and filter budgets) is decided in apply: the leader
 * copies the configured value into the command, or it is a code constant.
 */

/** Every configurable limit. Units are last in the names. */
export interface LimitsConfig {
  /** Client connections this node holds at once (WebSocket upgrades beyond it are refused). */
  readonly connectionsMax: number;
  /** Client connections from one IP address at once. */
  readonly connectionsPerAddressMax: number;
  /** Largest first frame (hello, with its name and token). */
  readonly helloBytesMax: number;
  /** Largest HTTP request head (request line and headers) on the client port. */
  readonly httpHeaderBytesMax: number;
  /** Time a new connection has to say hello and authenticate. */
  readonly helloTimeoutMs: number;
  /** The server pings a connection it has not heard from for this long. */
  readonly pingIntervalMs: number;
  /** A connection that sends nothing (no frame, no pong) for this long is closed. */
  readonly idleTimeoutMs: number;
  /** Requests of one connection being handled at once; the server stops reading the socket beyond it. */
  readonly pendingRequestsMax: number;
  /** Frame bytes of one connection's requests being handled at once; the server stops reading beyond it. */
  readonly pendingRequestBytesMax: number;
  /** Bytes queued to one socket (replies and deliveries); beyond it the server stops reading requests and holds deliveries. */
  readonly socketBufferBytesMax: number;
  /** A socket over socketBufferBytesMax this long is closed (slow consumer). */
  readonly drainTimeoutMs: number;
  /** Subscriptions one connection holds at once. */
  readonly subscriptionsPerSessionMax: number;
  /** Durable subscriptions one user (the client id with auth open) may create; checked in apply. */
  readonly durableSubscriptionsPerUserMax: number;
  /** Messages per second one user may publish (token bucket, burst of one second). */
  readonly publishMessagesPerSecMax: number;
  /** Payload and header bytes per second one user may publish (token bucket, burst of one second). */
  readonly publishBytesPerSecMax: number;
  /** Most items one list request returns; more come page by page with a cursor. */
  readonly listPageMax: number;
  /** Peer connections from one IP address still in their handshake. */
  readonly peerHandshakesPerAddressMax: number;
  /** Peer connections still in their handshake, from all addresses. */
  readonly peerHandshakesMax: number;
  /** Free disk space under the data directory below which the leader refuses publishes (STORAGE_FULL; storage-guard.ts); 0: never. */
  readonly diskFreeMinBytes: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** The defaults (README "Limits" lists them; a test keeps the two in step). */
export const LIMIT_DEFAULTS: LimitsConfig = {
  connectionsMax: 4096,
  connectionsPerAddressMax: 256,
  helloBytesMax: 16 * KiB,
  httpHeaderBytesMax: 16 * KiB,
  helloTimeoutMs: 10_000,
  pingIntervalMs: 30_000,
  idleTimeoutMs: 90_000,
  pendingRequestsMax: 256,
  pendingRequestBytesMax: 32 * MiB,
  socketBufferBytesMax: 8 * MiB,
  drainTimeoutMs: 30_000,
  subscriptionsPerSessionMax: 1024,
  durableSubscriptionsPerUserMax: 1024,
  publishMessagesPerSecMax: 50_000,
  publishBytesPerSecMax: 64 * MiB,
  listPageMax: 1000,
  peerHandshakesPerAddressMax: 8,
  peerHandshakesMax: 64,
  diskFreeMinBytes: 256 * MiB,
};

/** How each limit is parsed from a string (config.ts's field kinds). */
export const LIMIT_FIELDS = {
  connectionsMax: "int", connectionsPerAddressMax: "int", helloBytesMax: "size", httpHeaderBytesMax: "size",
  helloTimeoutMs: "duration", pingIntervalMs: "duration", idleTimeoutMs: "duration", pendingRequestsMax: "int",
  pendingRequestBytesMax: "size", socketBufferBytesMax: "size", drainTimeoutMs: "duration",
  subscriptionsPerSessionMax: "int", durableSubscriptionsPerUserMax: "int", publishMessagesPerSecMax: "int",
  publishBytesPerSecMax: "size", listPageMax: "int", peerHandshakesPerAddressMax: "int", peerHandshakesMax: "int",
  diskFreeMinBytes: "size",
} as const satisfies Record<keyof LimitsConfig, "int" | "size" | "duration">;

/** Allowed range of each limit: a value outside is a configuration mistake, not a choice. */
const RANGES: Record<keyof LimitsConfig, readonly [number, number]> = {
  connectionsMax: [1, 1_000_000],
  connectionsPerAddressMax: [1, 1_000_000],
  helloBytesMax: [1 * KiB, 1 * MiB],
  httpHeaderBytesMax: [4 * KiB, 1 * MiB],
  helloTimeoutMs: [100, 600_000],
  pingIntervalMs: [100, 3_600_000],
  idleTimeoutMs: [200, 24 * 3_600_000],
  pendingRequestsMax: [1, 65_536],
  pendingRequestBytesMax: [64 * KiB, 1024 * MiB],
  socketBufferBytesMax: [64 * KiB, 1024 * MiB],
  drainTimeoutMs: [100, 3_600_000],
  subscriptionsPerSessionMax: [1, 1_000_000],
  durableSubscriptionsPerUserMax: [1, 1_000_000],
  publishMessagesPerSecMax: [1, 100_000_000],
  publishBytesPerSecMax: [1 * KiB, 64 * 1024 * MiB],
  listPageMax: [10, 100_000],
  peerHandshakesPerAddressMax: [1, 4096],
  peerHandshakesMax: [1, 4096],
  diskFreeMinBytes: [0, 2 ** 50],
};

/** Adds a problem for every limit out of range or inconsistent with another. */
export function validateLimits(c: LimitsConfig & { readonly maxPayloadBytes: number }, problems: string[]): void {
  for (const [key, [lo, hi]] of Object.entries(RANGES) as [keyof LimitsConfig, readonly [number, number]][]) {
    const v = c[key];
    if (!Number.isInteger(v) || v < lo || v > hi) problems.push(`${key}: must be a whole number between ${lo} and ${hi} (got ${v})`);
  }
  if (c.idleTimeoutMs <= c.pingIntervalMs) {
    problems.push(`idleTimeoutMs (${c.idleTimeoutMs}) must exceed pingIntervalMs (${c.pingIntervalMs}): a client gets a ping before it is called idle`);
  }
  if (c.publishBytesPerSecMax < c.maxPayloadBytes) {
    problems.push(`publishBytesPerSecMax (${c.publishBytesPerSecMax}) must be at least maxPayloadBytes (${c.maxPayloadBytes}), or the largest message could never be published`);
  }
}
