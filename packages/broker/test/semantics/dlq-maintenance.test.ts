/** Dead-letter queue, maintenance and statistics (SPEC §4, §6). */
import { afterEach, describe, expect, it } from "vitest";
import { Harness } from "../helpers/harness.ts";

let h: Harness;
afterEach(async () => h?.destroy());

async function deadLetter(sub: string, topic: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await h.pub(topic, { i }, { priority: "high", id: `id-${topic}-${i}` });
  const got = await h.take(sub, count);
  await h.fail(sub, got.map((g) => g.split("#")[0] ?? g), "poison");
}

describe("DLQ list / replay / purge", () => {
  it("lists in order with paging", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxRetries: 0 });
    await deadLetter("s", "t", 5);
    const page1 = await h.bsm.dlqList("t", { limit: 2 });
    const page2 = await h.bsm.dlqList("t", { afterId: page1[1]?.id ?? 0, limit: 10 });
    expect([...page1, ...page2].map((d) => d.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(page1[0]).toMatchObject({ reason: "poison", attempts: 1, subscription: "s", message: { id: "id-t-0", priority: "high" } });
  });

  it("replay re-appends the message for the subscription that failed it only", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxRetries: 0 });
    await h.subscribe({ name: "other", pattern: "t" });
    await deadLetter("s", "t", 2);
    await h.take("other", 10);
    const dlq = await h.bsm.dlqList("t");
    const r = await h.ok({ type: "dlqReplay", now: h.now, topic: "t", ids: [dlq[1]!.id], limit: 10 });
    expect(r.replayed).toEqual([{ id: dlq[1]!.id, offset: 2 }]);
    expect(await h.take("s", 10)).toEqual(["t@2#1"]);
    expect(await h.take("other", 10)).toEqual([]);
    const [replayed] = await h.bsm.readMessages("t", 2, 1);
    expect(replayed).toMatchObject({ id: "id-t-1", priority: "high" });
    expect(await h.bsm.topicInfo("t")).toMatchObject({ dlqSize: 1, deadLettered: 2, replayed: 1 });
  });

  it("purge by id and purge all", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxRetries: 0 });
    await deadLetter("s", "t", 3);
    const [first] = await h.bsm.dlqList("t");
    expect((await h.ok({ type: "dlqPurge", now: h.now, topic: "t", ids: [first!.id, 999] })).purged).toBe(1);
    expect((await h.ok({ type: "dlqPurge", now: h.now, topic: "t" })).purged).toBe(2);
    expect(await h.bsm.dlqList("t")).toEqual([]);
    expect((await h.bsm.topicInfo("t")).dlqSize).toBe(0);
  });

  it("dead letters outlive the original's retention", async () => {
    h = await Harness.open();
    await h.ok({ type: "createTopic", now: h.now, topic: "t", retention: { maxMessages: 1 } });
    await h.subscribe({ name: "s", pattern: "t", maxRetries: 0 });
    await deadLetter("s", "t", 1);
    await h.pub("t", "newer");
    expect(await h.bsm.readMessages("t", 0, 5)).toHaveLength(1);
    expect((await h.bsm.dlqList("t"))[0]?.message.id).toBe("id-t-0");
  });
});

describe("maintenance", () => {
  it("retryFailed makes waiting retries due now and, with includeDlq, replays dead letters", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxRetries: 5, backoff: { initialMs: 60_000, maxMs: 60_000, multiplier: 1 } });
    await h.subscribe({ name: "d", pattern: "u", maxRetries: 0 });
    await h.pub("t", 1);
    await h.take("s", 1);
    await h.fail("s", ["t@0"]);
    await deadLetter("d", "u", 2);
    expect(await h.take("s", 1)).toEqual([]);
    const r = await h.ok({ type: "maintenance", now: h.now, action: "retryFailed", includeDlq: true });
    expect(r).toMatchObject({ retried: 1, replayed: 2 });
    expect(await h.take("s", 1)).toEqual(["t@0#2"]);
    expect(await h.take("d", 5)).toEqual(["u@2#1", "u@3#1"]);
  });

  it("cleanup removes expired messages and dedup records beyond the tick budget; compact also compacts LevelDB", async () => {
    h = await Harness.open({ dedupWindowMs: 1000 });
    const messages = Array.from({ length: 1000 }, (_, i) => ({ topic: "t", payload: new Uint8Array(8), ttlMs: 500, id: `m${i}` }));
    for (let i = 0; i < 3; i++) await h.publish(messages.map((m) => ({ ...m, id: `${m.id}-${i}` })));
    h.advance(2000);
    const r = await h.ok({ type: "maintenance", now: h.now, action: "cleanup" });
    expect(r.report).toMatchObject({ expired: 3000, dedupExpired: 3000, more: false });
    expect(await h.bsm.topicInfo("t")).toMatchObject({ count: 0, expired: 3000, firstOffset: 3000 });
    const c = await h.ok({ type: "maintenance", now: h.now, action: "compact" });
    expect(c.report.expired).toBe(0);
  });

  it("tick work is bounded by its budget and continues on the next tick", async () => {
    h = await Harness.open();
    const messages = Array.from({ length: 1000 }, () => ({ topic: "t", payload: new Uint8Array(1), ttlMs: 10 }));
    for (let i = 0; i < 3; i++) await h.publish(messages);
    h.advance(10);
    const first = await h.tick();
    expect(first.report).toMatchObject({ expired: 2000, more: true });
    const second = await h.tick();
    expect(second.report).toMatchObject({ expired: 1000 });
  });
});

describe("statistics", () => {
  it("counts messages, deliveries, acks, failures, retries, DLQ and lag", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxRetries: 1, backoff: { initialMs: 1, maxMs: 1, multiplier: 1 } });
    for (let i = 0; i < 4; i++) await h.pub("t", i);
    await h.take("s", 3);
    await h.ack("s", ["t@0"]);
    await h.fail("s", ["t@1", "t@2"]);
    h.advance(1);
    await h.take("s", 2);
    await h.fail("s", ["t@1"]);
    const st = await h.bsm.stats();
    expect(st).toMatchObject({
      topics: 1, subscriptions: 1, messages: 4, published: 4, delivered: 5, redelivered: 2, acked: 1, failed: 3,
      deadLettered: 1, dlqSize: 1, pending: 1, inFlight: 1, waitingRetry: 0, appliedIndex: h.index,
    });
    const info = await h.bsm.subscriptionInfo("s");
    expect(info).toMatchObject({ lag: 2, pending: { critical: 0, high: 0, medium: 1, low: 0 }, inFlight: 1, deadLettered: 1 });
    expect(info.deliverRate).toBeGreaterThanOrEqual(0);
  });
});
