/**
 * Recursive-descent parser for the safe regex subset (safe-regex.ts says
 * why). Accepted: literals, `.`, classes `[...]`/`[^...]` with ranges,
 * `\d \w \s \D \W \S`, `\t \n \r \v \f \0 \xHH \uHHHH`, escaped
 * punctuation, `? * +` and `{n}` `{n,}` `{n,m}` (optionally lazy — laziness
 * cannot change whether a whole string matches), `|`, `( )`, `(?: )`, `^ $`.
 * Refused with `INVALID_PATTERN` and a position: backreferences, lookaround,
 * named groups, word boundaries, Unicode property escapes, stacked
 * quantifiers, and a lone `{ } ]` (escape them). Every accepted regex means
 * the same as a JS `RegExp` without flags.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { classEscapeRanges, complementRanges, DOT_SET, normalizeRanges } from "./syntax.ts";
import type { CharSet, RegexNode } from "./syntax.ts";

/** Largest `n`/`m` in `{n,m}`: counted repeats are unrolled into NFA states. */
export const REGEX_REPEAT_MAX = 100;
/** Deepest group nesting: bounds the parser's recursion. */
export const REGEX_GROUP_DEPTH_MAX = 32;

type Range = readonly [number, number];

/**
 * Parses regex `body`. `offset` is where the body starts inside the whole
 * pattern source, so error positions point into what the user wrote.
 */
export function parseRegex(body: string, offset: number): RegexNode {
  const p = new RegexParser(body, offset);
  const node = p.parseAlternation(0);
  if (!p.atEnd()) p.fail(p.peek() === ")" ? "unmatched ')'" : `unexpected '${p.peek()}'`);
  return node;
}

class RegexParser {
  private pos = 0;

  constructor(private readonly src: string, private readonly offset: number) {}

  atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  peek(): string {
    return this.src[this.pos] ?? "";
  }

  fail(message: string, at: number = this.pos): never {
    const position = this.offset + at;
    throw new RaftbusError("INVALID_PATTERN", `invalid regex: ${message} at ${position}`, { details: { position } });
  }

  parseAlternation(depth: number): RegexNode {
    const options = [this.parseConcat(depth)];
    while (this.peek() === "|") {
      this.pos++;
      options.push(this.parseConcat(depth));
    }
    return options.length === 1 ? (options[0] as RegexNode) : { type: "alt", options };
  }

  private parseConcat(depth: number): RegexNode {
    const items: RegexNode[] = [];
    while (!this.atEnd() && this.peek() !== "|" && this.peek() !== ")") {
      items.push(this.parseQuantified(depth));
    }
    if (items.length === 0) return { type: "empty" };
    return items.length === 1 ? (items[0] as RegexNode) : { type: "concat", items };
  }

  private parseQuantified(depth: number): RegexNode {
    const atomAt = this.pos;
    // Only a bare anchor is refused: JS accepts a quantified group like `(^)+`.
    const bareAnchor = this.peek() === "^" || this.peek() === "$";
    const atom = this.parseAtom(depth);
    const q = this.parseQuantifier();
    if (q === undefined) return atom;
    if (bareAnchor) this.fail("nothing to repeat (an anchor cannot be quantified)", atomAt);
    const secondAt = this.pos;
    if (this.parseQuantifier() !== undefined) this.fail("stacked quantifiers are not allowed; use a group", secondAt);
    return { type: "repeat", item: atom, min: q.min, max: q.max };
  }

  /** Reads `? * + {…}` plus an optional lazy `?`; undefined when none follows. */
  private parseQuantifier(): { min: number; max: number } | undefined {
    const c = this.peek();
    let q: { min: number; max: number } | undefined;
    if (c === "*") q = { min: 0, max: Infinity };
    else if (c === "+") q = { min: 1, max: Infinity };
    else if (c === "?") q = { min: 0, max: 1 };
    else if (c === "{") return this.parseBraces();
    if (q === undefined) return undefined;
    this.pos++;
    if (this.peek() === "?") this.pos++; // lazy: same language
    return q;
  }

