/**
 * A deterministic cluster for scenario tests, assembled from the simulator's
 * parts: the same SimNode driver (persist, send, apply, advance), SimNetwork
 * and Checker (every safety invariant is still checked on every persist,
 * apply and election), but no random client load and no random faults. The
 * test decides every proposal, partition, crash and restart, and can drop
 * chosen messages or inject hand-built ones (e.g. a TimeoutNow to make a
 * given node campaign, the way the paper's figures pick who times out first).
 *
 * SimCluster itself cannot be used here: its step() always proposes and
 * reads at random, which would blur counts of messages and round trips.
 */
import type { RaftConfig } from "../../src/core/config.ts";
import { isMember } from "../../src/core/membership.ts";
import type { RaftCore } from "../../src/core/raft.ts";
import { SeededRand } from "../../src/core/rand.ts";
import type { Entry, Message, NodeId } from "../../src/core/types.ts";
import { Checker, SafetyViolation } from "./checker.ts";
import type { Envelope } from "./network.ts";
import { SimNetwork } from "./network.ts";
import type { NodeHost, PendingProposal } from "./node.ts";
import { SimNode } from "./node.ts";

/** How a scenario cluster is built. */
export interface HarnessOptions {
  /** Initial voters n1..nV. */
  readonly voters?: number;
  /** Extra nodes nV+1.. outside the configuration, for membership scenarios. */
  readonly spares?: number;
  readonly seed?: number;
  readonly raft?: Omit<Partial<RaftConfig>, "id" | "applied">;
  /** Take a snapshot every this many applied entries (default: never). */
  readonly snapshotEvery?: number;
  /** Entries kept below a snapshot when compacting. */
  readonly trailingEntries?: number;
  readonly coreFaults?: RaftConfig["unsafeFaults"];
  /** Replace the checker (e.g. to switch one check off and show another bites). */
  readonly checker?: RecordingChecker;
}

/** What the applied history holds at an index: a client value, or a noop / conf entry. */
export type AppliedValue = number | "noop" | "conf";

/** The simulator's checker, also remembering which value the history holds at each index. */
export class RecordingChecker extends Checker {
  /** valueAt[i]: the value applied at index i (identical on every node, or a check fails). */
  readonly valueAt: (AppliedValue | undefined)[] = [undefined];

  override applied(id: NodeId, prevHash: number, e: Entry): number {
    const h = super.applied(id, prevHash, e);
    if (this.valueAt[e.index] === undefined) this.valueAt[e.index] = decodeValue(e);
    return h;
  }
}

/** The client value in an entry proposed through SimNode.propose. */
export function decodeValue(e: Entry): AppliedValue {
  if (e.type !== "normal") return e.type;
  return new DataView(e.data.buffer, e.data.byteOffset, e.data.byteLength).getUint32(0);
}

interface SnapInFlight {
  readonly env: Envelope;
  readonly sentAt: number;
}

/** A cluster whose every event the test chooses. */
export class ScenarioCluster implements NodeHost {
  readonly checker: RecordingChecker;
  readonly rand: SeededRand;
  readonly net: SimNetwork;
  readonly nodes = new Map<NodeId, SimNode>();
  /** The initial voters, n1..nV. */
  readonly voterIds: readonly NodeId[];
  readonly ids: readonly NodeId[];
  readonly electionTicks: number;
  now = 0;
  /** Messages sent per type since the last resetCounts(). */
  readonly sentByType = new Map<Message["type"], number>();
  /** Callbacks that see every message sent (e.g. to count rejected appends). */
  private readonly watchers: ((m: Message) => void)[] = [];
  /** Messages matching this are lost on send (a targeted fault). */
  dropIf: ((m: Message) => boolean) | undefined;
  /**
   * Replace a message on send, before dropIf (e.g. an append that lost its
   * tail: what a leader with a smaller msgEntriesMax would have sent).
   */
  rewrite: ((m: Message) => Message) | undefined;
  /** Proposals applied as proposed: the client was told "committed". */
  readonly ackedProposals: PendingProposal[] = [];
  droppedProposals = 0;
  private maxAckedIndex = 0;
  private snapsInFlight: SnapInFlight[] = [];
  private snapReports: { from: NodeId; to: NodeId; ok: boolean }[] = [];

