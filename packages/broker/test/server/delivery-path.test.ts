/**
 * The leader's delivery path without sockets or Raft: a real broker state
 * machine, a proposer that applies each delivery command as the next entry
 * (counting entries), and fake sessions that collect what is pushed.
 */
import type { Delivery, ServerFrame } from "@raftbus/client/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DeliveryPath, encodeCommand } from "../../src/index.ts";
import type { ClientSession, Command, DeliveryCommand, ResultOf } from "../../src/index.ts";
import { Harness } from "../helpers/harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.destroy();
  h = undefined;
});

/** A session that records deliver pushes. */
class FakeSession {
  readonly id = `fake-${Math.random().toString(36).slice(2)}`;
  readonly pushed: Delivery[][] = [];
  send(frame: ServerFrame): void {
    if (frame.t === "deliver") this.pushed.push([...frame.messages]);
  }
  canPush(): boolean {
    return true;
  }
  get offsets(): number[] {
    return this.pushed.flat().map((d) => d.offset);
  }
}

interface Rig {
  readonly h: Harness;
  readonly path: DeliveryPath;
  readonly entries: DeliveryCommand[];
}

async function rig(onPropose: (command: DeliveryCommand) => void = () => undefined): Promise<Rig> {
  const harness = (h = await Harness.open());
  const entries: DeliveryCommand[] = [];
  const path = new DeliveryPath({
    broker: harness.bsm,
    propose: async (command) => {
      onPropose(command);
      entries.push(command);
      const [r] = await harness.applyAll([{ index: 0, term: 1, type: "normal", data: encodeCommand(command) }]);
      if (r === undefined || !r.ok) throw new Error(`delivery entry failed: ${JSON.stringify(r)}`);
      return r as ResultOf<"delivery">;
    },
    logger: { warn: () => undefined },
    now: () => harness.now,
  });
  return { h: harness, path, entries };
}

