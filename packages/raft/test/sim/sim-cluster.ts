/**
 * A deterministic simulation of a whole cluster running the real code (the
 * VOPR idea): the real RaftNode driver on virtual time, the real LevelStorage
 * on hostile simulated disks, the application's real state machine and
 * snapshots, a hostile network — all driven by one seeded PRNG, so any run
 * replays exactly from its seed and settings. Every promise is checked at
 * the event that would break it (invariants.ts, sim-client.ts, liveness.ts).
 *
 * A run: start, `steps` steps of chaos (one tick of true time each: client
 * load, faults), then heal and settle (liveness after a full heal), then
 * final checks (every member holds the same state).
 */
import { SeededRand } from "../../src/core/rand.ts";
import type { NodeId } from "../../src/core/types.ts";
import type { AppWorkload, SimApp } from "./app.ts";
import { Checker, SafetyViolation } from "./invariants.ts";
import { LivenessMonitor } from "./liveness.ts";
import type { SimOptions, SimSettings } from "./options.ts";
import { settingsFor } from "./options.ts";
import { SimClients } from "./sim-client.ts";
import type { CrashKind } from "./sim-disk.ts";
import { SimFaults } from "./sim-faults.ts";
import { CALM_NETWORK, SimNetwork } from "./sim-network.ts";
import type { SimNodeConfig } from "./sim-node.ts";
import { SimNode } from "./sim-node.ts";
import { VirtualTime } from "./virtual-time.ts";

/** Where a crash may be armed inside a node's work. */
export type CrashPoint = "write" | "send" | "apply";

/** How a cluster runs: random client load and random faults, or neither (scenario tests drive it). */
export interface ClusterMode {
  readonly load: boolean;
  readonly faults: boolean;
}

/** Steps between index-order and liveness checks (status pages are not free; the liveness window is counted in steps). */
const STATUS_EVERY_STEPS = 4;
/** Steps between replica digest checkpoints. */
const DIGEST_EVERY_STEPS = 50;

/** One simulated cluster. */
export class SimCluster {
  readonly settings: SimSettings;
  readonly time = new VirtualTime();
  readonly rand: SeededRand;
  readonly net: SimNetwork;
  readonly checker: Checker;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly workload: AppWorkload;
  readonly clients: SimClients;
  readonly faults: SimFaults;
  readonly liveness: LivenessMonitor;
  /** The ids of the initial voters, n1..nV. */
  readonly voterIds: readonly NodeId[];
  phase: "chaos" | "heal" = "chaos";
  steps = 0;
  private failure: unknown;
  private readonly mode: ClusterMode;

  constructor(readonly opts: SimOptions, readonly app: SimApp, mode?: Partial<ClusterMode>) {
    const s = (this.settings = settingsFor(opts));
    this.mode = { load: mode?.load ?? true, faults: mode?.faults ?? s.faults };
    this.rand = new SeededRand(opts.seed);
    this.checker = new Checker((id) => this.nodes.get(id), s.preVote);
    this.net = new SimNetwork(this.time, this.rand, {
      sent: (m) => this.guard(() => this.checker.sent(m)),
      delivered: (m) => this.guard(() => this.checker.delivered(m)),
      invalidSnapshot: (m, e) => this.fail(new SafetyViolation("snapshot verifies",
        `${m.to} refused snapshot ${m.snapshot.index}/${m.snapshot.term} from ${m.from}: ${e instanceof Error ? e.message : String(e)}`)),
    }, { chunkBytesMax: s.streamChunkBytes, chunkDelayMs: s.tickMs / 4 });
    this.workload = app.workload();
    this.clients = new SimClients(this);
    this.faults = new SimFaults(this);
    const ids = Array.from({ length: s.voters + s.spares }, (_, i) => `n${i + 1}`);
    this.voterIds = ids.slice(0, s.voters);
    const cfg = this.nodeConfig();
    const env = {
      time: this.time, net: this.net, checker: this.checker, app, workload: this.workload, rand: this.rand,
      fail: (e: unknown) => this.fail(e), guard: (fn: () => void) => this.guard(fn),
    };
    for (const id of ids) {
      const voters = this.voterIds.includes(id) ? [...this.voterIds] : [];
      const rate = 1 + (this.rand.float() * 2 - 1) * s.clockDrift;
      const offset = 1_700_000_000_000 + Math.round((this.rand.float() * 2 - 1) * s.clockSkewMs);
      const disk = { writeMs: s.diskWriteMs, syncMs: s.diskSyncMs, stallChance: s.diskStallChance, stallMs: cfg.storageStallMs * 1.5 };
      this.nodes.set(id, new SimNode(id, { voters, learners: [] }, cfg, rate, offset, disk, env));
    }
    this.liveness = new LivenessMonitor(this, this.livenessWindowSteps(cfg));
    this.time.afterEvent = () => this.afterEvent();
  }

