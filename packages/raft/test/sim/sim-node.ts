/**
 * One simulated machine: its disks and snapshot store (they outlive
 * crashes), its clock's rate and offset, and the current incarnation of the
 * process running on it — the real RaftNode with the real LevelStorage on a
 * simulated disk, the application's real state machine (checked), and a
 * transport on the simulated network. A crash kills the process mid-flight:
 * timers, disk completions and transfers it was waiting for never happen.
 */
import type { RaftConfig } from "../../src/core/config.ts";
import { SeededRand } from "../../src/core/rand.ts";
import type { RaftStatus } from "../../src/core/raft.ts";
import type { ConfState, NodeId, SnapshotMeta } from "../../src/core/types.ts";
import { pino } from "pino";
import type { Logger } from "../../src/logging.ts";
import { RaftNode } from "../../src/node/raft-node.ts";
import { snapshotSinkFor, snapshotSourceFor } from "../../src/node/snapshot-wiring.ts";
import { LevelStorage } from "../../src/storage/level-storage.ts";
import { MemorySnapshotStore } from "../../src/storage/snapshot-store-memory.ts";
import { SlowSnapshotStore } from "./slow-snapshot-store.ts";
import type { Applied, AppInstance, AppNodeContext, AppWorkload, SimApp } from "./app.ts";
import { CheckedStateMachine } from "./app.ts";
import { CheckedStorage } from "./checked-storage.ts";
import { DurableRaftView } from "./durable-view.ts";
import type { Checker, CheckedNode } from "./invariants.ts";
import { SafetyViolation } from "./invariants.ts";
import type { CrashKind, DiskProfile } from "./sim-disk.ts";
import { SimDisk } from "./sim-disk.ts";
import type { SimNetwork, SimTransport } from "./sim-network.ts";
import type { NodeClock, VirtualTime } from "./virtual-time.ts";
import { NodeClock as Clock } from "./virtual-time.ts";

/** How every node of a run is configured. */
export interface SimNodeConfig {
  readonly raft: Omit<Partial<RaftConfig>, "id" | "applied">;
  readonly tickMs: number;
  readonly snapshotEntries: number;
  readonly trailingEntries: number;
  readonly snapshotBytes: number;
  readonly trailingBytes: number;
  readonly proposalTimeoutMs: number;
  readonly storageStallMs: number;
  /** The snapshot store splits what it stores into chunks of at most this many bytes. */
  readonly snapshotChunkBytesMax: number;
}

/** What the machine is doing. */
export type NodeState = "down" | "starting" | "up";

/** The cluster-wide things a node needs. */
export interface NodeEnvironment {
  readonly time: VirtualTime;
  readonly net: SimNetwork;
  readonly checker: Checker;
  readonly app: SimApp;
  readonly workload: AppWorkload;
  readonly rand: SeededRand;
  /** A problem the node hit that is a bug, not a fault (e.g. its turn failed). */
  fail(err: unknown): void;
  /** Runs `fn`, turning a violation it throws into the run's failure; false when it failed. */
  guard(fn: () => void): boolean;
}

/** The running process. */
interface Incarnation {
  readonly clock: NodeClock;
  readonly storage: LevelStorage;
  readonly raft: RaftNode<Applied>;
  readonly sm: CheckedStateMachine;
  readonly app: AppInstance;
  readonly transport: SimTransport;
}

/** One simulated machine. */
export class SimNode implements CheckedNode {
  readonly raftDisk: SimDisk;
  readonly durable: DurableRaftView;
  /** Snapshot data survives crashes (the file store fsyncs what it completes); reads and writes take disk time. */
  readonly snapshots: SlowSnapshotStore;
  private readonly appDisks = new Map<string, SimDisk>();
  state: NodeState = "down";
  private current: Incarnation | undefined;
  /** The clock of the process being started or running: a crash kills it at any moment. */
  private clock: NodeClock | undefined;
  /** Starts so far (the first one included). */
  incarnations = 0;
  /** Restarts that failed because the disk read back corrupt data (detected, as it must be). */
  corruptionsDetected = 0;

  constructor(
    readonly id: NodeId,
    private readonly bootstrap: ConfState,
    private readonly cfg: SimNodeConfig,
    readonly clockRate: number,
    readonly clockOffsetMs: number,
    diskProfile: DiskProfile,
    private readonly env: NodeEnvironment,
  ) {
    this.raftDisk = new SimDisk(`${id}/raft`, env.rand, diskProfile);
    this.durable = new DurableRaftView(this.raftDisk);
    const store = new MemorySnapshotStore({ chunkBytesMax: cfg.snapshotChunkBytesMax });
    // Disk time grows with the bytes moved: a 16 KiB chunk takes up to a write's latency, a tiny one almost nothing.
    this.snapshots = new SlowSnapshotStore(store, (bytes) => {
      const clock = this.clock;
      return clock === undefined ? new Promise<void>(() => {}) : clock.sleep(env.rand.float() * diskProfile.writeMs * Math.min(1, bytes / 16384));
    });
  }

  /** Every disk of the machine (the Raft log's and the application's). */
  disks(): SimDisk[] {
    return [this.raftDisk, ...this.appDisks.values()];
  }

  /** The running RaftNode; undefined unless up. */
  get raft(): RaftNode<Applied> | undefined {
    return this.state === "up" ? this.current?.raft : undefined;
  }

  /** The running application state machine (checked); undefined unless up. */
  get sm(): CheckedStateMachine | undefined {
    return this.state === "up" ? this.current?.sm : undefined;
  }

  /** The running application; undefined unless up. */
  get app(): AppInstance | undefined {
    return this.state === "up" ? this.current?.app : undefined;
  }

