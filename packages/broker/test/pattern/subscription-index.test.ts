import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePattern } from "../../src/pattern/pattern.ts";
import type { CompiledPattern } from "../../src/pattern/pattern.ts";
import { SubscriptionIndex } from "../../src/pattern/subscription-index.ts";

function indexOf(subs: Record<string, string>): SubscriptionIndex<string> {
  const index = new SubscriptionIndex<string>();
  for (const [id, src] of Object.entries(subs)) index.add(id, compilePattern(src), id);
  return index;
}

describe("SubscriptionIndex", () => {
  it("matches exact, `*`, `**` and regex subscriptions, by id ascending", () => {
    const index = indexOf({
      e: "system.health",
      d: "system.*",
      c: "system.**",
      b: "/system\\.h.*/",
      a: "**.cpu",
      f: "other.**",
    });
    expect(index.size).toBe(6);
    expect(index.match("system.health")).toEqual(["b", "c", "d", "e"]);
    expect(index.match("system.health.cpu")).toEqual(["a", "b", "c"]);
    expect(index.match("system")).toEqual([]);
    expect(index.match("other")).toEqual([]);
  });

  it("orders by code unit, not locale (deterministic on every replica)", () => {
    const index = indexOf({ b: "x", B: "x", a: "x", "a-1": "x", a1: "x" });
    expect(index.match("x")).toEqual(["B", "a", "a-1", "a1", "b"]);
  });

  it("remove forgets a subscription; removing an unknown id is a no-op", () => {
    const index = indexOf({ a: "a.**", b: "a.*", c: "re:a\\..*" });
    index.remove("a");
    index.remove("c");
    index.remove("nope");
    expect(index.size).toBe(1);
    expect(index.match("a.b")).toEqual(["b"]);
    index.remove("b");
    expect(index.match("a.b")).toEqual([]);
    expect(index.size).toBe(0);
  });

  it("adding an existing id replaces its pattern and value", () => {
    const index = new SubscriptionIndex<number>();
    index.add("s", compilePattern("a.*"), 1);
    index.add("s", compilePattern("/b/"), 2);
    expect(index.size).toBe(1);
    expect(index.match("a.x")).toEqual([]);
    expect(index.match("b")).toEqual([2]);
  });

  it("a first-segment wildcard does not see $sys topics; `$sys.**` does", () => {
    const index = indexOf({ all: "**", one: "*.health", sys: "$sys.**", re: "/.*/" });
    expect(index.match("$sys.health")).toEqual(["re", "sys"]);
    expect(index.match("node.health")).toEqual(["all", "one", "re"]);
  });

  it("trie subscriptions are never scanned: their matches() is not called", () => {
    const index = new SubscriptionIndex<number>();
    for (let i = 0; i < 2000; i++) {
      const p = compilePattern(i % 2 === 0 ? `t${i}.*` : `t${i}.**`);
      (p as { matches: (t: string) => boolean }).matches = () => {
        throw new Error("scanned");
      };
      index.add(`s${i}`, p, i);
    }
    expect(index.match("t10.x")).toEqual([10]);
    expect(index.match("t11.x.y")).toEqual([11]);
  });

  it("patterns made elsewhere are scanned through matches()", () => {
    const foreign: CompiledPattern = { source: "custom", kind: "exact", matches: (t) => t === "custom" };
    const index = new SubscriptionIndex<string>();
    index.add("f", foreign, "f");
    expect(index.match("custom")).toEqual(["f"]);
  });

  it("many `**` in one pattern stay cheap (each trie state visited once)", () => {
    const index = indexOf({ deep: Array.from({ length: 16 }, () => "**").join(".") });
    const topic = Array.from({ length: 16 }, (_, i) => `s${i}`).join(".");
    expect(index.match(topic)).toEqual(["deep"]);
    expect(index.match("a.b")).toEqual([]);
  });
});

describe("SubscriptionIndex equals a naive model (fast-check)", () => {
  const seg = fc.constantFrom("a", "b", "c");
  const wildSegs = fc.array(fc.constantFrom("a", "b", "*", "**"), { minLength: 1, maxLength: 5 });
  const patternSource = fc.oneof(
    wildSegs.map((s) => s.join(".")),
    wildSegs.map((s) => `$sys.${s.join(".")}`),
    fc.constantFrom("/a\\..*/", "re:(a|b)\\.c", "/\\$sys\\..*/", "re:[a-c.]+", "/.*b/"),
  );
  const topic = fc.oneof(
    fc.array(seg, { minLength: 1, maxLength: 6 }).map((s) => s.join(".")),
    fc.array(seg, { minLength: 1, maxLength: 4 }).map((s) => `$sys.${s.join(".")}`),
  );
  const id = fc.constantFrom("s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "S8", "s10");
  const op = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("add" as const), id, source: patternSource }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("remove" as const), id }) },
  );

  it("after any add/remove sequence, match(topic) = every pattern whose matches(topic) holds, by id", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.array(topic, { minLength: 1, maxLength: 8 }), (ops, topics) => {
        const index = new SubscriptionIndex<string>();
        const model = new Map<string, { pattern: CompiledPattern; value: string }>();
        ops.forEach((o, step) => {
          if (o.kind === "remove") {
            index.remove(o.id);
            model.delete(o.id);
            return;
          }
          const pattern = compilePattern(o.source);
          const value = `${o.id}@${step}`; // distinct per add, so a stale value shows up
          index.add(o.id, pattern, value);
          model.set(o.id, { pattern, value });
        });
        expect(index.size).toBe(model.size);
        for (const t of topics) {
          const expected = [...model.entries()]
            .filter(([, e]) => e.pattern.matches(t))
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([, e]) => e.value);
          expect(index.match(t), t).toEqual(expected);
        }
      }),
      { numRuns: 600 },
    );
  });
});
