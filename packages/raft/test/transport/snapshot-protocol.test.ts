/**
 * Snapshot transfer, sender and receiver wired back to back over a fake
 * link (no sockets), with a manual clock: window flow control, resume after
 * a drop, abandonment on timeout, and the receiver's protocol checks.
 */
import { describe, expect, it } from "vitest";
import type { SnapshotMessage } from "../../src/core/types.ts";
import { SnapshotError } from "../../src/transport/errors.ts";
import type { Frame, SnapChunkFrame } from "../../src/transport/frames.ts";
import { SnapshotReceiver } from "../../src/transport/snapshot-receiver.ts";
import { SnapshotSender } from "../../src/transport/snapshot-sender.ts";
import type { SnapshotSink } from "../../src/transport/transport.ts";
import { BytesSource, expectSameBytes, ManualClock, MemorySink, meta, patternBytes, snapMessage, waitFor } from "./helpers.ts";

const CHUNK = 1_000;
const WINDOW = 3;
const TIMEOUT = 10_000;

/** A sender and a receiver joined by an asynchronous link that can be cut (frames in flight are lost). */
function setup(opts: { size?: number; sink?: SnapshotSink } = {}) {
  const clock = new ManualClock();
  const data = patternBytes(opts.size ?? 25_500);
  const source = new BytesSource(data, 700);
  const sink = opts.sink ?? new MemorySink();
  const reports: boolean[] = [];
  const delivered: SnapshotMessage[] = [];
  const errors: Error[] = [];
  const link = { up: true, epoch: 0, lastAckOffset: 0, maxInFlightBytes: 0, chunksSent: 0 };
  const deliverLater = (fn: () => void): void => {
    const epoch = link.epoch;
    setImmediate(() => { if (link.up && link.epoch === epoch) fn(); });
  };
  const receiver: SnapshotReceiver = new SnapshotReceiver({
    peer: "a", sink, snapshotWindowChunks: WINDOW, snapshotTimeoutMs: TIMEOUT, clock, onError: (e) => errors.push(e),
    deliver: (m) => delivered.push(m),
    sendFrame: (f: Frame) => {
      if (!link.up) return false;
      deliverLater(() => {
        if (f.kind === "snapAck") link.lastAckOffset = Math.max(link.lastAckOffset, f.offset);
        if (f.kind === "snapAck") sender.onAck(f);
      });
      return true;
    },
  });
  const sender: SnapshotSender = new SnapshotSender({
    peer: "b", source, snapshotChunkBytes: CHUNK, snapshotWindowChunks: WINDOW, snapshotTimeoutMs: TIMEOUT, clock,
    onError: (e) => errors.push(e), report: (ok) => reports.push(ok),
    sendFrame: (f: Frame) => {
      if (!link.up) return false;
      if (f.kind === "snapChunk") {
        link.chunksSent++;
        link.maxInFlightBytes = Math.max(link.maxInFlightBytes, f.offset + f.data.byteLength - link.lastAckOffset);
      }
      deliverLater(() => {
        if (f.kind === "snapOffer") receiver.onOffer(f.msg);
        if (f.kind === "snapChunk") receiver.onChunk(f);
      });
      return true;
    },
  });
  const cut = (): void => {
    link.up = false;
    link.epoch++;
    sender.disconnected();
  };
  const reconnect = (): void => {
    link.up = true;
    link.lastAckOffset = 0;
    sender.connected();
  };
  return { clock, data, source, sink, sender, receiver, reports, delivered, errors, link, cut, reconnect };
}

