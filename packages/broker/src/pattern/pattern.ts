/**
 * Subscription patterns (SPEC.md §4).
 *
 * - exact `a.b.c`: that topic only;
 * - `*` is exactly one segment: `system.*` matches `system.health`, not
 *   `system.health.cpu` and not `system`;
 * - `**` is ONE OR MORE segments, anywhere: `system.**` matches
 *   `system.health.cpu`, not `system`; `a.**.z` matches `a.b.z`, `a.b.c.z`;
 * - regex: `/…/` or `re:…`, matched against the whole topic name on the
 *   bounded engine of regex/safe-regex.ts (linear time, no backtracking).
 *
 * `*` and `**` must be whole segments; literal segments follow topic syntax.
 * System topics: a wildcard in the FIRST segment does not match the reserved
 * `$sys` segment (as MQTT §4.7.2 does for `$` topics), so `**` is not flooded
 * with the cluster's own health/metrics events; subscribe to `$sys.**` for
 * those. Regexes are explicit and see every topic, `$sys.…` included.
 * Topics longer than TOPIC_NAME_BYTES_MAX cannot exist and match nothing.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { SYSTEM_TOPIC_SEGMENT, TOPIC_NAME_BYTES_MAX, TOPIC_SEGMENTS_MAX } from "../topic/topic-name.ts";
import { compileSafeRegex } from "./regex/safe-regex.ts";

/** How a pattern matches; `single` has `*` only, `multi` has at least one `**`. */
export type PatternKind = "exact" | "single" | "multi" | "regex";

/** A validated pattern, ready to test topic names. */
export interface CompiledPattern {
  /** What the subscriber wrote. */
  readonly source: string;
  readonly kind: PatternKind;
  /** True when `topic` is matched by this pattern. */
  matches(topic: string): boolean;
  /**
   * NFA states of a regex pattern (0 or absent for the others): one match
   * costs at most this × the topic's length steps; the cluster's total is
   * bounded (SUBSCRIPTION_LIMITS.regexStatesMax).
   */
  readonly regexStates?: number;
  /**
   * Text every topic a regex pattern matches starts with ("" when nothing is
   * fixed up front; absent for the others): the index runs the regex only on
   * topics that start with it.
   */
  readonly literalPrefix?: string;
}

/** Longest non-regex pattern, in bytes: a pattern is no longer than the topics it names. */
export const PATTERN_BYTES_MAX = TOPIC_NAME_BYTES_MAX;
/** Most segments in a non-regex pattern (`**` counts one). */
export const PATTERN_SEGMENTS_MAX = TOPIC_SEGMENTS_MAX;
/** Segment matching exactly one topic segment. */
export const SINGLE_WILDCARD = "*";
/** Segment matching one or more topic segments. */
export const MULTI_WILDCARD = "**";

const LITERAL_SEGMENT_RE = /^[A-Za-z0-9_-]+$/;

// Segments of patterns built here, for SubscriptionIndex's trie. A WeakMap
// rather than a public field: the index can trust these were validated.
const segmentsOf = new WeakMap<CompiledPattern, readonly string[]>();

/**
 * Compiles a subscription pattern.
 *
 * @throws RaftbusError `INVALID_PATTERN` saying what is wrong (and, for regex
 *   syntax errors, `details.position` in `source`).
 */
export function compilePattern(source: string): CompiledPattern {
  if (typeof source !== "string") throw invalid(`pattern must be a string, got ${typeof source}`);
  if (source.startsWith("re:")) return regexPattern(source, source.slice(3), 3);
  if (source.startsWith("/")) {
    if (source.length < 2 || !source.endsWith("/")) {
      throw invalid(`regex pattern '${source}' must end with '/' (flags are not supported)`);
    }
    return regexPattern(source, source.slice(1, -1), 1);
  }
  return segmentPattern(source);
}

