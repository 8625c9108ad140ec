/**
 * The socket the SDK runs on, reduced to what both the `ws` package and the
 * browser's WebSocket offer. The core SDK never imports `ws`: Node callers get
 * a `ws` factory from `@raftbus/client/node`, browsers use the global
 * WebSocket, tests may inject anything that fits.
 */
import { RaftbusError } from "./protocol/index.ts";

/**
 * The subset of the WHATWG WebSocket the SDK uses. Handler parameters are
 * typed `never` so that both `ws`'s and the DOM's event types fit; the SDK
 * reads only `data` (message), `code` and `reason` (close).
 */
export interface WebSocketLike {
  binaryType: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes queued by `send` but not yet handed to the network. */
  readonly bufferedAmount: number;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** Opens a socket to `url` (`ws://host:port` or `wss://…`). */
export type WebSocketFactory = (url: string) => WebSocketLike;

/** `readyState` of an open socket. */
export const SOCKET_OPEN = 1;

/** WebSocket close code for a normal closure. */
export const CLOSE_NORMAL = 1000;
/** WebSocket close code the SDK uses when the peer broke the protocol. */
export const CLOSE_PROTOCOL_ERROR = 1002;

/** The message event fields the SDK reads. */
export interface MessageEventLike {
  readonly data: unknown;
}

/** The close event fields the SDK reads. */
export interface CloseEventLike {
  readonly code: number;
  readonly reason: string | { toString(): string };
}

/** The bytes of a binary message event, or a BAD_REQUEST error for text or unknown data. */
export function messageBytes(event: MessageEventLike): Uint8Array {
  const { data } = event;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new RaftbusError("BAD_REQUEST", `expected a binary WebSocket message, got ${typeof data}`);
}

/**
 * The global WebSocket as a factory, when the platform has one (browsers,
 * Deno, Node ≥ 22); undefined otherwise (Node 20: use `@raftbus/client/node`).
 */
export function globalWebSocketFactory(): WebSocketFactory | undefined {
  const ctor: unknown = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof ctor !== "function") return undefined;
  const WebSocketCtor = ctor as new (url: string) => WebSocketLike;
  return (url) => new WebSocketCtor(url);
}
