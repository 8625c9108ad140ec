/**
 * One simulated node whose disk is LevelDB: the SimNode of node.ts with the
 * persist step made asynchronous (a real LevelStorage batch, awaited, as the
 * driver does) and crashes that close and reopen the database. Crash points
 * include the gap between a batch write and its fsync: the batch either
 * reached the disk or did not, and nothing it promised was sent. Unsynced
 * writes go through PowerLossStorage, so a power cut may lose them.
 */
import type { SeededRand } from "../../src/core/rand.ts";
import { SeededRand as Rand } from "../../src/core/rand.ts";
import { RaftCore } from "../../src/core/raft.ts";
import type { ConfState, Message, NodeId, Ready } from "../../src/core/types.ts";
import { splitMessages } from "../../src/node/message-order.ts";
import type { MemoryStorage } from "../../src/storage/memory-storage.ts";
import type { Checker } from "./checker.ts";
import type { Envelope, SnapData } from "./network.ts";
import type { SimNodeOptions } from "./node.ts";
import { SimApp } from "./sim-app.ts";
import type { PendingProposal } from "./sim-app.ts";
import { PowerLossStorage } from "./power-loss-storage.ts";

/** Where a node may crash while handling a Ready. */
export type LevelCrashPoint = "beforePersist" | "beforeSync" | "afterPersist" | "afterSend";

/** How a node goes down: a process crash keeps the page cache, a power cut loses it. */
export type CrashKind = "process" | "power";

/** Callbacks into the cluster. */
export interface LevelNodeHost {
  readonly checker: Checker;
  send(env: Envelope): void;
  acked(node: NodeId, p: PendingProposal): void;
  dropped(node: NodeId, p: PendingProposal): void;
  ackedIndex(): number;
  /** How to crash at this point, or null to carry on (decided by the cluster's PRNG). */
  crashHere(node: NodeId, point: LevelCrashPoint): CrashKind | null;
}

/** A simulated node persisting through LevelDB in `dir`. */
export class LevelSimNode {
  /** Survives crashes: snapshot data by index (the snapshot store is not under test here). */
  readonly snapshots = new Map<number, SnapData>();
  /** Survives crashes: exactly what reached LevelDB, checked against what a restart recovers. */
  private durable: MemoryStorage | undefined;
  storage: PowerLossStorage | undefined;
  core: RaftCore | undefined;
  private readonly app: SimApp;
  restarts = 0;
  lostWrites = 0;

  constructor(
    readonly id: NodeId,
    readonly dir: string,
    private readonly bootstrap: ConfState,
    private readonly opts: SimNodeOptions,
    private readonly rand: SeededRand,
    private readonly host: LevelNodeHost,
    /**
     * Test-only fault: send everything (acks and votes too) before the batch
     * is durable, the bug behind lost acknowledged writes. The simulator
     * must catch it.
     */
    private readonly unsafeSendBeforePersist = false,
  ) {
    this.app = new SimApp(id, host, bootstrap);
  }

  get alive(): boolean {
    return this.core !== undefined;
  }

  /** (Re)start from LevelDB: recovery must match what was persisted; the application restores the latest snapshot. */
  async start(): Promise<void> {
    const storage = await PowerLossStorage.open(this.dir, this.id, this.bootstrap, this.durable);
    this.storage = storage;
    this.durable = storage.durable;
    const meta = storage.snapshot();
    this.app.load(meta.index, this.snapshots.get(meta.index), meta.conf);
    this.core = new RaftCore({ ...this.opts.raft, id: this.id, applied: this.app.index }, storage, new Rand(this.rand.next()));
  }

  /** Lose all volatile state and close LevelDB; a power cut also loses unsynced writes. */
  async crash(kind: CrashKind): Promise<void> {
    const storage = this.storage;
    if (this.core === undefined || storage === undefined) return;
    this.core = undefined;
    this.storage = undefined;
    this.app.crash();
    if (kind === "power") await storage.powerCut();
    else await storage.processCrash();
    this.lostWrites += storage.lostWrites;
  }

  async restart(): Promise<void> {
    this.restarts++;
    await this.start();
  }

  /** The OS flushes this node's page cache. */
  async writeback(): Promise<void> {
    await this.storage?.writeback();
  }

  /** Propose one client value; false when refused. */
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

  /** Drive the core until it has nothing more to do (or the node crashed). */
  async drain(): Promise<void> {
    for (let guard = 0; guard < 10_000; guard++) {
      const core = this.core;
      if (core === undefined || !core.hasReady()) return;
      if (!(await this.handleReady(core, core.ready()))) return;
    }
    throw new Error(`${this.id}: ready loop did not settle`);
  }

