/** Body group: dead-letter queues (SPEC §4, §6). */
import { StoredMessage } from "./messages.ts";
import { readRequestFields, readResponseFields } from "./reads.ts";
import { arr, nat, nonEmptyStr, opt, pos, shape, str } from "./wire.ts";

/** `dlq.list`: a topic's dead letters, oldest first. */
export const DlqListRequest = shape("DlqListRequest", {
  topic: nonEmptyStr("topic name"),
  limit: opt(pos("at most this many; default 100")),
  fromId: opt(nat("start at this dead-letter id")),
  ...readRequestFields,
});

/** A message that exhausted its retries. */
export const DeadLetter = shape("DeadLetter", {
  dlqId: nat("dead-letter id, unique and increasing per topic"),
  message: StoredMessage,
  subscription: str("the subscription that gave up on it"),
  reason: str("the last fail reason, or \"ack timeout\""),
  attempts: nat("deliveries made"),
  deadAt: nat("ms since the epoch"),
});

/** `dlq.list` response. */
export const DlqListResponse = shape("DlqListResponse", { messages: arr(DeadLetter, "the dead letters"), ...readResponseFields });

/** `dlq.replay` and `dlq.purge`: the given dead letters, or all of the topic's when `ids` is absent. */
export const DlqSelectRequest = shape("DlqSelectRequest", {
  topic: nonEmptyStr("topic name"),
  ids: opt(arr(nat(), "dead-letter ids; all when absent")),
});

/** `dlq.replay` response: replayed messages are republished to their topic (new offsets). */
export const DlqReplayResponse = shape("DlqReplayResponse", { replayed: nat("messages republished") });

/** `dlq.purge` response. */
export const DlqPurgeResponse = shape("DlqPurgeResponse", { purged: nat("dead letters removed") });

/** The request kinds of this group. */
export const dlqKinds = {
  "dlq.list": { request: DlqListRequest, response: DlqListResponse, servedBy: "read" },
  "dlq.replay": { request: DlqSelectRequest, response: DlqReplayResponse, servedBy: "leader" },
  "dlq.purge": { request: DlqSelectRequest, response: DlqPurgeResponse, servedBy: "leader" },
} as const;
