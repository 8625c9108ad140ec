/**
 * The peer transport: the Transport contract, its WebSocket and in-memory
 * implementations, and the frame codec. A leaf module: nothing here imports
 * this index, so it cannot create cycles.
 */
export type {
  PeerStats, SnapshotSink, SnapshotSource, SnapshotWriter, Transport, TransportStats,
} from "./transport.ts";
export { FrameError, SnapshotError, TransportConfigError } from "./errors.ts";
export type { TransportErrorCode } from "./errors.ts";
export { WsTransport } from "./ws-transport.ts";
export type { PeerTls, WsTransportOptions } from "./ws-options.ts";
export { MemoryNetwork, MemoryTransport } from "./memory-transport.ts";
export type { MemoryNetworkOptions, MemoryTransportOptions } from "./memory-transport.ts";
export type { Clock } from "./clock.ts";
export { systemClock } from "./clock.ts";
export { decodePacket, encodeFrame } from "./codec.ts";
export type { Frame } from "./frames.ts";
