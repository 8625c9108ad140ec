/** Body group: subscriptions, flow control, acknowledgements (SPEC §4). */
import { Type } from "@sinclair/typebox";
import { GUARANTEES } from "../message.ts";
import { BackoffPolicy } from "./messages.ts";
import { readRequestFields, readResponseFields } from "./reads.ts";
import { arr, bool, Empty, lit, nat, nonEmptyStr, oneOf, opt, pos, shape, str } from "./wire.ts";

/** Where a new subscription starts reading. */
export const StartPosition = Type.Union([
  lit("earliest"),
  lit("latest"),
  shape("FromOffset", { offset: nat("first offset to deliver") }),
  shape("FromTime", { time: nat("first message whose leader timestamp is ≥ this, ms since the epoch") }),
], { title: "StartPosition", description: "\"earliest\", \"latest\", { offset } or { time }" });

/** `subscribe`; absent options take the server defaults. */
export const SubscribeRequest = shape("SubscribeRequest", {
  pattern: nonEmptyStr("exact topic, a.* (one level), a.** (any depth) or a regex written /…/"),
  name: opt(nonEmptyStr("durable subscription name; absent = ephemeral")),
  filter: opt(str("filter expression over headers and JSON payload fields")),
  guarantee: opt(oneOf(GUARANTEES, "default at-least-once")),
  from: opt(StartPosition),
  maxInFlight: opt(pos("most unacknowledged deliveries outstanding; default 100, capped by limits.maxInFlight")),
  ackTimeoutMs: opt(pos("redeliver when not acked in time; default 30000")),
  maxRetries: opt(nat("redeliveries before the dead-letter queue; default 5")),
  backoff: opt(BackoffPolicy),
  credit: opt(nat("initial credit; default maxInFlight")),
});

/** `subscribe` response. */
export const SubscribeResponse = shape("SubscribeResponse", {
  subscriptionId: nonEmptyStr("id used by deliver, credit, ack, fail and unsubscribe on this session"),
  durable: bool("true when name was given"),
  resumed: bool("true when an existing durable subscription was joined"),
  maxInFlight: pos("the effective in-flight limit"),
});

/** `unsubscribe`: detach this session's subscriber. */
export const UnsubscribeRequest = shape("UnsubscribeRequest", {
  subscriptionId: nonEmptyStr("the subscription"),
  delete: opt(bool("also remove a durable subscription's replicated state (leader only)")),
});

/** `credit`: allow the server more deliveries. */
export const CreditRequest = shape("CreditRequest", {
  subscriptionId: nonEmptyStr("the subscription"),
  credit: pos("how many more deliveries the server may push"),
});

/** `credit` response. */
export const CreditResponse = shape("CreditResponse", { credit: nat("credit now outstanding on the server") });

/** Identifies one delivered message within a subscription. */
export const MessageRef = shape("MessageRef", { topic: nonEmptyStr("topic"), offset: nat("offset") });

/** `ack`: these deliveries were processed (idempotent); answered once committed. */
export const AckRequest = shape("AckRequest", {
  subscriptionId: nonEmptyStr("the subscription"),
  messages: arr(MessageRef, "the deliveries acknowledged"),
  credit: opt(nat("more deliveries the server may push, applied at once (credit and acks in one frame)")),
});

/** `ack` response. */
export const AckResponse = shape("AckResponse", { acked: nat("how many were newly acknowledged") });

/** One failed delivery with the handler's reason. */
export const FailedRef = shape("FailedRef", { topic: nonEmptyStr("topic"), offset: nat("offset"), reason: str("why processing failed") });

/** `fail`: redeliver after backoff, or dead-letter after maxRetries. */
export const FailRequest = shape("FailRequest", {
  subscriptionId: nonEmptyStr("the subscription"),
  messages: arr(FailedRef, "the failed deliveries"),
  credit: opt(nat("more deliveries the server may push, applied at once")),
});

/** `fail` response. */
export const FailResponse = shape("FailResponse", {
  failed: nat("refs recorded as failed"),
  deadLettered: nat("of them, those that went to the dead-letter queue"),
});

/** `subscription.list`. */
export const SubscriptionListRequest = shape("SubscriptionListRequest", {
  topic: opt(nonEmptyStr("only subscriptions whose pattern matches this topic")),
  after: opt(str("cursor: list subscriptions whose id sorts after this (the previous page's `next`)")),
  limit: opt(pos("most subscriptions in this page; the server caps it at its listPageMax")),
  ...readRequestFields,
});

/** One subscription as listed. */
export const SubscriptionInfo = shape("SubscriptionInfo", {
  id: nonEmptyStr("durable name, or the ephemeral subscription's id"),
  durable: bool("named and replicated"),
  pattern: nonEmptyStr("topic pattern"),
  filter: opt(str("filter expression")),
  guarantee: oneOf(GUARANTEES, "delivery guarantee"),
  members: nat("connected subscribers (several = work queue)"),
  maxInFlight: nat("in-flight limit"),
  inFlight: nat("delivered, not yet acked"),
  lag: nat("matching messages not yet delivered"),
  delivered: nat("deliveries so far"),
  acked: nat("acks so far"),
  failed: nat("fails so far"),
  deadLettered: nat("messages dead-lettered"),
  createdAt: nat("ms since the epoch"),
});

/** `subscription.list` response. */
export const SubscriptionListResponse = shape("SubscriptionListResponse", {
  subscriptions: arr(SubscriptionInfo, "the subscriptions, by id"),
  next: opt(str("present when more follow: pass it as `after` for the next page")),
  ...readResponseFields,
});

/** The request kinds of this group. */
export const subscriptionKinds = {
  subscribe: { request: SubscribeRequest, response: SubscribeResponse, servedBy: "leader" },
  unsubscribe: { request: UnsubscribeRequest, response: Empty, servedBy: "any" },
  credit: { request: CreditRequest, response: CreditResponse, servedBy: "any" },
  ack: { request: AckRequest, response: AckResponse, servedBy: "leader" },
  fail: { request: FailRequest, response: FailResponse, servedBy: "leader" },
  "subscription.list": { request: SubscriptionListRequest, response: SubscriptionListResponse, servedBy: "read" },
} as const;
