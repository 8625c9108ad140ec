import { describe, expect, it } from "vitest";
import { ago, messageForHumans, messageJson, payloadView } from "../src/output/format.ts";
import { renderProgress } from "../src/output/progress.ts";
import { colorEnabled, makeStyler } from "../src/output/style.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const message = {
  id: "m1", topic: "alerts", payload: enc("{\"usage\":93}"), senderId: "s", timestamp: Date.parse("2026-01-31T12:00:00Z"),
  priority: "high" as const, guarantee: "at-least-once" as const, maxRetries: 5, headers: { host: "db1" }, offset: 4, index: 17, attempt: 2,
};

describe("output: payloads and messages", () => {
  it("decodes payloads as JSON, text or base64", () => {
    expect(payloadView(enc("{\"a\":1}"))).toMatchObject({ encoding: "json", value: { a: 1 } });
    expect(payloadView(enc("hello"))).toEqual({ encoding: "utf8", text: "hello" });
    expect(payloadView(enc("42"))).toEqual({ encoding: "utf8", text: "42" });
    expect(payloadView(enc("{not json"))).toEqual({ encoding: "utf8", text: "{not json" });
    expect(payloadView(new Uint8Array([0xff, 0x00]))).toEqual({ encoding: "base64", base64: "/wA=", bytes: 2 });
    expect(payloadView(enc("\u001b[31mred"))).toMatchObject({ encoding: "base64" });
  });

  it("writes a message as one JSON line with every field", () => {
    expect(messageJson(message)).toEqual({
      topic: "alerts", offset: 4, index: 17, id: "m1", priority: "high", guarantee: "at-least-once", timestamp: message.timestamp,
      time: "2026-01-31T12:00:00.000Z", senderId: "s", attempt: 2, maxRetries: 5, headers: { host: "db1" }, payload: { usage: 93 }, payloadEncoding: "json",
    });
  });

  it("shows a message for people: envelope line, headers, pretty JSON", () => {
    expect(messageForHumans(message, 1, makeStyler(false))).toEqual([
      "[#1]  alerts @ 4  high  2026-01-31T12:00:00.000Z  id m1  redelivery 1",
      "host: db1",
      "",
      "{\n  \"usage\": 93\n}",
      "",
    ]);
  });

  it("says how long ago in whole seconds", () => {
    expect(ago(1000, 1400)).toBe("just now");
    expect(ago(0, 3_860)).toBe("4s ago");
    expect(ago(0, 90_000)).toBe("1m30s ago");
  });

  it("renders a progress bar with rate and ETA", () => {
    expect(renderProgress("demo", 500, 1000, 1000, 10)).toBe("demo █████░░░░░ 500/1,000 50% · 500 msg/s · ETA 1s");
    expect(renderProgress("demo", 1000, 1000, 2000, 10)).toBe("demo ██████████ 1,000/1,000 100% · 500 msg/s");
  });

  it("colours only terminals, and never with NO_COLOR or TERM=dumb", () => {
    expect(colorEnabled(true, {})).toBe(true);
    expect(colorEnabled(false, {})).toBe(false);
    expect(colorEnabled(true, { NO_COLOR: "1" })).toBe(false);
    expect(colorEnabled(true, { TERM: "dumb" })).toBe(false);
    expect(colorEnabled(false, { FORCE_COLOR: "1" })).toBe(true);
  });
});
