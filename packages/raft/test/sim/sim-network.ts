/**
 * The simulated network and each node's Transport on it (the interface the
 * real WebSocket transport implements). Messages take from zero to many
 * election timeouts to arrive (so messages of old terms arrive late), may be
 * lost or duplicated, and partitions decide at delivery time who hears whom.
 * A snapshot is streamed from the sender's snapshot store into the
 * receiver's, re-chunked at a random size per transfer (through the real
 * transport's ChunkReader), chunk by chunk in virtual time; a partition or a
 * crash of either side cuts it off, sometimes leaving a partial transfer to
 * resume. Every message sent and delivered passes the checker's hooks.
 */
import type { SeededRand } from "../../src/core/rand.ts";
import type { Message, NodeId, SnapshotMessage } from "../../src/core/types.ts";
import { ChunkReader } from "../../src/transport/chunk-reader.ts";
import type { PeerStats, SnapshotSink, SnapshotSource, Transport, TransportStats } from "../../src/transport/transport.ts";
import type { NodeClock, VirtualTime } from "./virtual-time.ts";

/** How badly the network behaves right now (delays in true milliseconds). */
export interface NetFaults {
  dropRate: number;
  duplicateRate: number;
  /** A message takes uniform [0, delayMs]… */
  delayMs: number;
  /** …except with this probability, when it takes uniform [0, longDelayMs] (many election timeouts). */
  longDelayChance: number;
  longDelayMs: number;
}

/** A network that delivers everything within a millisecond or two. */
export const CALM_NETWORK: NetFaults = { dropRate: 0, duplicateRate: 0, delayMs: 2, longDelayChance: 0, longDelayMs: 0 };

/** What watches the network: the checker's hooks. */
export interface NetworkMonitor {
  /** A node hands `m` to its transport (before any loss): promises carried by `m` must already hold. */
  sent(m: Message): void;
  /** `m` reaches its target's running driver. */
  delivered(m: Message): void;
  /** The receiver's application refused the snapshot `m` streamed (SNAPSHOT_INVALID). */
  invalidSnapshot(m: SnapshotMessage, err: unknown): void;
}

/** Snapshot streaming settings. */
export interface SnapshotStreaming {
  /** Each transfer re-chunks the stream at a size drawn uniformly from [1, chunkBytesMax]. */
  chunkBytesMax: number;
  /** A chunk of 16 KiB or more takes uniform [0, chunkDelayMs] of true time; smaller ones proportionally less. */
  chunkDelayMs: number;
}

/** Network counters. */
export interface NetStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  lateDeliveries: number;
  snapshotsStarted: number;
  snapshotsDelivered: number;
  snapshotsFailed: number;
}

const linkKey = (from: NodeId, to: NodeId): string => `${from}>${to}`;

/** The network between the simulated nodes. */
export class SimNetwork {
  faults: NetFaults = { ...CALM_NETWORK };
  /** Sees every message put on the wire; may replace it, or drop it (undefined). Scenario tests' targeted faults. */
  intercept: ((m: Message) => Message | undefined) | undefined;
  /** Snapshots delivered to each node. */
  readonly snapshotsTo = new Map<NodeId, number>();
  private readonly blocked = new Set<string>();
  private readonly endpoints = new Map<NodeId, SimTransport>();
  inFlight = 0;
  readonly stats: NetStats = {
    sent: 0, delivered: 0, dropped: 0, duplicated: 0, lateDeliveries: 0, snapshotsStarted: 0, snapshotsDelivered: 0, snapshotsFailed: 0,
  };

  constructor(
    readonly time: VirtualTime,
    private readonly rand: SeededRand,
    readonly monitor: NetworkMonitor,
    readonly streaming: SnapshotStreaming,
    /** Messages from one node in flight at once; more are dropped (a transport's bounded queue). */
    readonly inFlightMax = 20_000,
  ) {}

  /** Creates the transport of a (re)started node; it replaces any earlier incarnation's. */
  attach(id: NodeId, clock: NodeClock, sink: SnapshotSink, source: SnapshotSource): SimTransport {
    const t = new SimTransport(this, id, clock, sink, source);
    this.endpoints.set(id, t);
    return t;
  }

