/**
 * Regex subscriptions without the denial-of-service risk (SPEC.md §4:
 * "Regexes are a denial-of-service vector: bound or sandbox them").
 *
 * Approach: a BOUNDED ENGINE, not a filter over JS `RegExp`. JS regexes
 * backtrack, so `(a+)+$` against "aaaa…b" takes exponential time and would
 * stall the apply loop of every replica at once. Spotting such patterns by
 * inspection ("nested quantifiers", "overlapping alternation") is a heuristic
 * with known gaps. Instead the pattern is parsed into a safe subset (parse.ts:
 * no backreferences or lookaround, which are what need backtracking),
 * compiled to a Thompson NFA (program.ts) and run as a state-set simulation,
 * which costs O(states × input) for ANY accepted pattern:
 *
 * - pattern source ≤ REGEX_SOURCE_BYTES_MAX bytes, repeats ≤ REGEX_REPEAT_MAX,
 *   NFA ≤ REGEX_STATES_MAX states (unrolled counted repeats count);
 * - input ≤ REGEX_INPUT_CHARS_MAX units (a topic name cannot be longer).
 *
 * So one match costs at most ~REGEX_STATES_MAX × REGEX_INPUT_CHARS_MAX state
 * visits, whatever the user wrote. The match is always against the whole
 * input, as if wrapped in `^(?:…)$`.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { TOPIC_NAME_BYTES_MAX } from "../../topic/topic-name.ts";
import { utf8ByteLength } from "../../topic/utf8.ts";
import { parseRegex } from "./parse.ts";
import { literalPrefix } from "./literal-prefix.ts";
import { compileProgram, runProgram } from "./program.ts";

export { REGEX_REPEAT_MAX, REGEX_GROUP_DEPTH_MAX } from "./parse.ts";
export { REGEX_STATES_MAX, REGEX_SUBSCRIBE_STATES_MAX } from "./program.ts";

/** Longest regex body, in UTF-8 bytes. */
export const REGEX_SOURCE_BYTES_MAX = 256;
/** Longest input a regex is run on; longer inputs never match (no topic is longer). */
export const REGEX_INPUT_CHARS_MAX = TOPIC_NAME_BYTES_MAX;

/** A compiled safe regex. */
export interface SafeRegex {
  /** True when the regex matches the whole of `input`; O(states × input). */
  test(input: string): boolean;
  /** NFA size, for diagnostics and tests of the bound. */
  readonly stateCount: number;
  /** Text every match starts with (literal-prefix.ts); "" when nothing is fixed up front. */
  readonly prefix: string;
}

/**
 * Compiles regex `body` (without delimiters). `offset` is where the body
 * starts in the pattern source, for error positions.
 *
 * @throws RaftbusError `INVALID_PATTERN` for unsupported syntax or exceeded limits.
 */
export function compileSafeRegex(body: string, offset = 0): SafeRegex {
  const bytes = utf8ByteLength(body);
  if (bytes > REGEX_SOURCE_BYTES_MAX) {
    throw new RaftbusError("INVALID_PATTERN", `regex is ${bytes} bytes; the limit is ${REGEX_SOURCE_BYTES_MAX}`);
  }
  if (body.length === 0) throw new RaftbusError("INVALID_PATTERN", "regex is empty", { details: { position: offset } });
  const ast = parseRegex(body, offset);
  const program = compileProgram(ast, body);
  return {
    stateCount: program.op.length,
    prefix: literalPrefix(ast),
    test: (input) => input.length <= REGEX_INPUT_CHARS_MAX && runProgram(program, input),
  };
}
