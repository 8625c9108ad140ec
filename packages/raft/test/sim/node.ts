/**
 * One simulated node: a RaftCore driven the way the real driver drives it
 * (persist, then send, then apply, then advance), a MemoryStorage as its
 * disk, a snapshot store, and a tiny application whose state is a hash chain
 * over applied entries. Crashing drops everything but the disk.
 */
import type { RaftConfig } from "../../src/core/config.ts";
import type { SeededRand } from "../../src/core/rand.ts";
import { SeededRand as Rand } from "../../src/core/rand.ts";
import { RaftCore } from "../../src/core/raft.ts";
import type { ConfState, HardState, Message, NodeId, Ready } from "../../src/core/types.ts";
import { splitMessages } from "../../src/node/message-order.ts";
import { MemoryStorage } from "../../src/storage/memory-storage.ts";
import type { Checker } from "./checker.ts";
import { SimApp } from "./sim-app.ts";
import type { PendingProposal } from "./sim-app.ts";
import type { Envelope, SnapData } from "./network.ts";

export type { PendingProposal } from "./sim-app.ts";

/** Where the driver may crash in the middle of handling a Ready. */
export type CrashPoint = "beforePersist" | "afterPersist" | "afterSend";

/** Callbacks into the cluster. */
export interface NodeHost {
  readonly checker: Checker;
  send(env: Envelope): void;
  acked(node: NodeId, p: PendingProposal): void;
  dropped(node: NodeId, p: PendingProposal): void;
  /** Highest index acknowledged to a client so far. */
  ackedIndex(): number;
  /** Maybe crash at this point (decided by the cluster's PRNG). */
  crashHere(node: NodeId, point: CrashPoint): boolean;
}

/** Simulation knobs for one node. */
export interface SimNodeOptions {
  readonly raft: Omit<Partial<RaftConfig>, "id" | "applied">;
  /** Take a snapshot after this many applied entries. */
  readonly snapshotEvery: number;
  /** Entries kept below the snapshot when compacting. */
  readonly trailingEntries: number;
}

/** A node of the simulated cluster. */
export class SimNode {
  /** Survives crashes: the disk. */
  readonly disk: MemoryStorage;
  /** Survives crashes: snapshot data by index. */
  readonly snapshots = new Map<number, SnapData>();
  /** Hard state at the last fsync; a crash may lose later unsynced writes. */
  private syncedHard: HardState = { term: 0, vote: null, commit: 0 };
  core: RaftCore | undefined;
  private readonly app: SimApp;
  restarts = 0;

  constructor(
    readonly id: NodeId,
    private readonly bootstrap: ConfState,
    private readonly opts: SimNodeOptions,
    private readonly rand: SeededRand,
    private readonly host: NodeHost,
    private readonly coreFaults?: RaftConfig["unsafeFaults"],
  ) {
    this.disk = new MemoryStorage(bootstrap);
    this.app = new SimApp(id, host, bootstrap);
    this.start();
  }

  get alive(): boolean {
    return this.core !== undefined;
  }

  /** (Re)start from disk: the application restores the latest snapshot. */
  start(): void {
    const meta = this.disk.snapshot();
    this.app.load(meta.index, this.snapshots.get(meta.index), meta.conf);
    this.core = new RaftCore(
      { ...this.opts.raft, id: this.id, applied: this.app.index, ...(this.coreFaults ? { unsafeFaults: this.coreFaults } : {}) },
      this.disk,
      new Rand(this.rand.next()),
    );
  }

  /** Lose all volatile state; unsynced writes may be lost too. */
  crash(): void {
    this.core = undefined;
    this.app.crash();
    const hs = this.disk.getHardState();
    if (hs.commit > this.syncedHard.commit && this.rand.chance(0.5)) {
      // The commit index is written without fsync: model losing it.
      this.disk.setHardState({ ...hs, commit: Math.max(this.syncedHard.commit, 0) });
    }
  }

  restart(): void {
    this.restarts++;
    this.start();
  }

  /** Propose one client value; returns false when refused. */
  propose(id: number): boolean {
    const core = this.core;
    if (core === undefined) return false;
    const data = new Uint8Array(8);
    new DataView(data.buffer).setUint32(0, id);
    const r = core.propose([data]);
    if (!r.ok) return false;
    this.app.trackProposal({ id, index: r.firstIndex, term: r.term });
    return true;
  }

