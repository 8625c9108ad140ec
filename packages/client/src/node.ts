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

/** {@link connectCore | connect} with `ws` sockets by default. */
export function connect(options: ConnectOptions): Promise<RaftbusClient> {
  return connectCore({ ...options, webSocketFactory: options.webSocketFactory ?? nodeWebSocketFactory });
}
