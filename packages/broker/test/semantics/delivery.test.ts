/** Subscriptions and delivery guarantees (SPEC §4). */
import { afterEach, describe, expect, it } from "vitest";
import { backoffDelay, deliverCommand } from "../../src/index.ts";
import { Harness, json } from "../helpers/harness.ts";

let h: Harness;
afterEach(async () => h?.destroy());

const backoff = { initialMs: 100, maxMs: 350, multiplier: 2 };

describe("at-most-once: recorded before it is handed out, never redelivered", () => {
  it("a delivered message is never given again, even when never acked", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", guarantee: "at-most-once", ackTimeoutMs: 100 });
    await h.pub("t", 1);
    expect(await h.take("s", 5)).toEqual(["t@0#1"]);
    h.advance(10_000);
    await h.tick();
    expect(await h.take("s", 5)).toEqual([]);
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ lag: 0, delivered: 1, inFlight: 0 });
    expect((await h.ack("s", ["t@0"])).acked).toEqual([false]); // nothing to ack
  });

  it("a message published at-most-once is at-most-once in an at-least-once subscription", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", ackTimeoutMs: 100 });
    await h.pub("t", 1, { guarantee: "at-most-once" });
    await h.pub("t", 2);
    expect(await h.take("s", 5)).toEqual(["t@0#1", "t@1#1"]);
    h.advance(1000);
    await h.tick();
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ waitingRetry: 1, inFlight: 0 });
  });
});

describe("at-least-once: ack timeout, exponential backoff, maxRetries, DLQ", () => {
  it("backoff is min(maxMs, initialMs · multiplier^(attempt−1))", () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(backoff, a))).toEqual([100, 200, 350, 350, 350]);
    expect(backoffDelay({ initialMs: 1000, maxMs: 60_000, multiplier: 1.5 }, 3)).toBe(2250);
    expect(backoffDelay({ initialMs: 1, maxMs: 10 ** 9, multiplier: 100 }, 1000)).toBe(10 ** 9);
  });

  it("redelivers after the ack timeout plus backoff, with growing attempts, then dead-letters", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", ackTimeoutMs: 1000, maxRetries: 2, backoff });
    await h.pub("t", { job: 1 }, { headers: { kind: "job" } });
    const t0 = h.now;
    expect(await h.take("s", 1)).toEqual(["t@0#1"]);
    h.now = t0 + 999;
    await h.tick();
    expect(await h.take("s", 1)).toEqual([]); // not timed out yet
    h.now = t0 + 1000;
    expect((await h.tick()).report.timeouts).toBe(1);
    h.now = t0 + 1099;
    expect(await h.take("s", 1)).toEqual([]); // backoff: due at deadline + 100
    h.now = t0 + 1100;
    expect(await h.take("s", 1)).toEqual(["t@0#2"]);
    const t1 = h.now;
    h.now = t1 + 1000;
    await h.tick();
    h.now = t1 + 1000 + 199;
    expect(await h.take("s", 1)).toEqual([]);
    h.now = t1 + 1000 + 200;
    expect(await h.take("s", 1)).toEqual(["t@0#3"]);
    h.advance(1000);
    const r = await h.tick(); // third attempt times out: maxRetries 2 exhausted
    expect(r.report.timeouts).toBe(1);
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ lag: 0, deadLettered: 1, timeouts: 3, redelivered: 2, delivered: 3 });
    const dlq = await h.bsm.dlqList("t");
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({ topic: "t", offset: 0, subscription: "s", reason: "ack timeout", attempts: 3 });
    expect(dlq[0]?.message).toMatchObject({ offset: 0, headers: { kind: "job" } });
    expect(JSON.parse(new TextDecoder().decode(dlq[0]?.message.payload))).toEqual({ job: 1 });
    expect((await h.bsm.topicInfo("t")).dlqSize).toBe(1);
  });

  it("fail retries with backoff from the fail's log time; maxRetries 0 dead-letters at once", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxRetries: 1, backoff });
    await h.subscribe({ name: "z", pattern: "t", maxRetries: 0, backoff });
    await h.pub("t", 1);
    expect(await h.take("s", 1)).toEqual(["t@0#1"]);
    expect(await h.take("z", 1)).toEqual(["t@0#1"]);
    expect((await h.fail("z", ["t@0"], "bad input")).failed).toEqual(["dead-lettered"]);
    expect((await h.fail("s", ["t@0"], "transient")).failed).toEqual(["retry"]);
    h.advance(99);
    expect(await h.take("s", 1)).toEqual([]);
    h.advance(1);
    expect(await h.take("s", 1)).toEqual(["t@0#2"]);
    expect((await h.fail("s", ["t@0"], "still bad")).failed).toEqual(["dead-lettered"]);
    const dlq = await h.bsm.dlqList("t");
    expect(dlq.map((d) => [d.subscription, d.reason, d.attempts])).toEqual([["z", "bad input", 1], ["s", "still bad", 2]]);
  });

  it("a fail for an older attempt is ignored; fail of an unknown message is ignored", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", ackTimeoutMs: 100, backoff });
    await h.pub("t", 1);
    await h.take("s", 1);
    h.advance(100);
    await h.tick();
    h.advance(100);
    expect(await h.take("s", 1)).toEqual(["t@0#2"]);
    const r = await h.ok({
      type: "delivery", now: h.now, delivered: [], acked: [],
      failed: [{ subscription: "s", topic: "t", offset: 0, attempt: 1, reason: "late" }, { subscription: "s", topic: "t", offset: 5, reason: "?" }],
    });
    expect(r.failed).toEqual(["ignored", "ignored"]);
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ inFlight: 1 });
  });

  it("retry state survives a restart", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", backoff });
    await h.pub("t", 1);
    await h.take("s", 1);
    await h.fail("s", ["t@0"]);
    await h.restart();
    expect(await h.take("s", 1)).toEqual([]);
    h.advance(100);
    expect(await h.take("s", 1)).toEqual(["t@0#2"]);
  });
});