  /** The running transport of `id`, if its node is up. */
  endpoint(id: NodeId): SimTransport | undefined {
    const t = this.endpoints.get(id);
    return t?.running === true ? t : undefined;
  }

  /** Blocks traffic between the groups (both ways), on top of earlier blocks. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) for (const y of b) {
      this.blocked.add(linkKey(x, y));
      this.blocked.add(linkKey(y, x));
    }
  }

  /** Blocks one direction of one link. */
  block(from: NodeId, to: NodeId): void {
    this.blocked.add(linkKey(from, to));
  }

  heal(): void {
    this.blocked.clear();
  }

  /** True when no partition blocks `from` → `to`. */
  canReach(from: NodeId, to: NodeId): boolean {
    return this.blocked.size === 0 || !this.blocked.has(linkKey(from, to));
  }

  /** True when nothing is blocked. */
  get healed(): boolean {
    return this.blocked.size === 0;
  }

  /** @internal Puts `m` on the wire: lost, delivered once, or twice, after a random delay. */
  post(sent: Message): void {
    this.stats.sent++;
    const m = this.intercept === undefined ? sent : this.intercept(sent);
    if (m === undefined) {
      this.stats.dropped++;
      return;
    }
    if (!this.canReach(m.from, m.to) || this.inFlight >= this.inFlightMax || this.rand.chance(this.faults.dropRate)) {
      this.stats.dropped++;
      return;
    }
    this.schedule(m);
    if (this.rand.chance(this.faults.duplicateRate)) {
      this.stats.duplicated++;
      this.schedule(m);
    }
  }

  private schedule(m: Message): void {
    const f = this.faults;
    const long = f.longDelayChance > 0 && this.rand.chance(f.longDelayChance);
    if (long) this.stats.lateDeliveries++;
    const delay = this.rand.float() * (long ? f.longDelayMs : f.delayMs);
    this.inFlight++;
    this.time.after(delay, () => {
      this.inFlight--;
      this.deliver(m);
    });
  }

  /** @internal Hands `m` to its target if the link is open and the target is up. */
  deliver(m: Message): void {
    const target = this.endpoint(m.to);
    if (target === undefined || !this.canReach(m.from, m.to)) {
      this.stats.dropped++;
      return;
    }
    this.stats.delivered++;
    this.monitor.delivered(m);
    target.receive(m);
  }

  /** @internal A random delay for one snapshot chunk of `bytes` (time grows with size: a tiny chunk is not a round trip). */
  chunkDelay(bytes: number): number {
    return this.rand.float() * this.streaming.chunkDelayMs * Math.min(1, bytes / 16384);
  }

  /** @internal A random re-chunking size for one transfer. */
  chunkSize(): number {
    return 1 + this.rand.int(this.streaming.chunkBytesMax);
  }

  /** @internal True with probability p (the network's own random choices). */
  chance(p: number): boolean {
    return this.rand.chance(p);
  }
}

/** One node incarnation's Transport on the simulated network. */
export class SimTransport implements Transport {
  running = false;
  private stopped = false;
  private messageHandler: ((m: Message) => void) | undefined;
  private snapshotHandler: ((to: NodeId, ok: boolean) => void) | undefined;
  private unreachableHandler: ((peer: NodeId) => void) | undefined;
  /** Called once at the next send, before anything leaves (a crash point). */
  onNextSend: (() => void) | undefined;
  /** Transfers in progress by target; a newer one for the same target replaces the entry. */
  private readonly outgoing = new Map<NodeId, SnapshotMessage>();

  constructor(
    private readonly net: SimNetwork,
    readonly id: NodeId,
    private readonly clock: NodeClock,
    /** Where snapshots sent to this node are written. */
    readonly sink: SnapshotSink,
    private readonly source: SnapshotSource,
  ) {}

