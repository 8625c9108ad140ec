/** Body group: topics and retention (SPEC §3). */
import { readRequestFields, readResponseFields } from "./reads.ts";
import { arr, bool, nat, nonEmptyStr, nullable, num, opt, pos, shape, str } from "./wire.ts";

/** Per-topic retention: any combination; absent fields mean unlimited. */
export const RetentionPolicy = shape("RetentionPolicy", {
  maxMessages: opt(pos("keep at most this many messages")),
  maxAgeMs: opt(pos("remove messages older than this")),
  maxBytes: opt(pos("keep at most this many payload bytes")),
});

/** `topic.create`. */
export const TopicCreateRequest = shape("TopicCreateRequest", {
  topic: nonEmptyStr("topic name"),
  retention: opt(RetentionPolicy),
});

const summaryFields = {
  name: nonEmptyStr("topic name"),
  retention: RetentionPolicy,
  messages: nat("retained messages"),
  bytes: nat("their payload bytes"),
  firstOffset: nullable(nat(), "lowest retained offset; null when the topic holds no message"),
  lastOffset: nullable(nat(), "highest assigned offset; null when nothing was ever published"),
  createdAt: nat("ms since the epoch"),
};

/** A topic's identity, retention and size. */
export const TopicSummary = shape("TopicSummary", summaryFields);

/** `topic.list`. */
export const TopicListRequest = shape("TopicListRequest", {
  prefix: opt(str("only topics whose name starts with this")),
  after: opt(str("cursor: list topics whose name sorts after this (the previous page's `next`)")),
  limit: opt(pos("most topics in this page; the server caps it at its listPageMax")),
  ...readRequestFields,
});

/** `topic.list` response. */
export const TopicListResponse = shape("TopicListResponse", {
  topics: arr(TopicSummary, "the topics, by name"),
  next: opt(str("present when more follow: pass it as `after` for the next page")),
  ...readResponseFields,
});

/** `topic.delete`: names one topic. */
export const TopicRequest = shape("TopicRequest", { topic: nonEmptyStr("topic name") });

/** `topic.info`: names one topic. */
export const TopicInfoRequest = shape("TopicInfoRequest", { topic: nonEmptyStr("topic name"), ...readRequestFields });

/** A subscription's view of one topic. */
export const TopicSubscriptionInfo = shape("TopicSubscriptionInfo", {
  id: nonEmptyStr("durable name or ephemeral subscription id"),
  durable: bool(),
  pattern: nonEmptyStr("topic pattern"),
  inFlight: nat("delivered, not yet acked"),
  lag: nat("matching messages on this topic not yet delivered"),
});

/** `topic.info` response. */
export const TopicInfo = shape("TopicInfo", {
  ...summaryFields,
  publishRatePerSec: num("recent publish rate"),
  subscriptions: arr(TopicSubscriptionInfo, "subscriptions matching the topic"),
  deadLettered: nat("messages in the topic's dead-letter queue"),
  ...readResponseFields,
});

/** `topic.delete` response. */
export const TopicDeleteResponse = shape("TopicDeleteResponse", {
  topic: nonEmptyStr("topic name"),
  messagesRemoved: nat("messages removed with it"),
});

/** The request kinds of this group. */
export const topicKinds = {
  "topic.create": { request: TopicCreateRequest, response: TopicSummary, servedBy: "leader" },
  "topic.list": { request: TopicListRequest, response: TopicListResponse, servedBy: "read" },
  "topic.info": { request: TopicInfoRequest, response: TopicInfo, servedBy: "read" },
  "topic.delete": { request: TopicRequest, response: TopicDeleteResponse, servedBy: "leader" },
} as const;
