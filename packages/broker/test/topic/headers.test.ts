import { describe, expect, it } from "vitest";
import { RaftbusError } from "@raftbus/client/protocol";
import {
  HEADER_KEY_BYTES_MAX,
  HEADER_VALUE_BYTES_MAX,
  HEADERS_COUNT_MAX,
  HEADERS_TOTAL_BYTES_MAX,
  validateHeaders,
} from "../../src/topic/topic-name.ts";
import { utf8ByteLength } from "../../src/topic/utf8.ts";

function failure(fn: () => unknown): RaftbusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RaftbusError) return e;
    throw e;
  }
  throw new Error("expected a RaftbusError");
}

function many(n: number, value = "v"): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));
}

describe("validateHeaders (SPEC §2 header limits)", () => {
  it("returns a fresh copy of valid headers; undefined means none", () => {
    const input = { source: "agent", "x-trace.id": "abc", severity: "" };
    const out = validateHeaders(input);
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
    expect(validateHeaders(undefined)).toEqual({});
    expect(validateHeaders(Object.assign(Object.create(null) as object, { a: "1" }))).toEqual({ a: "1" });
  });

  it("counts: HEADERS_COUNT_MAX is fine, one more is HEADERS_TOO_LARGE", () => {
    expect(Object.keys(validateHeaders(many(HEADERS_COUNT_MAX)))).toHaveLength(HEADERS_COUNT_MAX);
    const e = failure(() => validateHeaders(many(HEADERS_COUNT_MAX + 1)));
    expect(e.code).toBe("HEADERS_TOO_LARGE");
    expect(e.message).toMatch(/65 headers; the limit is 64/);
  });

  it("sizes: key, value and total limits are in UTF-8 bytes", () => {
    expect(() => validateHeaders({ ["k".repeat(HEADER_KEY_BYTES_MAX)]: "v" })).not.toThrow();
    expect(failure(() => validateHeaders({ ["k".repeat(HEADER_KEY_BYTES_MAX + 1)]: "v" })).code).toBe("HEADERS_TOO_LARGE");
    expect(() => validateHeaders({ k: "v".repeat(HEADER_VALUE_BYTES_MAX) })).not.toThrow();
    // 2049 two-byte characters: 4098 bytes although only 2049 UTF-16 units.
    expect(failure(() => validateHeaders({ k: "é".repeat(2049) })).code).toBe("HEADERS_TOO_LARGE");
    const total = failure(() => validateHeaders(many(5, "v".repeat(HEADER_VALUE_BYTES_MAX))));
    expect(total.code).toBe("HEADERS_TOO_LARGE");
    expect(total.message).toMatch(new RegExp(`limit is ${HEADERS_TOTAL_BYTES_MAX}`));
  });

  it.each([
    [null, /got null/],
    [[], /got an array/],
    ["a=b", /got string/],
    [new Map([["a", "b"]]), /non-plain object/],
    [{ a: 1 }, /'a' must be a string, got number/],
    [{ a: null }, /got null/],
    [{ "": "v" }, /key "" is invalid/],
    [{ "a b": "v" }, /key "a b" is invalid/],
    [{ "k:1": "v" }, /is invalid/],
    [JSON.parse('{"__proto__":"x"}') as unknown, /'__proto__' is reserved/],
  ])("shape error %#: INVALID_ARGUMENT", (input, message) => {
    const e = failure(() => validateHeaders(input));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toMatch(message);
  });

  it("keys like constructor/toString are plain own data", () => {
    const out = validateHeaders({ constructor: "c", toString: "t" });
    expect(Object.hasOwn(out, "constructor")).toBe(true);
    expect(out.toString).toBe("t");
  });
});

describe("utf8ByteLength equals TextEncoder's length", () => {
  it.each(["", "abc", "é", "€", "😀", "a\ud800b", "\udc00", "x😀é€"])("%j", (s) => {
    expect(utf8ByteLength(s)).toBe(new TextEncoder().encode(s).length);
  });
});
