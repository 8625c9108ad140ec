/**
 * Slow-request warnings are rate-limited: the first few of a window are
 * logged one by one, the rest summarised in one line (an overloaded leader
 * wrote 13,590 lines in one benchmark run). Clock and timer are injected.
 */
import { describe, expect, it } from "vitest";
import { SlowRequestLog } from "../../src/server/slow-requests.ts";

function rig(): { log: SlowRequestLog; lines: { fields: Record<string, unknown>; msg: string }[]; timers: { at: number; fn: () => void }[]; clock: { t: number } } {
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const timers: { at: number; fn: () => void }[] = [];
  const clock = { t: 1000 };
  const log = new SlowRequestLog({
    warn: (fields, msg) => lines.push({ fields: fields as Record<string, unknown>, msg }),
    now: () => clock.t,
    later: (fn, ms) => timers.push({ at: clock.t + ms, fn }),
    windowMs: 10_000, linesPerWindow: 3,
  });
  return { log, lines, timers, clock };
}

const slow = (i: number, kind = "ack", ms = 1500): { requestId: string; kind: string; ms: number; code: undefined; client: string } =>
  ({ requestId: `s1/${i}`, kind, ms, code: undefined, client: "bench" });

/** Fires the timers due by the clock. */
function fire(timers: { at: number; fn: () => void }[], now: number): void {
  for (const t of timers.splice(0).filter((x) => x.at <= now)) t.fn();
}

describe("slow-request warnings", () => {
  it("logs the first few of a window one by one and summarises the rest once, when the window ends", () => {
    const { log, lines, timers, clock } = rig();
    for (let i = 0; i < 1000; i++) log.note(slow(i, i % 2 === 0 ? "ack" : "publish", 1000 + i));
    expect(lines.map((l) => l.fields["requestId"])).toEqual(["s1/0", "s1/1", "s1/2"]);
    expect(timers).toHaveLength(1);
    clock.t += 10_000;
    fire(timers, clock.t);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toEqual({ msg: "more slow requests, not logged one by one", fields: { count: 997, kinds: { ack: 498, publish: 499 }, slowestMs: 1999, windowMs: 10_000 } });
  });

  it("a new window logs one by one again, after the summary of the last", () => {
    const { log, lines, timers, clock } = rig();
    for (let i = 0; i < 5; i++) log.note(slow(i));
    clock.t += 12_000;
    log.note(slow(5));
    expect(lines.map((l) => l.msg)).toEqual(["slow request", "slow request", "slow request", "more slow requests, not logged one by one", "slow request"]);
    expect(lines[3]?.fields["count"]).toBe(2);
    fire(timers, clock.t); // the old window's timer: already summarised, says nothing more
    expect(lines).toHaveLength(5);
  });

  it("a window with no more than the limit writes no summary", () => {
    const { log, lines, timers } = rig();
    for (let i = 0; i < 3; i++) log.note(slow(i));
    expect(timers).toHaveLength(0);
    expect(lines.every((l) => l.msg === "slow request")).toBe(true);
  });
});