/**
 * The validated segments of a non-regex pattern made by {@link compilePattern};
 * undefined for regexes and for objects made elsewhere.
 */
export function patternSegments(pattern: CompiledPattern): readonly string[] | undefined {
  return segmentsOf.get(pattern);
}

function regexPattern(source: string, body: string, offset: number): CompiledPattern {
  const re = compileSafeRegex(body, offset);
  return { source, kind: "regex", matches: (topic) => re.test(topic), regexStates: re.stateCount, literalPrefix: re.prefix };
}

function segmentPattern(source: string): CompiledPattern {
  const segments = parseSegments(source);
  const kind: PatternKind = segments.includes(MULTI_WILDCARD) ? "multi" : segments.includes(SINGLE_WILDCARD) ? "single" : "exact";
  const pattern: CompiledPattern =
    kind === "exact"
      ? { source, kind, matches: (topic) => topic === source }
      : { source, kind, matches: (topic) => topic.length <= TOPIC_NAME_BYTES_MAX && matchSegments(segments, topic.split(".")) };
  segmentsOf.set(pattern, segments);
  return pattern;
}

function parseSegments(source: string): string[] {
  if (source.length === 0) throw invalid("pattern is empty");
  if (source.length > PATTERN_BYTES_MAX) throw invalid(`pattern is ${source.length} characters long; the limit is ${PATTERN_BYTES_MAX} bytes`);
  const segments = source.split(".");
  if (segments.length > PATTERN_SEGMENTS_MAX) {
    throw invalid(`pattern '${source}' has ${segments.length} segments; the limit is ${PATTERN_SEGMENTS_MAX}`);
  }
  segments.forEach((segment, i) => checkSegment(source, segment, i, segments.length));
  return segments;
}

function checkSegment(source: string, segment: string, index: number, count: number): void {
  if (segment === SINGLE_WILDCARD || segment === MULTI_WILDCARD || LITERAL_SEGMENT_RE.test(segment)) return;
  if (index === 0 && segment === SYSTEM_TOPIC_SEGMENT) {
    if (count === 1) throw invalid("pattern '$sys' needs a segment after '$sys.' (try '$sys.**')");
    return;
  }
  if (segment.length === 0) throw invalid(`pattern '${source}' has an empty segment (no leading, trailing or double dots)`);
  if (segment.includes("*")) {
    throw invalid(`pattern '${source}' has '${segment}': '*' and '**' must be whole segments; for anything else use a regex (/…/ or re:…)`);
  }
  throw invalid(`pattern '${source}' has segment '${segment}' with characters other than A-Z a-z 0-9 _ -`);
}

/**
 * Whole-topic match of wildcard segments, as a DP over topic positions:
 * `reach[j]` says the pattern so far can end right before topic segment j.
 * O(pattern segments × topic segments), no backtracking however many `**`.
 */
export function matchSegments(pattern: readonly string[], topic: readonly string[]): boolean {
  if (topic[0] === SYSTEM_TOPIC_SEGMENT && isWildcard(pattern[0])) return false;
  let reach = new Array<boolean>(topic.length + 1).fill(false);
  reach[0] = true;
  for (const seg of pattern) {
    const next = new Array<boolean>(topic.length + 1).fill(false);
    let anyBefore = false; // some reach[j] with j < k: `**` can consume j..k-1
    for (let k = 1; k <= topic.length; k++) {
      const prev = reach[k - 1] === true;
      anyBefore ||= prev;
      if (seg === MULTI_WILDCARD) next[k] = anyBefore;
      else next[k] = prev && (seg === SINGLE_WILDCARD || seg === topic[k - 1]);
    }
    reach = next;
  }
  return reach[topic.length] === true;
}

function isWildcard(segment: string | undefined): boolean {
  return segment === SINGLE_WILDCARD || segment === MULTI_WILDCARD;
}

function invalid(message: string): RaftbusError {
  return new RaftbusError("INVALID_PATTERN", message);
}
