/**
 * Frame envelopes (one msgpack map per WebSocket binary message, `t` names
 * the type) and the push bodies. Request and response bodies live in the
 * group files and are tied to their kind by requests.ts.
 */
import { Type } from "@sinclair/typebox";
import { REQUEST_ID_MAX } from "../limits.ts";
import { Delivery, ErrorInfo, ServerLimits } from "./messages.ts";
import { arr, lit, nat, nonEmptyStr, nullable, opt, pos, shape, str } from "./wire.ts";

/** Most member addresses a server lists (a cluster is a handful of nodes; the bound is for hostile input). */
export const MEMBERS_MAX = 64;

/** A request id: chosen by the client, unique among its outstanding requests. */
export const requestId = (description = "client-chosen request id, unique among the connection's outstanding requests") =>
  Type.Integer({ minimum: 1, maximum: REQUEST_ID_MAX, description });

/** First frame a client sends on a new connection. */
export const HelloFrame = shape("HelloFrame", {
  t: lit("hello"),
  version: pos("the protocol version the client speaks (1)"),
  clientId: nonEmptyStr("stable for one SDK client across reconnects; names its reply topic _reply.<clientId>"),
  name: opt(str("human-readable client name, for status pages and audit")),
  token: opt(str("credentials: a user token (rbu1.<user>.<secret>, from raftbus user add) or the admin token of the node config; required unless the node runs with auth open")),
});

/** The server's answer to an acceptable hello. */
export const WelcomeFrame = shape("WelcomeFrame", {
  t: lit("welcome"),
  version: pos("the protocol version the server speaks on this connection"),
  nodeId: nonEmptyStr("the answering node"),
  leaderId: nullable(nonEmptyStr(), "the current leader; null during an election"),
  leaderAddress: nullable(nonEmptyStr(), "the leader's client address (ws://host:port); null when unknown"),
  sessionId: nonEmptyStr("server-assigned id of this session"),
  limits: ServerLimits,
  servers: opt(arr(nonEmptyStr(), "client addresses (ws://host:port) of the cluster's members as this node knows them; the SDK adds them to its server list and drops those no longer listed", MEMBERS_MAX)),
  user: opt(nonEmptyStr("the user the token authenticated (absent when the node runs with auth open)")),
  inbox: opt(nonEmptyStr("this session's reply inbox, the one _reply. topic it may always subscribe to (_reply.<user>.<clientId>; _reply.<clientId> with auth open)")),
});

/** The server's answer to an unacceptable hello; it then closes. */
export const RefusedFrame = shape("RefusedFrame", { t: lit("refused"), error: ErrorInfo });

/** A request envelope; `body` is the kind's request body. */
export const RequestEnvelope = shape("RequestFrame", {
  t: lit("req"),
  id: requestId(),
  kind: nonEmptyStr("the request kind"),
  body: Type.Unknown({ description: "the kind's request body" }),
});

/** A successful response envelope; `body` is the kind's response body. */
export const OkResponseEnvelope = shape("OkResponseFrame", {
  t: lit("res"),
  id: nat("the request's id"),
  kind: nonEmptyStr("echoes the request kind"),
  ok: lit(true),
  body: Type.Unknown({ description: "the kind's response body" }),
});

/** A failed request. */
export const ErrorResponseFrame = shape("ErrorResponseFrame", {
  t: lit("res"),
  id: nat("the request's id; 0 when the error could not be attributed to a request"),
  kind: opt(nonEmptyStr("the request kind, when the server could read it")),
  ok: lit(false),
  error: ErrorInfo,
});

/** Push: deliveries on one subscription; each consumes one unit of credit. */
export const DeliverFrame = shape("DeliverFrame", {
  t: lit("deliver"),
  subscriptionId: nonEmptyStr("the subscription"),
  messages: arr(Delivery, "the deliveries"),
});

/** Push: the server ended a subscription; `reason.code` says why. */
export const SubscriptionClosedFrame = shape("SubscriptionClosedFrame", {
  t: lit("subscription-closed"),
  subscriptionId: nonEmptyStr("the subscription"),
  reason: ErrorInfo,
});

/** Push: the leader changed (a hint). */
export const LeaderChangedFrame = shape("LeaderChangedFrame", {
  t: lit("leader-changed"),
  leaderId: nullable(nonEmptyStr(), "null during an election"),
  leaderAddress: nullable(nonEmptyStr(), "the new leader's client address"),
  term: nat("the term"),
});

/** Push: the cluster's membership changed; `servers` replaces the member list of the welcome. */
export const MembersChangedFrame = shape("MembersChangedFrame", {
  t: lit("members-changed"),
  servers: arr(nonEmptyStr(), "client addresses (ws://host:port) of the cluster's members", MEMBERS_MAX),
});

/** Push: the server is about to close this connection. */
export const GoAwayFrame = shape("GoAwayFrame", {
  t: lit("goaway"),
  reason: ErrorInfo,
  reconnectTo: opt(nonEmptyStr("where to reconnect")),
});

/** Frames with a fixed shape, by `t` (requests and responses are checked per kind). */
export const FRAME_SCHEMAS = {
  hello: HelloFrame,
  welcome: WelcomeFrame,
  refused: RefusedFrame,
  deliver: DeliverFrame,
  "subscription-closed": SubscriptionClosedFrame,
  "leader-changed": LeaderChangedFrame,
  "members-changed": MembersChangedFrame,
  goaway: GoAwayFrame,
} as const;

/** The pushes, by `t`. */
export const PUSH_SCHEMAS = {
  deliver: DeliverFrame,
  "subscription-closed": SubscriptionClosedFrame,
  "leader-changed": LeaderChangedFrame,
  "members-changed": MembersChangedFrame,
  goaway: GoAwayFrame,
} as const;

