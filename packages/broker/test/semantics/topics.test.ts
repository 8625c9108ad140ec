/** Topics, offsets, retention and TTL (SPEC §2, §3). */
import { afterEach, describe, expect, it } from "vitest";
import { Harness, json } from "../helpers/harness.ts";

let h: Harness;
afterEach(async () => h?.destroy());

describe("topics: create, auto-create, strict, delete", () => {
  it("offsets are dense per topic from 0 and carry the entry's Raft index", async () => {
    h = await Harness.open();
    const r1 = await h.publish([{ topic: "a", payload: json(1) }, { topic: "b", payload: json(2) }, { topic: "a", payload: json(3) }]);
    expect(r1.results).toEqual([
      { topic: "a", offset: 0, index: 1, duplicate: false },
      { topic: "b", offset: 0, index: 1, duplicate: false },
      { topic: "a", offset: 1, index: 1, duplicate: false },
    ]);
    const r2 = await h.pub("a", 4);
    expect(r2.results[0]).toMatchObject({ offset: 2, index: 2 });
    const msgs = await h.bsm.readMessages("a", 0, 10);
    expect(msgs.map((m) => [m.offset, m.index, new TextDecoder().decode(m.payload)])).toEqual([[0, 1, "1"], [1, 1, "3"], [2, 2, "4"]]);
    expect(msgs[0]).toMatchObject({ topic: "a", senderId: "test-sender", priority: "medium", guarantee: "at-least-once", timestamp: h.now });
  });

  it("publishing to a missing topic auto-creates it with the default retention", async () => {
    h = await Harness.open({ defaultRetention: { maxMessages: 2 } });
    await h.pub("x.y", 1);
    expect((await h.bsm.topicInfo("x.y")).retention).toEqual({ maxMessages: 2 });
  });

  it("strictTopics: publishing to a missing topic is TOPIC_NOT_FOUND, per message", async () => {
    h = await Harness.open({ strictTopics: true });
    await h.ok({ type: "createTopic", now: h.now, topic: "known", retention: {} });
    const r = await h.publish([{ topic: "known", payload: json(1) }, { topic: "unknown", payload: json(2) }]);
    expect(r.results[0]).toMatchObject({ offset: 0 });
    expect(r.results[1]).toMatchObject({ error: { code: "TOPIC_NOT_FOUND" } });
    expect((await h.bsm.listTopics()).map((t) => t.name)).toEqual(["known"]);
  });

  it("createTopic twice is TOPIC_EXISTS; deleting a missing topic is TOPIC_NOT_FOUND", async () => {
    h = await Harness.open();
    await h.ok({ type: "createTopic", now: h.now, topic: "t", retention: {} });
    expect(await h.run({ type: "createTopic", now: h.now, topic: "t", retention: {} })).toMatchObject({ ok: false, error: { code: "TOPIC_EXISTS" } });
    expect(await h.run({ type: "deleteTopic", now: h.now, topic: "nope" })).toMatchObject({ ok: false, error: { code: "TOPIC_NOT_FOUND" } });
  });

  it("delete removes the topic with its data; a new topic of the same name starts empty at offset 0", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t" });
    for (let i = 0; i < 5; i++) await h.pub("t", i, { id: `m${i}` });
    await h.ok({ type: "deleteTopic", now: h.now, topic: "t" });
    expect(await h.bsm.listTopics()).toEqual([]);
    expect((await h.bsm.subscriptionInfo("s")).lag).toBe(0);
    const r = await h.pub("t", 9, { id: "m0" }); // dedup state went with the topic
    expect(r.results[0]).toMatchObject({ offset: 0, duplicate: false });
    const tick = await h.tick(); // garbage collection of the old topic's keys
    expect(tick.report.collected).toBeGreaterThanOrEqual(5);
    expect(await h.bsm.readMessages("t", 0, 10)).toHaveLength(1);
  });

  it("topic info: count, bytes, first/last offset, publish rate from log time, subscriptions and lag", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "all", pattern: "m.**" });
    await h.subscribe({ name: "other", pattern: "n" });
    h.advance(10_000 - (h.now % 10_000)); // start of a 10 s rate window
    for (let i = 0; i < 20; i++) {
      await h.publish([{ topic: "m.x", payload: new Uint8Array(10), headers: { k: "vv" } }]);
      h.advance(400);
    }
    h.advance(10_000);
    await h.tick();
    const info = await h.bsm.topicInfo("m.x");
    expect(info).toMatchObject({ count: 20, bytes: 20 * 13, firstOffset: 0, lastOffset: 19, published: 20 });
    expect(info.subscriptions).toEqual([{ name: "all", pending: 20, outstanding: 0, lag: 20 }]);
    expect(info.publishRate).toBeGreaterThan(0);
  });

  it("stored timestamps never go backwards within a topic, even when a new leader's clock is behind", async () => {
    h = await Harness.open();
    await h.pub("t", 1);
    h.advance(-60_000);
    await h.pub("t", 2);
    const [a, b] = await h.bsm.readMessages("t", 0, 2);
    expect(b?.timestamp).toBe(a?.timestamp);
    expect(await h.bsm.logNow()).toBe(a?.timestamp);
  });
});