  /** Issue a linearizable read. */
  read(): void {
    const core = this.core;
    if (core === undefined) return;
    const ctx = this.app.nextReadCtx();
    if (core.readIndex(ctx).ok) this.app.trackRead(ctx);
  }

  /** Drive the core until it has nothing more to do. */
  drain(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const core = this.core;
      if (core === undefined || !core.hasReady()) return;
      if (!this.handleReady(core, core.ready())) return;
    }
    throw new Error(`${this.id}: ready loop did not settle`);
  }

  /** Returns false when the node crashed part way. */
  private handleReady(core: RaftCore, rd: Ready): boolean {
    // As the real driver: leader messages leave before the write, the rest after it.
    const { early, late } = splitMessages(rd.messages);
    this.sendAll(early);
    if (this.host.crashHere(this.id, "beforePersist")) return false;
    this.persist(rd);
    if (this.host.crashHere(this.id, "afterPersist")) return false;
    this.sendAll(late);
    if (this.host.crashHere(this.id, "afterSend")) return false;
    if (rd.snapshot) this.app.restore(rd.snapshot.index, this.snapshots.get(rd.snapshot.index));
    for (const e of rd.committedEntries) this.app.apply(e);
    for (const rs of rd.readStates) this.app.serveRead(rs.ctx, rs.index);
    if (rd.softState) {
      if (rd.softState.role !== "leader") this.app.failReads();
      if (rd.softState.role === "leader") this.checkNewLeader(core);
    }
    core.advance(rd);
    this.maybeSnapshot(core);
    return true;
  }

  private sendAll(messages: readonly Message[]): void {
    for (const msg of messages) {
      if (msg.type === "snap") {
        const data = this.snapshots.get(msg.snapshot.index);
        if (data === undefined) throw new Error(`${this.id}: sending snapshot ${msg.snapshot.index} without data`);
        this.host.send({ msg, snapshotData: data });
      } else {
        this.host.send({ msg });
      }
    }
  }

  private persist(rd: Ready): void {
    const checker = this.host.checker;
    if (rd.snapshot) this.disk.installSnapshot(rd.snapshot);
    if (rd.entries.length > 0) {
      this.disk.append(rd.entries);
      for (const e of rd.entries) checker.entryPersisted(e, this.disk.term(e.index - 1));
    }
    if (rd.hardState) {
      this.disk.setHardState(rd.hardState);
      checker.hardStatePersisted(this.id, rd.hardState.term, rd.hardState.vote);
    }
    if (rd.mustSync || rd.snapshot) this.syncedHard = this.disk.getHardState();
  }

  private checkNewLeader(core: RaftCore): void {
    const s = core.status();
    this.host.checker.leaderSeen(this.id, s.term);
    this.host.checker.leaderLog(this.id, s.term, (i) => core.log.term(i), core.log.firstIndex(), this.disk.snapshot().index);
  }

  /** Snapshot the application every `snapshotEvery` entries and compact the log. */
  private maybeSnapshot(core: RaftCore): void {
    const last = this.disk.snapshot().index;
    const index = this.app.index;
    if (index - last < this.opts.snapshotEvery || index > this.disk.lastIndex()) return;
    const term = this.disk.term(index);
    if (term === undefined) return;
    this.snapshots.set(index, { index, hash: this.app.hash, conf: this.app.conf, term });
    this.disk.compact({ index, term, conf: this.app.conf }, index - this.opts.trailingEntries + 1);
    for (const i of [...this.snapshots.keys()]) if (i < last) this.snapshots.delete(i);
    void core;
  }

  /** A snapshot arrived over the network: store its data before the core sees the message. */
  receiveSnapshotData(data: SnapData): void {
    if (!this.snapshots.has(data.index)) this.snapshots.set(data.index, data);
  }

  /** Tick and deliver helpers used by the cluster. */
  tick(): void {
    this.core?.tick();
    this.drain();
  }

  appliedIndex(): number {
    return this.app.index;
  }

  /** Client proposals not yet resolved. */
  get pending(): ReadonlyMap<number, PendingProposal> {
    return this.app.pending;
  }

  get snapshotsInstalled(): number {
    return this.app.snapshotsInstalled;
  }

  get readsServed(): number {
    return this.app.readsServed;
  }

  appliedHash(): number {
    return this.app.hash;
  }
}
