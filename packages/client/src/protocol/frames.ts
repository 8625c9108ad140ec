/**
 * The frames of the client protocol: one msgpack map per WebSocket binary
 * message, discriminated by its `t` field. See docs/protocol.md.
 *
 *   client → server: hello, req
 *   server → client: welcome | refused (answer to hello), res (answer to req),
 *                    and the pushes deliver, subscription-closed, leader-changed, goaway
 */
import type { ErrorInfo } from "./errors.ts";
import type { ServerLimits } from "./limits.ts";
import type { Delivery, RequestBodies, RequestKind, ResponseBodies } from "./requests.ts";

/** First frame a client sends on a new connection. */
export interface HelloFrame {
  readonly t: "hello";
  /** The protocol version the client speaks ({@link PROTOCOL_VERSION}). */
  readonly version: number;
  /** Stable for one SDK client across its reconnects; names its reply topic `_reply.<clientId>`. */
  readonly clientId: string;
  /** Human-readable client name, for status pages and audit. */
  readonly name?: string;
  /** Credentials token (SPEC §8). */
  readonly token?: string;
}

/** The server's answer to an acceptable hello. */
export interface WelcomeFrame {
  readonly t: "welcome";
  /** The protocol version the server will speak on this connection. */
  readonly version: number;
  /** The answering node. */
  readonly nodeId: string;
  /** The current leader, or null during an election. */
  readonly leaderId: string | null;
  /** The leader's client WebSocket address (`ws://host:port`), or null when unknown. */
  readonly leaderAddress: string | null;
  /** Server-assigned id of this session (connection). */
  readonly sessionId: string;
  readonly limits: ServerLimits;
}

/** The server's answer to an unacceptable hello (UNSUPPORTED_VERSION, UNAUTHORIZED…); it then closes. */
export interface RefusedFrame {
  readonly t: "refused";
  readonly error: ErrorInfo;
}

/** A request of kind `K`. */
export interface RequestFrame<K extends RequestKind = RequestKind> {
  readonly t: "req";
  /** Client-chosen id in 1..REQUEST_ID_MAX, unique among this connection's outstanding requests. */
  readonly id: number;
  readonly kind: K;
  readonly body: RequestBodies[K];
}

/** A request of any kind; switching on `kind` narrows `body`. */
export type AnyRequestFrame = { [K in RequestKind]: RequestFrame<K> }[RequestKind];

/** A successful response to the request with the same `id`. */
export interface OkResponseFrame<K extends RequestKind = RequestKind> {
  readonly t: "res";
  readonly id: number;
  /** Echoes the request kind, so a response can be validated on its own. */
  readonly kind: K;
  readonly ok: true;
  readonly body: ResponseBodies[K];
}

/** A failed request. `id` 0 means the frame that caused it could not be attributed to a request. */
export interface ErrorResponseFrame {
  readonly t: "res";
  readonly id: number;
  /** The request kind when the server could read it. */
  readonly kind?: RequestKind;
  readonly ok: false;
  readonly error: ErrorInfo;
}

/** A successful response of any kind; switching on `kind` narrows `body`. */
export type AnyOkResponseFrame = { [K in RequestKind]: OkResponseFrame<K> }[RequestKind];

/** A response of any kind. */
export type ResponseFrame = AnyOkResponseFrame | ErrorResponseFrame;

/** Push: deliveries on one subscription. Each consumes one unit of credit. */
export interface DeliverFrame {
  readonly t: "deliver";
  readonly subscriptionId: string;
  readonly messages: readonly Delivery[];
}

/**
 * Push: the server ended a subscription. `reason.code` says why:
 * SUBSCRIPTION_NOT_FOUND (deleted elsewhere), TOPIC_NOT_FOUND, NOT_LEADER
 * (this node lost leadership: re-subscribe at the leader), SHUTTING_DOWN…
 */
export interface SubscriptionClosedFrame {
  readonly t: "subscription-closed";
  readonly subscriptionId: string;
  readonly reason: ErrorInfo;
}

/** Push: the leader changed (hint; the SDK moves to the new leader's address). */
export interface LeaderChangedFrame {
  readonly t: "leader-changed";
  readonly leaderId: string | null;
  readonly leaderAddress: string | null;
  readonly term: number;
}

/**
 * Push: the server is about to close this connection: it is shutting down
 * (SHUTTING_DOWN) or sends the client elsewhere (NOT_LEADER with
 * `reconnectTo`). The client should reconnect, to `reconnectTo` if given.
 */
export interface GoAwayFrame {
  readonly t: "goaway";
  readonly reason: ErrorInfo;
  readonly reconnectTo?: string;
}

/** Frames a client sends. */
export type ClientFrame = HelloFrame | AnyRequestFrame;
/** Frames the server pushes without a request. */
export type PushFrame = DeliverFrame | SubscriptionClosedFrame | LeaderChangedFrame | GoAwayFrame;
/** Frames a server sends. */
export type ServerFrame = WelcomeFrame | RefusedFrame | ResponseFrame | PushFrame;
/** Any frame. */
export type Frame = ClientFrame | ServerFrame;

/** The `t` values of client frames. */
export const CLIENT_FRAME_TYPES = ["hello", "req"] as const satisfies readonly ClientFrame["t"][];
/** The `t` values of server frames. */
export const SERVER_FRAME_TYPES = [
  "welcome", "refused", "res", "deliver", "subscription-closed", "leader-changed", "goaway",
] as const satisfies readonly ServerFrame["t"][];
