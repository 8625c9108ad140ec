/**
 * A deterministic simulation of a whole Raft cluster in one process, in the
 * spirit of TigerBeetle's VOPR: simulated time, one seeded PRNG, faults
 * (drops, duplicates, delays/reordering, partitions, crashes and restarts,
 * leader transfers, membership changes) and safety checks after every step.
 * Any failure replays exactly from its seed.
 */
import type { RaftConfig } from "../../src/core/config.ts";
import { SeededRand } from "../../src/core/rand.ts";
import type { ConfChange, NodeId } from "../../src/core/types.ts";
import { Checker, SafetyViolation } from "./checker.ts";
import type { Envelope } from "./network.ts";
import { SimNetwork } from "./network.ts";
import type { CrashPoint, NodeHost, PendingProposal, SimNodeOptions } from "./node.ts";
import { SimNode } from "./node.ts";

/** What one simulation run does. */
export interface SimOptions {
  readonly seed: number;
  /** Chaos steps (one tick of simulated time each) before the faults heal. */
  readonly steps: number;
  readonly voters: number;
  /** Extra nodes outside the initial configuration, for membership changes. */
  readonly spares: number;
  readonly faults: boolean;
  readonly membershipChanges: boolean;
  /** Ticks allowed after healing for a leader to emerge and everything to settle. */
  readonly livenessTicks: number;
  readonly node: SimNodeOptions;
  readonly coreFaults?: RaftConfig["unsafeFaults"];
}

/** Counters of what a run exercised. */
export interface SimStats {
  ticks: number;
  proposed: number;
  acked: number;
  dropped: number;
  leaders: number;
  crashes: number;
  partitions: number;
  transfers: number;
  confChanges: number;
  snapshotsInstalled: number;
  readsServed: number;
  messages: number;
  checks: number;
}

/** Outcome of one run. */
export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly stats: SimStats;
}

/** Default options for a seed: sizes and fault mixes vary with the seed. */
export function defaultSimOptions(seed: number, steps: number): SimOptions {
  const r = new SeededRand(seed ^ 0x5bd1e995);
  return {
    seed,
    steps,
    voters: r.chance(0.6) ? 3 : 5,
    spares: 2,
    faults: true,
    membershipChanges: true,
    livenessTicks: 600,
    node: {
      raft: { electionTicks: 10, heartbeatTicks: 1, msgEntriesMax: 1 + r.int(64), inflightMessagesMax: 1 + r.int(16) },
      snapshotEvery: 20 + r.int(80),
      trailingEntries: r.int(10),
    },
  };
}

/** Which step the cluster is in. */
type Phase = "chaos" | "heal";

/** The simulated cluster. */
export class SimCluster implements NodeHost {
  readonly checker = new Checker();
  readonly rand: SeededRand;
  readonly net: SimNetwork;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly stats: SimStats = {
    ticks: 0, proposed: 0, acked: 0, dropped: 0, leaders: 0, crashes: 0, partitions: 0,
    transfers: 0, confChanges: 0, snapshotsInstalled: 0, readsServed: 0, messages: 0, checks: 0,
  };
  now = 0;
  phase: Phase = "chaos";
  private nextProposal = 1;
  private maxAckedIndex = 0;
  readonly ackedProposals: PendingProposal[] = [];
  private snapReports: { from: NodeId; to: NodeId; ok: boolean }[] = [];

  constructor(readonly opts: SimOptions) {
    this.rand = new SeededRand(opts.seed);
    this.net = new SimNetwork(this.rand);
    this.net.onDrop = (env) => {
      if (env.msg.type === "snap") this.snapReports.push({ from: env.msg.from, to: env.msg.to, ok: false });
    };
    const ids = Array.from({ length: opts.voters + opts.spares }, (_, i) => `n${i + 1}`);
    const voters = ids.slice(0, opts.voters);
    for (const id of ids) {
      // Spares start knowing no configuration: they wait to be added.
      const bootstrap = voters.includes(id) ? { voters, learners: [] } : { voters: [], learners: [] };
      this.nodes.set(id, new SimNode(id, bootstrap, opts.node, this.rand, this, opts.coreFaults));
    }
  }

  // ------------------------------------------------------------ NodeHost

  send(env: Envelope): void {
    this.stats.messages++;
    this.net.send(this.now, env);
  }

  acked(_node: NodeId, p: PendingProposal): void {
    this.stats.acked++;
    this.ackedProposals.push(p);
    this.maxAckedIndex = Math.max(this.maxAckedIndex, p.index);
  }

  dropped(_node: NodeId, _p: PendingProposal): void {
    this.stats.dropped++;
  }

  ackedIndex(): number {
    return this.maxAckedIndex;
  }

  crashHere(node: NodeId, _point: CrashPoint): boolean {
    if (this.phase !== "chaos" || !this.opts.faults || !this.rand.chance(0.0003)) return false;
    this.crash(node);
    return true;
  }

