/** Body group: publishing (SPEC §2, §4 dedup). */
import { Type } from "@sinclair/typebox";
import { ErrorInfo, PublishAck, PublishMessage } from "./messages.ts";
import { arr, lit, shape } from "./wire.ts";

/** `publish`: a batch of messages, possibly to several topics. */
export const PublishRequest = shape("PublishRequest", {
  messages: arr(PublishMessage, "the batch; at most limits.maxBatchMessages"),
});

/** The outcome of one message of a publish batch. */
export const PublishOutcome = Type.Union([
  shape("PublishOk", { ok: lit(true), ack: PublishAck }),
  shape("PublishFailed", { ok: lit(false), error: ErrorInfo }),
], { title: "PublishOutcome", description: "{ ok: true, ack } or { ok: false, error }" });

/** `publish` response: one outcome per request message, same order and length. */
export const PublishResponse = shape("PublishResponse", {
  results: arr(PublishOutcome, "one per request message, in order"),
});

/** The request kinds of this group: request body, `ok` response body, which node serves it. */
export const publishKinds = {
  publish: { request: PublishRequest, response: PublishResponse, servedBy: "leader" },
} as const;

