/**
 * The shapes every group uses: errors, messages as published, stored and
 * delivered, and a publish acknowledgement (SPEC §2).
 */
import { Type } from "@sinclair/typebox";
import { GUARANTEES, PRIORITIES } from "../message.ts";
import { bool, bytes, map, nat, nonEmptyStr, num, oneOf, opt, pos, shape, str, type Wire } from "./wire.ts";

/** Error codes are upper-case identifiers; a receiver accepts codes it does not know (a newer peer's). */
export const ERROR_CODE_LENGTH_MAX = 64;

/** How a failure travels: a stable code, a message, and machine-readable facts. */
export const ErrorInfo = shape("ErrorInfo", {
  code: Type.String({
    minLength: 1, maxLength: ERROR_CODE_LENGTH_MAX,
    description: "stable error code (README table); receivers carry codes they do not know instead of failing",
  }),
  message: str("human-readable explanation"),
  leaderHint: opt(str("the leader's client address, with NOT_LEADER")),
  details: opt(map(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), "extra facts, e.g. { position: 7 } with INVALID_FILTER", 64)),
});

const headers = (description: string) => map(Type.String(), description);

/** What a publisher sends: the envelope before the leader stamps it. */
export const PublishMessage = shape("PublishMessage", {
  topic: nonEmptyStr("dot-separated topic name"),
  payload: bytes("the message body"),
  id: opt(nonEmptyStr("client-chosen unique id; the server generates one when absent; dedup key")),
  priority: opt(oneOf(PRIORITIES, "dispatch priority; default medium")),
  guarantee: opt(oneOf(GUARANTEES, "delivery guarantee; default at-least-once")),
  ttlMs: opt(pos("never delivered after this long")),
  maxRetries: opt(nat("redeliveries before the dead-letter queue")),
  correlationId: opt(str("request/reply correlation")),
  headers: opt(headers("string headers")),
  producerId: opt(nonEmptyStr("idempotent producer id: (producerId, sequence) is stored at most once per dedup window")),
  sequence: opt(nat("the producer's sequence number")),
});

const storedFields = {
  id: nonEmptyStr("message id"),
  topic: nonEmptyStr("topic name"),
  payload: bytes("the message body"),
  senderId: str("client id of the publisher"),
  timestamp: nat("leader's clock when the entry was proposed, ms since the epoch"),
  priority: oneOf(PRIORITIES, "dispatch priority"),
  guarantee: oneOf(GUARANTEES, "delivery guarantee"),
  ttlMs: opt(pos("time to live")),
  maxRetries: nat("redeliveries before the dead-letter queue"),
  correlationId: opt(str("request/reply correlation")),
  headers: headers("string headers"),
  offset: nat("per-topic offset: dense, increasing from 0"),
  index: nat("Raft index of the entry that committed it"),
};

/** A committed message as stored in a topic log. */
export const StoredMessage = shape("StoredMessage", storedFields);

/** A message pushed to a subscriber, with its delivery attempt. */
export const Delivery = shape("Delivery", {
  ...storedFields,
  attempt: pos("1 on the first delivery; n on the n-th (a redelivery)"),
});

/** What a publish resolves with once committed. */
export const PublishAck = shape("PublishAck", {
  topic: nonEmptyStr("topic name"),
  offset: nat("the message's offset"),
  index: nat("Raft index of the entry"),
  duplicate: bool("true when the id (or producer sequence) was already stored: offset is the original's"),
});

/** Limits a server announces in `welcome`; the SDK sizes its batches to fit them. */
export const ServerLimits = shape("ServerLimits", {
  maxPayloadBytes: pos("largest payload of one message, in bytes"),
  maxFrameBytes: pos("largest frame the server accepts, in bytes (never above 4 MiB)"),
  maxBatchMessages: pos("largest number of messages in one publish request"),
  maxInFlight: pos("largest maxInFlight a subscription may ask for"),
  sessionTimeoutMs: pos("a session whose connection is gone this long expires with its ephemeral subscriptions"),
});

/** Dispatch/backoff numbers used by several bodies. */
export const BackoffPolicy = shape("BackoffPolicy", {
  initialMs: pos("first delay"),
  maxMs: pos("largest delay"),
  multiplier: num("growth factor per attempt, ≥ 1"),
});

/** The error shape that travels in responses and pushes. */
export type ErrorInfoBody = Wire<typeof ErrorInfo>;