describe("snapshot protocol", () => {
  it("streams every byte in chunks, never more than the window unacked, commits before delivery", async () => {
    const s = setup();
    const msg = snapMessage("a", "b");
    const sink = s.sink as MemorySink;
    s.sender.start(msg, true);
    await waitFor(() => s.reports.length === 1, "status report");
    expect(s.reports).toEqual([true]);
    expect(s.delivered).toEqual([msg]);
    expectSameBytes(sink.get(msg.snapshot), s.data);
    expect(sink.largestWriteBytes).toBe(CHUNK);
    expect(sink.writes).toBe(26);
    expect(s.link.maxInFlightBytes).toBeLessThanOrEqual(WINDOW * CHUNK);
    expect(sink.log).toEqual(["begin 100/4 from a at 0", "commit 100/4"]);
    expect(s.sender.active || s.receiver.active).toBe(false);
  });

  it("resumes at the receiver's offset after the link drops mid-transfer (§7: no byte written twice)", async () => {
    const s = setup();
    const sink = s.sink as MemorySink;
    sink.onWrite = (n) => { if (n === 10) s.cut(); };
    s.sender.start(snapMessage("a", "b"), true);
    await waitFor(() => sink.writes >= 10, "10 writes");
    await new Promise((r) => setTimeout(r, 20));
    expect(s.reports).toEqual([]);
    s.reconnect();
    await waitFor(() => s.reports.length === 1, "status report");
    expect(s.reports).toEqual([true]);
    expectSameBytes(sink.get(meta()), s.data);
    expect(sink.bytesWritten).toBe(s.data.byteLength);
    expect(s.source.opens).toBe(2);
  });

  it("resumes from what a restarted receiver's sink still holds (fresh receiver, same sink)", async () => {
    const sink = new MemorySink();
    const first = setup({ sink });
    sink.onWrite = (n) => { if (n === 5) first.cut(); };
    first.sender.start(snapMessage("a", "b"), true);
    await waitFor(() => sink.writes >= 5, "5 writes");
    await new Promise((r) => setTimeout(r, 20));
    first.sender.stop();
    sink.onWrite = () => undefined;
    const second = setup({ sink });
    second.sender.start(snapMessage("a", "b"), true);
    await waitFor(() => second.reports.length === 1, "status report");
    expect(sink.log[1]).toBe("begin 100/4 from a at 5000");
    expectSameBytes(sink.get(meta()), second.data);
    expect(sink.bytesWritten).toBe(second.data.byteLength);
  });

  it("abandons after snapshotTimeoutMs without progress and reports false once", async () => {
    const s = setup();
    s.cut();
    s.sender.start(snapMessage("a", "b"), false);
    s.clock.advance(TIMEOUT - 1);
    expect(s.reports).toEqual([]);
    s.clock.advance(1);
    expect(s.reports).toEqual([false]);
    expect(s.errors[0]).toBeInstanceOf(SnapshotError);
    s.clock.advance(10 * TIMEOUT);
    expect(s.reports).toEqual([false]);
    expect(s.sender.active).toBe(false);
  });

  it("reports false when the receiver's sink fails", async () => {
    const failing: SnapshotSink = { begin: async () => { throw new Error("disk full"); } };
    const s = setup({ sink: failing });
    s.sender.start(snapMessage("a", "b"), true);
    await waitFor(() => s.reports.length === 1, "status report");
    expect(s.reports).toEqual([false]);
    expect(s.delivered).toEqual([]);
  });

  it("a newer snapshot replaces an older one silently; the same one again is ignored", async () => {
    const s = setup();
    s.cut();
    s.sender.start(snapMessage("a", "b", meta(100, 4)), false);
    s.sender.start(snapMessage("a", "b", meta(100, 4)), false);
    s.sender.start(snapMessage("a", "b", meta(200, 5)), false);
    s.reconnect();
    await waitFor(() => s.reports.length === 1, "status report");
    expect(s.reports).toEqual([true]);
    expect(s.delivered.map((m) => m.snapshot.index)).toEqual([200]);
  });

  it("receiver: drops an idle transfer after snapshotTimeoutMs and aborts the sink", async () => {
    const s = setup();
    const sink = s.sink as MemorySink;
    s.receiver.onOffer(snapMessage("a", "b"));
    await waitFor(() => sink.log.length === 1, "begin");
    s.clock.advance(TIMEOUT);
    await waitFor(() => sink.log.length === 2, "abort");
    expect(sink.log[1]).toBe("abort 100/4");
    expect(s.receiver.active).toBe(false);
  });

  it("receiver: a chunk out of order fails the transfer (failed ack, sink aborted)", async () => {
    const s = setup();
    const sink = s.sink as MemorySink;
    const acks: Frame[] = [];
    const r = new SnapshotReceiver({
      peer: "a", sink, snapshotWindowChunks: WINDOW, snapshotTimeoutMs: TIMEOUT, clock: s.clock,
      onError: () => undefined, deliver: () => undefined, sendFrame: (f) => { acks.push(f); return true; },
    });
    r.onOffer(snapMessage("a", "b"));
    await waitFor(() => acks.length === 1, "offer ack");
    const chunk: SnapChunkFrame = { v: 1, kind: "snapChunk", meta: meta(), offset: 5, data: new Uint8Array(3), done: false };
    r.onChunk(chunk);
    await waitFor(() => sink.log.length === 2, "abort");
    expect(acks[1]).toMatchObject({ kind: "snapAck", failed: true });
    r.onChunk({ ...chunk, offset: 0 }); // no transfer any more
    expect(acks[2]).toMatchObject({ kind: "snapAck", failed: true });
  });
});
