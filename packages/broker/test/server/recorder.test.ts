/** The delivery recorder's group commit, with a fake log that answers every item. */
import { RaftbusError } from "@raftbus/client/protocol";
import { describe, expect, it } from "vitest";
import { DeliveryRecorder } from "../../src/server/delivery/recorder.ts";
import type { DeliverItem, DeliveryCommand, ResultOf } from "../../src/index.ts";

interface FakeLog {
  readonly entries: DeliveryCommand[];
  readonly unrecorded: DeliverItem[];
  /** Resolve the oldest proposal still waiting. */
  commitNext(): void;
  pending(): number;
  failNext(err: Error): void;
}

function setup(opts: { itemsPerEntryMax?: number; entriesInFlightMax?: number; itemsWaitingMax?: number; manual?: boolean } = {}): { r: DeliveryRecorder; log: FakeLog } {
  const entries: DeliveryCommand[] = [];
  const unrecorded: DeliverItem[] = [];
  const waiting: { cmd: DeliveryCommand; resolve: (r: ResultOf<"delivery">) => void; reject: (e: Error) => void }[] = [];
  // Like apply: an item accepted once in an entry is stale the second time (the message is no longer pending).
  const answer = (cmd: DeliveryCommand): ResultOf<"delivery"> => {
    const seen = new Set<string>();
    const fresh = cmd.delivered.filter((d) => {
      const k = `${d.subscription}/${d.topic}/${d.offset}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    return {
      ok: true, type: "delivery",
      delivered: fresh.map((d) => ({ ...d })), rejected: [],
      acked: cmd.acked.map((a) => a.offset % 2 === 0), failed: cmd.failed.map(() => "retry" as const),
    };
  };
  const r = new DeliveryRecorder({
    propose: (cmd) => {
      entries.push(cmd);
      if (opts.manual !== true) return Promise.resolve(answer(cmd));
      return new Promise((resolve, reject) => waiting.push({ cmd, resolve, reject }));
    },
    itemsPerEntryMax: opts.itemsPerEntryMax ?? 1000,
    itemsWaitingMax: opts.itemsWaitingMax ?? 100_000,
    entriesInFlightMax: opts.entriesInFlightMax ?? 1,
    now: () => 1,
    onUnrecorded: (items) => unrecorded.push(...items),
  });
  const log: FakeLog = {
    entries, unrecorded,
    commitNext: () => {
      const w = waiting.shift();
      w?.resolve(answer(w.cmd));
    },
    pending: () => waiting.length,
    failNext: (err) => waiting.shift()?.reject(err),
  };
  return { r, log };
}

const turn = (): Promise<void> => new Promise((res) => setImmediate(res));
const ref = (subscription: string, offset: number) => ({ subscription, topic: "t", offset });
const push = (subscription: string, offset: number): DeliverItem => ({ ...ref(subscription, offset), attempt: 1, consumerId: "c" });

describe("delivery recorder: group commit", () => {
  it("the same message recorded twice in one entry (a re-plan after a lost reservation) is handed to the first request only", async () => {
    const { r, log } = setup({ manual: true });
    const blocker = r.ack([ref("s", 9)]);
    await turn();
    // Both wait behind the entry in flight and go out together in the next one.
    const first = r.recordFirst([push("s", 3), push("s", 4)]);
    const again = r.recordFirst([push("s", 3)]);
    log.commitNext();
    await blocker;
    await turn();
    expect(log.entries[1]?.delivered).toEqual([push("s", 3), push("s", 4), push("s", 3)]);
    log.commitNext();
    expect((await first).delivered).toEqual([push("s", 3), push("s", 4)]);
    expect((await again).delivered).toEqual([]);
  });

  it("an at-most-once record of a message already pushed in the same entry gets nothing", async () => {
    const { r, log } = setup();
    r.pushed([push("s", 7)]);
    const first = r.recordFirst([push("s", 7)]);
    expect((await first).delivered).toEqual([]);
    expect(log.entries[0]?.delivered).toEqual([push("s", 7), push("s", 7)]);
  });

  it("acks of many subscriptions in one turn make one entry; each request gets its own outcomes", async () => {
    const { r, log } = setup();
    const a = r.ack([ref("a", 0), ref("a", 1)]);
    const b = r.ack([ref("b", 2)]);
    const f = r.fail([{ ...ref("c", 3), reason: "x" }]);
    expect(await Promise.all([a, b, f])).toEqual([[true, false], [true], ["retry"]]);
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]).toMatchObject({ acked: [ref("a", 0), ref("a", 1), ref("b", 2)], failed: [{ ...ref("c", 3), reason: "x" }] });
  });

  it("a push acked before its record left is recorded by the ack alone", async () => {
    const { r, log } = setup();
    r.pushed([push("s", 0), push("s", 1)]);
    await r.ack([ref("s", 0)]);
    expect(log.entries).toEqual([{ type: "delivery", now: 1, delivered: [push("s", 1)], acked: [ref("s", 0)], failed: [] }]);
  });

  it("while an entry is in flight, arrivals wait and then go together in the next", async () => {
    const { r, log } = setup({ manual: true });
    const first = r.ack([ref("s", 0)]);
    await turn();
    expect(log.pending()).toBe(1);
    const later = [r.ack([ref("s", 2)]), r.ack([ref("s", 4)]), r.fail([{ ...ref("s", 5), reason: "y" }])];
    r.pushed([push("s", 6)]);
    await turn();
    expect(log.entries).toHaveLength(1); // the window is the commit of the previous entry
    log.commitNext();
    expect(await first).toEqual([true]);
    await turn();
    expect(log.entries).toHaveLength(2);
    expect(log.entries[1]).toMatchObject({ delivered: [push("s", 6)], acked: [ref("s", 2), ref("s", 4)] });
    log.commitNext();
    expect(await Promise.all(later)).toEqual([[true], [true], ["retry"]]);
  });

  it("a request larger than an entry is split and answered in order", async () => {
    const { r, log } = setup({ itemsPerEntryMax: 3 });
    const out = await r.ack([0, 1, 2, 3, 4, 5, 6].map((o) => ref("s", o)));
    expect(out).toEqual([true, false, true, false, true, false, true]);
    expect(log.entries.map((e) => e.acked.length)).toEqual([3, 3, 1]);
  });

  it("a failed proposal fails its acks and ends the reservations of its pushes", async () => {
    const { r, log } = setup({ manual: true });
    r.pushed([push("s", 0)]);
    const ack = r.ack([ref("s", 1)]);
    await turn();
    log.failNext(new RaftbusError("NOT_LEADER", "gone"));
    await expect(ack).rejects.toMatchObject({ code: "NOT_LEADER" });
    expect(log.unrecorded).toEqual([push("s", 0)]);
  });

  it("stop fails what waits; too much waiting is BACKPRESSURE", async () => {
    const { r } = setup({ manual: true, itemsWaitingMax: 3 });
    expect(() => r.ack([0, 1, 2, 3].map((o) => ref("s", o)))).toThrow(expect.objectContaining({ code: "BACKPRESSURE" }));
    const waiting = r.ack([ref("s", 0)]);
    r.stop(new RaftbusError("NOT_LEADER", "lost"));
    await expect(waiting).rejects.toMatchObject({ code: "NOT_LEADER" });
    await expect(r.recordFirst([push("s", 1)])).rejects.toMatchObject({ code: "NOT_LEADER" });
  });
});
