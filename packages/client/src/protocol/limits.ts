/**
 * Protocol version and the size limits every raftbus endpoint agrees on
 * before a `welcome` tells the client the server's actual limits.
 */
import type { Wire } from "./schemas/wire.ts";
import type { ServerLimits as ServerLimitsSchema } from "./schemas/messages.ts";

/**
 * The client protocol version. Bumped on any change an older peer would
 * misread; additive optional fields do not bump it (receivers ignore unknown
 * fields).
 */
export const PROTOCOL_VERSION = 1;

/**
 * Hard ceiling on one encoded frame, in bytes, for either direction. A
 * decoder refuses bigger frames before parsing them (BAD_REQUEST), so a
 * hostile peer cannot make it allocate more. 4 MiB leaves room for a
 * 1 MiB payload (the default `maxPayloadBytes`) inside a batch with headers.
 */
export const FRAME_BYTES_MAX = 4 * 1024 * 1024;

/** Default largest payload of one message, in bytes (SPEC §2: 1 MiB, configurable). */
export const PAYLOAD_BYTES_MAX_DEFAULT = 1024 * 1024;

/** Default largest number of messages in one publish request or deliver push. */
export const BATCH_MESSAGES_MAX_DEFAULT = 1000;

/**
 * Request ids are positive integers up to this bound; id 0 is reserved for
 * errors that cannot be attributed to a request (the frame was undecodable).
 */
export const REQUEST_ID_MAX = 2 ** 31 - 1;

/** Limits a server announces in `welcome`; the SDK sizes its batches to fit them. */
export type ServerLimits = Wire<typeof ServerLimitsSchema>;

/** What a server announces when it was not configured otherwise. */
export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxPayloadBytes: PAYLOAD_BYTES_MAX_DEFAULT,
  maxFrameBytes: FRAME_BYTES_MAX,
  maxBatchMessages: BATCH_MESSAGES_MAX_DEFAULT,
  maxInFlight: 10_000,
  sessionTimeoutMs: 30_000,
};
