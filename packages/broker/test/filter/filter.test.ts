import { describe, expect, it } from "vitest";
import { compileFilter } from "../../src/filter/index.ts";
import { msg } from "./helpers.ts";

function run(source: string, headers: Record<string, string>, payload?: unknown): boolean {
  return compileFilter(source).matches(msg(headers, payload));
}

describe("filter: the seed's examples (SPEC §4)", () => {
  it("severity == 'critical' reads a header", () => {
    expect(run("severity == 'critical'", { severity: "critical" })).toBe(true);
    expect(run("severity == 'critical'", { severity: "warning" })).toBe(false);
    expect(run("severity == 'critical'", {})).toBe(false);
  });

  it("usage > 90 reads a JSON payload field", () => {
    expect(run("usage > 90", {}, { node: "storage-1", usage: 95 })).toBe(true);
    expect(run("usage > 90", {}, { usage: 85 })).toBe(false);
    expect(run("usage > 90", {}, { usage: "95" })).toBe(false); // a JSON string is not coerced
  });

  it("usage > 90 coerces a numeric header", () => {
    expect(run("usage > 90", { usage: "90.5" })).toBe(true);
    expect(run("usage > 90", { usage: "1e3" })).toBe(true);
    expect(run("usage > 90", { usage: "high" })).toBe(false);
    expect(run("usage > 90", { usage: "" })).toBe(false);
    expect(run("usage > 90", { usage: "0x100" })).toBe(false); // decimal syntax only
  });

  it("a == 1 && (b != 'x' || !c)", () => {
    const f = "a == 1 && (b != 'x' || !c)";
    expect(run(f, {}, { a: 1, b: "y", c: true })).toBe(true);
    expect(run(f, {}, { a: 1, b: "x", c: true })).toBe(false);
    expect(run(f, {}, { a: 1, b: "x", c: false })).toBe(true);
    expect(run(f, {}, { a: 1, b: "x" })).toBe(true); // absent c is not true
    expect(run(f, {}, { a: 2, b: "y" })).toBe(false);
    expect(run(f, { a: "1", b: "x", c: "true" })).toBe(false); // all from headers
    expect(run(f, { a: "1", b: "x", c: "false" })).toBe(true);
  });
});

describe("filter: precedence and grouping", () => {
  it("&& binds tighter than ||", () => {
    expect(run("a == 1 || b == 1 && c == 1", {}, { a: 1, b: 0, c: 0 })).toBe(true);
    expect(run("(a == 1 || b == 1) && c == 1", {}, { a: 1, b: 0, c: 0 })).toBe(false);
  });

  it("! applies to the comparison after it; !! cancels", () => {
    expect(run("!a == 1", {}, { a: 1 })).toBe(false);
    expect(run("!a == 1", {}, { a: 2 })).toBe(true);
    expect(run("!!a == 1", {}, { a: 1 })).toBe(true);
    expect(run("!(a == 1 || b == 1)", {}, { a: 0, b: 0 })).toBe(true);
  });

  it("whitespace is free", () => {
    expect(run(" a==1&&b!='x' ", {}, { a: 1, b: "y" })).toBe(true);
    expect(run("a\n==\t1", {}, { a: 1 })).toBe(true);
  });
});

describe("filter: operators and types", () => {
  it.each([
    ["n < 5", { n: 4 }, true],
    ["n <= 4", { n: 4 }, true],
    ["n >= 4.5", { n: 4 }, false],
    ["n == -3.5", { n: -3.5 }, true],
    ["n == 1e2", { n: 100 }, true],
    ["s < 'b'", { s: "a" }, true],
    ["s > 'B'", { s: "a" }, true], // code-unit order
    ["s < 5", { s: "a" }, false], // mismatch: false
    ["s != 5", { s: "a" }, true], // != is !(==)
    ["missing != 5", {}, true],
    ["missing == null", {}, false], // absent is not null
    ["z == null", { z: null }, true],
    ["flag == true", { flag: true }, true],
    ["flag", { flag: true }, true],
    ["flag", { flag: 1 }, false],
    ["flag", { flag: "true" }, false], // JSON string, not a header
    ["obj == obj", { obj: { x: 1 } }, false], // objects never compare equal
    ["obj.x == 1", { obj: { x: 1 } }, true],
    ["arr.1 == 'b'", { arr: ["a", "b"] }, true],
    ["arr.01 == 'b'", { arr: ["a", "b"] }, false], // canonical indexes only
    ["arr.length == 2", { arr: ["a", "b"] }, false], // no array properties
    ["payload == 5", 5, true],
    ["'x' == 'x'", {}, true],
    ["1 < 2", {}, true],
  ] as const)("%s on %j → %s", (source, payload, expected) => {
    expect(run(source, {}, payload)).toBe(expected);
  });

  it("header strings coerce to booleans against booleans; header vs header stays string", () => {
    expect(run("debug == true", { debug: "true" })).toBe(true);
    expect(run("debug == false", { debug: "false" })).toBe(true);
    expect(run("debug == true", { debug: "yes" })).toBe(false);
    expect(run("headers.a == headers.b", { a: "10", b: "10.0" })).toBe(false);
    expect(run("headers.a < headers.b", { a: "10", b: "9" })).toBe(true); // string order
    expect(run("headers.a < n", { a: "10" }, { n: 9 })).toBe(false); // coerced: 10 < 9
  });

  it("string escapes in both quote styles", () => {
    expect(run(`s == 'it\\'s'`, {}, { s: "it's" })).toBe(true);
    expect(run(`s == "say \\"hi\\"\\n"`, {}, { s: 'say "hi"\n' })).toBe(true);
    expect(run(`s == '\\u00e9\\t\\\\'`, {}, { s: "é\t\\" })).toBe(true);
  });
});