  private nodeConfig(): SimNodeConfig {
    const s = this.settings;
    const electionMs = s.electionTicks * s.tickMs;
    return {
      raft: {
        electionTicks: s.electionTicks, heartbeatTicks: s.heartbeatTicks, preVote: s.preVote, checkQuorum: s.checkQuorum,
        msgEntriesMax: s.msgEntriesMax, inflightMessagesMax: s.inflightMessagesMax, applyBytesMax: s.applyBytesMax,
      },
      tickMs: s.tickMs,
      snapshotEntries: s.snapshotEntries,
      trailingEntries: s.trailingEntries, snapshotBytes: s.snapshotBytes, trailingBytes: s.trailingBytes,
      proposalTimeoutMs: 20 * electionMs,
      storageStallMs: 4 * electionMs,
      snapshotChunkBytesMax: s.storeChunkBytes,
    };
  }

  /** Steps a healthy majority may go without committing: elections at the slowest clock, stalls, slack. */
  private livenessWindowSteps(cfg: SimNodeConfig): number {
    const s = this.settings;
    const slowest = 1 - s.clockDrift;
    const electionMs = (2 * s.electionTicks * s.tickMs) / slowest;
    return Math.ceil((10 * electionMs + 3 * cfg.storageStallMs * 1.5 + 10 * s.diskSyncMs) / s.tickMs);
  }

  // ------------------------------------------------------------ lifecycle

  /** Starts the initial voters (a spare machine is started when it is first added). */
  async start(): Promise<void> {
    for (const id of this.voterIds) this.restart(id);
    await this.time.runFor(0);
    this.throwIfFailed();
  }