  /** The node's clock reading (whole ms, like Date.now()). */
  now(): number {
    return Math.floor(this.clockOffsetMs + this.clockRate * this.env.time.now);
  }

  /** The Raft storage of the running process (what it wrote, as it reads it back); undefined unless up. */
  get storage(): LevelStorage | undefined {
    return this.state === "up" ? this.current?.storage : undefined;
  }

  /** Term of the entry at `index` in the log this process wrote (undefined when compacted, absent, or down). */
  logTerm(index: number): number | undefined {
    return this.state === "up" ? this.current?.storage.term(index) : undefined;
  }

  /** Snapshots delivered to this node by leaders, over all its incarnations. */
  get snapshotsInstalled(): number {
    return this.env.net.snapshotsTo.get(this.id) ?? 0;
  }

  /** The core's status, if up. */
  status(): RaftStatus | undefined {
    return this.raft?.status();
  }

  /**
   * Starts a process on what the disks kept. Resolves false when start-up
   * refused corrupt data (as it must); a corrupt read that was NOT refused is
   * a violation.
   */
  async start(): Promise<boolean> {
    if (this.state !== "down") return true;
    this.state = "starting";
    this.incarnations++;
    const env = this.env;
    const clock = new Clock(env.time, this.clockRate, this.clockOffsetMs);
    this.clock = clock;
    let storage: LevelStorage;
    const level = this.raftDisk.open(clock);
    const corruptRead = this.raftDisk.lastOpenCorrupt;
    try {
      storage = await LevelStorage.openDb(level, `${this.id}/raft`, { nodeId: this.id, bootstrap: this.bootstrap });
    } catch (err) {
      if (clock.dead) return false;
      this.state = "down";
      clock.kill();
      if (corruptRead && (err as { code?: string }).code === "STORAGE_CORRUPT") {
        this.corruptionsDetected++;
        return false;
      }
      throw err;
    }
    if (corruptRead) {
      throw new SafetyViolation("corruption detected", `${this.id} started from a disk image with a flipped bit without noticing`);
    }
    const dead = (): boolean => clock.dead;
    const checked = new CheckedStorage(this.id, storage, env.checker, dead, env.guard);
    const ctx: AppNodeContext = {
      id: this.id, clock, disk: (name) => this.appDisk(name),
      diskNames: () => [...this.appDisks].filter(([, d]) => d.present).map(([name]) => name),
    };
    const app = await env.app.open(ctx);
    if (clock.dead) return false;
    const sm = new CheckedStateMachine(this.id, app, env.checker, env.workload, dead, env.guard);
    const verify = (meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void> => sm.verifySnapshot(meta, chunks);
    const transport = env.net.attach(this.id, clock, snapshotSinkFor(this.snapshots, verify), snapshotSourceFor(this.snapshots));
    const raft = new RaftNode<Applied>({
      id: this.id, storage: checked, snapshots: this.snapshots, transport, stateMachine: sm,
      raft: this.cfg.raft, tickMs: this.cfg.tickMs, snapshotEntries: this.cfg.snapshotEntries,
      trailingEntries: this.cfg.trailingEntries, snapshotBytes: this.cfg.snapshotBytes, trailingBytes: this.cfg.trailingBytes,
      proposalTimeoutMs: this.cfg.proposalTimeoutMs,
      storageStallMs: this.cfg.storageStallMs, rand: new SeededRand(env.rand.next()), scheduler: clock,
      logger: this.logger(),
    });
    checked.status = () => raft.status();
    this.current = { clock, storage, raft, sm, app, transport };
    await raft.start();
    if (clock.dead) return false; // crashed while starting
    this.state = "up";
    return true;
  }

  /** The process dies (`process`), or the machine loses power (`power`). */
  crash(kind: CrashKind): void {
    if (this.state === "down") return;
    const cur = this.current;
    this.current = undefined;
    this.state = "down";
    this.clock?.kill();
    this.clock = undefined;
    if (cur !== undefined) void cur.transport.stop();
    for (const d of this.disks()) d.crash(kind);
  }

  /** Crash (via `crash`) at the next point of that kind: mid-write, at a send, after an apply. */
  armCrash(point: "write" | "send" | "apply", crash: () => void): void {
    const cur = this.current;
    if (cur === undefined || this.state !== "up") return;
    if (point === "write") {
      const disks = this.disks();
      const once = (): void => {
        for (const d of disks) d.onNextWrite = undefined;
        crash();
      };
      for (const d of disks) d.onNextWrite = once;
    } else if (point === "send") cur.transport.onNextSend = crash;
    else cur.sm.onNextApplied = crash;
  }

  private appDisk(name: string): SimDisk {
    let d = this.appDisks.get(name);
    if (d === undefined) this.appDisks.set(name, (d = new SimDisk(`${this.id}/${name}`, this.env.rand, this.raftDisk.profile)));
    return d;
  }

  /**
   * The driver's log, read for what must never happen here: a failed turn
   * (storage or state machine threw) or a failed snapshot. Both are bugs in
   * the simulation, where disks do not fail (they crash).
   */
  private logger(): Logger {
    return pino({ level: "warn" }, {
      write: (line: string) => {
        const rec = JSON.parse(line) as { msg?: string; err?: { stack?: string; message?: string } };
        if (rec.msg !== undefined && !/turn failed|snapshot failed/.test(rec.msg)) return;
        this.env.fail(new SafetyViolation("node keeps running", `${this.id}: ${rec.msg ?? "error"}: ${rec.err?.stack ?? rec.err?.message ?? ""}`));
      },
    });
  }
}
