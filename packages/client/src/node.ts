/**
 * @raftbus/client/node — the SDK for Node.js: the same API as the core entry,
 * with sockets from the `ws` package unless `webSocketFactory` is given.
 * This is the only SDK module that imports `ws`.
 */
import WebSocket from "ws";
import { connect as connectCore, type ConnectOptions, type RaftbusClient } from "./client.ts";
import { FRAME_BYTES_MAX } from "./protocol/index.ts";
import type { WebSocketFactory } from "./transport.ts";

export * from "./index.ts";

/**
 * Opens `ws` sockets. Compression is off (msgpack payloads are usually
 * small or already compressed) and incoming frames are capped at
 * {@link FRAME_BYTES_MAX}, so a misbehaving server cannot make the client
 * buffer more.
 */
export const nodeWebSocketFactory: WebSocketFactory = (url) => new WebSocket(url, { perMessageDeflate: false, maxPayload: FRAME_BYTES_MAX });

/** TLS settings for `wss://` servers whose certificates a private CA signed (a homelab cluster's own CA). */
export interface NodeTlsOptions {
  /** The CA certificate(s), PEM, that signed the nodes' certificates; default: Node's public roots. */
  // Uint8Array, not Buffer (a Buffer is one): the SDK's types must not need @types/node.
  readonly ca?: string | Uint8Array | readonly (string | Uint8Array)[];
}

/** {@link nodeWebSocketFactory} that checks `wss://` servers against `tls.ca`. */
export function tlsWebSocketFactory(tls: NodeTlsOptions): WebSocketFactory {
  const ca = tls.ca === undefined ? undefined : Array.isArray(tls.ca) ? [...tls.ca] : [tls.ca as string | Uint8Array];
  return (url) => new WebSocket(url, { perMessageDeflate: false, maxPayload: FRAME_BYTES_MAX, ...(ca !== undefined ? { ca } : {}) });
}

/** {@link ConnectOptions} plus what only Node offers: a CA for `wss://` servers. */
export interface NodeConnectOptions extends ConnectOptions {
  /** TLS for `wss://` servers (ignored when `webSocketFactory` is given). */
  readonly tls?: NodeTlsOptions;
}

/** {@link connectCore | connect} with `ws` sockets by default. */
export function connect(options: NodeConnectOptions): Promise<RaftbusClient> {
  const { tls, ...rest } = options;
  return connectCore({ ...rest, webSocketFactory: options.webSocketFactory ?? (tls !== undefined ? tlsWebSocketFactory(tls) : nodeWebSocketFactory) });
}
