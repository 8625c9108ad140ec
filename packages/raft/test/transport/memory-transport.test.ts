/**
 * MemoryTransport: the conformance suite, plus the fault controls the
 * simulator relies on (partitions, isolation, seeded loss, in-flight limit).
 */
import { describe, expect, it } from "vitest";
import { MemoryNetwork } from "../../src/transport/memory-transport.ts";
import type { MemoryTransport } from "../../src/transport/memory-transport.ts";
import { TransportConfigError } from "../../src/transport/errors.ts";
import { transportConformance, startCluster } from "./conformance.ts";
import type { TransportHarness } from "./conformance.ts";
import { BytesSource, heartbeat, MemorySink, meta, patternBytes, sleep, snapMessage, waitFor } from "./helpers.ts";

let net = new MemoryNetwork();
const harness: TransportHarness = {
  name: "MemoryTransport",
  reset: () => { net = new MemoryNetwork(); },
  create: (id, { source, sink }) => net.createTransport(id, { snapshotSource: source, snapshotSink: sink, snapshotChunkBytes: 64 * 1024 }),
  addressOf: (t) => `mem:${(t as MemoryTransport).nodeId}`,
};

transportConformance(harness);

/** A seeded uniform random source (mulberry32), so loss patterns replay. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("MemoryNetwork fault controls", () => {
  it("partition: nodes in different groups cannot talk; heal restores; unreachable is reported once per outage", async () => {
    harness.reset?.();
    const nodes = await startCluster(harness, ["a", "b", "c"]);
    const [a, b, c] = ["a", "b", "c"].map((id) => nodes.get(id)!);
    net.partition(["a"], ["b", "c"]);
    a!.t.send([heartbeat("a", "b", 1), heartbeat("a", "b", 2), heartbeat("a", "c", 1)]);
    b!.t.send([heartbeat("b", "c", 1)]);
    await waitFor(() => c!.inbox.length === 1, "b→c still works");
    await sleep(10);
    expect(b!.inbox).toEqual([]);
    expect(a!.unreachable.sort()).toEqual(["b", "c"]);
    expect(a!.t.stats().peers.get("b")).toMatchObject({ connected: false, dropped: 2 });
    net.heal();
    a!.t.send([heartbeat("a", "b", 3)]);
    await waitFor(() => b!.inbox.length === 1, "a→b after heal");
  });

  it("isolate cuts a node off both ways; messages in flight when the partition starts are lost", async () => {
    harness.reset?.();
    const nodes = await startCluster(harness, ["a", "b"]);
    nodes.get("a")!.t.send([heartbeat("a", "b", 1)]);
    net.isolate("b"); // before the scheduled delivery runs
    await sleep(10);
    expect(nodes.get("b")!.inbox).toEqual([]);
    expect(net.canReach("b", "a")).toBe(false);
  });

  it("seeded loss drops the same messages on every run", async () => {
    const run = async (): Promise<number[]> => {
      const n = new MemoryNetwork({ random: seeded(42), dropRate: 0.3 });
      const a = n.createTransport("a");
      const b = n.createTransport("b");
      const got: number[] = [];
      a.onMessage(() => undefined);
      b.onMessage((m) => { if (m.type === "heartbeat") got.push(m.readSeq); });
      await Promise.all([a.start(), b.start()]);
      a.setPeers(new Map([["b", "mem:b"]]));
      a.send([...Array(100).keys()].map((i) => heartbeat("a", "b", i)));
      await sleep(20);
      return got;
    };
    const first = await run();
    expect(first.length).toBeGreaterThan(50);
    expect(first.length).toBeLessThan(90);
    expect(await run()).toEqual(first);
  });

  it("bounds the messages in flight per link", async () => {
    const n = new MemoryNetwork({ queueMessagesMax: 5 });
    const a = n.createTransport("a");
    const b = n.createTransport("b");
    a.onMessage(() => undefined);
    b.onMessage(() => undefined);
    await Promise.all([a.start(), b.start()]);
    a.setPeers(new Map([["b", "mem:b"]]));
    a.send([...Array(20).keys()].map((i) => heartbeat("a", "b", i)));
    expect(a.stats().peers.get("b")).toMatchObject({ queuedMessages: 5, dropped: 15, sent: 5 });
  });

  it("a snapshot cut by a partition is abandoned (status false) and the sink aborted", async () => {
    harness.reset?.();
    const sink = new MemorySink();
    sink.onWrite = (w) => { if (w === 2) net.partition(["a"], ["b"]); };
    const nodes = await startCluster(harness, ["a", "b"], (id) => (id === "a" ? { source: new BytesSource(patternBytes(500_000)) } : { sink }));
    nodes.get("a")!.t.send([snapMessage("a", "b", meta())]);
    await waitFor(() => nodes.get("a")!.statuses.length === 1, "status");
    expect(nodes.get("a")!.statuses).toEqual([["b", false]]);
    expect(sink.log.at(-1)).toBe("abort 100/4");
    expect(nodes.get("b")!.inbox).toEqual([]);
  });

  it("rejects bad options with INVALID_CONFIG", () => {
    expect(() => new MemoryNetwork({ dropRate: 2 })).toThrow(TransportConfigError);
    expect(() => new MemoryNetwork({ queueMessagesMax: 0 })).toThrow(expect.objectContaining({ code: "INVALID_CONFIG" }));
  });
});
