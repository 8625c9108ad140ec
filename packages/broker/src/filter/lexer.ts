/**
 * Filter lexer: source → tokens, with the character offset of each.
 *
 * - strings: `'…'` or `"…"`, escapes `\\ \' \" \/ \n \t \r \b \f \v \0 \uXXXX`;
 * - numbers: `-?digits(.digits)?([eE][+-]?digits)?`, finite;
 * - paths: `name(.name)*`, where a name is `[A-Za-z0-9_-]+` and the first
 *   starts with a letter or `_`. `-` may appear inside names (header keys
 *   like `x-request-id`): the language has no subtraction, so that is never
 *   ambiguous. `true false null exists in` alone are keywords;
 * - operators: `== != < <= > >= && || ! ( ) [ ] ,`.
 */
import { filterError, showLexeme } from "./errors.ts";

/** Token kinds; `path` carries the dotted name, `keyword` one of KEYWORDS. */
export type TokenType = "string" | "number" | "path" | "keyword" | "op" | "eof";

/** One token. `text` is the raw lexeme (`value` is the decoded string or number). */
export interface Token {
  readonly type: TokenType;
  readonly text: string;
  readonly value: string | number | undefined;
  readonly position: number;
}

/** Words that are never field names on their own (write `payload.in` for a field called `in`). */
export const KEYWORDS: ReadonlySet<string> = new Set(["true", "false", "null", "exists", "in"]);

const OPERATORS = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ","] as const;
const NUMBER_RE = /-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const NAME_START_RE = /[A-Za-z_]/;
const NAME_RE = /[A-Za-z0-9_-]/;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  "\\": "\\", "'": "'", '"': '"', "/": "/", n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", v: "\v", "0": "\0",
});

/** Splits `source` into tokens ending with one `eof`; throws INVALID_FILTER on a bad character. */
export function lex(source: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < source.length) {
    const c = source[pos] as string;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      pos++;
      continue;
    }
    const token = lexToken(source, pos, c);
    tokens.push(token);
    pos += token.text.length;
  }
  tokens.push({ type: "eof", text: "", value: undefined, position: source.length });
  return tokens;
}

function lexToken(source: string, pos: number, c: string): Token {
  if (c === "'" || c === '"') return lexString(source, pos, c);
  if (c === "-" || (c >= "0" && c <= "9")) return lexNumber(source, pos);
  if (NAME_START_RE.test(c)) return lexPath(source, pos);
  for (const op of OPERATORS) {
    if (source.startsWith(op, pos)) return { type: "op", text: op, value: undefined, position: pos };
  }
  const hint = c === "=" ? "did you mean '=='?" : c === "&" ? "did you mean '&&'?" : c === "|" ? "did you mean '||'?" : undefined;
  throw filterError(`unexpected character ${JSON.stringify(c)}`, pos, hint);
}

function lexString(source: string, start: number, quote: string): Token {
  let value = "";
  let pos = start + 1;
  while (pos < source.length) {
    const c = source[pos] as string;
    if (c === quote) return { type: "string", text: source.slice(start, pos + 1), value, position: start };
    if (c !== "\\") {
      value += c;
      pos++;
      continue;
    }
    const e = source[pos + 1];
    if (e === undefined) break;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      value += simple;
      pos += 2;
    } else if (e === "u" && /^[0-9A-Fa-f]{4}$/.test(source.slice(pos + 2, pos + 6))) {
      value += String.fromCharCode(parseInt(source.slice(pos + 2, pos + 6), 16));
      pos += 6;
    } else {
      if (e === "u") throw filterError("invalid unicode escape", pos, "expected \\uXXXX");
      throw filterError(`invalid escape '\\${e}'`, pos);
    }
  }
  throw filterError("unterminated string", start);
}

function lexNumber(source: string, start: number): Token {
  NUMBER_RE.lastIndex = start;
  const m = NUMBER_RE.exec(source);
  if (m === null) throw filterError(`unexpected character "-"`, start, "a number must follow");
  const text = m[0];
  const after = source[start + text.length];
  // `12abc`, `1.x`, `1.` are typos, not a number followed by a name.
  if (after !== undefined && (NAME_RE.test(after) || after === ".")) {
    throw filterError(`malformed number ${showLexeme(source.slice(start, start + text.length + 1))}`, start);
  }
  const value = Number(text);
  if (!Number.isFinite(value)) throw filterError(`number ${showLexeme(text)} is out of range`, start);
  return { type: "number", text, value, position: start };
}

function lexPath(source: string, start: number): Token {
  let pos = start + 1;
  for (;;) {
    while (pos < source.length && NAME_RE.test(source[pos] as string)) pos++;
    if (source[pos] !== ".") break;
    if (pos + 1 >= source.length || !NAME_RE.test(source[pos + 1] as string)) {
      throw filterError("expected a field name after '.'", pos + 1);
    }
    pos++;
  }
  const text = source.slice(start, pos);
  return { type: KEYWORDS.has(text) ? "keyword" : "path", text, value: undefined, position: start };
}
