/**
 * The driver of one Raft node: it owns the timer, the disk and the network
 * and feeds the pure core. Each turn it takes the core's Ready and does, in
 * this order: persist (one atomic batch, fsync'd when the Ready says so),
 * send, apply, advance (etcd-io/raft's node.go contract). Proposals that
 * arrive while a turn is busy queue up and go into the next turn as one
 * append — group commit: one fsync covers many proposals.
 */
import { assert } from "../core/assert.ts";
import type { RaftConfig } from "../core/config.ts";
import { decodeConfEntry } from "../core/membership.ts";
import type { Rand } from "../core/rand.ts";
import { SeededRand } from "../core/rand.ts";
import type { RaftStatus } from "../core/raft.ts";
import { RaftCore } from "../core/raft.ts";
import type { ConfChange, ConfState, Entry, NodeId, Ready, SoftState } from "../core/types.ts";
import type { StorageUpdate } from "../core/storage.ts";
import { entrySize } from "../core/storage.ts";
import { REBUILD_HINT, StorageCorruptError } from "../storage/errors.ts";
import type { WritableStorage } from "../storage/level-storage.ts";
import type { SnapshotStore } from "../storage/snapshot-store.ts";
import type { Transport } from "../transport/transport.ts";
import type { Logger } from "../logging.ts";
import { silentLogger } from "../logging.ts";
import { RaftError } from "./errors.ts";
import { splitMessages } from "./message-order.ts";
import type { Scheduler } from "./scheduler.ts";
import { systemScheduler } from "./scheduler.ts";
import type { StateMachine } from "./state-machine.ts";
import type { TimerHandle } from "../transport/clock.ts";
import { unsafe } from "../unsafe.ts";

/** Everything a RaftNode needs; all limits have defaults. */
export interface RaftNodeOptions<R> {
  readonly id: NodeId;
  readonly storage: WritableStorage;
  readonly snapshots: SnapshotStore;
  readonly transport: Transport;
  readonly stateMachine: StateMachine<R>;
  /** Core tunables (election/heartbeat ticks, batching and in-flight limits). */
  readonly raft?: Omit<Partial<RaftConfig>, "id" | "applied">;
  /** Length of one tick. Default 50 ms (so the default election timeout is 0.5–1 s). */
  readonly tickMs?: number;
  /** Take a snapshot after this many applied entries. Default 10,000. */
  readonly snapshotEntries?: number;
  /**
   * Also take one once the entries applied since the last snapshot hold this
   * many bytes. Default 64 MiB. The log between snapshots is held in memory
   * (the storage's mirror), so a count alone would not bound it: 10,000
   * entries of 1 MiB publishes are 10 GB.
   */
  readonly snapshotBytes?: number;
  /** Entries kept below a snapshot for slightly lagging followers. Default 1,000. */
  readonly trailingEntries?: number;
  /** ...and at most this many bytes of them. Default 16 MiB. */
  readonly trailingBytes?: number;
  /** A proposal without outcome after this long fails with TIMEOUT. Default 10 s. */
  readonly proposalTimeoutMs?: number;
  /** Most proposals waiting for the next turn; more are refused (backpressure). Default 65,536. */
  readonly proposalQueueMax?: number;
  /** A leader whose disk write takes longer than this steps down. Default 5 s. */
  readonly storageStallMs?: number;
  readonly rand?: Rand;
  /** The `raft` component logger (silent by default). */
  readonly logger?: Logger;
  /** Timers and the clock. Default: the real ones; the simulator passes virtual time. */
  readonly scheduler?: Scheduler;
  /** Timings for metrics (histograms); optional. */
  readonly observer?: RaftObserver;
}

/**
 * Timings the driver reports as they happen, for latency histograms. The
 * counters live in {@link RaftNodeStats}; this is only what a counter
 * cannot carry. Implementations must be cheap and must not throw.
 */
