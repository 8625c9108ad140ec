/**
 * What an application brings to the simulator, and the wrapper that checks
 * it. Two applications plug in: the example key-value machine (this
 * package) and the broker (packages/broker/test/sim). Each brings its real
 * StateMachine, a client workload, and a reference model that says what a
 * linearizable read must return at a given point of the history.
 */
import type { SeededRand } from "../../src/core/rand.ts";
import type { Entry, NodeId, SnapshotMeta } from "../../src/core/types.ts";
import type { StateMachine } from "../../src/node/state-machine.ts";
import type { Checker } from "./invariants.ts";
import { entryDigest, SafetyViolation } from "./invariants.ts";
import type { SimDisk } from "./sim-disk.ts";
import type { NodeClock } from "./virtual-time.ts";

/** What every simulated proposal resolves with: where its entry landed and what it held. */
export interface Applied {
  readonly index: number;
  readonly term: number;
  /** entryDigest of the applied entry, so a client can tell its own entry from another leader's. */
  readonly digest: number;
  /** The application's result. */
  readonly result: unknown;
}

/** A node's persistent parts an application may use: disks that outlive its crashes. */
export interface AppNodeContext {
  readonly id: NodeId;
  readonly clock: NodeClock;
  /** The simulated disk `name` of this node (created empty on first use). */
  disk(name: string): SimDisk;
  /** Names of this node's application disks that hold something. */
  diskNames(): string[];
}

/** One node incarnation's application. */
export interface AppInstance {
  readonly stateMachine: StateMachine<unknown>;
  /** Digest of the whole state. Called only between applies (the wrapper serialises). */
  digest(): Promise<string>;
  /** Answers a client query from local state. Called only between applies. */
  read(query: string): Promise<unknown>;
}

/** The client side: what to propose and to read, and what reads must return. */
export interface AppWorkload {
  /** The next command a client proposes through `via`, stamped with that node's clock `nowMs`. */
  command(via: AppInstance, rand: SeededRand, nowMs: number): Uint8Array;
  /** A query for a linearizable read. */
  query(rand: SeededRand): string;
  /** A client was told `result` for a command it proposed (to follow up: ack what was delivered…). */
  acked?(result: unknown): void;
  /** Feeds the reference model the history, in index order. */
  historyApplied(e: Entry): void;
  /** Why `value` is not what `query` returns at history index `index` (undefined when it is). */
  checkRead(query: string, value: unknown, index: number): string | undefined;
}

/** An application the simulator can run. */
export interface SimApp {
  readonly name: string;
  /** Opens a node's application (fresh, or after a crash on what its disks kept). */
  open(ctx: AppNodeContext): Promise<AppInstance>;
  /** A fresh client workload and reference model for one run. */
  workload(): AppWorkload;
}

/**
 * The state machine the driver runs: the application's, with every applied
 * entry checked against the one history (only committed entries, the same
 * entry at each index everywhere), restored snapshots checked against the
 * replicas' states, and results that tell clients where their entry landed.
 * Calls are serialised so digests and reads see a state between applies.
 */
export class CheckedStateMachine implements StateMachine<Applied> {
  private tail: Promise<unknown> = Promise.resolve();
  /** Called once after the next apply reached the application, before the driver hears of it (a crash point). */
  onNextApplied: (() => void) | undefined;

  constructor(
    private readonly id: NodeId,
    readonly app: AppInstance,
    private readonly checker: Checker,
    private readonly workload: AppWorkload,
    /** The process is dead: nothing it does may count any more. */
    private readonly dead: () => boolean,
    /** Turns a violation into the run's failure; false when `fn` failed. */
    private readonly guard: (fn: () => void) => boolean,
  ) {}

  apply(entries: readonly Entry[]): Promise<Applied[]> {
    return this.exclusive(async () => {
      const ok = this.dead() || this.guard(() => {
        for (const e of entries) {
          const known = this.checker.historyLength();
          this.checker.applied(this.id, e);
          if (e.index > known) this.workload.historyApplied(e);
        }
      });
      if (!ok || this.dead()) return never();
      let results: unknown[];
      try {
        results = await this.app.stateMachine.apply(entries);
      } catch (e) {
        this.guard(() => {
          throw new SafetyViolation("apply never fails", `${this.id} failed to apply ${entries[0]!.index}..${entries[entries.length - 1]!.index}: ${describe(e)}`);
        });
        return never();
      }
      const hook = this.onNextApplied;
      this.onNextApplied = undefined;
      hook?.();
      if (this.dead()) return never();
      return entries.map((e, i) => ({ index: e.index, term: e.term, digest: entryDigest(e), result: results[i] }));
    });
  }

  appliedIndex(): number {
    return this.app.stateMachine.appliedIndex();
  }

  snapshot(): AsyncIterable<Uint8Array> {
    return this.app.stateMachine.snapshot();
  }

  restore(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    return this.exclusive(async () => {
      try {
        await this.app.stateMachine.restore(meta, chunks);
      } catch (e) {
        if (this.dead()) return never();
        this.guard(() => {
          throw new SafetyViolation("snapshot restores", `${this.id} failed to restore snapshot ${meta.index}/${meta.term}: ${describe(e)}`);
        });
        return never();
      }
      const digest = await this.app.digest();
      if (!this.dead() && !this.guard(() => this.checker.stateDigest(this.id, meta.index, digest, "after restoring a snapshot"))) return never();
    });
  }

  /** Verifies a received snapshot with the application's own check (runs concurrently with apply). */
  async verifySnapshot(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    await this.app.stateMachine.verifySnapshot?.(meta, chunks);
  }

  /** The state's digest and the applied index it describes. */
  digestNow(): Promise<{ index: number; digest: string }> {
    return this.exclusive(async () => ({ index: this.appliedIndex(), digest: await this.app.digest() }));
  }

  /** Answers `query` and says at which applied index. */
  readNow(query: string): Promise<{ index: number; value: unknown }> {
    return this.exclusive(async () => ({ index: this.appliedIndex(), value: await this.app.read(query) }));
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}

/** A promise that never settles: what a dead process or a failed run waits on. */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

/** An error as one line plus its stack. */
export function describe(e: unknown): string {
  return e instanceof Error ? e.stack ?? `${e.name}: ${e.message}` : String(e);
}
