import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RaftbusError } from "@raftbus/client/protocol";
import { compileFilter, evaluateFilter, parseFilter } from "../../src/filter/index.ts";
import type { FilterInput, FilterNode } from "../../src/filter/index.ts";
import { printFilter, referenceEvaluate, stripPositions } from "./reference.ts";

// ---- random source text -------------------------------------------------

const tokenish = fc
  .array(
    fc.constantFrom(
      "a", "b.c", "headers.x", "payload", "1", "-2.5", "1e3", "'s'", '"t"', "'", '"', "\\", "(", ")", "!", "==", "!=",
      "<", "<=", ">", "=", "&&", "||", "&", "|", "[", "]", ",", ".", "-", "exists", "in", "true", "null", " ", "\\u00", "é", "\u0000",
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(""));

describe("parser robustness (fast-check)", () => {
  it("on any string: either an AST, or RaftbusError INVALID_FILTER with a position inside the source", () => {
    fc.assert(
      fc.property(fc.oneof(
        { arbitrary: tokenish, weight: 4 },
        { arbitrary: fc.string({ maxLength: 60 }), weight: 2 },
        // Full-Unicode strings are slow to generate: short and few.
        { arbitrary: fc.string({ unit: "binary", maxLength: 12 }), weight: 1 },
      ), (source) => {
        let ast: FilterNode;
        try {
          ast = parseFilter(source);
        } catch (e) {
          // Plain checks, not expect(): this runs thousands of times and must stay cheap.
          const position = e instanceof RaftbusError ? e.details?.position : undefined;
          if (!(e instanceof RaftbusError) || e.code !== "INVALID_FILTER") throw e;
          if (typeof position !== "number" || position < 0 || position > source.length) {
            throw new Error(`position ${String(position)} outside ${JSON.stringify(source)}`);
          }
          return;
        }
        // Whatever parses also evaluates, without throwing, on odd inputs.
        evaluateFilter(ast, { headers: { a: "1", x: "true" }, payload: new TextEncoder().encode('{"a":{"b":[1]}}') });
        evaluateFilter(ast, { headers: {}, payload: new Uint8Array([0xc3]) });
      }),
      { numRuns: 1500 },
    );
  });
});

// ---- random ASTs ------------------------------------------------------------

const SEGMENT_PATHS: readonly (readonly string[])[] = [
  ["a"], ["b"], ["n"], ["s"], ["flag"], ["x-y"], ["obj", "x"], ["arr", "0"], ["arr", "1"], ["arr", "01"],
  ["__proto__"], ["constructor"], ["obj", "__proto__"], ["toString"],
];
const HEADER_KEYS = ["a", "b", "n", "s", "flag", "x-y", "obj.x", "constructor", "__proto__", "toString"] as const;

const pathArb: fc.Arbitrary<FilterNode & { kind: "path" }> = fc.oneof(
  fc.constantFrom(...SEGMENT_PATHS).map((segments) => ({ kind: "path" as const, scope: "auto" as const, segments, headerKey: segments.join("."), position: 0 })),
  fc.constantFrom(...HEADER_KEYS).map((k) => ({ kind: "path" as const, scope: "headers" as const, segments: [], headerKey: k, position: 0 })),
  fc.constantFrom<readonly string[]>([], ...SEGMENT_PATHS).map((segments) => ({ kind: "path" as const, scope: "payload" as const, segments, headerKey: "", position: 0 })),
);
const literalValue = fc.oneof(
  fc.constantFrom("1", "90", "abc", "", "true", "x", "a'b\"c\\"),
  fc.string({ maxLength: 4 }),
  fc.integer({ min: -100, max: 100 }),
  fc.constantFrom(0.5, -2.5, 90, 91.5, 1e21, 1.5e-7),
  fc.constantFrom(true, false, null),
);
const literalArb = literalValue.map((value) => ({ kind: "literal" as const, value, position: 0 }));
const operandArb = fc.oneof(pathArb, literalArb);

const { node: astArb } = fc.letrec<{ node: FilterNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    operandArb,
    fc.record({ kind: fc.constant("compare" as const), op: fc.constantFrom("==", "!=", "<", "<=", ">", ">=" as const), left: operandArb, right: operandArb, position: fc.constant(0) }),
    fc.record({ kind: fc.constant("in" as const), operand: operandArb, list: fc.array(literalArb, { maxLength: 3 }), position: fc.constant(0) }),
    fc.record({ kind: fc.constant("exists" as const), path: pathArb, position: fc.constant(0) }),
    fc.record({ kind: fc.constant("not" as const), operand: tie("node"), position: fc.constant(0) }),
    fc.record({ kind: fc.constantFrom("and" as const, "or" as const), operands: fc.array(tie("node"), { minLength: 2, maxLength: 3 }), position: fc.constant(0) }),
  ),
}));

// ---- random messages --------------------------------------------------------

const headerValue = fc.constantFrom("1", "90", "91", "-2.5", "1e3", "abc", "true", "false", "", "0x10", " 1", "1.");
const payloadValue = fc.constantFrom<unknown>(1, 90, 91.5, -3, 0, "abc", "90", "true", true, false, null, { x: 1 }, { x: "1" }, [1, "b"], ["a", 2]);
const inputArb: fc.Arbitrary<FilterInput> = fc.record({
  headers: fc.array(fc.tuple(fc.constantFrom(...HEADER_KEYS), headerValue), { maxLength: 6 }).map((e) => Object.fromEntries(e)),
  payload: fc.oneof(
    fc.array(fc.tuple(fc.constantFrom("a", "b", "n", "s", "flag", "x-y", "obj", "arr", "__proto__", "constructor"), payloadValue), { maxLength: 6 })
      .map((e) => new TextEncoder().encode(JSON.stringify(Object.fromEntries(e)))),
    fc.constantFrom("5", "[1,2]", '"str"', "null", "not json", "", '{"__proto__":{"a":1}}').map((s) => new TextEncoder().encode(s)),
    fc.constant(new Uint8Array([0xff, 0x7b])),
  ),
});

describe("evaluation equals the naive reference evaluator (fast-check)", () => {
  it("print → parse gives back the same AST, and compiled evaluation = reference", () => {
    fc.assert(
      fc.property(astArb, fc.boolean(), fc.array(inputArb, { minLength: 1, maxLength: 4 }), (ast, singleQuotes, inputs) => {
        const source = printFilter(ast, singleQuotes);
        expect(stripPositions(parseFilter(source)), source).toEqual(stripPositions(ast));
        const compiled = compileFilter(source);
        for (const input of inputs) {
          const expected = referenceEvaluate(ast, input);
          expect(compiled.matches(input), source).toBe(expected);
          expect(evaluateFilter(ast, input), source).toBe(expected);
        }
      }),
      { numRuns: 1200 },
    );
  });
});
