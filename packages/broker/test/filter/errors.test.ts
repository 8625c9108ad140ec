import { describe, expect, it } from "vitest";
import { compileFilter, FILTER_AST_NODES_MAX, FILTER_NESTING_DEPTH_MAX, FILTER_SOURCE_BYTES_MAX } from "../../src/filter/index.ts";
import { raftbusError } from "./helpers.ts";

function rejects(source: string): { position: unknown; message: string } {
  const e = raftbusError(() => compileFilter(source));
  expect(e.code).toBe("INVALID_FILTER");
  const position = e.details?.position;
  expect(e.message).toContain(`at ${String(position)}`);
  return { position, message: e.message };
}

describe("compileFilter: every error says where (details.position, 0-based)", () => {
  it.each([
    // parser
    ["a == 1 && (b != 'x' || !c))", 26, /^unexpected token '\)' at 26$/],
    ["", 0, /unexpected end of filter at 0: expected a value or a field name/],
    ["   ", 3, /unexpected end of filter at 3/],
    ["a ==", 4, /unexpected end of filter at 4: expected a value/],
    ["a == == 1", 5, /unexpected token '==' at 5/],
    ["(a == 1", 7, /unexpected end of filter at 7: expected '\)'/],
    ["a == 1 b", 7, /unexpected token 'b' at 7/],
    ["a && || b", 5, /unexpected token '\|\|' at 5/],
    ["a < b < c", 6, /comparisons do not chain/],
    ["a == 1 in [1]", 7, /comparisons do not chain/],
    ["a in 1", 5, /expected '\[' after 'in'/],
    ["a in [1 2]", 8, /expected ',' or '\]'/],
    ["a in [1,]", 8, /unexpected token '\]' at 8: expected a value/],
    ["a in [1, b]", 9, /'in' lists hold literals only at 9/],
    ["a in [1", 7, /unexpected end of filter at 7/],
    ["exists 1", 7, /expected a field name after 'exists'/],
    ["exists", 6, /unexpected end of filter at 6/],
    ["in == 1", 0, /unexpected token 'in' at 0/],
    ["headers == 'x'", 0, /'headers' needs a header name/],
    ["x == header", 5, /'header' needs a header name/],
    ["(a) == 1", 4, /unexpected token '==' at 4/],
    ["!", 1, /unexpected end of filter at 1/],
    // lexer
    ["a = 1", 2, /^unexpected character "=" at 2: did you mean '=='\?$/],
    ["a == 1 & b", 7, /did you mean '&&'/],
    ["a == 1 | b", 7, /did you mean '\|\|'/],
    ["a == 'abc", 5, /unterminated string at 5/],
    ['a == "ab\\"', 5, /unterminated string at 5/],
    ["a == 'a\\qb'", 7, /invalid escape '\\q' at 7/],
    ["a == '\\u12'", 6, /invalid unicode escape at 6: expected \\uXXXX/],
    ["a == 1abc", 5, /malformed number '1a' at 5/],
    ["a == 1.", 5, /malformed number/],
    ["a == 1.5.3", 5, /malformed number/],
    ["a == -x", 5, /a number must follow/],
    ["a == 1e999", 5, /out of range at 5/],
    ["a. == 1", 2, /expected a field name after '\.' at 2/],
    ["a..b == 1", 2, /expected a field name after '\.' at 2/],
    ["a == @", 5, /unexpected character "@" at 5/],
    ["a == 1 # c", 7, /unexpected character "#"/],
    ["a == .5", 5, /unexpected character "\."/],
    ["$x == 1", 0, /unexpected character "\$"/],
  ])("%j at %i", (source, position, message) => {
    const e = rejects(source);
    expect(e.position).toBe(position);
    expect(e.message).toMatch(message);
  });

  it("a non-string source", () => {
    expect(rejects(5 as unknown as string).position).toBe(0);
  });
});

describe("compileFilter: limits and hostile inputs", () => {
  it(`nesting: ${FILTER_NESTING_DEPTH_MAX} levels are fine, one more is refused where it starts`, () => {
    const ok = "(".repeat(FILTER_NESTING_DEPTH_MAX) + "a" + ")".repeat(FILTER_NESTING_DEPTH_MAX);
    expect(() => compileFilter(ok)).not.toThrow();
    const deep = "(".repeat(FILTER_NESTING_DEPTH_MAX + 1) + "a" + ")".repeat(FILTER_NESTING_DEPTH_MAX + 1);
    expect(rejects(deep)).toEqual({ position: FILTER_NESTING_DEPTH_MAX, message: `nesting deeper than 32 at 32` });
    expect(rejects("!".repeat(FILTER_NESTING_DEPTH_MAX + 1) + "a").position).toBe(FILTER_NESTING_DEPTH_MAX);
    expect(rejects("!(".repeat(20) + "a" + ")".repeat(20)).position).toBe(32);
  });

  it("deep nesting far past the limit fails fast, without recursion", () => {
    const huge = "(".repeat(FILTER_SOURCE_BYTES_MAX);
    expect(rejects(huge).position).toBe(FILTER_NESTING_DEPTH_MAX);
  });

  it(`source: ${FILTER_SOURCE_BYTES_MAX} bytes are fine, one more is refused at the first byte past it`, () => {
    const filler = (n: number): string => `s == '${"x".repeat(n - 7)}'`;
    expect(() => compileFilter(filler(FILTER_SOURCE_BYTES_MAX))).not.toThrow();
    expect(rejects(filler(FILTER_SOURCE_BYTES_MAX + 1)).position).toBe(FILTER_SOURCE_BYTES_MAX);
    // 6 bytes of `s == '`, then two-byte characters: byte 1025 ends character 515.
    expect(rejects(`s == '${"é".repeat(600)}'`).position).toBe(515);
    expect(rejects("a".repeat(10_000_000)).position).toBe(FILTER_SOURCE_BYTES_MAX);
  });

  it(`AST: ${FILTER_AST_NODES_MAX} nodes are fine, one more is refused`, () => {
    // `x in [..]` with k literals is k + 2 nodes (path, in, literals).
    const list = (k: number): string => `x in [${Array.from({ length: k }, () => "1").join(",")}]`;
    expect(() => compileFilter(list(FILTER_AST_NODES_MAX - 2))).not.toThrow();
    const e = rejects(list(FILTER_AST_NODES_MAX - 1));
    expect(e.message).toMatch(/more than 256 nodes/);
    // A long flat chain is shallow but still bounded by the node count.
    expect(rejects(Array.from({ length: 300 }, () => "a").join("&&")).message).toMatch(/more than 256 nodes at 768/);
  });

  it("a long && chain under the node limit evaluates (n-ary, not deep)", () => {
    const f = compileFilter(Array.from({ length: 120 }, () => "a").join(" && "));
    expect(f.matches({ headers: { a: "true" }, payload: new Uint8Array() })).toBe(true);
  });

  it("unterminated strings of any length are reported at their opening quote", () => {
    expect(rejects(`a == "${"x".repeat(1000)}`).position).toBe(5);
  });
});
