/**
 * When the leader must write a time entry (README "Maintenance"): only when
 * time-driven work is pending, at the moment it falls due. An idle broker
 * has none.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Harness, T0, json } from "../helpers/harness.ts";

let h: Harness;
afterEach(async () => h?.destroy());

describe("nextTimeWork: time entries only while time-driven work is pending", () => {
  it("an idle broker, a delivered-and-acked message, a waiting retry: nothing due", async () => {
    h = await Harness.open();
    expect(await h.bsm.nextTimeWork()).toBeUndefined();
    await h.subscribe({ name: "s", pattern: "t", ackTimeoutMs: 1000, backoff: { initialMs: 5000, maxMs: 5000, multiplier: 1 } });
    await h.pub("t", 1);
    await h.pub("t", 2);
    expect(await h.bsm.nextTimeWork()).toBeUndefined(); // queued, nobody consuming: nothing time-driven
    await h.take("s", 2);
    await h.ack("s", ["t@0"]);
    await h.fail("s", ["t@1"]);
    expect(await h.bsm.nextTimeWork()).toBeUndefined(); // a retry is delivered when due, without a tick
  });

  it("an ack deadline is due when it passes; the tick at that time times the delivery out", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", ackTimeoutMs: 1000 });
    await h.pub("t", 1);
    await h.take("s", 1);
    expect(await h.bsm.nextTimeWork()).toBe(h.now + 1000);
    h.advance(1000);
    expect((await h.tick()).report.timeouts).toBe(1);
    expect(await h.bsm.nextTimeWork()).toBeUndefined();
  });

  it("a TTL is due at its expiry; retention by age when the oldest message gets too old", async () => {
    h = await Harness.open();
    await h.pub("ttl", 1, { ttlMs: 300 });
    expect(await h.bsm.nextTimeWork()).toBe(T0 + 300);
    await h.ok({ type: "createTopic", now: h.now, topic: "aged", retention: { maxAgeMs: 2000 } });
    h.advance(100);
    await h.pub("aged", 1);
    expect(await h.bsm.nextTimeWork()).toBe(T0 + 300);
    h.advance(300);
    await h.tick();
    expect(await h.bsm.nextTimeWork()).toBe(T0 + 100 + 2000 + 1);
    h.advance(2000);
    expect((await h.tick()).report.retained).toBe(1);
    expect(await h.bsm.nextTimeWork()).toBeUndefined();
  });

  it("unfinished budgeted work is due at once: garbage of a deleted topic", async () => {
    h = await Harness.open();
    await h.publish(Array.from({ length: 5 }, (_, i) => ({ topic: "gone", payload: json(i) })));
    await h.ok({ type: "deleteTopic", now: h.now, topic: "gone" });
    expect(await h.bsm.nextTimeWork()).toBe(0);
    await h.tick();
    expect(await h.bsm.nextTimeWork()).toBeUndefined();
  });

  it("dedup records expire as publishing goes on, without time entries", async () => {
    h = await Harness.open({ dedupWindowMs: 1000 });
    await h.publish(Array.from({ length: 10 }, (_, i) => ({ topic: "t", payload: json(i), id: `m${i}` })));
    h.advance(1001);
    await h.publish(Array.from({ length: 10 }, (_, i) => ({ topic: "t", payload: json(i), id: `n${i}` })));
    // 10 messages × 2 per message: the 10 expired records (and their index entries) are gone.
    let dedupKeys = 0;
    for await (const [k] of h.bsm.rawDb.iterator()) if (k[0] === 0x75) dedupKeys += 1;
    expect(dedupKeys).toBe(10);
  });
});