  // ------------------------------------------------------------ stepping

  /** One tick of simulated time: deliver due messages, tick every node, act as clients and faults. */
  step(): void {
    this.now++;
    this.stats.ticks++;
    this.reportSnapshots();
    for (const env of this.net.due(this.now)) this.deliver(env);
    for (const n of this.nodes.values()) if (n.alive) n.tick();
    this.clientActions();
    if (this.phase === "chaos" && this.opts.faults) this.faultActions();
    this.checkStep();
  }

  private deliver(env: Envelope): void {
    const target = this.nodes.get(env.msg.to);
    if (target === undefined || target.core === undefined) {
      if (env.msg.type === "snap") this.snapReports.push({ from: env.msg.from, to: env.msg.to, ok: false });
      return;
    }
    if (env.snapshotData) target.receiveSnapshotData(env.snapshotData);
    target.core.step(env.msg);
    target.drain();
    if (env.msg.type === "snap") this.snapReports.push({ from: env.msg.from, to: env.msg.to, ok: true });
  }

  private reportSnapshots(): void {
    const reports = this.snapReports;
    this.snapReports = [];
    for (const r of reports) {
      const n = this.nodes.get(r.from);
      if (n?.core === undefined) continue;
      n.core.reportSnapshot(r.to, r.ok);
      n.drain();
    }
  }

  private clientActions(): void {
    if (this.rand.chance(0.3)) this.propose();
    if (this.rand.chance(0.02)) {
      const leader = this.leader();
      leader?.read();
      leader?.drain();
    }
  }

  /** Propose one value, mostly to the leader, sometimes to a random node. */
  propose(): void {
    const target = this.rand.chance(0.85) ? this.leader() : this.randomNode((n) => n.alive);
    if (target === undefined) return;
    if (target.propose(this.nextProposal)) {
      this.nextProposal++;
      this.stats.proposed++;
      target.drain();
    }
  }