describe("filter: in and exists", () => {
  it("x in [...] is equality with any item, with header coercion", () => {
    expect(run("region in ['eu', 'us']", { region: "us" })).toBe(true);
    expect(run("region in ['eu', 'us']", { region: "ap" })).toBe(false);
    expect(run("code in [200, 204]", { code: "204" })).toBe(true);
    expect(run("code in ['a', 3, true, null]", {}, { code: null })).toBe(true);
    expect(run("code in []", {}, { code: 1 })).toBe(false);
    expect(run("!(code in [1])", {}, {})).toBe(true);
  });

  it("exists x: present, JSON null included", () => {
    expect(run("exists trace", { trace: "" })).toBe(true);
    expect(run("exists trace", {}, { trace: null })).toBe(true);
    expect(run("exists trace", {}, {})).toBe(false);
    expect(run("!exists trace && a == 1", {}, { a: 1 })).toBe(true);
    expect(run("exists payload.a.b", {}, { a: { b: 0 } })).toBe(true);
  });
});

describe("filter: scopes", () => {
  it("headers.x and header.x read headers only; payload.x reads the payload only", () => {
    const h = { severity: "h" };
    const p = { severity: "p" };
    expect(run("headers.severity == 'h'", h, p)).toBe(true);
    expect(run("header.severity == 'h'", h, p)).toBe(true);
    expect(run("payload.severity == 'p'", h, p)).toBe(true);
    expect(run("payload.severity == 'h'", h, {})).toBe(false);
    expect(run("headers.severity == 'p'", {}, p)).toBe(false);
  });

  it("a bare name prefers the payload field and falls back to the header", () => {
    expect(run("severity == 'p'", { severity: "h" }, { severity: "p" })).toBe(true);
    expect(run("severity == 'h'", { severity: "h" }, { other: 1 })).toBe(true);
    expect(run("severity == 'h'", { severity: "h" }, { severity: null })).toBe(false); // null is present
  });

  it("header names with dots and dashes", () => {
    expect(run("headers.x-trace.id == 'abc'", { "x-trace.id": "abc" })).toBe(true);
    expect(run("x-trace.id == 'abc'", { "x-trace.id": "abc" })).toBe(true);
  });

  it("a payload that is not JSON (or not UTF-8) has no fields", () => {
    expect(run("exists a", {}, "not json")).toBe(false);
    expect(run("exists a", { a: "1" }, new Uint8Array([0xff, 0xfe]))).toBe(true); // header fallback
    expect(run("a != 1", {}, new Uint8Array([0x7b]))).toBe(true);
    expect(run("exists payload", {}, new Uint8Array())).toBe(false);
  });
});

describe("filter: own properties only (no prototype reach)", () => {
  it.each([
    "exists __proto__",
    "exists constructor",
    "exists toString",
    "exists a.__proto__",
    "exists a.constructor.name",
    "exists headers.__proto__",
    "exists headers.constructor",
    "exists hasOwnProperty",
    "a.constructor == a.constructor",
  ])("%s is false", (source) => {
    expect(run(source, {}, { a: {} })).toBe(false);
    expect(run(source, {}, "[]")).toBe(false);
  });

  it("an own __proto__ key in the JSON is just data", () => {
    const payload = '{"__proto__": {"polluted": 1}}';
    expect(run("__proto__.polluted == 1", {}, payload)).toBe(true);
    expect(run("exists polluted", {}, payload)).toBe(false);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe("compileFilter result", () => {
  it("keeps the source and can be reused across messages", () => {
    const f = compileFilter("usage > 90");
    expect(f.source).toBe("usage > 90");
    expect([95, 10, 91].map((usage) => f.matches(msg({}, { usage })))).toEqual([true, false, true]);
  });

  it("never parses the payload for header-only filters", () => {
    const payload = new Uint8Array(1);
    const f = compileFilter("headers.a == '1'");
    // A Proxy on the bytes would observe any read; none happens.
    let reads = 0;
    const spy = new Proxy(payload, { get: (t, k) => (reads++, Reflect.get(t, k)) });
    expect(f.matches({ headers: { a: "1" }, payload: spy })).toBe(true);
    expect(reads).toBe(0);
  });
});