export interface RaftObserver {
  /** One storage write of a Ready: its duration, whether it was fsync'd, how many entries it carried. */
  storageWrite(seconds: number, synced: boolean, entries: number): void;
  /** One append batch (group commit) of `size` proposals. */
  proposalBatch(size: number): void;
  /** Entries up to `lastIndex` were applied at `atMs` (ms since epoch; commit→delivery latency). */
  applied(lastIndex: number, atMs: number): void;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: TimerHandle;
}

interface QueuedProposal<R> {
  /** The entry's bytes, or a function producing them when the proposal joins a turn (see propose). */
  readonly data: Uint8Array | (() => Uint8Array);
  readonly waiter: Waiter<R>;
}

/** Counters for metrics and benchmarks. */
export interface RaftNodeStats {
  /** Storage writes with fsync. */
  syncedWrites: number;
  unsyncedWrites: number;
  proposals: number;
  /** Core propose() calls: each is one append batch. */
  proposalBatches: number;
  appliedEntries: number;
  snapshotsTaken: number;
  snapshotsRestored: number;
}

/** Listener for role/leader/term changes. */
export type LeaderListener = (soft: SoftState) => void;

/** One running Raft node. */
export class RaftNode<R = unknown> {
  readonly id: NodeId;
  private core!: RaftCore;
  private readonly o: Required<Omit<RaftNodeOptions<R>, "raft" | "rand" | "logger" | "observer">> & Pick<RaftNodeOptions<R>, "raft" | "rand" | "observer">;
  private readonly log: Logger;
  private readonly clock: Scheduler;
  private ticker: TimerHandle | undefined;
  private scheduled = false;
  private running = false;
  private stopped = false;
  private queue: QueuedProposal<R>[] = [];
  private readonly pending = new Map<number, { term: number; waiter: Waiter<R> }>();
  private readonly reads = new Map<number, Waiter<number>>();
  /** Confirmed reads waiting for the applied index to reach theirs. */
  private readsToApply: { index: number; waiter: Waiter<number> }[] = [];
  private readCtx = 0;
  private transfers: { to: NodeId; waiter: Waiter<void> }[] = [];
  private soft: SoftState = { role: "follower", leader: null, term: 0, member: true };
  private appliedConf: ConfState = { voters: [], learners: [] };
  private snapshotting = false;
  /** Bytes of the entries applied since the latest snapshot (the snapshotBytes trigger). */
  private appliedBytesSinceSnapshot = 0;
  /** When the running storage write began (scheduler ms); undefined when none is running. */
  private writeStartedAt: number | undefined;
  private turnDone: Promise<void> = Promise.resolve();
  private readonly leaderListeners: LeaderListener[] = [];
  private readonly lastContactAt = new Map<NodeId, number>();
  private readonly confListeners: ((entry: Entry) => void)[] = [];
  readonly stats: RaftNodeStats = {
    syncedWrites: 0, unsyncedWrites: 0, proposals: 0, proposalBatches: 0,
    appliedEntries: 0, snapshotsTaken: 0, snapshotsRestored: 0,
  };

  constructor(options: RaftNodeOptions<R>) {
    this.id = options.id;
    this.o = {
      tickMs: 50, snapshotEntries: 10_000, snapshotBytes: 64 * 1024 * 1024, trailingEntries: 1_000, trailingBytes: 16 * 1024 * 1024,
      proposalTimeoutMs: 10_000,
      proposalQueueMax: 65_536, storageStallMs: 5_000, scheduler: systemScheduler, ...options,
    };
    this.clock = this.o.scheduler;
    this.log = options.logger ?? silentLogger();
    assert(this.o.tickMs >= 1, "tickMs must be ≥ 1");
    assert(this.o.snapshotEntries >= 1 && this.o.trailingEntries >= 0, "snapshotEntries ≥ 1, trailingEntries ≥ 0");
    assert(this.o.snapshotBytes >= 1 && this.o.trailingBytes >= 0, "snapshotBytes ≥ 1, trailingBytes ≥ 0");
  }

