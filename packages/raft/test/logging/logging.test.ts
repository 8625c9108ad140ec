import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createNodeLogger, parseLogLevels } from "../../src/logging.ts";

/** Collects the JSON lines a logger writes. */
function sink(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { chunks.push(chunk.toString()); cb(); } });
  return { stream, lines: () => chunks.join("").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("logging: one pino logger, a child per component", () => {
  it("parses per-component levels and names the bad part", () => {
    expect(parseLogLevels("raft=debug, transport=warn")).toEqual({ raft: "debug", transport: "warn" });
    expect(parseLogLevels("")).toEqual({});
    expect(() => parseLogLevels("raftx=debug")).toThrow(/unknown component "raftx"/);
    expect(() => parseLogLevels("raft=loud")).toThrow(/level must be one of/);
  });

  it("each component logs at its own level, tagged with its name", () => {
    const out = sink();
    const loggers = createNodeLogger({ level: "info", levels: { raft: "debug" }, base: { node: "n1" }, destination: out.stream });
    loggers.component("raft").debug({ term: 2 }, "raft state changed");
    loggers.component("session").debug("client session opened");
    loggers.component("session").info("visible");
    const lines = out.lines();
    expect(lines.map((l) => l["msg"])).toEqual(["raft state changed", "visible"]);
    expect(lines[0]).toMatchObject({ node: "n1", component: "raft", term: 2, level: 20 });
    expect(lines[1]).toMatchObject({ node: "n1", component: "session", level: 30 });
    expect(loggers.component("raft")).toBe(loggers.component("raft"));
  });
});
