/**
 * The filter AST (SPEC.md §4: filters are parsed, never `eval`ed). Every node
 * keeps the 0-based character `position` where it starts in the source.
 *
 * Values (literals and paths) may stand alone as a boolean test; see
 * evaluate.ts for what counts as true. `and`/`or` are n-ary so a long chain
 * like `a && b && c` stays shallow.
 */

/** A literal: string, number, boolean or null. */
export interface LiteralNode {
  readonly kind: "literal";
  readonly value: string | number | boolean | null;
  readonly position: number;
}

/**
 * Where a path looks: `headers` (written `headers.k` or `header.k`), `payload`
 * (written `payload.a.b`), or `auto` (a bare `a.b`: the payload field, else
 * the header named `a.b`).
 */
export type PathScope = "auto" | "payload" | "headers";

/** A field reference such as `usage`, `payload.disk.free`, `headers.x-trace.id`. */
export interface PathNode {
  readonly kind: "path";
  readonly scope: PathScope;
  /** Payload segments (after `payload.` when written); empty = the whole payload. */
  readonly segments: readonly string[];
  /** The header name this path reads (scope `headers` or the `auto` fallback). */
  readonly headerKey: string;
  readonly position: number;
}

/** Something with a value: a literal or a path. */
export type OperandNode = LiteralNode | PathNode;

/** Comparison operators. */
export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

/** `left op right`. */
export interface CompareNode {
  readonly kind: "compare";
  readonly op: CompareOp;
  readonly left: OperandNode;
  readonly right: OperandNode;
  readonly position: number;
}

/** `operand in [l1, l2, …]`: equal (as with `==`) to one of the literals. */
export interface InNode {
  readonly kind: "in";
  readonly operand: OperandNode;
  readonly list: readonly LiteralNode[];
  readonly position: number;
}

/** `exists path`: the path resolves to a value (JSON `null` included). */
export interface ExistsNode {
  readonly kind: "exists";
  readonly path: PathNode;
  readonly position: number;
}

/** `!operand`. */
export interface NotNode {
  readonly kind: "not";
  readonly operand: FilterNode;
  readonly position: number;
}

/** `a && b && …` or `a || b || …` (two or more operands, short-circuit). */
export interface LogicalNode {
  readonly kind: "and" | "or";
  readonly operands: readonly FilterNode[];
  readonly position: number;
}

/** Any filter expression. */
export type FilterNode = OperandNode | CompareNode | InNode | ExistsNode | NotNode | LogicalNode;
