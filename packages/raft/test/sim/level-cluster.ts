/**
 * The cluster simulator over LevelDB: the same seeded schedule of network
 * faults, partitions, crashes and leader transfers as cluster.ts, the same
 * safety checker, but every node persists through a real LevelStorage in a
 * temp directory and the step loop awaits each batch. Slower, so it runs a
 * smaller subset (fixed 3 voters, no membership changes: the in-memory
 * simulator covers those). Crashes close LevelDB and restarts reopen it,
 * checking that recovery yields exactly the persisted state; power cuts lose
 * unsynced writes, and a crash may fall between a batch write and its fsync.
 */
import { mkdtemp, rm } from "node:fs/promises";
import * as path from "node:path";
import { SeededRand } from "../../src/core/rand.ts";
import type { NodeId } from "../../src/core/types.ts";
import { Checker, SafetyViolation } from "./checker.ts";
import type { Envelope } from "./network.ts";
import { SimNetwork } from "./network.ts";
import type { CrashKind, LevelCrashPoint, LevelNodeHost } from "./level-node.ts";
import { LevelSimNode } from "./level-node.ts";
import type { PendingProposal, SimNodeOptions } from "./node.ts";

/** What one LevelDB simulation run does. */
export interface LevelSimOptions {
  readonly seed: number;
  /** Chaos steps (one tick each) before the faults heal. */
  readonly steps: number;
  readonly voters: number;
  /** Ticks allowed after healing for the cluster to settle. */
  readonly livenessTicks: number;
  readonly node: SimNodeOptions;
  /** Where the run's temp directories go (a tmpfs keeps fsync cheap). */
  readonly baseDir: string;
  /** Overrides of the fault schedule. */
  readonly rates?: Partial<FaultRates>;
  /** Test-only fault (see LevelSimNode): nodes send before their batch is durable. */
  readonly unsafeSendBeforePersist?: boolean;
}

/** Counters of what a run exercised. */
export interface LevelSimStats {
  ticks: number;
  proposed: number;
  acked: number;
  crashes: number;
  powerCuts: number;
  crashPoints: number;
  lostUnsyncedWrites: number;
  restarts: number;
  partitions: number;
  transfers: number;
  snapshotsInstalled: number;
  readsServed: number;
  leaders: number;
  checks: number;
}

/** Outcome of one run. */
export interface LevelSimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly stats: LevelSimStats;
}

/** Options for a seed: batching limits and snapshot cadence vary with it. */
export function defaultLevelSimOptions(seed: number, steps: number, baseDir: string): LevelSimOptions {
  const r = new SeededRand(seed ^ 0x1b873593);
  return {
    seed, steps, voters: 3, livenessTicks: 600, baseDir,
    node: {
      raft: { electionTicks: 10, heartbeatTicks: 1, msgEntriesMax: 1 + r.int(32), inflightMessagesMax: 1 + r.int(8) },
      snapshotEvery: 10 + r.int(40),
      trailingEntries: r.int(8),
    },
  };
}

/** Probabilities of the fault schedule: per step, except crashPoint (per crash point passed in a Ready). */
export interface FaultRates {
  readonly propose: number;
  readonly read: number;
  readonly partition: number;
  readonly heal: number;
  readonly crash: number;
  readonly restart: number;
  readonly transfer: number;
  readonly netFaults: number;
  readonly writeback: number;
  readonly crashPoint: number;
}

/** The default mix: enough crashes to matter, enough calm for writes to commit. */
export const DEFAULT_FAULT_RATES: FaultRates = {
  propose: 0.3, read: 0.02, partition: 0.01, heal: 0.015, crash: 0.02, restart: 0.05,
  transfer: 0.005, netFaults: 0.01, writeback: 0.1, crashPoint: 0.005,
};