  /** A live node that believes it leads with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      const c = n.core;
      if (c === undefined || c.role !== "leader") continue;
      if (best === undefined || c.term > best.core!.term) best = n;
    }
    return best;
  }

  private randomNode(pred: (n: SimNode) => boolean): SimNode | undefined {
    const xs = [...this.nodes.values()].filter(pred);
    return xs.length === 0 ? undefined : xs[this.rand.int(xs.length)];
  }

  // ------------------------------------------------------------ faults

  private faultActions(): void {
    const r = this.rand;
    if (r.chance(0.01)) this.randomPartition();
    if (r.chance(0.015)) this.net.heal();
    if (r.chance(0.005)) {
      const victim = this.randomNode((n) => n.alive);
      if (victim) this.crash(victim.id);
    }
    if (r.chance(0.02)) {
      const dead = this.randomNode((n) => !n.alive);
      if (dead) this.restart(dead);
    }
    if (r.chance(0.004)) this.transferLeader();
    if (this.opts.membershipChanges && r.chance(0.004)) this.changeMembership();
    if (r.chance(0.01)) {
      this.net.faults = {
        dropRate: r.chance(0.5) ? 0 : r.float() * 0.2,
        duplicateRate: r.chance(0.7) ? 0 : r.float() * 0.05,
        delayTicksMax: 1 + r.int(4),
      };
    }
  }

  /** Isolate one node, split majority/minority, or bridge (A sees B and C; B and C don't see each other). */
  randomPartition(): void {
    const ids = [...this.nodes.keys()];
    for (let i = ids.length - 1; i > 0; i--) {
      const j = this.rand.int(i + 1);
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    this.net.heal();
    this.stats.partitions++;
    const kind = this.rand.int(3);
    if (kind === 0) this.net.partition([ids[0]!], ids.slice(1));
    else if (kind === 1) {
      const cut = 1 + this.rand.int(ids.length - 1);
      this.net.partition(ids.slice(0, cut), ids.slice(cut));
    } else {
      this.net.cut(ids[1]!, ids[2]!); // ids[0] bridges the two
    }
  }

  crash(id: NodeId): void {
    const n = this.nodes.get(id);
    if (n === undefined || !n.alive) return;
    this.stats.crashes++;
    n.crash();
  }

  restart(n: SimNode): void {
    if (n.alive) return;
    n.restart();
    n.drain();
  }

  private transferLeader(): void {
    const l = this.leader();
    const core = l?.core;
    if (l === undefined || core === undefined) return;
    const others = core.conf.voters.filter((v) => v !== l.id);
    if (others.length === 0) return;
    if (core.transferLeader(others[this.rand.int(others.length)]!).ok) this.stats.transfers++;
    l.drain();
  }

  private changeMembership(): void {
    const l = this.leader();
    const core = l?.core;
    if (l === undefined || core === undefined) return;
    const { voters, learners } = core.conf;
    const outsiders = [...this.nodes.keys()].filter((id) => !voters.includes(id) && !learners.includes(id));
    const choices: ConfChange[] = [];
    for (const x of learners) choices.push({ kind: "addVoter", node: x });
    for (const x of outsiders) choices.push({ kind: "addLearner", node: x }, { kind: "addVoter", node: x });
    if (voters.length > 3) for (const x of voters) choices.push({ kind: "removeNode", node: x });
    for (const x of learners) choices.push({ kind: "removeNode", node: x });
    if (choices.length === 0) return;
    if (core.proposeConfChange(choices[this.rand.int(choices.length)]!).ok) this.stats.confChanges++;
    l.drain();
  }

  // ------------------------------------------------------------ checks

  private checkStep(): void {
    const cores = [...this.nodes.values()].flatMap((n) => (n.core === undefined ? [] : [{
      id: n.id, applied: n.core.log.applied, committed: n.core.log.committed, last: n.core.log.lastIndex(),
    }]));
    this.checker.stepInvariants(cores, this.net.inFlight());
  }

  /** Heal everything and restart every node: from here on, the cluster must make progress. */
  heal(): void {
    this.phase = "heal";
    this.net.heal();
    this.net.faults = { dropRate: 0, duplicateRate: 0, delayTicksMax: 1 };
    for (const n of this.nodes.values()) this.restart(n);
  }

  /**
   * Liveness: after healing, within `livenessTicks` a leader leads every
   * member, everything is committed and applied everywhere, and every pending
   * proposal on a member is resolved. Returns the ticks it took.
   */
  settle(): number {
    for (let t = 0; t < this.opts.livenessTicks; t++) {
      this.step();
      const l = this.leader();
      if (l === undefined) continue;
      const members = [...l.core!.conf.voters, ...l.core!.conf.learners];
      const maxPending = Math.max(0, ...members.flatMap((id) => [...(this.nodes.get(id)?.pending.keys() ?? [])]));
      if (maxPending >= l.core!.log.lastIndex() && this.rand.chance(0.5)) this.propose(); // let the log pass pending indexes
      if (this.settled(l, members)) return t + 1;
    }
    const l = this.leader();
    const where = [...this.nodes.values()].map((n) => {
      const s = n.core?.status();
      return s ? `${n.id}:${s.role}/t${s.term}/c${s.commit}/a${s.applied}/l${s.lastIndex}/p${n.pending.size}` : `${n.id}:down`;
    }).join(" ");
    throw new SafetyViolation("liveness", `no settled leader ${this.opts.livenessTicks} ticks after healing (leader ${l?.id ?? "none"}; ${where})`);
  }

  private settled(l: SimNode, members: readonly NodeId[]): boolean {
    const lc = l.core!;
    if (lc.log.committed !== lc.log.lastIndex() || !lc.conf.voters.includes(l.id)) return false;
    for (const id of members) {
      const n = this.nodes.get(id);
      if (n?.core === undefined) return false;
      if (n.appliedIndex() !== lc.log.committed || n.core.log.lastIndex() !== lc.log.lastIndex()) return false;
      if (n.pending.size > 0) return false;
    }
    return true;
  }

  /** Final checks: every acknowledged proposal is in the one history and on every member. */
  finalChecks(): void {
    const h = this.checker;
    for (const p of this.ackedProposals) {
      if (h.historyTerm[p.index] !== p.term) {
        throw new SafetyViolation("durability", `acknowledged proposal ${p.id} at ${p.index}/${p.term} missing from history`);
      }
    }
    const l = this.leader();
    if (l === undefined) return;
    const hash = l.appliedHash();
    for (const id of [...l.core!.conf.voters, ...l.core!.conf.learners]) {
      const n = this.nodes.get(id)!;
      if (n.appliedHash() !== hash) throw new SafetyViolation("convergence", `${id} state differs from leader ${l.id}`);
    }
  }

  collectStats(): SimStats {
    this.stats.leaders = this.checker.leaderCount();
    this.stats.checks = this.checker.checks;
    this.stats.snapshotsInstalled = [...this.nodes.values()].reduce((s, n) => s + n.snapshotsInstalled, 0);
    this.stats.readsServed = [...this.nodes.values()].reduce((s, n) => s + n.readsServed, 0);
    return this.stats;
  }
}

/** Run one seed: chaos, heal, settle, final checks. Never throws: failures are results. */
export function runSeed(opts: SimOptions): SimResult {
  const cluster = new SimCluster(opts);
  try {
    for (let i = 0; i < opts.steps; i++) cluster.step();
    cluster.heal();
    cluster.settle();
    cluster.finalChecks();
    return { seed: opts.seed, ok: true, stats: cluster.collectStats() };
  } catch (e) {
    const err = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { seed: opts.seed, ok: false, error: `${err} (at tick ${cluster.now})`, stats: cluster.collectStats() };
  }
}

/** The command that replays one seed. */
export function replayCommand(seed: number, steps: number): string {
  return `pnpm sim --seeds 1 --from ${seed} --steps ${steps}`;
}
