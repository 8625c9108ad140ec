/**
 * An in-process network for driver tests and the simulator: MemoryNetwork is
 * the hub, each node gets a MemoryTransport implementing the same Transport
 * contract as WsTransport (same conformance suite). Delivery is always
 * asynchronous (through `schedule`, setImmediate by default) and FIFO per
 * link; drops and partitions are controlled by the test, with an injected
 * random source so a seeded run replays exactly.
 *
 * Differences from WsTransport, on purpose: nothing is encoded (messages are
 * passed by reference: callers must treat them as immutable), an unreachable
 * peer's messages are dropped at once instead of queued, and a snapshot
 * transfer cut by a partition is abandoned (status false) instead of resumed.
 */
import { assert } from "../core/assert.ts";
import type { Message, NodeId, SnapshotMessage } from "../core/types.ts";
import { ChunkReader } from "./chunk-reader.ts";
import { SnapshotError, TransportConfigError } from "./errors.ts";
import type { PeerStats, SnapshotSink, SnapshotSource, Transport, TransportStats } from "./transport.ts";

/** Options of a {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** Uniform random in [0, 1) for drop decisions; pass a seeded one in simulations. Default Math.random. */
  readonly random?: () => number;
  /** Probability that a Raft message (not a snapshot) is lost. Default 0. */
  readonly dropRate?: number;
  /** Messages in flight per directed link; more are dropped (the memory analogue of queueMessagesMax). Default 4096. */
  readonly queueMessagesMax?: number;
  /** Runs a delivery later; must preserve call order. Default setImmediate. */
  readonly schedule?: (fn: () => void) => void;
}

/** Options of one node's {@link MemoryTransport}. */
export interface MemoryTransportOptions {
  /** Where outgoing snapshot data comes from; required to send `snap` messages. */
  readonly snapshotSource?: SnapshotSource;
  /** Where incoming snapshot data goes; without it, snapshots sent to this node fail. */
  readonly snapshotSink?: SnapshotSink;
  /** Bytes per SnapshotWriter.write call. Default 256 KiB. */
  readonly snapshotChunkBytes?: number;
  /** Non-fatal errors (snapshot source/sink failures), for logs. Default: ignored. */
  readonly onError?: (error: Error) => void;
}

const linkKey = (from: NodeId, to: NodeId): string => `${from}\u0000${to}`;

/** The hub connecting MemoryTransports, with fault controls for tests. */
export class MemoryNetwork {
  private readonly nodes = new Map<NodeId, MemoryTransport>();
  private readonly blocked = new Set<string>();
  private readonly isolated = new Set<NodeId>();
  private readonly inflight = new Map<string, number>();
  private dropRate: number;
  /** Drop decisions come from here. */
  readonly random: () => number;
  /** Per-link in-flight message limit. */
  readonly queueMessagesMax: number;
  /** Delivery scheduler. */
  readonly schedule: (fn: () => void) => void;

  /** Validates options (TransportConfigError). */
  constructor(options: MemoryNetworkOptions = {}) {
    this.random = options.random ?? Math.random;
    this.queueMessagesMax = options.queueMessagesMax ?? 4096;
    this.schedule = options.schedule ?? ((fn) => setImmediate(fn));
    this.dropRate = 0;
    this.setDropRate(options.dropRate ?? 0);
    if (!Number.isSafeInteger(this.queueMessagesMax) || this.queueMessagesMax < 1) {
      throw new TransportConfigError("queueMessagesMax must be a positive integer");
    }
  }

  /** Creates the transport of node `nodeId` (one per id at a time; a stopped one may be replaced). */
  createTransport(nodeId: NodeId, options: MemoryTransportOptions = {}): MemoryTransport {
    const existing = this.nodes.get(nodeId);
    assert(existing === undefined || existing.isStopped, () => `node ${nodeId} already has a live transport`);
    const t = new MemoryTransport(this, nodeId, options);
    this.nodes.set(nodeId, t);
    return t;
  }

  /** Sets the probability in [0, 1] that a Raft message is lost. */
  setDropRate(p: number): void {
    if (!(p >= 0 && p <= 1)) throw new TransportConfigError(`dropRate must be in [0, 1], got ${p}`);
    this.dropRate = p;
  }