  /** Recover (restoring the latest snapshot into the application if it is behind), then start ticking and serving. */
  async start(): Promise<void> {
    const { storage, snapshots, stateMachine } = this.o;
    const meta = storage.snapshot();
    this.appliedConf = storage.initialState().confState;
    if (stateMachine.appliedIndex() < meta.index) {
      // Crashed between recording an installed snapshot and restoring it, or the app lost its state.
      await stateMachine.restore(meta, snapshots.open(meta.index));
      this.stats.snapshotsRestored++;
    }
    if (stateMachine.appliedIndex() > storage.lastIndex()) {
      // The application is ahead of the log: the log lost entries that were
      // committed and applied (a torn tail LevelDB dropped at open). Refuse,
      // rather than vote or acknowledge with a log shorter than promised.
      throw new StorageCorruptError("log", `ends at index ${storage.lastIndex()} but the state machine applied up to ${stateMachine.appliedIndex()}: the log lost its tail (torn write or damaged disk); ${REBUILD_HINT}`);
    }
    this.appliedConf = await this.confAt(stateMachine.appliedIndex(), meta.conf);
    this.appliedBytesSinceSnapshot = this.logBytes(meta.index + 1, stateMachine.appliedIndex());
    this.log.debug({ applied: stateMachine.appliedIndex(), snapshotIndex: meta.index, lastIndex: storage.lastIndex(), conf: this.appliedConf }, "raft node recovered");
    this.core = new RaftCore(
      { ...this.o.raft, id: this.id, applied: stateMachine.appliedIndex() },
      storage,
      this.o.rand ?? new SeededRand(randomSeed()),
    );
    const t = this.o.transport;
    t.onMessage((m) => this.onMessage(m));
    t.onSnapshotStatus((to, ok) => this.withCore((c) => c.reportSnapshot(to, ok)));
    t.onUnreachable((peer) => this.withCore((c) => c.reportUnreachable(peer)));
    await t.start();
    this.ticker = this.clock.setInterval(() => this.onTick(), this.o.tickMs);
    this.schedule();
  }

  /** Membership in force at `index`: the snapshot's, updated by conf entries up to it. */
  private async confAt(index: number, base: ConfState): Promise<ConfState> {
    const s = this.o.storage;
    let conf = base;
    const lo = Math.max(s.snapshot().index + 1, s.firstIndex());
    if (lo <= index) {
      for (const e of s.entries(lo, index + 1, Number.MAX_SAFE_INTEGER)) {
        if (e.type === "conf") conf = decodeConfEntry(e.data).conf;
      }
    }
    return conf;
  }

  // ------------------------------------------------------------ public API

  /**
   * Propose an application entry. Resolves with the state machine's result
   * once it is committed (on a majority's disks) and applied here.
   *
   * `data` may be a function: it is called when the proposal joins a turn's
   * append (group commit), so a caller can keep adding requests to one
   * entry until then — one entry per turn, encoded once. It must not throw.
   */
  propose(data: Uint8Array | (() => Uint8Array)): Promise<R> {
    const refusal = this.refuseWrite();
    if (refusal) return Promise.reject(refusal);
    if (this.queue.length >= this.o.proposalQueueMax) {
      return Promise.reject(new RaftError("PROPOSAL_DROPPED", "proposal queue full; retry later"));
    }
    return new Promise<R>((resolve, reject) => {
      const waiter = this.waiter(resolve, reject, this.o.proposalTimeoutMs, "proposal");
      this.queue.push({ data, waiter });
      this.schedule();
    });
  }

  /** Propose a membership change; resolves once it is applied here. */
  proposeConfChange(change: ConfChange): Promise<void> {
    const refusal = this.refuseWrite();
    if (refusal) return Promise.reject(refusal);
    const r = this.core.proposeConfChange(change);
    if (!r.ok) return Promise.reject(new RaftError(r.code, r.reason, r.leader));
    this.log.debug({ change: { kind: change.kind, node: change.node }, index: r.firstIndex, term: r.term }, "membership change proposed");
    this.schedule();
    return new Promise<void>((resolve, reject) => {
      const waiter = this.waiter<R>(() => resolve(), reject, this.o.proposalTimeoutMs, "membership change");
      this.pending.set(r.firstIndex, { term: r.term, waiter });
    });
  }