describe("exactly-once: an acked message is never given out again; acks are idempotent", () => {
  it("a second deliver of an acked message is refused (stale), a second ack is a no-op", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", guarantee: "exactly-once" });
    await h.pub("t", 1);
    const { batches } = await h.dispatch([{ subscription: "s", consumerId: "c1", credit: 1 }]);
    expect((await h.ack("s", ["t@0"])).acked).toEqual([true]);
    expect((await h.ack("s", ["t@0"])).acked).toEqual([false]);
    // A deposed leader's plan for the same message arrives late: refused.
    const late = await h.ok(deliverCommand(batches, h.now));
    expect(late.rejected).toEqual([{ subscription: "s", topic: "t", offset: 0, reason: "stale" }]);
  });

  it("an ack that arrives after the timeout (message waiting to retry) still settles it", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", guarantee: "exactly-once", ackTimeoutMs: 50 });
    await h.pub("t", 1);
    await h.take("s", 1);
    h.advance(50);
    await h.tick();
    expect((await h.ack("s", ["t@0"])).acked).toEqual([true]);
    h.advance(100_000);
    expect(await h.take("s", 1)).toEqual([]);
  });

  it("two plans for the same message (leader change) deliver it once", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t" });
    await h.pub("t", 1);
    const item = { subscription: "s", topic: "t", offset: 0, attempt: 1, consumerId: "a" };
    const cmd = { type: "delivery" as const, now: h.now, delivered: [item], acked: [], failed: [] };
    const [r1, r2] = await h.applyAll([cmd, { ...cmd, delivered: [{ ...item, consumerId: "b" }] }]);
    expect(r1).toMatchObject({ delivered: [{ consumerId: "a" }], rejected: [] });
    expect(r2).toMatchObject({ delivered: [], rejected: [{ reason: "stale" }] });
  });
});

describe("fan-out across names, work queue within a name", () => {
  it("distinct subscriptions each get every message", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "a", pattern: "t" });
    await h.subscribe({ name: "b", pattern: "t" });
    for (let i = 0; i < 3; i++) await h.pub("t", i);
    expect(await h.take("a", 10)).toEqual(["t@0#1", "t@1#1", "t@2#1"]);
    expect(await h.take("b", 10)).toEqual(["t@0#1", "t@1#1", "t@2#1"]);
  });

  it("consumers of one subscription share its messages, each message to one consumer, round-robin", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "q", pattern: "jobs" });
    for (let i = 0; i < 6; i++) await h.pub("jobs", i);
    const { delivered } = await h.dispatch([
      { subscription: "q", consumerId: "w1", credit: 10 },
      { subscription: "q", consumerId: "w2", credit: 10 },
      { subscription: "q", consumerId: "w3", credit: 1 },
    ]);
    const byConsumer = new Map<string, number[]>();
    for (const d of delivered) byConsumer.set(d.consumerId, [...(byConsumer.get(d.consumerId) ?? []), d.offset]);
    expect(Object.fromEntries(byConsumer)).toEqual({ w1: [0, 3, 5], w2: [1, 4], w3: [2] });
  });
});