  /** Cuts the network into groups: nodes in different groups cannot talk. Replaces earlier partitions. */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    this.blocked.clear();
    for (const [i, a] of groups.entries()) {
      for (const [j, b] of groups.entries()) {
        if (i === j) continue;
        for (const x of a) for (const y of b) this.blocked.add(linkKey(x, y));
      }
    }
  }

  /** Cuts one direction of one link. */
  block(from: NodeId, to: NodeId): void {
    this.blocked.add(linkKey(from, to));
  }

  /** Cuts `node` off from everyone, both ways. */
  isolate(node: NodeId): void {
    this.isolated.add(node);
  }

  /** Removes every partition, block and isolation (not the drop rate). */
  heal(): void {
    this.blocked.clear();
    this.isolated.clear();
  }

  /** True when a message from `from` would reach a running `to` right now. */
  canReach(from: NodeId, to: NodeId): boolean {
    const target = this.nodes.get(to);
    return target !== undefined && target.isRunning && !this.isolated.has(from) && !this.isolated.has(to)
      && !this.blocked.has(linkKey(from, to));
  }

  /** @internal The running transport of `id`, if any. */
  node(id: NodeId): MemoryTransport | undefined {
    return this.nodes.get(id);
  }

  /** @internal Sends one Raft message; false when dropped (limit, loss or unreachable). */
  post(m: Message): boolean {
    if (!this.canReach(m.from, m.to)) return false;
    const key = linkKey(m.from, m.to);
    const n = this.inflight.get(key) ?? 0;
    if (n >= this.queueMessagesMax) return false;
    if (this.dropRate > 0 && this.random() < this.dropRate) return false;
    this.inflight.set(key, n + 1);
    this.schedule(() => {
      this.inflight.set(key, (this.inflight.get(key) ?? 1) - 1);
      // A partition or crash while in flight loses the message, as on a real network.
      if (this.canReach(m.from, m.to)) this.nodes.get(m.to)?.receive(m);
    });
    return true;
  }

  /** @internal Messages in flight on a link. */
  inflightOn(from: NodeId, to: NodeId): number {
    return this.inflight.get(linkKey(from, to)) ?? 0;
  }
}

type Counter = "dropped" | "sent" | "received" | "snapshotsSent" | "snapshotsFailed" | "snapshotsReceived";

/** One node's endpoint on a {@link MemoryNetwork}. Create it with MemoryNetwork.createTransport. */
export class MemoryTransport implements Transport {
  private state: "new" | "running" | "stopped" = "new";
  private peers = new Map<NodeId, string>();
  private readonly counts = new Map<NodeId, Record<Counter, number>>();
  private readonly unreachableReported = new Set<NodeId>();
  /** Outgoing snapshot transfers by peer; a newer one replaces the entry and the old one stops at its next step. */
  private readonly outgoing = new Map<NodeId, SnapshotMessage>();
  private droppedUnknownPeer = 0;
  private messageHandler: ((m: Message) => void) | null = null;
  private snapshotHandler: ((to: NodeId, ok: boolean) => void) | null = null;
  private unreachableHandler: ((peer: NodeId) => void) | null = null;
  private readonly chunkBytes: number;

  /** @internal Use MemoryNetwork.createTransport. */
  constructor(private readonly net: MemoryNetwork, readonly nodeId: NodeId, private readonly o: MemoryTransportOptions) {
    this.chunkBytes = o.snapshotChunkBytes ?? 256 * 1024;
    if (!Number.isSafeInteger(this.chunkBytes) || this.chunkBytes < 1) {
      throw new TransportConfigError("snapshotChunkBytes must be a positive integer");
    }
  }

  /** True between start() and stop(). */
  get isRunning(): boolean {
    return this.state === "running";
  }

  /** True after stop(). */
  get isStopped(): boolean {
    return this.state === "stopped";
  }

  /** {@inheritDoc Transport.send} */
  send(messages: readonly Message[]): void {
    for (const m of messages) {
      assert(m.from === this.nodeId, () => `message from ${m.from} sent through ${this.nodeId}'s transport`);
      assert(m.to !== this.nodeId, "a node never sends to itself");
      if (this.state !== "running") return;
      if (!this.peers.has(m.to)) {
        this.droppedUnknownPeer++;
        this.reportUnreachable(m.to);
      } else if (m.type === "snap") {
        this.startSnapshot(m);
      } else if (this.net.post(m)) {
        this.count(m.to, "sent");
        this.unreachableReported.delete(m.to);
      } else {
        this.count(m.to, "dropped");
        if (!this.net.canReach(this.nodeId, m.to) && !this.unreachableReported.has(m.to)) {
          this.unreachableReported.add(m.to);
          this.reportUnreachable(m.to);
        }
      }
    }
  }

  /** {@inheritDoc Transport.onMessage} */
  onMessage(handler: (m: Message) => void): void {
    this.messageHandler = handler;
  }

  /** {@inheritDoc Transport.onSnapshotStatus} */
  onSnapshotStatus(handler: (to: NodeId, ok: boolean) => void): void {
    this.snapshotHandler = handler;
  }