  private parseBraces(): { min: number; max: number } {
    const start = this.pos;
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos, this.pos + 16));
    if (m === null) this.fail("'{' must start a quantifier {n}, {n,} or {n,m}; write \\{ for a literal brace", start);
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
    if (min > REGEX_REPEAT_MAX || (max !== Infinity && max > REGEX_REPEAT_MAX)) {
      this.fail(`repeat count above ${REGEX_REPEAT_MAX}`, start);
    }
    if (max < min) this.fail("numbers out of order in {n,m}", start);
    this.pos += m[0].length;
    if (this.peek() === "?") this.pos++;
    return { min, max };
  }

  private parseAtom(depth: number): RegexNode {
    const at = this.pos;
    const c = this.peek();
    this.pos++;
    switch (c) {
      case "(": return this.parseGroup(depth, at);
      case "[": return { type: "char", set: this.parseClass(at) };
      case ".": return { type: "char", set: DOT_SET };
      case "^": return { type: "assert", at: "start" };
      case "$": return { type: "assert", at: "end" };
      case "\\": return this.parseAtomEscape(at);
      case "*": case "+": case "?": case "{": return this.fail("nothing to repeat", at);
      case "}": case "]": return this.fail(`lone '${c}'; write \\${c} for a literal`, at);
      default: return literal(c.charCodeAt(0));
    }
  }

  private parseGroup(depth: number, at: number): RegexNode {
    if (depth + 1 > REGEX_GROUP_DEPTH_MAX) this.fail(`groups nested deeper than ${REGEX_GROUP_DEPTH_MAX}`, at);
    if (this.peek() === "?") {
      if (this.src[this.pos + 1] !== ":") {
        this.fail("only (?:…) groups are supported: lookaround and named groups are not", at);
      }
      this.pos += 2;
    }
    const inner = this.parseAlternation(depth + 1);
    if (this.peek() !== ")") this.fail("unterminated group", at);
    this.pos++;
    return inner;
  }

  private parseAtomEscape(at: number): RegexNode {
    const e = this.parseEscape(at);
    return e.kind === "unit" ? literal(e.unit) : { type: "char", set: e.set };
  }

  /** Reads what follows a backslash (already consumed at `at`). */
  private parseEscape(at: number): { kind: "unit"; unit: number } | { kind: "set"; set: CharSet } {
    const c = this.peek();
    if (c === "") this.fail("trailing backslash", at);
    this.pos++;
    const ranges = classEscapeRanges(c);
    if (ranges !== undefined) return { kind: "set", set: { ranges: normalizeRanges(ranges), negated: c !== c.toLowerCase() } };
    const simple = SIMPLE_ESCAPES[c];
    if (simple !== undefined) return { kind: "unit", unit: simple };
    if (c === "0" && !/[0-9]/.test(this.peek())) return { kind: "unit", unit: 0 };
    if (c === "x") return { kind: "unit", unit: this.parseHex(2, at) };
    if (c === "u") return { kind: "unit", unit: this.parseHex(4, at) };
    if (/[0-9]/.test(c)) this.fail("backreferences are not supported", at);
    if (c === "b" || c === "B") this.fail("word boundaries are not supported", at);
    if (/[A-Za-z]/.test(c)) this.fail(`unsupported escape '\\${c}'`, at);
    if (/[\^$\\.*+?()[\]{}|/-]/.test(c)) return { kind: "unit", unit: c.charCodeAt(0) };
    return this.fail(`unnecessary escape '\\${c}'`, at);
  }

  private parseHex(digits: number, at: number): number {
    const hex = this.src.slice(this.pos, this.pos + digits);
    if (hex.length !== digits || !/^[0-9A-Fa-f]+$/.test(hex)) this.fail(`malformed hex escape, expected ${digits} hex digits`, at);
    this.pos += digits;
    return parseInt(hex, 16);
  }

  /** Parses a class after its `[` (at `at`) through the closing `]`. */
  private parseClass(at: number): CharSet {
    const negated = this.peek() === "^";
    if (negated) this.pos++;
    const pairs: Range[] = [];
    while (this.peek() !== "]") {
      if (this.atEnd()) this.fail("unterminated character class", at);
      const itemAt = this.pos;
      const first = this.parseClassItem();
      if (this.peek() === "-" && this.src[this.pos + 1] !== "]" && this.pos + 1 < this.src.length) {
        this.pos++;
        const second = this.parseClassItem();
        if (typeof first !== "number" || typeof second !== "number") this.fail("a class escape cannot bound a range", itemAt);
        if (second < first) this.fail("range out of order in character class", itemAt);
        pairs.push([first, second]);
      } else if (typeof first === "number") pairs.push([first, first]);
      else pairs.push(...first);
    }
    this.pos++;
    return { ranges: normalizeRanges(pairs), negated };
  }

  /** One class member: a code unit, or the ranges of a class escape. */
  private parseClassItem(): number | Range[] {
    const at = this.pos;
    const c = this.peek();
    this.pos++;
    if (c !== "\\") return c.charCodeAt(0);
    if (this.peek() === "b") {
      this.pos++;
      return 0x08; // inside a class \b is backspace, as in JS
    }
    const e = this.parseEscape(at);
    if (e.kind === "unit") return e.unit;
    const r = e.set.negated ? complementRanges(e.set.ranges) : e.set.ranges;
    const out: Range[] = [];
    for (let i = 0; i + 1 < r.length; i += 2) out.push([r[i] ?? 0, r[i + 1] ?? 0]);
    return out;
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = Object.assign(Object.create(null) as Record<string, number>, {
  t: 0x09, n: 0x0a, v: 0x0b, f: 0x0c, r: 0x0d,
});

function literal(unit: number): RegexNode {
  return { type: "char", set: { ranges: [unit, unit], negated: false } };
}
