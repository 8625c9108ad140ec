/**
 * Topic name syntax (SPEC.md §2 "Limits with clear errors", §7 reserved `$sys.`).
 *
 * A topic name is 1..TOPIC_SEGMENTS_MAX dot-separated segments, each a
 * non-empty run of `[A-Za-z0-9_-]`. The first segment may instead be the
 * reserved `$sys`, which only the cluster itself publishes to (callers pass
 * `allowSystem`); a system topic needs at least one segment after `$sys`.
 * Names are ASCII by construction, so their byte length equals `.length`.
 */
import { RaftbusError } from "@raftbus/client/protocol";

export { validateHeaders, HEADERS_COUNT_MAX, HEADER_KEY_BYTES_MAX, HEADER_VALUE_BYTES_MAX, HEADERS_TOTAL_BYTES_MAX } from "./headers.ts";

/** Longest topic name, in bytes: keeps LevelDB keys (topic + fixed-width offset) short. */
export const TOPIC_NAME_BYTES_MAX = 255;
/** Most segments in a topic name: bounds the subscription-trie walk per publish. */
export const TOPIC_SEGMENTS_MAX = 16;
/** The reserved first segment of the cluster's own event topics (SPEC.md §7). */
export const SYSTEM_TOPIC_SEGMENT = "$sys";

const SEGMENT_RE = /^[A-Za-z0-9_-]+$/;

/** Options for {@link validateTopicName}. */
export interface ValidateTopicNameOptions {
  /** Accept the reserved `$sys` first segment (only the cluster publishes there). */
  readonly allowSystem?: boolean;
}

/**
 * Throws `INVALID_TOPIC` saying what is wrong unless `name` is a valid topic
 * name. `$sys.…` names are valid only with `opts.allowSystem`.
 */
export function validateTopicName(name: string, opts: ValidateTopicNameOptions = {}): void {
  if (typeof name !== "string") throw invalid(`topic name must be a string, got ${typeof name}`);
  if (name.length === 0) throw invalid("topic name is empty");
  // Checked before scanning so a huge name costs O(1): every char is >= 1 byte.
  if (name.length > TOPIC_NAME_BYTES_MAX) {
    throw invalid(`topic name is ${name.length} characters long; the limit is ${TOPIC_NAME_BYTES_MAX} bytes`);
  }
  const segments = name.split(".");
  if (segments.length > TOPIC_SEGMENTS_MAX) {
    throw invalid(`topic name '${name}' has ${segments.length} segments; the limit is ${TOPIC_SEGMENTS_MAX}`);
  }
  let offset = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? "";
    checkSegment(name, segment, i, offset, opts.allowSystem === true, segments.length);
    offset += segment.length + 1;
  }
}

function checkSegment(name: string, segment: string, index: number, offset: number, allowSystem: boolean, count: number): void {
  if (segment.length === 0) {
    throw invalid(`topic name '${name}' has an empty segment at character ${offset} (no leading, trailing or double dots)`);
  }
  if (index === 0 && segment === SYSTEM_TOPIC_SEGMENT) {
    if (!allowSystem) throw invalid(`topic name '${name}' uses the reserved '$sys.' prefix, which only the cluster may publish to`);
    if (count === 1) throw invalid("topic name '$sys' needs a segment after '$sys.'");
    return;
  }
  if (!SEGMENT_RE.test(segment)) {
    const bad = [...segment].find((c) => !/[A-Za-z0-9_-]/.test(c)) ?? "";
    throw invalid(`topic name '${name}' has character ${JSON.stringify(bad)} in segment '${segment}'; segments allow only A-Z a-z 0-9 _ -`);
  }
}

/** True when `name` is under the reserved `$sys.` prefix (the cluster's own events). */
export function isSystemTopic(name: string): boolean {
  return name.startsWith(`${SYSTEM_TOPIC_SEGMENT}.`);
}

function invalid(message: string): RaftbusError {
  return new RaftbusError("INVALID_TOPIC", message);
}
