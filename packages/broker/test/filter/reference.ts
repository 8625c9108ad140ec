/**
 * A naive reference evaluator for filters, written independently of
 * src/filter/evaluate.ts from the documented rules: every value is first
 * turned into a tagged value, then compared by explicit cases.
 */
import type { FilterNode, OperandNode } from "../../src/filter/index.ts";
import type { FilterInput } from "../../src/filter/index.ts";

type Tagged =
  | { t: "absent" }
  | { t: "null" }
  | { t: "bool"; v: boolean; hdr: false }
  | { t: "num"; v: number; hdr: false }
  | { t: "str"; v: string; hdr: boolean }
  | { t: "compound" };

function tag(v: unknown, hdr: boolean): Tagged {
  if (v === null) return { t: "null" };
  if (typeof v === "boolean") return { t: "bool", v, hdr: false };
  if (typeof v === "number") return { t: "num", v, hdr: false };
  if (typeof v === "string") return { t: "str", v, hdr };
  return { t: "compound" };
}

function own(o: unknown, k: string): boolean {
  return typeof o === "object" && o !== null && Object.prototype.hasOwnProperty.call(o, k);
}

function payloadJson(bytes: Uint8Array): { ok: true; v: unknown } | { ok: false } {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { ok: false };
  }
  try {
    return { ok: true, v: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function fromPayload(input: FilterInput, segments: readonly string[]): Tagged {
  const p = payloadJson(input.payload);
  if (!p.ok) return { t: "absent" };
  let cur: unknown = p.v;
  for (const s of segments) {
    if (Array.isArray(cur)) {
      const i = /^(0|[1-9]\d*)$/.test(s) ? Number(s) : -1;
      if (i < 0 || i >= cur.length) return { t: "absent" };
      cur = cur[i];
    } else if (own(cur, s) && !Array.isArray(cur)) {
      cur = (cur as Record<string, unknown>)[s];
    } else return { t: "absent" };
  }
  return tag(cur, false);
}

function fromHeaders(input: FilterInput, key: string): Tagged {
  return own(input.headers, key) ? tag(input.headers[key], true) : { t: "absent" };
}

function value(n: OperandNode, input: FilterInput): Tagged {
  if (n.kind === "literal") return tag(n.value, false);
  if (n.scope === "headers") return fromHeaders(input, n.headerKey);
  const p = fromPayload(input, n.segments);
  if (p.t !== "absent" || n.scope === "payload") return p;
  return fromHeaders(input, n.headerKey);
}

/** A header string seen from the side of `other`. */
function asSeenBy(a: Tagged, other: Tagged): Tagged {
  if (a.t !== "str" || !a.hdr || (other.t === "str" && other.hdr)) return a;
  if (other.t === "num" && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(a.v)) return { t: "num", v: Number(a.v), hdr: false };
  if (other.t === "bool" && (a.v === "true" || a.v === "false")) return { t: "bool", v: a.v === "true", hdr: false };
  return a;
}

function equal(a: Tagged, b: Tagged): boolean {
  const x = asSeenBy(a, b);
  const y = asSeenBy(b, a);
  if (x.t === "null" && y.t === "null") return true;
  if ((x.t === "num" && y.t === "num") || (x.t === "bool" && y.t === "bool") || (x.t === "str" && y.t === "str")) return x.v === y.v;
  return false;
}

function less(a: Tagged, b: Tagged, orEqual: boolean): boolean {
  const x = asSeenBy(a, b);
  const y = asSeenBy(b, a);
  if ((x.t === "num" && y.t === "num") || (x.t === "str" && y.t === "str")) return orEqual ? x.v <= y.v : x.v < y.v;
  return false;
}

/** Reference meaning of `node` for `input`. */
export function referenceEvaluate(node: FilterNode, input: FilterInput): boolean {
  switch (node.kind) {
    case "and": return node.operands.map((n) => referenceEvaluate(n, input)).every(Boolean);
    case "or": return node.operands.map((n) => referenceEvaluate(n, input)).some(Boolean);
    case "not": return !referenceEvaluate(node.operand, input);
    case "exists": return value(node.path, input).t !== "absent";
    case "in": return node.list.some((l) => equal(value(node.operand, input), value(l, input)));
    case "compare": {
      const a = value(node.left, input);
      const b = value(node.right, input);
      switch (node.op) {
        case "==": return equal(a, b);
        case "!=": return !equal(a, b);
        case "<": return less(a, b, false);
        case "<=": return less(a, b, true);
        case ">": return less(b, a, false);
        case ">=": return less(b, a, true);
      }
      throw new Error("unreachable");
    }
    default: {
      const v = value(node, input);
      return (v.t === "bool" && v.v) || (v.t === "str" && v.hdr && v.v === "true");
    }
  }
}

/** Prints an AST back to filter source (parenthesising to keep its exact shape). */
export function printFilter(node: FilterNode, singleQuotes = false): string {
  const p = (n: FilterNode): string => printFilter(n, singleQuotes);
  switch (node.kind) {
    case "literal":
      if (typeof node.value !== "string") return String(node.value);
      return singleQuotes ? `'${node.value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'` : JSON.stringify(node.value);
    case "path":
      if (node.scope === "headers") return `headers.${node.headerKey}`;
      if (node.scope === "payload") return ["payload", ...node.segments].join(".");
      return node.segments.join(".");
    case "compare": return `${p(node.left)} ${node.op} ${p(node.right)}`;
    case "in": return `${p(node.operand)} in [${node.list.map(p).join(", ")}]`;
    case "exists": return `exists ${p(node.path)}`;
    case "not": return `!${node.operand.kind === "and" || node.operand.kind === "or" ? `(${p(node.operand)})` : p(node.operand)}`;
    case "and":
    case "or":
      return node.operands.map((o) => (o.kind === "and" || o.kind === "or" ? `(${p(o)})` : p(o))).join(node.kind === "and" ? " && " : " || ");
  }
}

/** The AST without positions, for structural comparison. */
export function stripPositions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripPositions);
  if (typeof node !== "object" || node === null) return node;
  return Object.fromEntries(Object.entries(node).filter(([k]) => k !== "position").map(([k, v]) => [k, stripPositions(v)]));
}