/** The simulated cluster on LevelDB. */
export class LevelSimCluster implements LevelNodeHost {
  readonly checker = new Checker();
  readonly rand: SeededRand;
  readonly net: SimNetwork;
  readonly nodes = new Map<NodeId, LevelSimNode>();
  readonly stats: LevelSimStats = {
    ticks: 0, proposed: 0, acked: 0, crashes: 0, powerCuts: 0, crashPoints: 0, lostUnsyncedWrites: 0, restarts: 0,
    partitions: 0, transfers: 0, snapshotsInstalled: 0, readsServed: 0, leaders: 0, checks: 0,
  };
  now = 0;
  private chaos = true;
  private nextProposal = 1;
  private maxAckedIndex = 0;
  readonly ackedProposals: PendingProposal[] = [];
  private snapReports: { from: NodeId; to: NodeId; ok: boolean }[] = [];
  private readonly P: FaultRates;

  private constructor(readonly opts: LevelSimOptions, readonly dir: string) {
    this.P = { ...DEFAULT_FAULT_RATES, ...opts.rates };
    this.rand = new SeededRand(opts.seed);
    this.net = new SimNetwork(this.rand);
    this.net.onDrop = (env) => {
      if (env.msg.type === "snap") this.snapReports.push({ from: env.msg.from, to: env.msg.to, ok: false });
    };
  }

  /** Creates the nodes' directories and starts every node. */
  static async create(opts: LevelSimOptions): Promise<LevelSimCluster> {
    const dir = await mkdtemp(path.join(opts.baseDir, `raftbus-level-sim-${opts.seed}-`));
    const c = new LevelSimCluster(opts, dir);
    const voters = Array.from({ length: opts.voters }, (_, i) => `n${i + 1}`);
    for (const id of voters) {
      const n = new LevelSimNode(id, path.join(dir, id), { voters, learners: [] }, opts.node, c.rand, c, opts.unsafeSendBeforePersist);
      c.nodes.set(id, n);
      await n.start();
    }
    return c;
  }