describe("retention (SPEC §3): oldest first, deterministic", () => {
  it("maxMessages keeps the newest N", async () => {
    h = await Harness.open();
    await h.ok({ type: "createTopic", now: h.now, topic: "t", retention: { maxMessages: 3 } });
    for (let i = 0; i < 7; i++) await h.pub("t", i);
    const info = await h.bsm.topicInfo("t");
    expect(info).toMatchObject({ count: 3, firstOffset: 4, lastOffset: 6, removedByRetention: 4 });
    expect((await h.bsm.readMessages("t", 0, 10)).map((m) => m.offset)).toEqual([4, 5, 6]);
  });

  it("maxBytes removes oldest until the topic fits", async () => {
    h = await Harness.open();
    await h.ok({ type: "createTopic", now: h.now, topic: "t", retention: { maxBytes: 250 } });
    for (let i = 0; i < 5; i++) await h.publish([{ topic: "t", payload: new Uint8Array(100) }]);
    expect(await h.bsm.topicInfo("t")).toMatchObject({ count: 2, bytes: 200, firstOffset: 3 });
  });

  it("maxAgeMs removes messages older than the age at log time, on tick", async () => {
    h = await Harness.open();
    await h.ok({ type: "createTopic", now: h.now, topic: "t", retention: { maxAgeMs: 1000 } });
    await h.pub("t", 0);
    h.advance(600);
    await h.pub("t", 1);
    h.advance(500); // message 0 is 1100 ms old, message 1 is 500 ms old
    const r = await h.tick();
    expect(r.report.retained).toBe(1);
    expect((await h.bsm.readMessages("t", 0, 10)).map((m) => m.offset)).toEqual([1]);
    h.advance(600);
    await h.tick();
    expect(await h.bsm.topicInfo("t")).toMatchObject({ count: 0, firstOffset: 2, lastOffset: 1 });
  });

  it("updateRetention applies at once; queued references to removed messages are dropped", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t" });
    for (let i = 0; i < 10; i++) await h.pub("t", i);
    const r = await h.ok({ type: "updateRetention", now: h.now, topic: "t", retention: { maxMessages: 4 } });
    expect(r.removed).toBe(6);
    const sub = await h.bsm.subscriptionInfo("s");
    expect(sub).toMatchObject({ lag: 4, dropped: 6 });
    expect(await h.take("s", 10)).toEqual(["t@6#1", "t@7#1", "t@8#1", "t@9#1"]);
  });
});

describe("message TTL (SPEC §3): an expired message is never delivered and is removed", () => {
  it("expired messages are not delivered, not read, and removed by the next tick", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t" });
    await h.pub("t", "short", { ttlMs: 1000 });
    await h.pub("t", "long", { ttlMs: 100_000 });
    await h.pub("t", "forever");
    h.advance(1000);
    // The dispatcher skips it at the leader's clock, and apply() would refuse it at log time.
    expect(await h.take("s", 10)).toEqual(["t@1#1", "t@2#1"]);
    expect((await h.bsm.readMessages("t", 0, 10)).map((m) => m.offset)).toEqual([1, 2]); // reads use log time
    const r = await h.tick();
    expect(r.report.expired).toBe(1);
    expect(await h.bsm.topicInfo("t")).toMatchObject({ count: 2, expired: 1, firstOffset: 1 });
    expect((await h.bsm.subscriptionInfo("s")).dropped).toBe(1);
  });

  it("a TTL hole in the middle keeps firstOffset and retention correct", async () => {
    h = await Harness.open();
    await h.ok({ type: "createTopic", now: h.now, topic: "t", retention: { maxMessages: 2 } });
    await h.pub("t", 0);
    await h.pub("t", 1, { ttlMs: 10 });
    h.advance(10);
    await h.tick();
    expect(await h.bsm.topicInfo("t")).toMatchObject({ count: 1, firstOffset: 0 });
    await h.pub("t", 2);
    await h.pub("t", 3);
    expect((await h.bsm.readMessages("t", 0, 10)).map((m) => m.offset)).toEqual([2, 3]);
    expect(await h.bsm.topicInfo("t")).toMatchObject({ count: 2, firstOffset: 2 });
  });

  it("alternating TTL holes: first offset and counts stay right, removal stays linear", async () => {
    h = await Harness.open();
    const messages = Array.from({ length: 1000 }, (_, i) => ({ topic: "t", payload: new Uint8Array(1), ttlMs: i % 2 === 0 ? 2000 : 1000 }));
    for (let i = 0; i < 4; i++) await h.publish(messages);
    h.advance(1000);
    const started = Date.now();
    expect((await h.ok({ type: "maintenance", now: h.now, action: "cleanup" })).report.expired).toBe(2000);
    expect(await h.bsm.topicInfo("t")).toMatchObject({ count: 2000, firstOffset: 0 });
    h.advance(1000);
    expect((await h.ok({ type: "maintenance", now: h.now, action: "cleanup" })).report.expired).toBe(2000);
    expect(await h.bsm.topicInfo("t")).toMatchObject({ count: 0, firstOffset: 4000, lastOffset: 3999 });
    expect(Date.now() - started).toBeLessThan(10_000);
    await h.pub("t", "next");
    expect((await h.bsm.readMessages("t", 0, 10)).map((m) => m.offset)).toEqual([4000]);
  });

  it("a delivered at-least-once message that expires is dropped, not redelivered", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", ackTimeoutMs: 100 });
    await h.pub("t", 1, { ttlMs: 5000 });
    expect(await h.take("s", 1)).toEqual(["t@0#1"]);
    h.advance(5000);
    await h.tick();
    expect(await h.take("s", 1)).toEqual([]);
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ lag: 0, dropped: 1, deadLettered: 0 });
  });
});
