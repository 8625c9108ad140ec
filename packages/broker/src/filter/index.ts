/**
 * Subscription filter expressions (SPEC.md §4), e.g. `severity == 'critical'`,
 * `usage > 90`, `a == 1 && (b != 'x' || !c)`, `exists trace`,
 * `region in ['eu', 'us']`. Syntax: lexer.ts and parser.ts; meaning:
 * evaluate.ts. A bad expression is rejected at subscribe time by
 * {@link compileFilter} with `INVALID_FILTER` and `details.position`.
 */
import type { FilterNode } from "./ast.ts";
import { evaluateFilter } from "./evaluate.ts";
import type { FilterInput } from "./evaluate.ts";
import { parseFilter } from "./parser.ts";

export type { CompareNode, CompareOp, ExistsNode, FilterNode, InNode, LiteralNode, LogicalNode, NotNode, OperandNode, PathNode, PathScope } from "./ast.ts";
export type { FilterInput } from "./evaluate.ts";
export { FILTER_AST_NODES_MAX, FILTER_NESTING_DEPTH_MAX, FILTER_SOURCE_BYTES_MAX } from "./errors.ts";
export { FILTER_STEPS_MAX } from "./evaluate.ts";
export { ParsedPayload, evaluateFilter, messageInput } from "./evaluate.ts";
export { parseFilter } from "./parser.ts";

/** A parsed filter, ready to test messages. */
export interface CompiledFilter {
  /** What the subscriber wrote. */
  readonly source: string;
  /** True when the message passes the filter. Never throws. */
  matches(input: FilterInput): boolean;
}

/**
 * Parses `source` once; the result evaluates messages without re-parsing.
 *
 * @throws RaftbusError `INVALID_FILTER` with `details.position` (0-based
 *   character offset) and a message such as `unexpected token ')' at 12`.
 */
export function compileFilter(source: string): CompiledFilter {
  const ast: FilterNode = parseFilter(source);
  return { source, matches: (input) => evaluateFilter(ast, input) };
}
