/**
 * Filter evaluation: total (never throws), deterministic, no `eval`.
 *
 * Lookups: `headers.k` reads header `k`; `payload.a.b` reads field `a.b` of
 * the payload parsed as UTF-8 JSON (at most once per call, and only if some
 * path needs it; a payload that is not JSON has no fields); a bare `a.b` reads
 * the payload field, and if it is absent, the header named `a.b`. Only own
 * properties are read (`Object.hasOwn`), so `__proto__`, `constructor` and the
 * like never reach a prototype; arrays are indexed by canonical decimal
 * segments (`items.0`).
 *
 * Values: a header value is a string that takes the type of the other side
 * when that is a number (`"95"` → 95, decimal syntax only: `""`, `"0x10"`,
 * `" 1"` are not numbers) or a boolean (`"true"`/`"false"`). Payload values
 * keep their JSON types.
 *
 * - `==` holds when both sides are present, of the same type and equal
 *   (strings exactly, numbers numerically, `null == null`); objects and
 *   arrays are never equal to anything. `!=` is exactly `!(a == b)`, so a
 *   missing field or a type mismatch makes `!=` TRUE.
 * - `< <= > >=` hold only between two numbers or two strings (code-unit
 *   order); anything else, absent included, is false.
 * - `x in [..]` is `x == l1 || x == l2 || …`; `exists x` is "x is present"
 *   (JSON null counts as present).
 * - A value used as a condition (`c`, `!c`) is true only when it is the
 *   boolean `true` or a header equal to `"true"`; absent, null, numbers,
 *   other strings and objects are false.
 */
import type { CompareOp, FilterNode, OperandNode, PathNode } from "./ast.ts";

/**
 * What a filter is evaluated against: the message's headers and raw
 * payload. Make it with {@link messageInput} to evaluate many filters
 * against one message: the payload is then parsed at most once for all of
 * them (a 1 MiB JSON payload and 100 filter subscriptions used to mean 100
 * parses on every replica).
 */
export interface FilterInput {
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
  /** The parsed payload shared by every evaluation of this input. */
  readonly parsed?: ParsedPayload;
  /** Steps one filter may take on this message; default {@link FILTER_STEPS_MAX}. */
  readonly stepsMax?: number;
}

/** A payload parsed as JSON on first use, then remembered. */
export class ParsedPayload {
  private value: unknown = NOT_PARSED;
  /** Times the payload was parsed (0 or 1; for tests). */
  parses = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** The payload as JSON, or NOT_JSON. */
  get(): unknown {
    if (this.value === NOT_PARSED) {
      this.parses++;
      this.value = parsePayload(this.bytes);
    }
    return this.value;
  }
}

/** One message as every filter sees it (see {@link FilterInput}). */
export function messageInput(headers: Readonly<Record<string, string>>, payload: Uint8Array, stepsMax: number = FILTER_STEPS_MAX): FilterInput {
  return { headers, payload, parsed: new ParsedPayload(payload), stepsMax };
}

/** Marks "no such field": distinct from JSON null. */
const ABSENT: unique symbol = Symbol("absent");

/** A resolved operand; `header` says the value came from a header (a string that may coerce). */
type Resolved = { readonly value: unknown; readonly header: boolean } | typeof ABSENT;

const NOT_JSON: unique symbol = Symbol("not JSON");
const NOT_PARSED: unique symbol = Symbol("not parsed");
const CANONICAL_INDEX_RE = /^(?:0|[1-9][0-9]{0,8})$/;
const DECIMAL_RE = /^-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Most evaluation steps (nodes tested, path segments walked, list items
 * compared) one filter may take on one message. The parser's limits on
 * source size, AST nodes and nesting keep real filters far below it; it is
 * the per-message budget that holds whatever the message looks like. A
 * filter that runs out does not match — counted in steps, never in time,
 * so every replica decides the same.
 */
export const FILTER_STEPS_MAX = 4096;

interface Context {
  readonly input: FilterInput;
  payload: unknown;
  steps: number;
}

/** Thrown inside an evaluation that ran out of steps; never escapes evaluateFilter. */
const OUT_OF_STEPS: unique symbol = Symbol("out of steps");

/** Evaluates `ast` against one message. Never throws. */
export function evaluateFilter(ast: FilterNode, input: FilterInput): boolean {
  try {
    return test(ast, { input, payload: NOT_PARSED, steps: 0 });
  } catch (e) {
    if (e === OUT_OF_STEPS) return false;
    throw e;
  }
}

