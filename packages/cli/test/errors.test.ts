import { RaftbusError } from "@raftbus/client";
import { describe, expect, it } from "vitest";
import { caretLines, CommandFailed, describeFailure, failureLines, UnreachableError, UsageError } from "../src/util/errors.ts";
import { EXIT } from "../src/util/exit-codes.ts";

function shown(err: unknown, ctx = {}): { exitCode: number; text: string } {
  const failure = describeFailure(err, ctx);
  if (failure === undefined) throw new Error("expected an expected failure");
  return { exitCode: failure.exitCode, text: failureLines(failure).join("\n") };
}

describe("errors → message and exit code", () => {
  it("usage errors exit 2 and point at the command's help", () => {
    expect(shown(new UsageError("--ttl: \"5x\" is not a duration", "pub"))).toEqual({
      exitCode: EXIT.USAGE, text: "raftbus: --ttl: \"5x\" is not a duration\n  see `raftbus pub --help` for usage",
    });
  });

  it("server refusals exit 1 with the code and a hint naming the topic", () => {
    const r = shown(new RaftbusError("TOPIC_NOT_FOUND", "topic 'demo' does not exist"), { topic: "demo" });
    expect(r.exitCode).toBe(EXIT.FAILED);
    expect(r.text).toBe("raftbus: TOPIC_NOT_FOUND: topic 'demo' does not exist\n  topic demo does not exist; create it with `raftbus topic create demo` (see them all with `raftbus topic list`)");
    expect(shown(new RaftbusError("TOPIC_EXISTS", "x"), { topic: "demo" }).text).toContain("raftbus topic info demo");
  });

  it("INVALID_FILTER shows the expression with a caret under details.position", () => {
    const err = new RaftbusError("INVALID_FILTER", "unexpected end of filter at 4", { details: { position: 4 } });
    const lines = shown(err, { filter: "a ==" }).text.split("\n");
    expect(lines[0]).toBe("raftbus: INVALID_FILTER: unexpected end of filter at 4");
    expect(lines[1]).toBe("  a ==");
    expect(lines[2]).toBe("      ^");
  });

  it("puts the caret in a window around the position of a long filter", () => {
    const expr = `${"x > 1 && ".repeat(20)}y ?? 2`;
    const at = expr.indexOf("??");
    const [shownExpr, caret] = caretLines(expr, at, 40);
    expect(shownExpr.startsWith("…")).toBe(true);
    expect(shownExpr[caret.length - 1]).toBe("?");
  });

  it("timeouts exit 5, unreachable servers 4, data problems 3", () => {
    expect(shown(new RaftbusError("TIMEOUT", "no answer"), { timeoutMs: 10_000 })).toMatchObject({ exitCode: EXIT.TIMEOUT });
    expect(shown(new RaftbusError("TIMEOUT", "no answer"), { timeoutMs: 10_000 }).text).toContain("--timeout 10s");
    const unreachable = shown(new UnreachableError(["ws://127.0.0.1:1"], ["ECONNREFUSED"]));
    expect(unreachable.exitCode).toBe(EXIT.UNREACHABLE);
    expect(unreachable.text).toContain("no raftbus server reachable at ws://127.0.0.1:1 (ECONNREFUSED)");
    expect(unreachable.text).toContain("start one with `pnpm start`");
    expect(shown(new RaftbusError("STORAGE_CORRUPT", "bad crc")).exitCode).toBe(EXIT.DATA);
    expect(shown(new CommandFailed("TIMEOUT", "received 1 of 5", EXIT.TIMEOUT, "wait longer")).text).toBe("raftbus: TIMEOUT: received 1 of 5\n  wait longer");
  });

  it.each([
    ["INVALID_PATTERN", /orders\.\*\*/], ["INVALID_TOPIC", /segments of A-Z/], ["NO_LEADER", /cluster status/], ["BACKPRESSURE", /slow down/],
  ] as const)("%s carries a hint", (code, hint) => {
    expect(shown(new RaftbusError(code, "x")).text).toMatch(hint);
  });

  it("leaves bugs alone", () => {
    expect(describeFailure(new TypeError("undefined is not a function"))).toBeUndefined();
  });
});