  send(messages: readonly Message[]): void {
    const hook = this.onNextSend;
    this.onNextSend = undefined;
    hook?.();
    if (!this.running || this.clock.dead) return;
    for (const m of messages) {
      this.net.monitor.sent(m);
      if (m.type === "snap") {
        const kept = this.net.intercept === undefined ? m : this.net.intercept(m);
        if (kept?.type === "snap") this.startSnapshot(kept);
        else this.clock.defer(() => this.running && this.snapshotHandler?.(m.to, false)); // lost: the transport reports it
      } else {
        if (!this.net.canReach(m.from, m.to)) this.reportUnreachable(m.to);
        this.net.post(m);
      }
    }
  }

  onMessage(handler: (m: Message) => void): void {
    this.messageHandler = handler;
  }

  onSnapshotStatus(handler: (to: NodeId, ok: boolean) => void): void {
    this.snapshotHandler = handler;
  }

  onUnreachable(handler: (peer: NodeId) => void): void {
    this.unreachableHandler = handler;
  }

  /** Every simulated node is reachable by id; addresses do not matter here. */
  setPeers(_peers: ReadonlyMap<NodeId, string>): void {}

  async start(): Promise<void> {
    this.running = !this.stopped;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    this.outgoing.clear();
  }

  stats(): TransportStats {
    return { peers: new Map<NodeId, PeerStats>(), authFailures: 0, unattributedBadFrames: 0, droppedUnknownPeer: 0 };
  }

  /** @internal The network delivers `m`. */
  receive(m: Message): void {
    if (this.running && !this.clock.dead) this.messageHandler?.(m);
  }

  private reportUnreachable(peer: NodeId): void {
    this.clock.defer(() => {
      if (this.running) this.unreachableHandler?.(peer);
    });
  }

  private startSnapshot(m: SnapshotMessage): void {
    const cur = this.outgoing.get(m.to);
    if (cur !== undefined && cur.snapshot.index === m.snapshot.index && cur.snapshot.term === m.snapshot.term) return;
    this.outgoing.set(m.to, m);
    this.net.stats.snapshotsStarted++;
    this.clock.defer(() => void this.transfer(m));
  }

  /**
   * Streams the snapshot into the receiver's store chunk by chunk, then
   * delivers `m` to it. The transfer dies with the sender (its clock stops);
   * a cut link or a receiver restart abandons it, keeping the partial data
   * half the time so the next attempt resumes.
   */
  private async transfer(m: SnapshotMessage): Promise<void> {
    const target = this.net.endpoint(m.to);
    const live = (): boolean => this.running && this.outgoing.get(m.to) === m && this.net.canReach(m.from, m.to) &&
      target !== undefined && this.net.endpoint(m.to) === target;
    let ok = false;
    if (target !== undefined && live()) {
      let writer: Awaited<ReturnType<SnapshotSink["begin"]>> | undefined;
      let reader: ChunkReader | undefined;
      try {
        writer = await target.sink.begin(m.snapshot, m.from);
        reader = new ChunkReader(this.source.open(m.snapshot), this.net.chunkSize(), writer.receivedBytes);
        for (let done = false; !done;) {
          const chunk = await reader.next();
          await this.clock.sleep(this.net.chunkDelay(chunk.data.byteLength));
          if (!live()) throw new Error("cut off");
          if (chunk.data.byteLength > 0) await writer.write(chunk.data);
          done = chunk.done;
        }
        if (!live()) throw new Error("cut off");
        await writer.commit();
        ok = live();
      } catch (e) {
        // A snapshot the leader sent that the receiver's application refuses is a bug, not a fault.
        if ((e as { code?: string }).code === "SNAPSHOT_INVALID") this.net.monitor.invalidSnapshot(m, e);
        await reader?.close().catch(() => undefined);
        // Half the time the receiver keeps what it got, and a later attempt resumes from there.
        if (writer !== undefined && this.net.chance(0.5)) await writer.abort().catch(() => undefined);
      }
    }
    if (this.outgoing.get(m.to) !== m) return; // replaced or stopped: no report
    this.outgoing.delete(m.to);
    if (ok) {
      this.net.stats.snapshotsDelivered++;
      this.net.snapshotsTo.set(m.to, (this.net.snapshotsTo.get(m.to) ?? 0) + 1);
      this.net.deliver(m);
    } else {
      this.net.stats.snapshotsFailed++;
    }
    if (this.running) this.snapshotHandler?.(m.to, ok);
  }
}
