/**
 * The limits are config values validated at start-up, and the README's
 * table lists every one with its default (issue 13 item 5).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, parseDuration, parseSize, resolveNodeConfig } from "../../src/server/config.ts";
import { LIMIT_DEFAULTS, LIMIT_FIELDS } from "../../src/server/limits-config.ts";

const base = { id: "n1", dataDir: "/tmp/x" };

function problemsOf(extra: Record<string, unknown>): readonly string[] {
  try {
    resolveNodeConfig(base, extra);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe("limits configuration", () => {
  it("the defaults are valid and every limit can be set from a string", () => {
    const c = resolveNodeConfig(base);
    for (const [k, v] of Object.entries(LIMIT_DEFAULTS)) expect(c[k as keyof typeof c]).toBe(v);
    const set = resolveNodeConfig(base, { connectionsMax: "100", helloBytesMax: "4KiB", idleTimeoutMs: "2m", pingIntervalMs: "30s" });
    expect(set).toMatchObject({ connectionsMax: 100, helloBytesMax: 4096, idleTimeoutMs: 120_000, pingIntervalMs: 30_000 });
  });

  it("out-of-range and inconsistent limits are all reported at once", () => {
    const problems = problemsOf({ connectionsMax: "0", helloBytesMax: "1", idleTimeoutMs: "1s", pingIntervalMs: "5s" });
    expect(problems.join("\n")).toMatch(/connectionsMax: must be a whole number between 1/);
    expect(problems.join("\n")).toMatch(/helloBytesMax: must be a whole number between 1024/);
    expect(problems.join("\n")).toMatch(/idleTimeoutMs \(1000\) must exceed pingIntervalMs \(5000\)/);
    expect(problems).toHaveLength(3);
  });

  it("the README's limits table lists every limit with its default", () => {
    const readme = readFileSync(new URL("../../../../README.md", import.meta.url), "utf8");
    const rows = new Map<string, string>();
    for (const m of readme.matchAll(/^\| `([A-Za-z]+)` \| ([^|]+) \|/gm)) rows.set(m[1]!, m[2]!.trim());
    for (const [key, kind] of Object.entries(LIMIT_FIELDS)) {
      const shown = rows.get(key);
      expect(shown, `README lists ${key}`).toBeDefined();
      const parsed = kind === "size" ? parseSize(shown!) : kind === "duration" ? parseDuration(shown!) : Number(shown);
      expect(parsed, `README default of ${key}`).toBe(LIMIT_DEFAULTS[key as keyof typeof LIMIT_DEFAULTS]);
    }
  });
});