  constructor(opts: HarnessOptions = {}) {
    const voters = opts.voters ?? 3;
    const spares = opts.spares ?? 0;
    this.checker = opts.checker ?? new RecordingChecker();
    this.rand = new SeededRand(opts.seed ?? 1);
    this.net = new SimNetwork(this.rand);
    this.ids = Array.from({ length: voters + spares }, (_, i) => `n${i + 1}`);
    this.voterIds = this.ids.slice(0, voters);
    const raft = { electionTicks: 10, heartbeatTicks: 1, ...opts.raft };
    this.electionTicks = raft.electionTicks;
    const nodeOpts = { raft, snapshotEvery: opts.snapshotEvery ?? Number.MAX_SAFE_INTEGER, trailingEntries: opts.trailingEntries ?? 0 };
    for (const id of this.ids) {
      const bootstrap = this.voterIds.includes(id) ? { voters: [...this.voterIds], learners: [] } : { voters: [], learners: [] };
      this.nodes.set(id, new SimNode(id, bootstrap, nodeOpts, this.rand, this, opts.coreFaults));
    }
  }

  // ------------------------------------------------------------ NodeHost

  send(sent: Envelope): void {
    const env = this.rewrite === undefined ? sent : { ...sent, msg: this.rewrite(sent.msg) };
    const m = env.msg;
    this.sentByType.set(m.type, (this.sentByType.get(m.type) ?? 0) + 1);
    for (const w of this.watchers) w(m);
    if (this.dropIf?.(m) === true) {
      if (m.type === "snap") this.snapReports.push({ from: m.from, to: m.to, ok: false });
      return;
    }
    const before = this.net.dropped;
    this.net.send(this.now, env);
    if (m.type !== "snap") return;
    if (this.net.dropped > before) this.snapReports.push({ from: m.from, to: m.to, ok: false });
    else this.snapsInFlight.push({ env, sentAt: this.now });
  }

  acked(_node: NodeId, p: PendingProposal): void {
    this.ackedProposals.push(p);
    this.maxAckedIndex = Math.max(this.maxAckedIndex, p.index);
  }

  dropped(_node: NodeId, _p: PendingProposal): void {
    this.droppedProposals++;
  }

  ackedIndex(): number {
    return this.maxAckedIndex;
  }

  crashHere(): boolean {
    return false;
  }

  // ------------------------------------------------------------ time

  /** One tick: report snapshot transfers, deliver due messages, tick every live node. */
  step(): void {
    this.now++;
    const reports = this.snapReports;
    this.snapReports = [];
    for (const r of reports) {
      const n = this.nodes.get(r.from);
      if (n?.core === undefined) continue;
      n.core.reportSnapshot(r.to, r.ok);
      n.drain();
    }
    for (const env of this.net.due(this.now)) this.deliver(env);
    for (const n of this.nodes.values()) if (n.alive) n.tick();
    this.expireSnapshots();
    for (const n of this.nodes.values()) {
      const c = n.core;
      if (c !== undefined && !(c.log.applied <= c.log.committed && c.log.committed <= c.log.lastIndex())) {
        throw new SafetyViolation("index order", `${n.id}: applied ${c.log.applied} commit ${c.log.committed} last ${c.log.lastIndex()}`);
      }
    }
  }

  private deliver(env: Envelope): void {
    const m = env.msg;
    if (m.type === "snap") this.snapsInFlight = this.snapsInFlight.filter((s) => s.env !== env);
    const target = this.nodes.get(m.to);
    if (target?.core === undefined) {
      if (m.type === "snap") this.snapReports.push({ from: m.from, to: m.to, ok: false });
      return;
    }
    if (env.snapshotData) target.receiveSnapshotData(env.snapshotData);
    target.core.step(m);
    target.drain();
    if (m.type === "snap") this.snapReports.push({ from: m.from, to: m.to, ok: true });
  }

  /** A snapshot not delivered within the longest delay was lost to a partition: the transport reports it. */
  private expireSnapshots(): void {
    const deadline = this.now - this.net.faults.delayTicksMax - 1;
    const lost = this.snapsInFlight.filter((s) => s.sentAt < deadline);
    if (lost.length === 0) return;
    this.snapsInFlight = this.snapsInFlight.filter((s) => s.sentAt >= deadline);
    for (const s of lost) this.snapReports.push({ from: s.env.msg.from, to: s.env.msg.to, ok: false });
  }

