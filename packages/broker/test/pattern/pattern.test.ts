import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RaftbusError } from "@raftbus/client/protocol";
import { compilePattern, matchSegments, patternSegments, PATTERN_SEGMENTS_MAX } from "../../src/pattern/pattern.ts";

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof RaftbusError) return e.code;
    throw e;
  }
  return undefined;
}

/** Naive model: backtracking over segments, `**` = one or more. */
function naiveMatch(p: readonly string[], t: readonly string[]): boolean {
  const [head, ...rest] = p;
  if (head === undefined) return t.length === 0;
  if (head === "**") {
    for (let k = 1; k <= t.length; k++) if (naiveMatch(rest, t.slice(k))) return true;
    return false;
  }
  if (t.length === 0) return false;
  return (head === "*" || head === t[0]) && naiveMatch(rest, t.slice(1));
}

describe("compilePattern: SPEC §4 examples", () => {
  it("exact `system.health` matches only itself", () => {
    const p = compilePattern("system.health");
    expect(p.kind).toBe("exact");
    expect(p.matches("system.health")).toBe(true);
    expect(p.matches("system.health.cpu")).toBe(false);
    expect(p.matches("system")).toBe(false);
  });

  it("`system.*` matches one segment: system.health, not system.health.cpu, not system", () => {
    const p = compilePattern("system.*");
    expect(p.kind).toBe("single");
    expect(p.matches("system.health")).toBe(true);
    expect(p.matches("system.status")).toBe(true);
    expect(p.matches("system.health.cpu")).toBe(false);
    expect(p.matches("system")).toBe(false);
  });

  it("`system.**` matches one or more segments: system.health.cpu, system.alerts.disk, not system", () => {
    const p = compilePattern("system.**");
    expect(p.kind).toBe("multi");
    expect(p.matches("system.health.cpu")).toBe(true);
    expect(p.matches("system.alerts.disk")).toBe(true);
    expect(p.matches("system.health")).toBe(true);
    expect(p.matches("system")).toBe(false);
    expect(p.matches("other.health")).toBe(false);
  });

  it("`**` in the middle: a.**.z", () => {
    const p = compilePattern("a.**.z");
    expect(p.matches("a.b.z")).toBe(true);
    expect(p.matches("a.b.c.d.z")).toBe(true);
    expect(p.matches("a.z")).toBe(false);
    expect(p.matches("a.b.z.q")).toBe(false);
  });

  it("`**` first, several `**`, and `*` mixed in", () => {
    expect(compilePattern("**").matches("x")).toBe(true);
    expect(compilePattern("**.cpu").matches("a.b.cpu")).toBe(true);
    expect(compilePattern("**.cpu").matches("cpu")).toBe(false);
    const p = compilePattern("**.*.**");
    expect(p.matches("a.b.c")).toBe(true);
    expect(p.matches("a.b")).toBe(false);
    expect(compilePattern("*.x.**").matches("a.x.b")).toBe(true);
  });
});

describe("compilePattern: reserved $sys topics", () => {
  it("a first-segment wildcard does not match $sys (MQTT §4.7.2 rule)", () => {
    expect(compilePattern("**").matches("$sys.health")).toBe(false);
    expect(compilePattern("*.health").matches("$sys.health")).toBe(false);
  });

  it("`$sys.**` and exact `$sys.health` do", () => {
    expect(compilePattern("$sys.**").matches("$sys.health.node1")).toBe(true);
    expect(compilePattern("$sys.*").matches("$sys.health")).toBe(true);
    expect(compilePattern("$sys.health").matches("$sys.health")).toBe(true);
  });

  it("regexes see every topic, $sys included", () => {
    expect(compilePattern("/.*/").matches("$sys.health")).toBe(true);
  });
});

describe("compilePattern: regex forms", () => {
  it("`/…/` and `re:…` match the whole topic name", () => {
    for (const src of ["/system\\.(health|alerts)\\.[a-z]+/", "re:system\\.(health|alerts)\\.[a-z]+"]) {
      const p = compilePattern(src);
      expect(p.kind).toBe("regex");
      expect(p.source).toBe(src);
      expect(p.matches("system.health.cpu")).toBe(true);
      expect(p.matches("system.alerts.disk")).toBe(true);
      expect(p.matches("system.other.disk")).toBe(false);
      expect(p.matches("xsystem.health.cpu")).toBe(false); // whole-name, not search
    }
  });

  it("refuses flags, a missing closing slash and empty regexes", () => {
    expect(code(() => compilePattern("/abc/i"))).toBe("INVALID_PATTERN");
    expect(code(() => compilePattern("/abc"))).toBe("INVALID_PATTERN");
    expect(code(() => compilePattern("/"))).toBe("INVALID_PATTERN");
    expect(code(() => compilePattern("//"))).toBe("INVALID_PATTERN");
    expect(code(() => compilePattern("re:"))).toBe("INVALID_PATTERN");
  });

  it("reports regex syntax errors with a position in the pattern source", () => {
    try {
      compilePattern("re:ab(c");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RaftbusError);
      expect((e as RaftbusError).details?.position).toBe(5);
      expect((e as RaftbusError).message).toMatch(/unterminated group at 5/);
    }
  });
});

describe("compilePattern: refusals are INVALID_PATTERN", () => {
  it.each([
    ["", /empty/],
    ["a..b", /empty segment/],
    [".a", /empty segment/],
    ["a.", /empty segment/],
    ["a*", /whole segments/],
    ["*a.b", /whole segments/],
    ["a.***", /whole segments/],
    ["a.b c", /characters/],
    ["a.$sys", /characters/],
    ["$sys", /needs a segment/],
    ["x".repeat(256), /limit is 255/],
    [Array.from({ length: PATTERN_SEGMENTS_MAX + 1 }, () => "a").join("."), /segments/],
  ])("%j", (src, message) => {
    expect(() => compilePattern(src)).toThrow(message);
    expect(code(() => compilePattern(src))).toBe("INVALID_PATTERN");
  });

  it("a non-string source", () => {
    expect(code(() => compilePattern(42 as unknown as string))).toBe("INVALID_PATTERN");
  });
});

describe("compilePattern: limits", () => {
  it("topics longer than any real topic match nothing", () => {
    expect(compilePattern("**").matches("a.".repeat(200) + "a")).toBe(false);
  });

  it("patternSegments exposes segments of non-regex patterns only", () => {
    expect(patternSegments(compilePattern("a.*.**"))).toEqual(["a", "*", "**"]);
    expect(patternSegments(compilePattern("/a/"))).toBeUndefined();
  });
});

describe("matchSegments equals the naive backtracking model", () => {
  it("on random patterns and topics (fast-check)", () => {
    const seg = fc.constantFrom("a", "b", "c");
    const pseg = fc.constantFrom("a", "b", "*", "**");
    fc.assert(
      fc.property(fc.array(pseg, { minLength: 1, maxLength: 6 }), fc.array(seg, { minLength: 1, maxLength: 8 }), (p, t) => {
        expect(matchSegments(p, t)).toBe(naiveMatch(p, t));
        expect(compilePattern(p.join(".")).matches(t.join("."))).toBe(naiveMatch(p, t));
      }),
      { numRuns: 2000 },
    );
  });
});