  /** {@inheritDoc Transport.onUnreachable} */
  onUnreachable(handler: (peer: NodeId) => void): void {
    this.unreachableHandler = handler;
  }

  /** {@inheritDoc Transport.setPeers} Addresses are ignored; only the ids matter. */
  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    this.peers = new Map([...peers].filter(([id]) => id !== this.nodeId));
    for (const id of this.outgoing.keys()) if (!this.peers.has(id)) this.outgoing.delete(id);
  }

  /** {@inheritDoc Transport.start} */
  async start(): Promise<void> {
    assert(this.state === "new", "start() is called once");
    assert(this.messageHandler !== null, "register onMessage() before start()");
    this.state = "running";
  }

  /** {@inheritDoc Transport.stop} */
  async stop(): Promise<void> {
    this.state = "stopped";
    this.outgoing.clear();
  }

  /** {@inheritDoc Transport.stats} */
  stats(): TransportStats {
    const peers = new Map<NodeId, PeerStats>();
    for (const id of this.peers.keys()) {
      const c = this.counters(id);
      peers.set(id, {
        ...c, connected: this.net.canReach(this.nodeId, id), queuedMessages: this.net.inflightOn(this.nodeId, id),
        queuedBytes: 0, malformedFrames: 0, oversizedFrames: 0, reconnects: 0,
      });
    }
    return { peers, authFailures: 0, unattributedBadFrames: 0, droppedUnknownPeer: this.droppedUnknownPeer };
  }

  /** @internal Called by the network on delivery. */
  receive(m: Message): void {
    if (this.state !== "running") return;
    this.count(m.from, "received");
    this.messageHandler?.(m);
  }

  private startSnapshot(m: SnapshotMessage): void {
    assert(this.o.snapshotSource !== undefined, "a snap message was sent but the transport has no snapshotSource");
    const cur = this.outgoing.get(m.to);
    if (cur !== undefined && cur.snapshot.index === m.snapshot.index && cur.snapshot.term === m.snapshot.term) return;
    this.outgoing.set(m.to, m);
    this.net.schedule(() => void this.transfer(m, this.o.snapshotSource as SnapshotSource));
  }

  /** Streams the snapshot straight into the receiver's sink, then delivers `m`. */
  private async transfer(m: SnapshotMessage, source: SnapshotSource): Promise<void> {
    const live = (): boolean => this.outgoing.get(m.to) === m && this.net.canReach(m.from, m.to);
    const sink = this.net.node(m.to)?.o.snapshotSink;
    let ok = false;
    try {
      if (sink === undefined) throw new SnapshotError(`${m.to} has no snapshotSink`);
      if (!live()) throw new SnapshotError(`${m.to} is unreachable`);
      const writer = await sink.begin(m.snapshot, m.from);
      const reader = new ChunkReader(source.open(m.snapshot), this.chunkBytes, writer.receivedBytes);
      try {
        for (let done = false; !done;) {
          const chunk = await reader.next();
          if (!live()) throw new SnapshotError(`snapshot ${m.snapshot.index} to ${m.to} cut off`);
          if (chunk.data.byteLength > 0) await writer.write(chunk.data);
          done = chunk.done;
        }
        await writer.commit();
      } catch (e) {
        // The transfer failed with `e`; errors while cleaning up are secondary and reported too.
        await reader.close().catch((ce: unknown) => this.o.onError?.(ce instanceof Error ? ce : new SnapshotError(String(ce))));
        await writer.abort();
        throw e;
      }
      ok = live();
    } catch (e) {
      this.o.onError?.(e instanceof Error ? e : new SnapshotError(String(e)));
    }
    if (this.outgoing.get(m.to) !== m) return; // replaced or stopped: no report
    const target = this.net.node(m.to);
    if (ok && target !== undefined) {
      // Outside the try: a throwing handler is a driver bug and must crash, not read as a failed transfer.
      target.counters(m.from).snapshotsReceived++;
      target.receive(m);
    }
    this.outgoing.delete(m.to);
    this.count(m.to, ok ? "snapshotsSent" : "snapshotsFailed");
    this.snapshotHandler?.(m.to, ok);
  }

  private reportUnreachable(id: NodeId): void {
    this.net.schedule(() => {
      if (this.state === "running") this.unreachableHandler?.(id);
    });
  }

  private count(peer: NodeId, c: Counter): void {
    this.counters(peer)[c]++;
  }

  private counters(peer: NodeId): Record<Counter, number> {
    let c = this.counts.get(peer);
    if (c === undefined) {
      c = { dropped: 0, sent: 0, received: 0, snapshotsSent: 0, snapshotsFailed: 0, snapshotsReceived: 0 };
      this.counts.set(peer, c);
    }
    return c;
  }
}
