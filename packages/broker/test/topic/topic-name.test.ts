import { describe, expect, it } from "vitest";
import { RaftbusError } from "@raftbus/client/protocol";
import { isSystemTopic, TOPIC_NAME_BYTES_MAX, TOPIC_SEGMENTS_MAX, validateTopicName } from "../../src/topic/topic-name.ts";

function failure(fn: () => unknown): RaftbusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RaftbusError) return e;
    throw e;
  }
  throw new Error("expected a RaftbusError");
}

describe("validateTopicName (SPEC §2 limits)", () => {
  it.each(["system.health", "a", "events.user.actions", "A-b_c.0.x-y", "a".repeat(TOPIC_NAME_BYTES_MAX)])("accepts %j", (name) => {
    expect(() => validateTopicName(name)).not.toThrow();
  });

  it("accepts exactly TOPIC_SEGMENTS_MAX segments, refuses one more", () => {
    const name = (n: number): string => Array.from({ length: n }, () => "s").join(".");
    expect(() => validateTopicName(name(TOPIC_SEGMENTS_MAX))).not.toThrow();
    expect(failure(() => validateTopicName(name(TOPIC_SEGMENTS_MAX + 1))).message).toMatch(/17 segments; the limit is 16/);
  });

  it.each([
    ["", /empty/],
    ["a".repeat(TOPIC_NAME_BYTES_MAX + 1), /limit is 255 bytes/],
    ["a..b", /empty segment at character 2/],
    [".a", /empty segment at character 0/],
    ["a.", /empty segment at character 2/],
    ["a.b c", /character " " in segment 'b c'/],
    ["a.*", /character "\*"/],
    ["a/b", /character "\/"/],
    ["café", /character "é"/],
    ["a.$sys", /character "\$"/],
    ["$sys.health", /reserved '\$sys\.' prefix/],
  ])("refuses %j with INVALID_TOPIC", (name, message) => {
    const e = failure(() => validateTopicName(name));
    expect(e.code).toBe("INVALID_TOPIC");
    expect(e.message).toMatch(message);
  });

  it("allows $sys topics only with allowSystem, and not bare `$sys`", () => {
    expect(() => validateTopicName("$sys.health.node1", { allowSystem: true })).not.toThrow();
    expect(failure(() => validateTopicName("$sys", { allowSystem: true })).message).toMatch(/needs a segment/);
    expect(failure(() => validateTopicName("$sys.a b", { allowSystem: true })).code).toBe("INVALID_TOPIC");
  });

  it("refuses a non-string (wire input) with INVALID_TOPIC", () => {
    expect(failure(() => validateTopicName(7 as unknown as string)).code).toBe("INVALID_TOPIC");
  });

  it("isSystemTopic recognises the reserved prefix only", () => {
    expect(isSystemTopic("$sys.health")).toBe(true);
    expect(isSystemTopic("sys.health")).toBe(false);
    expect(isSystemTopic("$system.x")).toBe(false);
  });
});