describe("start positions and backfill", () => {
  it("earliest, latest, offset, time", async () => {
    h = await Harness.open();
    for (let i = 0; i < 5; i++) {
      await h.pub("t", i);
      h.advance(100);
    }
    const t2 = (await h.bsm.readMessages("t", 2, 1))[0]?.timestamp ?? 0;
    await h.subscribe({ name: "e", pattern: "t", start: "earliest" });
    await h.subscribe({ name: "l", pattern: "t", start: "latest" });
    await h.subscribe({ name: "o", pattern: "t", start: { offset: 3 } });
    await h.subscribe({ name: "tm", pattern: "t", start: { time: t2 } });
    await h.subscribe({ name: "future", pattern: "t", start: { time: h.now + 1e6 } });
    await h.pub("t", 5);
    expect(refs(await h.take("e", 10))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(refs(await h.take("l", 10))).toEqual([5]);
    expect(refs(await h.take("o", 10))).toEqual([3, 4, 5]);
    expect(refs(await h.take("tm", 10))).toEqual([2, 3, 4, 5]);
    expect(refs(await h.take("future", 10))).toEqual([5]);
  });

  it("a pattern subscription backfills every matching topic in log order", async () => {
    h = await Harness.open();
    await h.pub("s.a", 1);
    await h.pub("s.b", 2);
    await h.pub("s.a", 3);
    await h.pub("x", 4);
    await h.subscribe({ name: "p", pattern: "s.*" });
    expect(await h.take("p", 10)).toEqual(["s.a@0#1", "s.b@0#1", "s.a@1#1"]);
  });

  it("a large backfill continues on ticks within the budget", async () => {
    h = await Harness.open();
    const batch = Array.from({ length: 500 }, (_, i) => ({ topic: "big", payload: json(i) }));
    for (let i = 0; i < 6; i++) await h.publish(batch);
    await h.subscribe({ name: "s", pattern: "big" });
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ backfilling: true, lag: 2000 });
    await h.tick();
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ backfilling: false, lag: 3000 });
  });
});

describe("flow control: per-subscription in-flight limit", () => {
  it("never more than maxInFlight unacked (in flight or waiting to retry)", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxInFlight: 2, ackTimeoutMs: 100, backoff });
    for (let i = 0; i < 5; i++) await h.pub("t", i);
    expect(await h.take("s", 10)).toEqual(["t@0#1", "t@1#1"]);
    expect(await h.take("s", 10)).toEqual([]);
    await h.fail("s", ["t@0"]);
    expect(await h.take("s", 10)).toEqual([]); // t@0 waits for its retry and still counts
    await h.ack("s", ["t@1"]);
    expect(await h.take("s", 10)).toEqual(["t@2#1"]);
    h.advance(100);
    // t@0 is due: its redelivery needs no new room (it is already counted), new messages do.
    expect(await h.take("s", 10)).toEqual(["t@0#2"]);
    expect(await h.take("s", 10)).toEqual([]);
    await h.ack("s", ["t@2"]);
    expect(await h.take("s", 10)).toEqual(["t@3#1"]);
  });

  it("apply refuses deliveries beyond the limit even if a plan asks for them", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxInFlight: 1 });
    await h.pub("t", 0);
    await h.pub("t", 1);
    const r = await h.ok({ type: "delivery", now: h.now, acked: [], failed: [], delivered: [0, 1].map((o) => ({ subscription: "s", topic: "t", offset: o, attempt: 1, consumerId: "c" })) });
    expect(r.rejected).toEqual([{ subscription: "s", topic: "t", offset: 1, reason: "no-capacity" }]);
    expect(await h.take("s", 5)).toEqual([]);
  });

  it("the dispatcher never plans the same message twice before its deliver is applied", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t" });
    for (let i = 0; i < 4; i++) await h.pub("t", i);
    const c = [{ subscription: "s", consumerId: "c", credit: 2 }];
    const first = await h.bsm.dispatcher.nextDeliveries({ now: h.now, consumers: c });
    const second = await h.bsm.dispatcher.nextDeliveries({ now: h.now, consumers: c });
    expect(first[0]?.items.map((i) => i.offset)).toEqual([0, 1]);
    expect(second[0]?.items.map((i) => i.offset)).toEqual([2, 3]);
    h.bsm.dispatcher.release(first[0]!);
    const third = await h.bsm.dispatcher.nextDeliveries({ now: h.now, consumers: c });
    expect(third[0]?.items.map((i) => i.offset)).toEqual([0, 1]);
  });
});