  /** Run `ticks` ticks. */
  run(ticks: number): void {
    for (let i = 0; i < ticks; i++) this.step();
  }

  /** Step until `pred` holds (checked before each tick too); returns the ticks it took. */
  runUntil(pred: () => boolean, maxTicks: number, what: string): number {
    for (let t = 0; t <= maxTicks; t++) {
      if (pred()) return t;
      if (t < maxTicks) this.step();
    }
    throw new Error(`timed out after ${maxTicks} ticks waiting for ${what} (tick ${this.now}; ${this.describe()})`);
  }

  // ------------------------------------------------------------ looking

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** The core of a live node. */
  core(id: NodeId): RaftCore {
    const c = this.node(id).core;
    if (c === undefined) throw new Error(`${id} is down`);
    return c;
  }

  /** Live nodes that believe they lead. */
  leaders(among: readonly NodeId[] = this.ids): NodeId[] {
    return among.filter((id) => this.nodes.get(id)?.core?.role === "leader");
  }

  /** The live leader with the highest term, if any. */
  leader(among: readonly NodeId[] = this.ids): NodeId | undefined {
    let best: NodeId | undefined;
    for (const id of this.leaders(among)) if (best === undefined || this.core(id).term > this.core(best).term) best = id;
    return best;
  }

  leaderOrFail(among: readonly NodeId[] = this.ids): NodeId {
    const l = this.leader(among);
    if (l === undefined) throw new Error(`no leader among ${among.join(",")} (${this.describe()})`);
    return l;
  }

  /**
   * Wait until one node of `among` (default: every live node that is a member
   * in its own view; spares not yet added are not) leads and every other live
   * node of `among` follows it in the same term.
   */
  waitLeader(among: readonly NodeId[] = this.liveMembers(), maxTicks = 30 * this.electionTicks): NodeId {
    let found: NodeId | undefined;
    this.runUntil(() => {
      const live = among.filter((id) => this.nodes.get(id)?.alive === true);
      const ls = this.leaders(live);
      if (ls.length !== 1) return false;
      const l = ls[0]!;
      const term = this.core(l).term;
      if (!live.every((id) => this.core(id).leader === l && this.core(id).term === term)) return false;
      found = l;
      return true;
    }, maxTicks, `one leader among ${among.join(",")}`);
    return found!;
  }

  liveIds(): NodeId[] {
    return this.ids.filter((id) => this.node(id).alive);
  }

  /** Live nodes whose own configuration includes them. */
  liveMembers(): NodeId[] {
    return this.liveIds().filter((id) => isMember(this.core(id).conf, id));
  }

  /** The value the history holds at `index`, and how many nodes have applied that far. */
  nCommitted(index: number): { count: number; value: AppliedValue | undefined } {
    let count = 0;
    for (const n of this.nodes.values()) if (n.appliedIndex() >= index) count++;
    return { count, value: this.checker.valueAt[index] };
  }

  /** Every term any live node is in, and roles, for failure messages. */
  describe(): string {
    return this.ids.map((id) => {
      const s = this.nodes.get(id)?.core?.status();
      return s ? `${id}:${s.role}/t${s.term}/c${s.commit}/a${s.applied}/l${s.lastIndex}` : `${id}:down`;
    }).join(" ");
  }

  // ------------------------------------------------------------ acting

  /** Cut `id` off from every other node. */
  isolate(id: NodeId): void {
    this.net.partition([id], this.ids.filter((x) => x !== id));
  }

