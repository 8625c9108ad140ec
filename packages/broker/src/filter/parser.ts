/**
 * Filter parser: tokens → AST, by recursive descent. Grammar, loosest first:
 *
 *     or         := and ( '||' and )*
 *     and        := unary ( '&&' unary )*
 *     unary      := '!' unary | 'exists' PATH | '(' or ')' | comparison
 *     comparison := operand ( CMP operand | 'in' '[' literals? ']' )?
 *     operand    := STRING | NUMBER | 'true' | 'false' | 'null' | PATH
 *
 * So `!` applies to the whole comparison after it (`!a == 1` is
 * `!(a == 1)`), comparisons do not chain (`a < b < c` is an error), and
 * parentheses group boolean expressions, not values. Nesting (`(` and `!`)
 * is capped at FILTER_NESTING_DEPTH_MAX before recursing, the AST at
 * FILTER_AST_NODES_MAX nodes, the source at FILTER_SOURCE_BYTES_MAX bytes:
 * no input can make the parser recurse deeply or allocate much.
 */
import type { CompareOp, FilterNode, LiteralNode, OperandNode, PathNode } from "./ast.ts";
import { FILTER_AST_NODES_MAX, FILTER_NESTING_DEPTH_MAX, FILTER_SOURCE_BYTES_MAX, filterError, showLexeme } from "./errors.ts";
import { lex } from "./lexer.ts";
import type { Token } from "./lexer.ts";

const COMPARE_OPS: ReadonlySet<string> = new Set<CompareOp>(["==", "!=", "<", "<=", ">", ">="]);
const HEADER_ROOTS: ReadonlySet<string> = new Set(["headers", "header"]);

/**
 * Parses a filter expression into its AST.
 *
 * @throws RaftbusError `INVALID_FILTER` with `details.position` for any bad input.
 */
export function parseFilter(source: string): FilterNode {
  if (typeof source !== "string") throw filterError(`filter must be a string, got ${typeof source}`, 0);
  checkSourceSize(source);
  const parser = new Parser(lex(source));
  const ast = parser.parseOr(0);
  parser.expectEnd();
  return ast;
}

/** Refuses sources over FILTER_SOURCE_BYTES_MAX, pointing at the first character past the limit. */
function checkSourceSize(source: string): void {
  let bytes = 0;
  // Only the first FILTER_SOURCE_BYTES_MAX + 1 units can matter: each is >= 1 byte.
  const end = Math.min(source.length, FILTER_SOURCE_BYTES_MAX + 1);
  for (let i = 0; i < end; i++) {
    bytes += unitBytes(source, i);
    if (bytes > FILTER_SOURCE_BYTES_MAX) throw filterError(`filter is longer than ${FILTER_SOURCE_BYTES_MAX} bytes`, i);
  }
}

/** UTF-8 bytes contributed by unit `i`: a surrogate pair is 3 (high) + 1 (low), a lone surrogate 3. */
function unitBytes(source: string, i: number): number {
  const unit = source.charCodeAt(i);
  if (unit < 0x80) return 1;
  if (unit < 0x800) return 2;
  if (unit >= 0xdc00 && unit <= 0xdfff) {
    const prev = source.charCodeAt(i - 1); // NaN at i = 0: not a high surrogate
    return prev >= 0xd800 && prev <= 0xdbff ? 1 : 3;
  }
  return 3;
}

