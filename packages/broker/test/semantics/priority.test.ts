/** Priority dispatch (SPEC §4): critical > high > medium > low, without starvation. */
import type { Priority } from "@raftbus/client/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { PRIORITY_SCHEDULE } from "../../src/index.ts";
import { Harness, json } from "../helpers/harness.ts";

let h: Harness;
afterEach(async () => h?.destroy());

async function publishMix(counts: Partial<Record<Priority, number>>, topic = "t"): Promise<void> {
  const messages = [];
  for (const p of ["low", "medium", "high", "critical"] as Priority[]) {
    for (let i = 0; i < (counts[p] ?? 0); i++) messages.push({ topic, payload: json({ p, i }), priority: p });
  }
  await h.publish(messages);
}

async function takePriorities(sub: string, n: number): Promise<string[]> {
  const { batches } = await h.dispatch([{ subscription: sub, consumerId: "c", credit: n }]);
  return batches.flatMap((b) => b.items.map((i) => i.priority[0] ?? "?"));
}

describe("priority dispatch", () => {
  it("a backlog is drained critical before high before medium before low", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t" });
    await publishMix({ low: 1, medium: 1, high: 1, critical: 1 });
    expect(await takePriorities("s", 4)).toEqual(["c", "h", "m", "l"]);
  });

  it("order within one priority is log order", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t" });
    await publishMix({ high: 3 });
    await publishMix({ high: 2, critical: 1 });
    const { batches } = await h.dispatch([{ subscription: "s", consumerId: "c", credit: 10 }]);
    expect(batches[0]?.items.map((i) => `${i.priority}@${i.offset}`)).toEqual(["critical@5", "high@0", "high@1", "high@2", "high@3", "high@4"]);
  });

  it("weighted round-robin 8:4:2:1 when every priority is backlogged: nothing starves", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxInFlight: 1000 });
    await publishMix({ critical: 100, high: 100, medium: 100, low: 100 });
    const got = await takePriorities("s", 30);
    const expected = [...PRIORITY_SCHEDULE, ...PRIORITY_SCHEDULE].map((p) => ["c", "h", "m", "l"][p]);
    expect(got).toEqual(expected);
    expect(got.filter((p) => p === "l")).toHaveLength(2);
  });

  it("the schedule position is replicated state: one delivery at a time gives the same order", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxInFlight: 1000 });
    await publishMix({ critical: 20, low: 20 });
    const got: string[] = [];
    for (let i = 0; i < 16; i++) {
      got.push(...(await takePriorities("s", 1)));
      if (i === 7) await h.restart(); // survives restarts (and failover: it is in the log)
    }
    expect(got).toEqual(["c", "c", "c", "c", "c", "c", "c", "c", "c", "c", "c", "c", "c", "c", "l", "c"]);
  });

  it("an empty preferred priority passes its slot to the highest non-empty one", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxInFlight: 1000 });
    await publishMix({ medium: 20, low: 20 });
    const got = await takePriorities("s", 15);
    expect(got.filter((p) => p === "l")).toHaveLength(1);
    expect(got[14]).toBe("l");
  });

  it("redelivered messages keep their priority and go first within it", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxInFlight: 100, backoff: { initialMs: 10, maxMs: 10, multiplier: 1 } });
    await publishMix({ low: 1 });
    expect(await h.take("s", 1)).toEqual(["t@0#1"]);
    await publishMix({ low: 2, high: 1 });
    await h.fail("s", ["t@0"]);
    h.advance(10);
    const { batches } = await h.dispatch([{ subscription: "s", consumerId: "c", credit: 10 }]);
    expect(batches[0]?.items.map((i) => `${i.priority}@${i.offset}#${i.attempt}`)).toEqual(["high@3#1", "low@0#2", "low@1#1", "low@2#1"]);
  });

  it("a pattern subscription orders across topics by log order within a priority", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "m.*" });
    await h.publish([{ topic: "m.b", payload: json(0) }, { topic: "m.a", payload: json(0) }, { topic: "m.b", payload: json(0), priority: "critical" }]);
    expect(await h.take("s", 5)).toEqual(["m.b@1#1", "m.b@0#1", "m.a@0#1"]);
  });
});