/** Waits until `f` holds, flushing timers and the pump between checks. */
async function until(what: string, f: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("delivery path (leader side)", () => {
  it("pushes at-least-once deliveries at once and records them afterwards in one entry", async () => {
    const { h, path, entries } = await rig();
    await h.subscribe({ name: "s", pattern: "t" });
    for (let i = 0; i < 5; i++) await h.pub("t", i);
    const session = new FakeSession();
    path.lead();
    path.attach(session as unknown as ClientSession, "s", true, 10, 10);
    await until("five pushes", () => session.offsets.length === 5);
    expect(session.offsets).toEqual([0, 1, 2, 3, 4]);
    await until("the record", async () => (await h.bsm.subscriptionInfo("s")).inFlight === 5);
    expect(entries.map((e) => [e.delivered.length, e.acked.length])).toEqual([[5, 0]]);
  });

  it("records at-most-once deliveries first, once per batch, and pushes only what the log accepted", async () => {
    const session = new FakeSession();
    const pushesAtRecord: number[] = [];
    const { h, path, entries } = await rig(() => pushesAtRecord.push(session.offsets.length));
    await h.subscribe({ name: "s", pattern: "t", guarantee: "at-most-once" });
    for (let i = 0; i < 4; i++) await h.pub("t", i);
    path.lead();
    path.attach(session as unknown as ClientSession, "s", false, 10, 10);
    await until("four pushes", () => session.offsets.length === 4);
    expect(pushesAtRecord).toEqual([0]); // nothing went out before the one record of the batch
    expect(entries).toHaveLength(1);
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ inFlight: 0, lag: 0 });
  });

  it("coalesces acks of many consumers into one entry and applies the credit they carry at once", async () => {
    const { h, path, entries } = await rig();
    await h.subscribe({ name: "a", pattern: "t" });
    await h.subscribe({ name: "b", pattern: "t" });
    for (let i = 0; i < 4; i++) await h.pub("t", i);
    const sa = new FakeSession();
    const sb = new FakeSession();
    path.lead();
    const ca = path.attach(sa as unknown as ClientSession, "a", true, 2, 2);
    const cb = path.attach(sb as unknown as ClientSession, "b", true, 2, 2);
    await until("two pushes each", () => sa.offsets.length === 2 && sb.offsets.length === 2);
    // Both ack in the same turn: one entry for both.
    const [na, nb] = await Promise.all([
      path.ack(ca, [{ topic: "t", offset: 0 }, { topic: "t", offset: 1 }], 2),
      path.ack(cb, [{ topic: "t", offset: 0 }, { topic: "t", offset: 1 }], 2),
    ]);
    expect([na, nb]).toEqual([[true, true], [true, true]]);
    await until("the next pushes", () => sa.offsets.length === 4 && sb.offsets.length === 4);
    expect(sa.offsets).toEqual([0, 1, 2, 3]);
    const withAcks = entries.filter((e) => e.acked.length > 0);
    expect(withAcks).toHaveLength(1);
    expect(withAcks[0]!.acked.map((a) => `${a.subscription}@${a.offset}`).sort()).toEqual(["a@0", "a@1", "b@0", "b@1"]);
    await until("the second round's record", async () => (await h.bsm.subscriptionInfo("a")).delivered === 4);
    expect(await h.bsm.subscriptionInfo("a")).toMatchObject({ delivered: 4, acked: 2, inFlight: 2 });
  });

  it("never hands out a message whose ack is on its way into the log", async () => {
    const { h, path } = await rig();
    await h.subscribe({ name: "s", pattern: "t", ackTimeoutMs: 100, backoff: { initialMs: 10, maxMs: 10, multiplier: 1 } });
    await h.pub("t", 0);
    const s1 = new FakeSession();
    path.lead();
    const c1 = path.attach(s1 as unknown as ClientSession, "s", true, 1, 1);
    await until("the push", async () => s1.offsets.length === 1 && (await h.bsm.subscriptionInfo("s")).inFlight === 1);
    // The ack deadline passes and the retry is due; the consumer's ack is already on its way.
    h.advance(200);
    await h.tick();
    const acking = path.ack(c1, [{ topic: "t", offset: 0 }], 1);
    const s2 = new FakeSession();
    path.attach(s2 as unknown as ClientSession, "s", true, 1, 1);
    path.sweep();
    expect(await acking).toEqual([true]);
    await new Promise((r) => setTimeout(r, 30));
    expect(s2.offsets).toEqual([]);
    expect(await h.bsm.subscriptionInfo("s")).toMatchObject({ inFlight: 0, lag: 0 });
  });

  it("a round asks only about subscriptions holding messages: 2,000 idle consumers with credit are never planned", async () => {
    // A round runs after every apply; when it walked every consumer, 10,000 subscriptions made subscribing quadratic.
    const { h, path } = await rig();
    await h.applyAll(Array.from({ length: 2000 }, (_, i): Command => ({ type: "createSubscription", now: h.now, subscription: h.bsm.subscriptionSpec({ name: `idle-${i}`, pattern: `idle.n${i}` }) })));
    await h.subscribe({ name: "busy", pattern: "t" });
    const plans = vi.spyOn(h.bsm, "nextDeliveries");
    const idle = new FakeSession();
    const busy = new FakeSession();
    path.lead();
    for (let i = 0; i < 2000; i++) path.attach(idle as unknown as ClientSession, `idle-${i}`, true, 1, 1);
    path.attach(busy as unknown as ClientSession, "busy", true, 10, 10);
    await h.pub("t", 0);
    await until("the push", () => busy.offsets.length === 1);
    const asked = plans.mock.calls.flatMap(([req]) => req.consumers.map((c) => c.subscription));
    expect(asked.length).toBeGreaterThan(0);
    expect(new Set(asked)).toEqual(new Set(["busy"]));
    expect(idle.offsets).toEqual([]);
  });

  it("rounds skip subscriptions holding only unacked deliveries, the sweep too", async () => {
    // scale-10k-wildcard: 10,000 subscriptions each waiting for acks were visited by the rounds after every
    // apply and ack, holding the leader's event loop 1-2 s at a time, past the election timeout.
    const { h, path } = await rig();
    await h.applyAll(Array.from({ length: 500 }, (_, i): Command => ({ type: "createSubscription", now: h.now, subscription: h.bsm.subscriptionSpec({ name: `w-${i}`, pattern: `w.n${i}` }) })));
    await h.subscribe({ name: "busy", pattern: "t" });
    const waiting = new FakeSession();
    const busy = new FakeSession();
    path.lead();
    for (let i = 0; i < 500; i++) path.attach(waiting as unknown as ClientSession, `w-${i}`, true, 2, 2);
    path.attach(busy as unknown as ClientSession, "busy", true, 10, 10);
    for (let i = 0; i < 500; i++) await h.pub(`w.n${i}`, 0);
    await until("one push to each", () => waiting.offsets.length === 500);
    const plans = vi.spyOn(h.bsm, "nextDeliveries");
    await h.pub("t", 0);
    await until("the push", () => busy.offsets.length === 1);
    const asked = plans.mock.calls.flatMap(([req]) => req.consumers.map((c) => c.subscription));
    expect(new Set(asked)).toEqual(new Set(["busy"]));
    plans.mockClear();
    await h.pub("t", 1);
    path.sweep();
    await until("the second push", () => busy.offsets.length === 2);
    expect(new Set(plans.mock.calls.flatMap(([req]) => req.consumers.map((c) => c.subscription)))).toEqual(new Set(["busy"]));
  });

  it("a retry that came due goes out on the sweep", async () => {
    const { h, path } = await rig();
    await h.subscribe({ name: "s", pattern: "t", ackTimeoutMs: 100, backoff: { initialMs: 10, maxMs: 10, multiplier: 1 } });
    await h.pub("t", 0);
    const session = new FakeSession();
    path.lead();
    path.attach(session as unknown as ClientSession, "s", true, 2, 2); // credit left for the retry
    await until("the first push", async () => session.offsets.length === 1 && (await h.bsm.subscriptionInfo("s")).inFlight === 1);
    h.advance(200);
    await h.tick(); // the ack deadline passed: a retry, due 10 ms later
    h.advance(20);
    path.sweep();
    await until("the redelivery", () => session.offsets.length === 2);
    expect(session.pushed.flat().map((d) => d.attempt)).toEqual([1, 2]);
  });

  it("after unlead, acks are refused with NOT_LEADER and nothing is pushed", async () => {
    const { h, path } = await rig();
    await h.subscribe({ name: "s", pattern: "t" });
    const session = new FakeSession();
    path.lead();
    const c = path.attach(session as unknown as ClientSession, "s", true, 5, 5);
    path.unlead();
    await h.pub("t", 0);
    await new Promise((r) => setTimeout(r, 20));
    expect(session.offsets).toEqual([]);
    await expect(path.ack(c, [{ topic: "t", offset: 0 }], 1)).rejects.toMatchObject({ code: "NOT_LEADER" });
  });
});
