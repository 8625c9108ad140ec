/** Publish deduplication (SPEC §4 exactly-once, publisher side). */
import { afterEach, describe, expect, it } from "vitest";
import { Harness, json } from "../helpers/harness.ts";

let h: Harness;
afterEach(async () => h?.destroy());

describe("publish dedup: the same id or producer sequence within the window is stored once", () => {
  it("a duplicate id is answered with the ORIGINAL offset and index, and duplicate: true", async () => {
    h = await Harness.open();
    await h.pub("t", 1, { id: "m-1" });
    await h.pub("t", 2);
    const dup = await h.pub("t", 3, { id: "m-1" });
    expect(dup.results[0]).toEqual({ topic: "t", offset: 0, index: 1, duplicate: true });
    expect(await h.bsm.topicInfo("t")).toMatchObject({ count: 2, duplicates: 1 });
  });

  it("duplicates within one batch are caught too", async () => {
    h = await Harness.open();
    const r = await h.publish([
      { topic: "t", payload: json(1), id: "x" },
      { topic: "t", payload: json(1), id: "x" },
      { topic: "t", payload: json(1), producerId: "p", sequence: 1 },
      { topic: "t", payload: json(1), producerId: "p", sequence: 1 },
      { topic: "t", payload: json(1), producerId: "p", sequence: 2 },
    ]);
    expect(r.results.map((x) => ("offset" in x ? [x.offset, x.duplicate] : x))).toEqual([[0, false], [0, true], [1, false], [1, true], [2, false]]);
  });

  it("producer id + sequence dedups independently of the message id", async () => {
    h = await Harness.open();
    await h.pub("t", 1, { producerId: "prod", sequence: 7 });
    const dup = await h.pub("t", 1, { producerId: "prod", sequence: 7, id: "other-id" });
    expect(dup.results[0]).toMatchObject({ offset: 0, duplicate: true });
    const otherProducer = await h.pub("t", 1, { producerId: "prod2", sequence: 7 });
    expect(otherProducer.results[0]).toMatchObject({ offset: 1, duplicate: false });
  });

  it("dedup is per topic", async () => {
    h = await Harness.open();
    await h.pub("a", 1, { id: "same" });
    expect((await h.pub("b", 1, { id: "same" })).results[0]).toMatchObject({ offset: 0, duplicate: false });
  });

  it("after the window the id is forgotten and stored again", async () => {
    h = await Harness.open({ dedupWindowMs: 1000 });
    await h.pub("t", 1, { id: "w" });
    h.advance(999);
    expect((await h.pub("t", 1, { id: "w" })).results[0]).toMatchObject({ duplicate: true });
    h.advance(1);
    expect((await h.pub("t", 1, { id: "w" })).results[0]).toMatchObject({ offset: 1, duplicate: false });
    // The expired index entry was cleaned up by that publish itself (publishing forgets expired
    // records as it goes), never the newer record of the same id.
    h.advance(500);
    const tick = await h.tick();
    expect(tick.report.dedupExpired).toBe(0);
    expect((await h.pub("t", 1, { id: "w" })).results[0]).toMatchObject({ offset: 1, duplicate: true });
  });

  it("a duplicate is answered even after retention removed the original", async () => {
    h = await Harness.open();
    await h.ok({ type: "createTopic", now: h.now, topic: "t", retention: { maxMessages: 1 } });
    await h.pub("t", 1, { id: "first" });
    await h.pub("t", 2);
    expect((await h.pub("t", 3, { id: "first" })).results[0]).toMatchObject({ offset: 0, duplicate: true });
  });

  it("generated ids are not entered in the dedup table; dedupWindowMs 0 disables dedup", async () => {
    h = await Harness.open({ dedupWindowMs: 0 });
    await h.pub("t", 1, { id: "x" });
    expect((await h.pub("t", 1, { id: "x" })).results[0]).toMatchObject({ offset: 1, duplicate: false });
  });

  it("dedup survives a restart", async () => {
    h = await Harness.open();
    await h.pub("t", 1, { id: "persisted" });
    await h.restart();
    expect((await h.pub("t", 1, { id: "persisted" })).results[0]).toMatchObject({ offset: 0, duplicate: true });
  });
});