describe("subscription lifecycle", () => {
  it("creating an existing subscription: identical is a no-op, different is INVALID_ARGUMENT", async () => {
    h = await Harness.open();
    expect((await h.subscribe({ name: "s", pattern: "t" })).created).toBe(true);
    expect((await h.subscribe({ name: "s", pattern: "t" })).created).toBe(false);
    const r = await h.run({ type: "createSubscription", now: h.now, subscription: h.bsm.subscriptionSpec({ name: "s", pattern: "u" }) });
    expect(r).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
  });

  it("update changes settings for what comes next; unknown names are SUBSCRIPTION_NOT_FOUND", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", filter: "n > 1" });
    await h.pub("t", { n: 0 });
    await h.ok({ type: "updateSubscription", now: h.now, name: "s", changes: { filter: null, maxInFlight: 7 } });
    await h.pub("t", { n: 0 });
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ maxInFlight: 7, lag: 1 });
    expect((await h.bsm.subscriptionInfo("s")).filter).toBeUndefined();
    expect(await h.run({ type: "updateSubscription", now: h.now, name: "nope", changes: { maxInFlight: 1 } })).toMatchObject({ ok: false, error: { code: "SUBSCRIPTION_NOT_FOUND" } });
    expect((await h.ack("nope", ["t@0"])).acked).toEqual([false]);
  });

  it("delete drops the subscription and its queue; its keys are collected on tick", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t" });
    for (let i = 0; i < 5; i++) await h.pub("t", i);
    await h.take("s", 2);
    await h.ok({ type: "deleteSubscription", now: h.now, name: "s" });
    expect(await h.bsm.listSubscriptions()).toEqual([]);
    expect((await h.tick()).report.collected).toBe(3); // the 3 pending; outstanding ones went at once
    await h.subscribe({ name: "s", pattern: "t", start: "latest" });
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ lag: 0, delivered: 0 });
  });

  it("ephemeral subscriptions are deleted when their session expires", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "e1", pattern: "t", ephemeral: true, sessionId: "sess-1" });
    await h.subscribe({ name: "e2", pattern: "t", ephemeral: true, sessionId: "sess-2" });
    await h.subscribe({ name: "d", pattern: "t" });
    const r = await h.ok({ type: "expireSession", now: h.now, sessionId: "sess-1" });
    expect(r.deleted).toEqual(["e1"]);
    expect((await h.bsm.listSubscriptions()).map((s) => s.name)).toEqual(["d", "e2"]);
  });

  it("ephemeral subscriptions start at latest by default", async () => {
    h = await Harness.open();
    await h.pub("t", 0);
    await h.subscribe({ name: "e", pattern: "t", ephemeral: true, sessionId: "x" });
    await h.pub("t", 1);
    expect(await h.take("e", 5)).toEqual(["t@1#1"]);
  });

  it("deliveries of a deleted topic are refused and its outstanding deliveries dropped", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "**" });
    await h.pub("t", 0);
    await h.pub("u", 0);
    await h.take("s", 1);
    const plan = await h.bsm.dispatcher.nextDeliveries({ now: h.now, consumers: [{ subscription: "s", consumerId: "c", credit: 1 }] });
    await h.ok({ type: "deleteTopic", now: h.now, topic: "u" });
    await h.ok({ type: "deleteTopic", now: h.now, topic: "t" });
    const r = await h.ok(deliverCommand(plan, h.now));
    expect(r.rejected).toEqual([{ subscription: "s", topic: "u", offset: 0, reason: "topic-not-found" }]);
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ lag: 0, inFlight: 0 });
  });
});

function refs(items: string[]): number[] {
  return items.map((s) => Number(s.split("@")[1]?.split("#")[0]));
}