  /** Replace any partition with these groups (nodes in no group are isolated). */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    this.net.heal();
    for (const id of this.ids) if (!groups.some((g) => g.includes(id))) this.isolate(id);
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) this.net.partition(groups[i]!, groups[j]!);
    }
  }

  heal(): void {
    this.net.heal();
  }

  crash(id: NodeId): void {
    this.node(id).crash();
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    if (n.alive) return;
    n.restart();
    n.drain();
  }

  /** Propose `value` on `via` (default: the leader); where it landed, or undefined when refused. */
  propose(value: number, via: NodeId | undefined = this.leader()): { index: number; term: number } | undefined {
    if (via === undefined) return undefined;
    const n = this.node(via);
    const core = n.core;
    if (core === undefined || !n.propose(value)) return undefined;
    const at = { index: core.log.lastIndex(), term: core.term };
    n.drain();
    return at;
  }

  /**
   * The classic `one(cmd, expectedServers)`: keep proposing `value` to
   * whoever leads until it is applied at some index by at least `servers`
   * nodes. Returns that index.
   */
  proposeAndWait(value: number, servers = this.voterIds.length, maxTicks = 50 * this.electionTicks): number {
    const deadline = this.now + maxTicks;
    while (this.now < deadline) {
      const at = this.propose(value);
      if (at === undefined) {
        this.step();
        continue;
      }
      const waitUntil = Math.min(deadline, this.now + 4 * this.electionTicks);
      while (this.now < waitUntil) {
        const { count, value: v } = this.nCommitted(at.index);
        if (v !== undefined && v !== value) break; // overwritten by another leader: propose again
        if (count >= servers) return at.index;
        this.step();
      }
    }
    throw new Error(`value ${value} not applied by ${servers} nodes within ${maxTicks} ticks (${this.describe()})`);
  }

  /** Deliver a hand-built message to its target right now. */
  inject(m: Message): void {
    const n = this.node(m.to);
    if (n.core === undefined) throw new Error(`inject into ${m.to}, which is down`);
    n.core.step(m);
    n.drain();
  }

  /**
   * Make `id` campaign now, as if its election timer fired first: a
   * TimeoutNow at the highest term any live node has seen. It skips pre-vote
   * and leases, so only votes (and log up-to-dateness, §5.4.1) decide.
   */
  forceCampaign(id: NodeId): void {
    const max = Math.max(...this.liveIds().map((x) => this.core(x).term));
    // A (pre-)candidate ignores a TimeoutNow of its own term: lift it to a follower first.
    const term = this.core(id).role !== "follower" && this.core(id).term === max ? max + 1 : max;
    const from = this.ids.find((x) => x !== id)!;
    this.inject({ type: "timeoutNow", from, to: id, term });
  }

  /** Call `w` for every message sent until the returned function is called. */
  watch(w: (m: Message) => void): () => void {
    this.watchers.push(w);
    return () => {
      const i = this.watchers.indexOf(w);
      if (i >= 0) this.watchers.splice(i, 1);
    };
  }

  resetCounts(): void {
    this.sentByType.clear();
  }

  /** Messages of these types sent since the last resetCounts(). */
  sent(...types: Message["type"][]): number {
    return types.reduce((s, t) => s + (this.sentByType.get(t) ?? 0), 0);
  }

  /**
   * Wait until a leader leads and every live member of its configuration
   * holds and applied the leader's whole log.
   */
  settle(maxTicks = 60 * this.electionTicks): NodeId {
    let found: NodeId | undefined;
    this.runUntil(() => {
      const l = this.leader();
      if (l === undefined) return false;
      const lc = this.core(l);
      if (lc.log.committed !== lc.log.lastIndex()) return false;
      const members = [...lc.conf.voters, ...lc.conf.learners];
      for (const id of members) {
        const n = this.node(id);
        if (n.core === undefined) continue;
        if (n.appliedIndex() !== lc.log.committed || n.core.log.lastIndex() !== lc.log.lastIndex()) return false;
      }
      found = l;
      return true;
    }, maxTicks, "the cluster to settle");
    return found!;
  }

  /**
   * The end-of-scenario checks: every acknowledged value is in the one
   * history at the index it was acknowledged at, and every live member of the
   * leader's configuration holds the same state.
   */
  assertConverged(): void {
    for (const p of this.ackedProposals) {
      if (this.checker.historyTerm[p.index] !== p.term || this.checker.valueAt[p.index] !== p.id) {
        throw new SafetyViolation("durability", `acknowledged value ${p.id} at ${p.index}/${p.term} missing from history`);
      }
    }
    const l = this.leaderOrFail();
    const hash = this.node(l).appliedHash();
    const lc = this.core(l);
    for (const id of [...lc.conf.voters, ...lc.conf.learners]) {
      const n = this.node(id);
      if (n.alive && n.appliedHash() !== hash) throw new SafetyViolation("convergence", `${id} state differs from leader ${l}`);
    }
  }
}
