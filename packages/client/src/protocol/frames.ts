/**
 * The frames of the client protocol: one msgpack map per WebSocket binary
 * message, discriminated by its `t` field. See docs/protocol.md; the shapes
 * are defined once in schemas/frames.ts and the types derived here.
 *
 *   client → server: hello, req
 *   server → client: welcome | refused (answer to hello), res (answer to req),
 *                    and the pushes deliver, subscription-closed, leader-changed,
 *                    members-changed, goaway
 */
import type { ErrorInfo } from "./errors.ts";
import type { RequestBodies, RequestKind, ResponseBodies } from "./requests.ts";
import type * as F from "./schemas/frames.ts";
import type { Wire } from "./schemas/wire.ts";

/** First frame a client sends on a new connection. */
export type HelloFrame = Wire<typeof F.HelloFrame>;
/** The server's answer to an acceptable hello. */
export type WelcomeFrame = Wire<typeof F.WelcomeFrame>;
/** The server's answer to an unacceptable hello (UNSUPPORTED_VERSION, UNAUTHORIZED…); it then closes. */
export type RefusedFrame = Wire<typeof F.RefusedFrame>;

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
export type DeliverFrame = Wire<typeof F.DeliverFrame>;
/**
 * Push: the server ended a subscription. `reason.code` says why:
 * SUBSCRIPTION_NOT_FOUND (deleted elsewhere), TOPIC_NOT_FOUND, NOT_LEADER
 * (this node lost leadership: re-subscribe at the leader), SHUTTING_DOWN…
 */
export type SubscriptionClosedFrame = Wire<typeof F.SubscriptionClosedFrame>;
/** Push: the leader changed (hint; the SDK moves to the new leader's address). */
export type LeaderChangedFrame = Wire<typeof F.LeaderChangedFrame>;
/** Push: the cluster's members changed (their client addresses; the SDK's server list follows). */
export type MembersChangedFrame = Wire<typeof F.MembersChangedFrame>;
/**
 * Push: the server is about to close this connection: it is shutting down
 * (SHUTTING_DOWN) or sends the client elsewhere (NOT_LEADER with
 * `reconnectTo`). The client should reconnect, to `reconnectTo` if given.
 */
export type GoAwayFrame = Wire<typeof F.GoAwayFrame>;

/**
 * A frame of a type this peer does not know (a newer peer's push). Decoders
 * return it instead of failing, so an older client keeps working against a
 * newer server; receivers ignore it or report it, never close over it.
 */
export interface UnknownFrame {
  readonly t: "unknown";
  /** The frame's `t` as sent. */
  readonly type: string;
  /** The whole decoded frame. */
  readonly frame: Readonly<Record<string, unknown>>;
}

/** Frames a client sends. */
export type ClientFrame = HelloFrame | AnyRequestFrame;
/** Frames the server pushes without a request. */
export type PushFrame = DeliverFrame | SubscriptionClosedFrame | LeaderChangedFrame | MembersChangedFrame | GoAwayFrame;
/** Frames a server sends. */
export type ServerFrame = WelcomeFrame | RefusedFrame | ResponseFrame | PushFrame;
/** Any frame. */
export type Frame = ClientFrame | ServerFrame;

/** The `t` values of client frames. */
export const CLIENT_FRAME_TYPES = ["hello", "req"] as const satisfies readonly ClientFrame["t"][];
/** The `t` values of server frames. */
export const SERVER_FRAME_TYPES = [
  "welcome", "refused", "res", "deliver", "subscription-closed", "leader-changed", "members-changed", "goaway",
] as const satisfies readonly ServerFrame["t"][];