function step(ctx: Context, n = 1): void {
  ctx.steps += n;
  if (ctx.steps > (ctx.input.stepsMax ?? FILTER_STEPS_MAX)) throw OUT_OF_STEPS;
}

function test(node: FilterNode, ctx: Context): boolean {
  step(ctx);
  switch (node.kind) {
    case "and": return node.operands.every((n) => test(n, ctx));
    case "or": return node.operands.some((n) => test(n, ctx));
    case "not": return !test(node.operand, ctx);
    case "exists": return resolve(node.path, ctx) !== ABSENT;
    case "compare": return compare(node.op, resolve(node.left, ctx), resolve(node.right, ctx));
    case "in": {
      const v = resolve(node.operand, ctx);
      step(ctx, node.list.length);
      return node.list.some((l) => compare("==", v, { value: l.value, header: false }));
    }
    case "literal":
    case "path": {
      const v = resolve(node, ctx);
      return v !== ABSENT && (v.value === true || (v.header && v.value === "true"));
    }
  }
}

/** Compares two resolved values under the rules in the file comment. */
function compare(op: CompareOp, a: Resolved, b: Resolved): boolean {
  if (op === "!=") return !compare("==", a, b);
  if (a === ABSENT || b === ABSENT) return false;
  const x = a.header ? coerce(a.value, b) : a.value;
  const y = b.header ? coerce(b.value, a) : b.value;
  if (op === "==") return x === y ? x === null || typeof x !== "object" : false;
  const bothNumbers = typeof x === "number" && typeof y === "number";
  if (!bothNumbers && !(typeof x === "string" && typeof y === "string")) return false;
  const xs = x as number | string;
  const ys = y as number | string;
  switch (op) {
    case "<": return xs < ys;
    case "<=": return xs <= ys;
    case ">": return xs > ys;
    case ">=": return xs >= ys;
  }
}

/** A header string read as the type of `other` (number or boolean), else as itself. */
function coerce(value: unknown, other: Resolved): unknown {
  if (typeof value !== "string" || other === ABSENT || other.header) return value;
  if (typeof other.value === "number") return DECIMAL_RE.test(value) ? Number(value) : value;
  if (typeof other.value === "boolean") return value === "true" ? true : value === "false" ? false : value;
  return value;
}

function resolve(node: OperandNode, ctx: Context): Resolved {
  if (node.kind === "literal") return { value: node.value, header: false };
  if (node.scope === "headers") return header(node, ctx);
  step(ctx, node.segments.length);
  const v = walk(payloadOf(ctx), node.segments);
  if (v !== ABSENT || node.scope === "payload") return v;
  return header(node, ctx);
}

function header(node: PathNode, ctx: Context): Resolved {
  const headers: unknown = ctx.input.headers;
  if (typeof headers !== "object" || headers === null || !Object.hasOwn(headers, node.headerKey)) return ABSENT;
  const value: unknown = (headers as Record<string, unknown>)[node.headerKey];
  return typeof value === "string" ? { value, header: true } : ABSENT;
}

/** Follows own properties / array indexes of parsed JSON. */
function walk(root: unknown, segments: readonly string[]): Resolved {
  if (root === NOT_JSON) return ABSENT;
  let cur = root;
  for (const seg of segments) {
    if (Array.isArray(cur)) {
      if (!CANONICAL_INDEX_RE.test(seg) || Number(seg) >= cur.length) return ABSENT;
      cur = cur[Number(seg)];
    } else if (typeof cur === "object" && cur !== null && Object.hasOwn(cur, seg)) {
      cur = (cur as Record<string, unknown>)[seg];
    } else return ABSENT;
  }
  return { value: cur, header: false };
}

/** The payload as JSON, parsed on first use: once per input when it carries a ParsedPayload, else once per evaluation. */
function payloadOf(ctx: Context): unknown {
  if (ctx.payload === NOT_PARSED) ctx.payload = ctx.input.parsed !== undefined ? ctx.input.parsed.get() : parsePayload(ctx.input.payload);
  return ctx.payload;
}

function parsePayload(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes)) as unknown;
  } catch (e) {
    // Invalid UTF-8 (TypeError), invalid JSON (SyntaxError) or anything else a
    // hostile payload provokes: the filter contract is that such a payload
    // simply has no fields, and evaluation never throws.
    void e;
    return NOT_JSON;
  }
}
