/**
 * Filter limits and the one error every bad filter gets: `INVALID_FILTER`
 * with `details.position`, the 0-based character offset of the problem, and
 * a message ending `at <position>`.
 */
import { RaftbusError } from "@raftbus/client/protocol";

/** Longest filter source, in UTF-8 bytes. */
export const FILTER_SOURCE_BYTES_MAX = 1024;
/** Most AST nodes (every literal, path, operator, list item counts one). */
export const FILTER_AST_NODES_MAX = 256;
/**
 * Deepest nesting of `(` and `!` prefixes. Keeps the parser's and the
 * evaluator's recursion shallow whatever the input.
 */
export const FILTER_NESTING_DEPTH_MAX = 32;

/**
 * The INVALID_FILTER error for `problem` at character `position`, e.g.
 * `unexpected token ')' at 12: expected a value or a field name`.
 */
export function filterError(problem: string, position: number, hint?: string): RaftbusError {
  const message = `${problem} at ${position}${hint === undefined ? "" : `: ${hint}`}`;
  return new RaftbusError("INVALID_FILTER", message, { details: { position } });
}

/** A lexeme shown in an error message: quoted and cut short. */
export function showLexeme(text: string): string {
  const cut = text.length > 24 ? `${text.slice(0, 24)}…` : text;
  return `'${cut}'`;
}