describe("push first, record after: the delivery entry", () => {
  it("an ack of a message never recorded as delivered takes it off the queue as delivered and acked, for good", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", ackTimeoutMs: 100 });
    await h.pub("t", 0);
    await h.pub("t", 1);
    // The leader pushed t@0, then died before recording it; the ack reaches the next leader.
    expect((await h.ack("s", ["t@0"])).acked).toEqual([true]);
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ lag: 1, inFlight: 0, delivered: 1, acked: 1 });
    h.advance(10_000);
    await h.tick();
    expect(await h.take("s", 5)).toEqual(["t@1#1"]);
    expect((await h.ack("s", ["t@0"])).acked).toEqual([false]); // idempotent
  });

  it("one entry records attempts, then acks, then fails, of several subscriptions", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "a", pattern: "t", backoff });
    await h.subscribe({ name: "b", pattern: "t", backoff });
    await h.pub("t", 0);
    await h.pub("t", 1);
    const item = (subscription: string, offset: number) => ({ subscription, topic: "t", offset, attempt: 1, consumerId: "c" });
    const r = await h.ok({
      type: "delivery", now: h.now,
      delivered: [item("a", 0), item("a", 1), item("b", 0)],
      acked: [{ subscription: "a", topic: "t", offset: 0 }, { subscription: "b", topic: "t", offset: 1 }],
      failed: [{ subscription: "a", topic: "t", offset: 1, reason: "boom" }, { subscription: "gone", topic: "t", offset: 0, reason: "?" }],
    });
    expect(r.delivered).toHaveLength(3);
    expect(r.acked).toEqual([true, true]); // b@1 was pushed, never recorded: acked from the queue
    expect(r.failed).toEqual(["retry", "ignored"]);
    expect(await h.bsm.subscriptionInfo("a")).toMatchObject({ inFlight: 0, waitingRetry: 1, acked: 1, failed: 1 });
    expect(await h.bsm.subscriptionInfo("b")).toMatchObject({ inFlight: 1, lag: 1, acked: 1, delivered: 2 });
  });

  it("a record refused as stale (the message was acked meanwhile) changes nothing", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t" });
    await h.pub("t", 0);
    await h.ack("s", ["t@0"]);
    const r = await h.ok(deliverCommand({ subscription: "s", items: [{ subscription: "s", topic: "t", offset: 0, attempt: 1, consumerId: "c", priority: "medium" }] }, h.now));
    expect(r.rejected).toEqual([{ subscription: "s", topic: "t", offset: 0, reason: "stale" }]);
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ inFlight: 0, lag: 0, delivered: 1 });
  });

  it("a backlog older than the subscription is fed as deliveries drain the queue, not only by ticks", async () => {
    h = await Harness.open();
    await h.publish(Array.from({ length: 1000 }, (_, i) => ({ topic: "t", payload: json(i) })));
    await h.publish(Array.from({ length: 1000 }, (_, i) => ({ topic: "t", payload: json(i) })));
    await h.publish(Array.from({ length: 1000 }, (_, i) => ({ topic: "t", payload: json(i) })));
    await h.subscribe({ name: "s", pattern: "t", start: "earliest", maxInFlight: 1000 });
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ backfilling: true });
    let got = 0;
    for (let round = 0; round < 6 && got < 3000; round++) {
      const taken = await h.take("s", 1000);
      got += taken.length;
      await h.ack("s", taken);
    }
    expect(got).toBe(3000); // no tick in between
  });
});

describe("queue hints: recording a first delivery without reading the message", () => {
  it("a hint that names another message's reference, or none, is checked and the message found the long way", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t" });
    await h.pub("t", 0, { priority: "high" });
    await h.pub("t", 1, { priority: "high" });
    const item = (offset: number, seq: number, queue: number) => ({ subscription: "s", topic: "t", offset, attempt: 1, consumerId: "c", seq, queue });
    // t@0 is seq 0 in queue 1 (high): a hint with t@1's seq, and one with a queue that holds nothing.
    const r = await h.ok({ type: "delivery", now: h.now, delivered: [item(0, 1, 1), item(1, 1, 3)], acked: [], failed: [] });
    expect(r.delivered.map((d) => d.offset)).toEqual([0, 1]);
    expect(r.rejected).toEqual([]);
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ inFlight: 2, lag: 2, pending: { high: 0 } });
    // A correct hint for a message already delivered: stale, nothing changes.
    const again = await h.ok({ type: "delivery", now: h.now, delivered: [item(0, 0, 1)], acked: [{ subscription: "s", topic: "t", offset: 5, seq: 0, queue: 1 }], failed: [] });
    expect(again.rejected).toEqual([{ subscription: "s", topic: "t", offset: 0, reason: "stale" }]);
    expect(again.acked).toEqual([false]);
  });
});
