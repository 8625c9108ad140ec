/**
 * One behavioural suite run against every Transport implementation (the
 * abstract-level pattern): WsTransport and MemoryTransport must be
 * interchangeable for the Raft driver.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Message, NodeId } from "../../src/core/types.ts";
import type { SnapshotSink, SnapshotSource, Transport } from "../../src/transport/transport.ts";
import { BytesSource, expectSameBytes, heartbeat, MemorySink, meta, patternBytes, sampleMessages, snapMessage, sleep, waitFor } from "./helpers.ts";

/** How the suite builds transports of one implementation. */
export interface TransportHarness {
  readonly name: string;
  /** Runs before each test (e.g. a fresh in-memory network). */
  readonly reset?: () => void;
  /** One node's transport, not started. */
  create(id: NodeId, snapshots: { source?: SnapshotSource; sink?: SnapshotSink }): Transport;
  /** The address peers should use for `t`, once started. */
  addressOf(t: Transport): string;
}

/** A started node with everything its handlers saw. */
export interface TestNode {
  readonly t: Transport;
  readonly inbox: Message[];
  readonly statuses: [NodeId, boolean][];
  readonly unreachable: NodeId[];
}

/** Starts `ids` as a fully meshed cluster, recording what each node receives. */
export async function startCluster(
  h: TransportHarness, ids: readonly NodeId[],
  snapshots: (id: NodeId) => { source?: SnapshotSource; sink?: SnapshotSink } = () => ({}),
  onMessage: (id: NodeId, m: Message) => void = () => undefined,
): Promise<Map<NodeId, TestNode>> {
  const nodes = new Map<NodeId, TestNode>();
  for (const id of ids) {
    const n: TestNode = { t: h.create(id, snapshots(id)), inbox: [], statuses: [], unreachable: [] };
    n.t.onMessage((m) => {
      n.inbox.push(m);
      onMessage(id, m);
    });
    n.t.onSnapshotStatus((to, ok) => n.statuses.push([to, ok]));
    n.t.onUnreachable((p) => n.unreachable.push(p));
    nodes.set(id, n);
  }
  await Promise.all([...nodes.values()].map((n) => n.t.start()));
  const addresses = new Map([...nodes].map(([id, n]) => [id, h.addressOf(n.t)] as const));
  for (const n of nodes.values()) n.t.setPeers(addresses);
  return nodes;
}

function node(nodes: Map<NodeId, TestNode>, id: NodeId): TestNode {
  const n = nodes.get(id);
  if (n === undefined) throw new Error(`no node ${id}`);
  return n;
}

/** Registers the conformance suite for one implementation. */
export function transportConformance(h: TransportHarness): void {
  describe(`transport conformance: ${h.name}`, () => {
    const running: Map<NodeId, TestNode>[] = [];
    const start = async (...args: Parameters<typeof startCluster> extends [unknown, ...infer R] ? R : never) => {
      const nodes = await startCluster(h, ...args);
      running.push(nodes);
      return nodes;
    };
    beforeEach(() => h.reset?.());
    afterEach(async () => {
      for (const nodes of running.splice(0)) await Promise.all([...nodes.values()].map((n) => n.t.stop()));
    });

    it("delivers every message type intact, both ways", async () => {
      const nodes = await start(["a", "b"]);
      node(nodes, "a").t.send(sampleMessages("a", "b"));
      node(nodes, "b").t.send(sampleMessages("b", "a"));
      await waitFor(() => node(nodes, "a").inbox.length === sampleMessages("b", "a").length && node(nodes, "b").inbox.length === sampleMessages("a", "b").length, "both inboxes");
      expect(node(nodes, "b").inbox).toEqual(sampleMessages("a", "b"));
      expect(node(nodes, "a").inbox).toEqual(sampleMessages("b", "a"));
    });

    it("three nodes: every link delivers everything, in order (FIFO per pair)", async () => {
      const ids = ["n1", "n2", "n3"];
      const nodes = await start(ids);
      const perLink = 200;
      for (let seq = 0; seq < perLink; seq++) {
        for (const from of ids) node(nodes, from).t.send(ids.filter((to) => to !== from).map((to) => heartbeat(from, to, seq)));
      }
      await waitFor(() => ids.every((id) => node(nodes, id).inbox.length === 2 * perLink), "all heartbeats");
      for (const to of ids) {
        for (const from of ids.filter((x) => x !== to)) {
          const seqs = node(nodes, to).inbox.filter((m) => m.from === from).map((m) => (m.type === "heartbeat" ? m.readSeq : -1));
          expect(seqs).toEqual([...Array(perLink).keys()]);
        }
      }
      const stats = node(nodes, "n1").t.stats().peers.get("n2");
      expect(stats).toMatchObject({ sent: perLink, received: perLink, dropped: 0, connected: true });
    });

    it("snapshot: the snap message arrives only after the data was committed; the sender hears ok", async () => {
      const data = patternBytes(300_000, 3);
      const sink = new MemorySink();
      const m = meta(50, 2);
      let committedAtDelivery: Uint8Array | undefined;
      const nodes = await start(["a", "b"], (id) => (id === "a" ? { source: new BytesSource(data, 50_000) } : { sink }),
        (_id, msg) => { if (msg.type === "snap") committedAtDelivery = sink.get(msg.snapshot); });
      node(nodes, "a").t.send([snapMessage("a", "b", m), heartbeat("a", "b", 1)]);
      await waitFor(() => node(nodes, "a").statuses.length === 1, "snapshot status");
      expect(node(nodes, "a").statuses).toEqual([["b", true]]);
      expect(node(nodes, "b").inbox.filter((x) => x.type === "snap")).toEqual([snapMessage("a", "b", m)]);
      expectSameBytes(committedAtDelivery, data);
      expect(node(nodes, "b").t.stats().peers.get("a")?.snapshotsReceived).toBe(1);
      expect(node(nodes, "a").t.stats().peers.get("b")?.snapshotsSent).toBe(1);
    });

    it("a message to an unknown peer is dropped, counted and reported unreachable; send never throws", async () => {
      const nodes = await start(["a", "b"]);
      const a = node(nodes, "a");
      expect(() => a.t.send([heartbeat("a", "zz", 1)])).not.toThrow();
      expect(a.t.stats().droppedUnknownPeer).toBe(1);
      await waitFor(() => a.unreachable.includes("zz"), "unreachable report");
    });

    it("setPeers removes a peer: later messages to it are unknown-peer drops", async () => {
      const nodes = await start(["a", "b", "c"]);
      const a = node(nodes, "a");
      a.t.setPeers(new Map([["c", h.addressOf(node(nodes, "c").t)]]));
      a.t.send([heartbeat("a", "b", 1), heartbeat("a", "c", 2)]);
      await waitFor(() => node(nodes, "c").inbox.length === 1, "c's heartbeat");
      expect(a.t.stats().droppedUnknownPeer).toBe(1);
      expect([...a.t.stats().peers.keys()]).toEqual(["c"]);
    });

    it("stop is idempotent; nothing is delivered after it and send after stop does not throw", async () => {
      const nodes = await start(["a", "b"]);
      const a = node(nodes, "a");
      const b = node(nodes, "b");
      a.t.send([heartbeat("a", "b", 1)]);
      await waitFor(() => b.inbox.length === 1, "first heartbeat");
      await b.t.stop();
      await b.t.stop();
      a.t.send([heartbeat("a", "b", 2)]);
      await sleep(50);
      expect(b.inbox.length).toBe(1);
      await a.t.stop();
      expect(() => a.t.send([heartbeat("a", "b", 3)])).not.toThrow();
    });
  });
}