  /** Records the first failure; the run stops at the end of the current event. Non-violations are wrapped. */
  fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err instanceof SafetyViolation ? err
      : new SafetyViolation("node keeps running", err instanceof Error ? err.stack ?? err.message : String(err));
  }

  /** Runs `fn`, turning a violation it throws into the run's failure (so it never unwinds through the node). */
  guard(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** One step: client load, faults, one tick of true time (events checked as they run), step checks. */
  async step(): Promise<void> {
    this.steps++;
    const chaos = this.phase === "chaos";
    if (this.mode.load && chaos) this.clientActions();
    if (this.mode.faults && chaos) this.faults.step();
    await this.time.runFor(this.settings.tickMs);
    this.throwIfFailed();
    if (this.steps % DIGEST_EVERY_STEPS === 0) this.checkpointDigests();
    if (this.steps % STATUS_EVERY_STEPS === 0) {
      this.checkIndexOrder();
      if (chaos && this.mode.faults) this.liveness.step(this.steps);
    }
  }

  private clientActions(): void {
    const r = this.rand;
    if (r.chance(0.3)) this.clients.propose();
    if (r.chance(0.04)) this.clients.read();
    if (this.mode.faults && r.chance(0.004)) this.clients.transfer();
    if (this.mode.faults && this.settings.membershipChanges && r.chance(0.004)) this.clients.changeMembership();
  }

  /**
   * After every event: stop on a failure, and check every leader's commit
   * index (a leader may commit inside an event without writing anything
   * yet; followers' commits are checked as they write them).
   */
  private afterEvent(): void {
    this.throwIfFailed();
    for (const n of this.nodes.values()) {
      const raft = n.raft;
      if (raft === undefined || !raft.isLeader() || raft.commitIndex() <= this.checker.committed) continue;
      const st = raft.status();
      this.checker.leaderCommit(n.id, st.term, st.commit, st.commitTerm, st.conf.voters, true);
    }
  }

  /** Every up node keeps applied ≤ committed ≤ last. */
  private checkIndexOrder(): void {
    for (const n of this.nodes.values()) {
      const st = n.status();
      if (st !== undefined && !(st.applied <= st.commit && st.commit <= st.lastIndex)) {
        throw new SafetyViolation("index order", `${n.id}: applied ${st.applied} commit ${st.commit} last ${st.lastIndex}`);
      }
    }
  }

  /** Every up node's state digest, compared at equal applied index. */
  private checkpointDigests(): void {
    for (const n of this.nodes.values()) {
      const sm = n.sm;
      if (sm === undefined) continue;
      sm.digestNow().then(({ index, digest }) => this.guard(() => this.checker.stateDigest(n.id, index, digest, "checkpoint")), (e: unknown) => this.fail(e));
    }
  }

  // ------------------------------------------------------------ faults (also for scenario tests)

  /** Crashes `id` now. */
  crash(id: NodeId, kind: CrashKind = "process"): void {
    const n = this.nodes.get(id);
    if (n === undefined || n.state === "down") return;
    n.crash(kind);
    this.clients.nodeDown(n);
  }

  /** Starts `id` again (in an event now) if it is down. */
  restart(id: NodeId): void {
    const n = this.nodes.get(id);
    if (n === undefined || n.state !== "down") return;
    this.time.after(0, () => {
      n.start().catch((e: unknown) => this.fail(e));
    });
  }

  /** Crash `id` at the next point of that kind inside its work. */
  armCrashPoint(id: NodeId, point: CrashPoint): void {
    const n = this.nodes.get(id);
    if (n === undefined || n.state !== "up") return;
    const kind: CrashKind = this.rand.chance(0.5) ? "power" : "process";
    n.armCrash(point, () => {
      if (this.phase === "chaos") this.crash(id, kind);
    });
  }

  /** A random node matching `pred`. */
  randomNode(pred: (n: SimNode) => boolean): SimNode | undefined {
    const xs = [...this.nodes.values()].filter(pred);
    return xs.length === 0 ? undefined : xs[this.rand.int(xs.length)];
  }

  // ------------------------------------------------------------ heal, settle, final checks

  /** Ends the chaos: the network heals and calms, disks stop stalling, every node restarts. */
  heal(): void {
    this.phase = "heal";
    this.net.heal();
    this.net.faults = { ...CALM_NETWORK };
    for (const n of this.nodes.values()) {
      for (const d of n.disks()) d.profile = { ...d.profile, stallChance: 0 };
      n.raftDisk.corruptNextOpen = false;
      this.restart(n.id);
    }
  }

  /**
   * Liveness after a full heal: within `maxSteps` a leader that is a voter
   * of its configuration has committed its whole log, and every member has
   * applied all of it. Returns the steps it took.
   */
  async settle(maxSteps: number): Promise<number> {
    for (let t = 1; t <= maxSteps; t++) {
      await this.step();
      if (this.settled()) return t;
    }
    const where = [...this.nodes.values()].map((n) => {
      const st = n.status();
      return st === undefined ? `${n.id}:${n.state}` : `${n.id}:${st.role}/t${st.term}/c${st.commit}/a${st.applied}/l${st.lastIndex}`;
    }).join(" ");
    throw new SafetyViolation("liveness", `no settled leader ${maxSteps} steps after healing (${where})`);
  }

  private settled(): boolean {
    const l = this.clients.leader();
    const ls = l?.status();
    if (ls === undefined || ls.commit !== ls.lastIndex || !ls.conf.voters.includes(ls.id)) return false;
    for (const id of [...ls.conf.voters, ...ls.conf.learners]) {
      const n = this.nodes.get(id);
      const st = n?.status();
      if (n?.sm === undefined || st === undefined) return false;
      if (n.sm.appliedIndex() !== ls.commit || st.lastIndex !== ls.lastIndex) return false;
    }
    return true;
  }

  /** Runs virtual time (a tick at a time, bounded) until `p` settles. */
  async untilSettled<T>(p: Promise<T>, maxSteps = 1000): Promise<T> {
    let done = false;
    const watched = p.finally(() => {
      done = true;
    });
    for (let i = 0; !done && i < maxSteps; i++) await this.time.runFor(this.settings.tickMs);
    if (!done) throw new SafetyViolation("liveness", `an operation did not finish within ${maxSteps} ticks`);
    this.throwIfFailed();
    return watched;
  }

  /** Every member's state digest, all at the same applied index: identical (and acknowledged writes in the history). */
  async finalChecks(): Promise<void> {
    const ls = this.clients.leader()?.status();
    if (ls === undefined) return;
    const digests = [...ls.conf.voters, ...ls.conf.learners].map((id) => this.nodes.get(id)!.sm!.digestNow().then((d) => ({ id, ...d })));
    for (const d of await this.untilSettled(Promise.all(digests))) this.checker.stateDigest(d.id, d.index, d.digest, "final");
    for (const a of this.clients.acked) {
      if (this.checker.historyTerm[a.index] !== a.term) {
        throw new SafetyViolation("acknowledged writes survive", `the write acknowledged at ${a.index}/${a.term} is not in the history`);
      }
    }
  }
}