  /**
   * Send the leader's own messages, persist, send acks and votes, apply,
   * advance — the real driver's order (message-order.ts: a leader's appends
   * leave in parallel with its fsync, thesis §10.2.1). False when the node
   * crashed part way.
   */
  private async handleReady(core: RaftCore, rd: Ready): Promise<boolean> {
    if (this.unsafeSendBeforePersist) {
      this.sendAll(rd.messages);
      if (!(await this.persist(rd))) return false;
    } else {
      const { early, late } = splitMessages(rd.messages);
      this.sendAll(early);
      if (await this.maybeCrash("beforePersist")) return false;
      if (!(await this.persist(rd))) return false;
      if (await this.maybeCrash("afterPersist")) return false;
      this.sendAll(late);
    }
    if (await this.maybeCrash("afterSend")) return false;
    if (rd.snapshot) this.app.restore(rd.snapshot.index, this.snapshots.get(rd.snapshot.index));
    for (const e of rd.committedEntries) this.app.apply(e);
    for (const rs of rd.readStates) this.app.serveRead(rs.ctx, rs.index);
    if (rd.softState?.role === "leader") this.checkNewLeader(core);
    else if (rd.softState) this.app.failReads();
    core.advance(rd);
    await this.maybeSnapshot();
    return true;
  }

  private sendAll(messages: readonly Message[]): void {
    for (const msg of messages) {
      if (msg.type !== "snap") {
        this.host.send({ msg });
        continue;
      }
      const data = this.snapshots.get(msg.snapshot.index);
      if (data === undefined) throw new Error(`${this.id}: sending snapshot ${msg.snapshot.index} without data`);
      this.host.send({ msg, snapshotData: data });
    }
  }

  /**
   * One batch to LevelDB. At the `beforeSync` crash point the batch was
   * written but the power failed before fsync finished: it either made it
   * to the disk or not, and the node never got to send anything.
   */
  private async persist(rd: Ready): Promise<boolean> {
    const storage = this.storage;
    if (storage === undefined) return false;
    if (rd.snapshot === undefined && rd.entries.length === 0 && rd.hardState === undefined) return true;
    const update = { ...(rd.snapshot ? { snapshot: rd.snapshot } : {}), entries: rd.entries, ...(rd.hardState ? { hardState: rd.hardState } : {}) };
    const crash = rd.mustSync ? this.host.crashHere(this.id, "beforeSync") : null;
    if (crash === null || this.rand.chance(0.5)) {
      await storage.write(update, { sync: rd.mustSync });
      this.recordPersisted(rd);
    }
    if (crash === null) return true;
    await this.crash("power");
    return false;
  }

  private recordPersisted(rd: Ready): void {
    const checker = this.host.checker;
    for (const e of rd.entries) checker.entryPersisted(e, this.storage?.term(e.index - 1));
    if (rd.hardState) checker.hardStatePersisted(this.id, rd.hardState.term, rd.hardState.vote);
  }

  private async maybeCrash(point: LevelCrashPoint): Promise<boolean> {
    const kind = this.host.crashHere(this.id, point);
    if (kind === null) return false;
    await this.crash(kind);
    return true;
  }



  private checkNewLeader(core: RaftCore): void {
    const s = core.status();
    this.host.checker.leaderSeen(this.id, s.term);
    this.host.checker.leaderLog(this.id, s.term, (i) => core.log.term(i), core.log.firstIndex(), this.storage?.snapshot().index ?? 0);
  }

  /** Snapshot the application every `snapshotEvery` entries and compact the LevelDB log. */
  private async maybeSnapshot(): Promise<void> {
    const storage = this.storage;
    if (storage === undefined) return;
    const last = storage.snapshot().index;
    const index = this.app.index;
    if (index - last < this.opts.snapshotEvery || index > storage.lastIndex()) return;
    const term = storage.term(index);
    if (term === undefined) return;
    this.snapshots.set(index, { index, hash: this.app.hash, conf: this.app.conf, term });
    await storage.compact({ index, term, conf: this.app.conf }, index - this.opts.trailingEntries + 1);
    for (const i of [...this.snapshots.keys()]) if (i < last) this.snapshots.delete(i);
  }

  /** A snapshot arrived over the network: store its data before the core sees the message. */
  receiveSnapshotData(data: SnapData): void {
    if (!this.snapshots.has(data.index)) this.snapshots.set(data.index, data);
  }

  async tick(): Promise<void> {
    this.core?.tick();
    await this.drain();
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