  /**
   * A linearizable read barrier (thesis §6.4): resolves with an index once
   * this node (the leader) confirmed its leadership and applied up to it, so
   * local state then reflects every write acknowledged before the call.
   */
  readIndex(timeoutMs = this.o.proposalTimeoutMs): Promise<number> {
    if (this.stopped) return Promise.reject(new RaftError("SHUTTING_DOWN", "node is stopping"));
    if (this.core === undefined) return Promise.reject(new RaftError("NOT_LEADER", "node not started", null));
    const ctx = ++this.readCtx;
    const r = this.core.readIndex(ctx);
    if (!r.ok) return Promise.reject(new RaftError(r.code, r.reason, r.leader));
    this.schedule();
    return new Promise<number>((resolve, reject) => {
      this.reads.set(ctx, this.waiter(resolve, reject, timeoutMs, "read index", () => this.reads.delete(ctx)));
    });
  }

  /** Hand leadership to `to`; resolves once this node sees `to` lead. */
  transferLeader(to: NodeId, timeoutMs = this.o.tickMs * 40): Promise<void> {
    if (this.stopped) return Promise.reject(new RaftError("SHUTTING_DOWN", "node is stopping"));
    if (this.core === undefined) return Promise.reject(new RaftError("NOT_LEADER", "node not started", null));
    if (this.soft.leader === to) return Promise.resolve();
    const r = this.core.transferLeader(to);
    if (!r.ok) return Promise.reject(new RaftError(r.code, r.reason, r.leader));
    this.log.debug({ to, term: this.core.term }, "leader transfer started");
    this.schedule();
    return new Promise<void>((resolve, reject) => {
      const entry = { to, waiter: this.waiter<void>(resolve, reject, timeoutMs, "leader transfer", () => {
        this.transfers = this.transfers.filter((t) => t !== entry);
      }) };
      this.transfers.push(entry);
    });
  }

  /** Called on every role/leader/term change. */
  onLeaderChange(listener: LeaderListener): void {
    this.leaderListeners.push(listener);
  }

  /** Called after each membership entry is applied here. */
  onConfApplied(listener: (entry: Entry) => void): void {
    this.confListeners.push(listener);
  }

  /** The core's state plus the applied membership. */
  status(): RaftStatus & { appliedConf: ConfState } {
    // core.status() is a fresh object: extend it rather than copy it (status pages and the simulator poll this).
    return Object.assign(this.core.status(), { appliedConf: this.appliedConf });
  }

  /** The core's current view (not the last processed Ready: a stalled turn must not hide a step-down). */
  isLeader(): boolean {
    return this.core !== undefined && this.core.role === "leader";
  }

  /** The core's commit index (cheap: for status pages and checks that poll it). */
  commitIndex(): number {
    return this.core === undefined ? 0 : this.core.log.committed;
  }

  leaderId(): NodeId | null {
    return this.core === undefined ? null : this.core.leader;
  }

  /**
   * Stop: no new work is accepted, the current turn finishes (so everything
   * acknowledged is on disk), waiters fail with SHUTTING_DOWN, the transport
   * closes. The caller closes storage and the state machine afterwards.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker !== undefined) this.clock.clearInterval(this.ticker);
    await this.turnDone;
    const err = new RaftError("SHUTTING_DOWN", "node is stopping");
    for (const q of this.queue) this.settle(q.waiter, err);
    this.queue = [];
    for (const p of this.pending.values()) this.settle(p.waiter, err);
    this.pending.clear();
    this.failReads(err);
    for (const t of this.transfers) this.settle(t.waiter, err);
    this.transfers = [];
    await this.o.transport.stop();
  }

  // ------------------------------------------------------------ event loop

  /** When each peer was last heard from (ms since epoch), for status pages. */
  lastContact(): ReadonlyMap<NodeId, number> {
    return this.lastContactAt;
  }

  private onMessage(m: Parameters<RaftCore["step"]>[0]): void {
    this.lastContactAt.set(m.from, this.clock.now());
    this.withCore((c) => {
      if (m.to === this.id) c.step(m);
    });
  }

  private onTick(): void {
    this.withCore((c) => c.tick());
    this.checkStorageStall();
  }