class Parser {
  private index = 0;
  private nodes = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseOr(depth: number): FilterNode {
    return this.parseChain("||", depth);
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.type !== "eof") this.unexpected(t);
  }

  /** `operand (op operand)*` as one n-ary node; `&&` binds tighter than `||`. */
  private parseChain(op: "||" | "&&", depth: number): FilterNode {
    const start = this.peek().position;
    const first = op === "||" ? this.parseChain("&&", depth) : this.parseUnary(depth);
    if (!this.isOp(op)) return first;
    const operands = [first];
    while (this.isOp(op)) {
      this.index++;
      operands.push(op === "||" ? this.parseChain("&&", depth) : this.parseUnary(depth));
    }
    this.count(start);
    return { kind: op === "||" ? "or" : "and", operands, position: start };
  }

  private parseUnary(depth: number): FilterNode {
    const t = this.peek();
    if (this.isOp("!") || this.isOp("(")) {
      if (depth >= FILTER_NESTING_DEPTH_MAX) throw filterError(`nesting deeper than ${FILTER_NESTING_DEPTH_MAX}`, t.position);
      this.index++;
      if (t.text === "!") {
        const operand = this.parseUnary(depth + 1);
        this.count(t.position);
        return { kind: "not", operand, position: t.position };
      }
      const inner = this.parseOr(depth + 1);
      if (!this.isOp(")")) this.unexpected(this.peek(), "expected ')'");
      this.index++;
      return inner;
    }
    if (t.type === "keyword" && t.text === "exists") {
      this.index++;
      const target = this.peek();
      if (target.type !== "path") this.unexpected(target, "expected a field name after 'exists'");
      const path = this.parsePath();
      this.count(t.position);
      return { kind: "exists", path, position: t.position };
    }
    return this.parseComparison();
  }

  private parseComparison(): FilterNode {
    const left = this.parseOperand();
    const t = this.peek();
    let node: FilterNode = left;
    if (t.type === "op" && COMPARE_OPS.has(t.text)) {
      this.index++;
      const right = this.parseOperand();
      this.count(t.position);
      node = { kind: "compare", op: t.text as CompareOp, left, right, position: t.position };
    } else if (t.type === "keyword" && t.text === "in") {
      this.index++;
      const list = this.parseList();
      this.count(t.position);
      node = { kind: "in", operand: left, list, position: t.position };
    } else return left;
    const after = this.peek();
    if ((after.type === "op" && COMPARE_OPS.has(after.text)) || (after.type === "keyword" && after.text === "in")) {
      this.unexpected(after, "comparisons do not chain (use &&)");
    }
    return node;
  }

  private parseList(): LiteralNode[] {
    if (!this.isOp("[")) this.unexpected(this.peek(), "expected '[' after 'in'");
    this.index++;
    const list: LiteralNode[] = [];
    while (!this.isOp("]")) {
      if (list.length > 0) {
        if (!this.isOp(",")) this.unexpected(this.peek(), "expected ',' or ']'");
        this.index++;
      }
      const item = this.parseOperand();
      if (item.kind !== "literal") throw filterError("'in' lists hold literals only", item.position);
      list.push(item);
    }
    this.index++;
    return list;
  }

  private parseOperand(): OperandNode {
    const t = this.peek();
    if (t.type === "path") return this.parsePath();
    let value: LiteralNode["value"];
    if (t.type === "string" || t.type === "number") value = t.value as string | number;
    else if (t.type === "keyword" && (t.text === "true" || t.text === "false" || t.text === "null")) {
      value = t.text === "null" ? null : t.text === "true";
    } else return this.unexpected(t, "expected a value or a field name");
    this.index++;
    this.count(t.position);
    return { kind: "literal", value, position: t.position };
  }

  private parsePath(): PathNode {
    const t = this.peek();
    this.index++;
    this.count(t.position);
    const [root = "", ...rest] = t.text.split(".");
    if (HEADER_ROOTS.has(root)) {
      if (rest.length === 0) throw filterError(`'${root}' needs a header name, as in ${root}.severity`, t.position);
      return { kind: "path", scope: "headers", segments: [], headerKey: rest.join("."), position: t.position };
    }
    if (root === "payload") return { kind: "path", scope: "payload", segments: rest, headerKey: "", position: t.position };
    return { kind: "path", scope: "auto", segments: [root, ...rest], headerKey: t.text, position: t.position };
  }

  private count(position: number): void {
    if (++this.nodes > FILTER_AST_NODES_MAX) throw filterError(`filter has more than ${FILTER_AST_NODES_MAX} nodes`, position);
  }

  private peek(): Token {
    return this.tokens[Math.min(this.index, this.tokens.length - 1)] as Token;
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.type === "op" && t.text === text;
  }

  private unexpected(t: Token, expectation?: string): never {
    const what = t.type === "eof" ? "unexpected end of filter" : `unexpected token ${showLexeme(t.text)}`;
    throw filterError(what, t.position, expectation);
  }
}