  /** Closes every node and removes the directories. */
  async destroy(): Promise<void> {
    for (const n of this.nodes.values()) await n.crash("process");
    await rm(this.dir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------ LevelNodeHost

  send(env: Envelope): void {
    this.net.send(this.now, env);
  }

  acked(_node: NodeId, p: PendingProposal): void {
    this.stats.acked++;
    this.ackedProposals.push(p);
    this.maxAckedIndex = Math.max(this.maxAckedIndex, p.index);
  }

  dropped(): void {}

  ackedIndex(): number {
    return this.maxAckedIndex;
  }

  crashHere(_node: NodeId, point: LevelCrashPoint): CrashKind | null {
    if (!this.chaos || !this.rand.chance(this.P.crashPoint)) return null;
    this.stats.crashPoints++;
    this.stats.crashes++;
    // Between write and fsync only a power cut can undo the write.
    if (point === "beforeSync" || this.rand.chance(0.5)) {
      this.stats.powerCuts++;
      return "power";
    }
    return "process";
  }

  // ------------------------------------------------------------ stepping

  /** One tick of simulated time. */
  async step(): Promise<void> {
    this.now++;
    this.stats.ticks++;
    await this.reportSnapshots();
    for (const env of this.net.due(this.now)) await this.deliver(env);
    for (const n of this.nodes.values()) if (n.alive) await n.tick();
    await this.clientActions();
    if (this.chaos) await this.faultActions();
    this.checkStep();
  }

  private async deliver(env: Envelope): Promise<void> {
    const target = this.nodes.get(env.msg.to);
    if (target?.core === undefined) {
      if (env.msg.type === "snap") this.snapReports.push({ from: env.msg.from, to: env.msg.to, ok: false });
      return;
    }
    if (env.snapshotData) target.receiveSnapshotData(env.snapshotData);
    target.core.step(env.msg);
    await target.drain();
    if (env.msg.type === "snap") this.snapReports.push({ from: env.msg.from, to: env.msg.to, ok: true });
  }

  private async reportSnapshots(): Promise<void> {
    const reports = this.snapReports;
    this.snapReports = [];
    for (const r of reports) {
      const n = this.nodes.get(r.from);
      if (n?.core === undefined) continue;
      n.core.reportSnapshot(r.to, r.ok);
      await n.drain();
    }
  }

  private async clientActions(): Promise<void> {
    if (this.rand.chance(this.P.propose)) await this.propose();
    if (this.rand.chance(this.P.read)) {
      const l = this.leader();
      l?.read();
      await l?.drain();
    }
  }

  /** Propose one value, mostly to the leader. */
  async propose(): Promise<void> {
    const target = this.rand.chance(0.85) ? this.leader() : this.randomNode((n) => n.alive);
    if (target === undefined || !target.propose(this.nextProposal)) return;
    this.nextProposal++;
    this.stats.proposed++;
    await target.drain();
  }

  /** The live node that believes it leads with the highest term. */
  leader(): LevelSimNode | undefined {
    let best: LevelSimNode | undefined;
    for (const n of this.nodes.values()) {
      const c = n.core;
      if (c === undefined || c.role !== "leader") continue;
      if (best?.core === undefined || c.term > best.core.term) best = n;
    }
    return best;
  }

  private randomNode(pred: (n: LevelSimNode) => boolean): LevelSimNode | undefined {
    const xs = [...this.nodes.values()].filter(pred);
    return xs.length === 0 ? undefined : xs[this.rand.int(xs.length)];
  }

  // ------------------------------------------------------------ faults

  private async faultActions(): Promise<void> {
    const r = this.rand;
    if (r.chance(this.P.partition)) this.randomPartition();
    if (r.chance(this.P.heal)) this.net.heal();
    if (r.chance(this.P.crash)) await this.crashRandom();
    if (r.chance(this.P.restart)) {
      const dead = this.randomNode((n) => !n.alive);
      if (dead) await this.restart(dead);
    }
    if (r.chance(this.P.transfer)) await this.transferLeader();
    if (r.chance(this.P.writeback)) await this.randomNode((n) => n.alive)?.writeback();
    if (r.chance(this.P.netFaults)) {
      this.net.faults = {
        dropRate: r.chance(0.5) ? 0 : r.float() * 0.2,
        duplicateRate: r.chance(0.7) ? 0 : r.float() * 0.05,
        delayTicksMax: 1 + r.int(4),
      };
    }
  }

  private async crashRandom(): Promise<void> {
    const victim = this.randomNode((n) => n.alive);
    if (victim === undefined) return;
    const kind: CrashKind = this.rand.chance(0.5) ? "power" : "process";
    this.stats.crashes++;
    if (kind === "power") this.stats.powerCuts++;
    await victim.crash(kind);
  }

  /** Isolate one node, or cut one link (the third node bridges the two). */
  private randomPartition(): void {
    const ids = [...this.nodes.keys()];
    const a = ids[this.rand.int(ids.length)]!;
    const others = ids.filter((x) => x !== a);
    this.net.heal();
    this.stats.partitions++;
    if (this.rand.chance(0.5)) this.net.partition([a], others);
    else this.net.cut(a, others[this.rand.int(others.length)]!);
  }

  private async restart(n: LevelSimNode): Promise<void> {
    if (n.alive) return;
    this.stats.restarts++;
    await n.restart();
    await n.drain();
  }

  private async transferLeader(): Promise<void> {
    const l = this.leader();
    const core = l?.core;
    if (l === undefined || core === undefined) return;
    const others = core.conf.voters.filter((v) => v !== l.id);
    if (others.length === 0) return;
    if (core.transferLeader(others[this.rand.int(others.length)]!).ok) this.stats.transfers++;
    await l.drain();
  }

  // ------------------------------------------------------------ checks

  private checkStep(): void {
    const cores = [...this.nodes.values()].flatMap((n) => (n.core === undefined ? [] : [{
      id: n.id, applied: n.core.log.applied, committed: n.core.log.committed, last: n.core.log.lastIndex(),
    }]));
    this.checker.stepInvariants(cores, this.net.inFlight());
  }

  /** Heal everything and restart every node: from here on the cluster must make progress. */
  async heal(): Promise<void> {
    this.chaos = false;
    this.net.heal();
    this.net.faults = { dropRate: 0, duplicateRate: 0, delayTicksMax: 1 };
    for (const n of this.nodes.values()) await this.restart(n);
  }

  /** Liveness: within livenessTicks a leader has everything committed and applied on every node. */
  async settle(): Promise<number> {
    for (let t = 0; t < this.opts.livenessTicks; t++) {
      await this.step();
      const l = this.leader();
      if (l?.core === undefined) continue;
      const maxPending = Math.max(0, ...[...this.nodes.values()].flatMap((n) => [...n.pending.keys()]));
      // Let the log pass indexes still pending on a node so their outcome is decided.
      if (maxPending >= l.core.log.lastIndex() && this.rand.chance(0.5)) await this.propose();
      if (this.settled(l)) return t + 1;
    }
    const where = [...this.nodes.values()].map((n) => {
      const s = n.core?.status();
      return s ? `${n.id}:${s.role}/t${s.term}/c${s.commit}/a${s.applied}/l${s.lastIndex}/p${n.pending.size}` : `${n.id}:down`;
    }).join(" ");
    throw new SafetyViolation("liveness", `no settled leader ${this.opts.livenessTicks} ticks after healing (${where})`);
  }

  private settled(l: LevelSimNode): boolean {
    const lc = l.core!;
    if (lc.log.committed !== lc.log.lastIndex()) return false;
    for (const n of this.nodes.values()) {
      if (n.core === undefined || n.pending.size > 0) return false;
      if (n.appliedIndex() !== lc.log.committed || n.core.log.lastIndex() !== lc.log.lastIndex()) return false;
    }
    return true;
  }

  /** Every acknowledged proposal is in the one history, and every node holds the same state. */
  finalChecks(): void {
    for (const p of this.ackedProposals) {
      if (this.checker.historyTerm[p.index] !== p.term) {
        throw new SafetyViolation("durability", `acknowledged proposal ${p.id} at ${p.index}/${p.term} missing from history`);
      }
    }
    const l = this.leader();
    if (l === undefined) return;
    for (const n of this.nodes.values()) {
      if (n.appliedHash() !== l.appliedHash()) throw new SafetyViolation("convergence", `${n.id} state differs from leader ${l.id}`);
    }
  }

  collectStats(): LevelSimStats {
    const nodes = [...this.nodes.values()];
    this.stats.leaders = this.checker.leaderCount();
    this.stats.checks = this.checker.checks;
    this.stats.snapshotsInstalled = nodes.reduce((s, n) => s + n.snapshotsInstalled, 0);
    this.stats.readsServed = nodes.reduce((s, n) => s + n.readsServed, 0);
    this.stats.lostUnsyncedWrites = nodes.reduce((s, n) => s + n.lostWrites, 0);
    return this.stats;
  }
}

/** Runs one seed: chaos, heal, settle, final checks. Failures are results, with the tick they happened at. */
export async function runLevelSeed(opts: LevelSimOptions): Promise<LevelSimResult> {
  const cluster = await LevelSimCluster.create(opts);
  try {
    for (let i = 0; i < opts.steps; i++) await cluster.step();
    await cluster.heal();
    await cluster.settle();
    cluster.finalChecks();
    return { seed: opts.seed, ok: true, stats: cluster.collectStats() };
  } catch (e) {
    const err = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { seed: opts.seed, ok: false, error: `${err} (at tick ${cluster.now})`, stats: cluster.collectStats() };
  } finally {
    await cluster.destroy();
  }
}