  private withCore(f: (c: RaftCore) => void): void {
    if (this.stopped || this.core === undefined) return;
    f(this.core);
    // A turn still busy (applying) would hold heartbeats until it ends: they go now (RaftCore.takeHeartbeats).
    if (this.running) {
      const beats = this.core.takeHeartbeats();
      if (beats.length > 0) this.o.transport.send(beats);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    this.clock.defer(() => {
      this.scheduled = false;
      if (this.running) return; // the running turn loops until the core is idle
      this.turnDone = this.turn();
    });
  }

  private async turn(): Promise<void> {
    this.running = true;
    try {
      do {
        this.flushProposals();
        while (!this.stopped && this.core.hasReady()) await this.handleReady(nonEmpty(this.core.ready()));
      } while (!this.stopped && (this.queue.length > 0 || this.core.hasReady()));
    } catch (err) {
      // A storage or state-machine failure leaves the node unable to keep its promises: crash loudly.
      this.log.error({ err }, "raft node turn failed; stopping");
      this.running = false;
      void this.stop();
      throw err;
    }
    this.running = false;
    void this.maybeSnapshot();
  }

  /** All proposals queued since the last turn go into one append (group commit). */
  private flushProposals(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const r = this.core.propose(batch.map((q) => (typeof q.data === "function" ? q.data() : q.data)));
    if (!r.ok) {
      const err = new RaftError(r.code, r.reason, r.leader);
      for (const q of batch) this.settle(q.waiter, err);
      return;
    }
    this.stats.proposals += batch.length;
    this.stats.proposalBatches++;
    this.o.observer?.proposalBatch(batch.length);
    batch.forEach((q, i) => this.pending.set(r.firstIndex + i, { term: r.term, waiter: q.waiter }));
  }

  private async handleReady(rd: Ready): Promise<void> {
    // 0. A leader's own messages go out in parallel with its disk write
    //    (thesis §10.2.1): they promise nothing about this node's disk, and
    //    the leader counts its own copy only after advance(). Acks and votes
    //    wait for the write below.
    const { early, late } = splitMessages(rd.messages);
    if (early.length > 0) this.o.transport.send(early);
    // 1. persist
    if (rd.snapshot || rd.entries.length > 0 || rd.hardState) {
      this.writeStartedAt = this.clock.now();
      const started = performance.now();
      const update: { -readonly [K in keyof StorageUpdate]: StorageUpdate[K] } = { entries: rd.entries };
      if (rd.snapshot) update.snapshot = rd.snapshot;
      if (rd.hardState) update.hardState = rd.hardState;
      await this.o.storage.write(
        update,
        // The chaos tests' follower-no-fsync switch (unsafe.ts) breaks the promise on purpose.
        { sync: rd.mustSync && !(unsafe("follower-no-fsync") && !this.isLeader()) },
      );
      this.writeStartedAt = undefined;
      this.o.observer?.storageWrite((performance.now() - started) / 1000, rd.mustSync, rd.entries.length);
      if (rd.mustSync) this.stats.syncedWrites++;
      else this.stats.unsyncedWrites++;
    }
    // 2. send (only now may acks and votes leave: what they promise is on disk)
    if (late.length > 0) this.o.transport.send(late);
    // 3. apply
    if (rd.snapshot) await this.restoreSnapshot(rd.snapshot);
    if (rd.committedEntries.length > 0) await this.apply(rd.committedEntries);
    for (const rs of rd.readStates) this.confirmRead(rs.ctx, rs.index);
    this.releaseReads();
    if (rd.softState) this.onSoftState(rd.softState);
    // 4. advance
    this.core.advance(rd);
  }

  private async restoreSnapshot(meta: NonNullable<Ready["snapshot"]>): Promise<void> {
    await this.o.stateMachine.restore(meta, this.o.snapshots.open(meta.index));
    this.stats.snapshotsRestored++;
    this.appliedBytesSinceSnapshot = 0;
    this.appliedConf = meta.conf;
    this.log.info({ index: meta.index, term: meta.term, conf: meta.conf }, "snapshot installed");
    // Proposals the snapshot covers have an unknown outcome here.
    for (const [index, p] of this.pending) {
      if (index > meta.index) continue;
      this.pending.delete(index);
      this.settle(p.waiter, new RaftError("PROPOSAL_DROPPED", "outcome unknown: replaced by a snapshot"));
    }
  }

  private async apply(entries: readonly Entry[]): Promise<void> {
    const results = await this.o.stateMachine.apply(entries);
    assert(results.length === entries.length, () => `state machine returned ${results.length} results for ${entries.length} entries`);
    this.stats.appliedEntries += entries.length;
    for (const e of entries) this.appliedBytesSinceSnapshot += entrySize(e);
    this.o.observer?.applied(entries[entries.length - 1]!.index, this.clock.now());
    entries.forEach((e, i) => {
      if (e.type === "conf") {
        const ce = decodeConfEntry(e.data);
        this.appliedConf = ce.conf;
        this.log.debug({ index: e.index, change: { kind: ce.change.kind, node: ce.change.node }, conf: ce.conf }, "membership change applied");
        for (const l of this.confListeners) l(e);
      }
      const p = this.pending.get(e.index);
      if (p === undefined) return;
      this.pending.delete(e.index);
      if (p.term === e.term) this.settle(p.waiter, undefined, results[i] as R);
      else this.settle(p.waiter, new RaftError("PROPOSAL_DROPPED", "entry was overwritten by a new leader; retry"));
    });
  }

  private confirmRead(ctx: number, index: number): void {
    const w = this.reads.get(ctx);
    if (w === undefined) return;
    this.reads.delete(ctx);
    this.readsToApply.push({ index, waiter: w });
  }

  private releaseReads(): void {
    if (this.readsToApply.length === 0) return;
    const applied = this.o.stateMachine.appliedIndex();
    const still: typeof this.readsToApply = [];
    for (const r of this.readsToApply) {
      if (r.index <= applied) this.settle(r.waiter, undefined, r.index);
      else still.push(r);
    }
    this.readsToApply = still;
  }

  private onSoftState(soft: SoftState): void {
    const wasLeader = this.soft.role === "leader";
    this.log.debug({ role: soft.role, term: soft.term, leader: soft.leader, was: { role: this.soft.role, term: this.soft.term, leader: this.soft.leader } }, "raft state changed");
    this.soft = soft;
    if (wasLeader && soft.role !== "leader") {
      this.failReads(new RaftError("NOT_LEADER", "leadership lost", soft.leader));
    }
    for (const t of this.transfers) if (soft.leader === t.to) this.settle(t.waiter, undefined, undefined);
    this.transfers = this.transfers.filter((t) => soft.leader !== t.to);
    for (const l of this.leaderListeners) l(soft);
  }

  private failReads(err: Error): void {
    for (const w of this.reads.values()) this.settle(w, err);
    this.reads.clear();
    for (const r of this.readsToApply) this.settle(r.waiter, err);
    this.readsToApply = [];
  }

  /** A leader whose disk has not finished a write within storageStallMs steps down (issue: stalled-disk leaders). */
  private checkStorageStall(): void {
    if (this.writeStartedAt === undefined || !this.isLeader()) return;
    const stalledMs = this.clock.now() - this.writeStartedAt;
    if (stalledMs < this.o.storageStallMs) return;
    this.log.warn({ stalledMs }, "storage stalled; stepping down as leader");
    this.core.stepDown();
    this.schedule();
  }

  // ------------------------------------------------------------ snapshots

  /**
   * Snapshot the application every `snapshotEntries` applied entries or
   * `snapshotBytes` applied bytes, whichever comes first, then compact the
   * log down to a trailing tail of at most `trailingEntries` and `trailingBytes`.
   */
  private async maybeSnapshot(): Promise<void> {
    const { storage, snapshots, stateMachine } = this.o;
    const index = stateMachine.appliedIndex();
    if (this.snapshotting || this.stopped || index <= storage.snapshot().index) return;
    if (index - storage.snapshot().index < this.o.snapshotEntries && this.appliedBytesSinceSnapshot < this.o.snapshotBytes) return;
    const term = storage.term(index);
    if (term === undefined) return;
    this.snapshotting = true;
    // What the snapshot covers; entries applied while it is written count towards the next one.
    const covered = this.appliedBytesSinceSnapshot;
    try {
      const meta = { index, term, conf: this.appliedConf };
      // snapshot() captures the state at the current applied index synchronously.
      await snapshots.save(meta, stateMachine.snapshot());
      await storage.compact(meta, this.trailingTailFrom(index));
      this.appliedBytesSinceSnapshot = Math.max(0, this.appliedBytesSinceSnapshot - covered);
      await snapshots.prune(index);
      this.stats.snapshotsTaken++;
      this.log.info({ index, term }, "snapshot taken; log compacted");
    } catch (err) {
      this.log.warn({ err }, "snapshot failed; will retry");
    } finally {
      this.snapshotting = false;
    }
  }

  /** First index of the tail kept below a snapshot at `index`: at most `trailingEntries` entries and `trailingBytes` bytes. */
  private trailingTailFrom(index: number): number {
    const from = Math.max(this.o.storage.firstIndex(), index - this.o.trailingEntries + 1);
    if (from > index) return index + 1;
    // Sizes only: the storage may keep older entries' data on disk, not in memory.
    let bytes = 0;
    for (let i = index; i >= from; i--) {
      bytes += this.o.storage.entryBytes(i);
      if (bytes > this.o.trailingBytes) return i + 1;
    }
    return from;
  }

  /** Bytes of the log's entries in [lo, hi] that are still in the log. */
  private logBytes(lo: number, hi: number): number {
    const from = Math.max(lo, this.o.storage.firstIndex());
    const to = Math.min(hi, this.o.storage.lastIndex());
    if (from > to) return 0;
    let bytes = 0;
    for (let i = from; i <= to; i++) bytes += this.o.storage.entryBytes(i);
    return bytes;
  }

  /** Take a snapshot now regardless of the entry count (maintenance on demand). */
  async snapshotNow(): Promise<void> {
    const saved = this.o.snapshotEntries;
    (this.o as { snapshotEntries: number }).snapshotEntries = 1;
    try {
      await this.maybeSnapshot();
    } finally {
      (this.o as { snapshotEntries: number }).snapshotEntries = saved;
    }
  }

  // ------------------------------------------------------------ helpers

  private refuseWrite(): RaftError | undefined {
    if (this.stopped) return new RaftError("SHUTTING_DOWN", "node is stopping");
    if (this.core === undefined) return new RaftError("NOT_LEADER", "node not started", null);
    if (this.core.role !== "leader") {
      return new RaftError("NOT_LEADER", "not the leader", this.core.leader);
    }
    return undefined;
  }

  private waiter<T>(resolve: (v: T) => void, reject: (e: Error) => void, timeoutMs: number, what: string, onTimeout?: () => void): Waiter<T> {
    const w: Waiter<T> = {
      resolve, reject,
      timer: this.clock.setTimeout(() => {
        onTimeout?.();
        reject(new RaftError("TIMEOUT", `${what} timed out after ${timeoutMs} ms; it may still take effect`));
      }, timeoutMs),
    };
    return w;
  }

  private settle<T>(w: Waiter<T>, err: Error | undefined, value?: T): void {
    this.clock.clearTimeout(w.timer);
    if (err) w.reject(err);
    else w.resolve(value as T);
  }
}

/**
 * `rd`, unless it holds nothing to do. The core said it had work
 * (hasReady) but handed out none: advance() would change nothing, and the
 * turn would loop in microtasks forever — a node hung at full CPU whose
 * timers, network and tests never run again. A core bug: fail the turn.
 */
function nonEmpty(rd: Ready): Ready {
  assert(rd.softState !== undefined || rd.hardState !== undefined || rd.snapshot !== undefined || rd.entries.length > 0 ||
    rd.committedEntries.length > 0 || rd.messages.length > 0 || rd.readStates.length > 0,
  "the core reported a Ready but it holds nothing to do (hasReady and ready disagree)");
  return rd;
}

function randomSeed(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0;
}
