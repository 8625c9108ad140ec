/** The dispatcher's contract with the node server, without sockets. */
import { afterEach, describe, expect, it } from "vitest";
import { BrokerStateMachine, deliverCommand } from "../../src/index.ts";
import { Harness } from "../helpers/harness.ts";

let h: Harness;
afterEach(async () => h?.destroy());

describe("dispatcher", () => {
  it("plans per subscription, name order, within maxDeliveries; ignores zero credit and unknown subscriptions", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "b", pattern: "t" });
    await h.subscribe({ name: "a", pattern: "t" });
    for (let i = 0; i < 5; i++) await h.pub("t", i);
    const batches = await h.bsm.dispatcher.nextDeliveries({
      now: h.now, maxDeliveries: 7,
      consumers: [
        { subscription: "b", consumerId: "x", credit: 5 },
        { subscription: "a", consumerId: "y", credit: 5 },
        { subscription: "a", consumerId: "z", credit: 0 },
        { subscription: "ghost", consumerId: "g", credit: 5 },
      ],
    });
    expect(batches.map((b) => [b.subscription, b.items.length, [...new Set(b.items.map((i) => i.consumerId))]])).toEqual([["a", 5, ["y"]], ["b", 2, ["x"]]]);
    const cmd = deliverCommand(batches, h.now); // one entry for the whole round
    expect(cmd).toEqual({
      type: "delivery", now: h.now, acked: [], failed: [],
      // Each first delivery names its pending reference (seq, queue), so recording it reads no message.
      delivered: batches.flatMap((b) => b.items.map(({ subscription, topic, offset, attempt, consumerId, seq, queue }) => ({ subscription, topic, offset, attempt, consumerId, seq, queue }))),
    });
    const r = await h.ok(cmd);
    expect(r.delivered).toHaveLength(7);
  });

  it("reservations end when the deliver is applied, when released, after their TTL, and on reset", async () => {
    const dir = (h = await Harness.open()).dir;
    await h.bsm.close();
    h.bsm = await BrokerStateMachine.open(dir, {}, { dispatcher: { reservationTtlMs: 1000 } });
    await h.subscribe({ name: "s", pattern: "t" });
    for (let i = 0; i < 3; i++) await h.pub("t", i);
    const consumers = [{ subscription: "s", consumerId: "c", credit: 1 }];
    const plan = async (): Promise<number[]> => (await h.bsm.dispatcher.nextDeliveries({ now: h.now, consumers })).flatMap((b) => b.items.map((i) => i.offset));
    expect(await plan()).toEqual([0]);
    expect(h.bsm.dispatcher.reservedCount("s")).toBe(1);
    expect(await plan()).toEqual([1]);
    h.advance(1001); // nobody settled them: reservations lapse
    expect(await plan()).toEqual([0]);
    h.bsm.dispatcher.reset();
    const [batch] = await h.bsm.dispatcher.nextDeliveries({ now: h.now, consumers });
    await h.ok(deliverCommand(batch!, h.now));
    expect(h.bsm.dispatcher.reservedCount("s")).toBe(0);
    expect(await plan()).toEqual([1]);
    await h.ok({ type: "deleteSubscription", now: h.now, name: "s" });
    expect(h.bsm.dispatcher.reservedCount("s")).toBe(0);
  });

  it("reserved first deliveries count against the in-flight limit", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxInFlight: 2 });
    for (let i = 0; i < 5; i++) await h.pub("t", i);
    const consumers = [{ subscription: "s", consumerId: "c", credit: 10 }];
    const first = await h.bsm.dispatcher.nextDeliveries({ now: h.now, consumers });
    const second = await h.bsm.dispatcher.nextDeliveries({ now: h.now, consumers });
    expect(first[0]?.items).toHaveLength(2);
    expect(second).toEqual([]);
  });

  it("skips messages whose TTL passed at the leader's clock", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t" });
    await h.pub("t", 0, { ttlMs: 100 });
    await h.pub("t", 1);
    h.advance(100);
    expect(await h.take("s", 5)).toEqual(["t@1#1"]);
  });

  it("the messages of applied deliveries are read back ready to push, with attempt and retry count", async () => {
    h = await Harness.open();
    await h.subscribe({ name: "s", pattern: "t", maxRetries: 3, backoff: { initialMs: 1, maxMs: 1, multiplier: 1 } });
    await h.pub("t", { hello: "world" }, { headers: { a: "b" }, correlationId: "corr-1", priority: "high" });
    await h.take("s", 1);
    await h.fail("s", ["t@0"]);
    h.advance(1);
    const { delivered } = await h.dispatch([{ subscription: "s", consumerId: "c", credit: 1 }]);
    const msgs = await h.bsm.readDeliveries("s", delivered);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({
      topic: "t", offset: 0, attempt: 2, retryCount: 1, redelivered: true, maxRetries: 3, subscription: "s",
      headers: { a: "b" }, correlationId: "corr-1", priority: "high",
    });
    expect(JSON.parse(new TextDecoder().decode(msgs[0]!.payload))).toEqual({ hello: "world" });
  });
});
