/** The test-only promise-breaking switches cannot be turned on by accident. */
import { describe, expect, it } from "vitest";
import { UNSAFE_CONFIRMATION, UnsafeSwitchError, parseUnsafeSwitches } from "../src/unsafe.ts";

describe("unsafe switches", () => {
  it("are off without RAFTBUS_UNSAFE", () => {
    expect(parseUnsafeSwitches({}).size).toBe(0);
    expect(parseUnsafeSwitches({ RAFTBUS_UNSAFE: " " }).size).toBe(0);
  });

  it("need the confirmation variable, spelled exactly", () => {
    expect(() => parseUnsafeSwitches({ RAFTBUS_UNSAFE: "skip-dedup" })).toThrow(UnsafeSwitchError);
    expect(() => parseUnsafeSwitches({ RAFTBUS_UNSAFE: "skip-dedup", RAFTBUS_UNSAFE_CONFIRM: "yes" })).toThrow(/RAFTBUS_UNSAFE_CONFIRM/);
    expect([...parseUnsafeSwitches({ RAFTBUS_UNSAFE: "skip-dedup,ack-before-commit", RAFTBUS_UNSAFE_CONFIRM: UNSAFE_CONFIRMATION })].sort())
      .toEqual(["ack-before-commit", "skip-dedup"]);
  });

  it("refuse unknown names, even when confirmed", () => {
    expect(() => parseUnsafeSwitches({ RAFTBUS_UNSAFE: "skip-fsync", RAFTBUS_UNSAFE_CONFIRM: UNSAFE_CONFIRMATION })).toThrow(/unknown switch "skip-fsync"/);
  });
});
