/**
 * The simulator under a test's control, for scenario tests (the paper's
 * figures, the classic lab tests): the same SimCluster — real RaftNode,
 * real LevelStorage, every invariant checked at every event — with no
 * random client load and no random faults, instant disks and a calm
 * network. The test decides every proposal, partition, crash and restart,
 * can drop or rewrite chosen messages or inject hand-built ones. One tick
 * is one step (tickMs of virtual time); everything that lets time pass is
 * async.
 */
import type { RaftStatus } from "../../src/core/raft.ts";
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, Role } from "../../src/core/types.ts";
import type { KvCommand } from "../../src/example/kv-state-machine.ts";
import type { LevelStorage } from "../../src/storage/level-storage.ts";
import { encodeKv } from "../../src/example/kv-state-machine.ts";
import type { Applied, AppWorkload, SimApp } from "./app.ts";
import { SafetyViolation } from "./invariants.ts";
import { kvApp } from "./kv-app.ts";
import type { SimSettings } from "./options.ts";
import { SimCluster } from "./sim-cluster.ts";
import type { SimNode } from "./sim-node.ts";

/** How a scenario cluster is built. */
export interface ScenarioOptions {
  /** Initial voters n1..nV. */
  readonly voters?: number;
  /** Extra nodes nV+1.. outside the configuration, for membership scenarios. */
  readonly spares?: number;
  readonly seed?: number;
  readonly raft?: Partial<Pick<SimSettings, "preVote" | "checkQuorum" | "electionTicks" | "heartbeatTicks" | "msgEntriesMax" | "inflightMessagesMax">>;
  /** Take a snapshot every this many applied entries (default: never). */
  readonly snapshotEvery?: number;
  /** Entries kept below a snapshot when compacting. */
  readonly trailingEntries?: number;
}

/** What the history holds at an index: a client value, or a noop / conf entry. */
export type AppliedValue = number | "noop" | "conf";

/** A refusal or an acceptance, as the core's results read. */
export type Outcome = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly leader: NodeId | null };

/** A proposal a client was told is committed. */
export interface AckedValue {
  readonly value: number;
  readonly index: number;
  readonly term: number;
}

/** One tick of virtual time. */
const TICK_MS = 10;
const decoder = new TextDecoder();

/** The values the history holds, by index, fed in history order. */
class ValueRecorder implements AppWorkload {
  readonly valueAt: (AppliedValue | undefined)[] = [undefined];
  command(): Uint8Array {
    throw new Error("scenario clusters propose explicitly");
  }
  query(): string {
    return "v";
  }
  historyApplied(e: Entry): void {
    this.valueAt[e.index] = e.type === "normal" ? Number((JSON.parse(decoder.decode(e.data)) as KvCommand).value) : e.type;
  }
  checkRead(_key: string, value: unknown, index: number): string | undefined {
    let want: AppliedValue | undefined;
    for (let i = index; i >= 1 && want === undefined; i--) if (typeof this.valueAt[i] === "number") want = this.valueAt[i];
    const got = value === null ? undefined : Number(value);
    return got === want ? undefined : `read ${String(got)}, the history holds ${String(want)} at index ${index}`;
  }
}

/** Every client write goes to one key, so a read returns the latest value. */
const KEY = "v";

/** The core as tests look at it: a snapshot of its status plus its stored log. */
export interface CoreView {
  readonly term: number;
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly vote: NodeId | null;
  readonly conf: ConfState;
  readonly log: { readonly committed: number; lastIndex(): number; term(index: number): number | undefined };
  status(): RaftStatus;
}

/** A cluster whose every event the test chooses. */
export class ScenarioCluster {
  readonly c: SimCluster;
  readonly ids: readonly NodeId[];
  readonly voterIds: readonly NodeId[];
  readonly electionTicks: number;
  readonly acked: AckedValue[] = [];
  /** Messages sent per type since the last resetCounts(). */
  readonly sentByType = new Map<Message["type"], number>();
  private readonly recorder: ValueRecorder;
  private readonly watchers: ((m: Message) => void)[] = [];
  private readonly reads = new Map<NodeId, number>();

  private constructor(opts: ScenarioOptions) {
    const recorder = new ValueRecorder();
    const app: SimApp = { name: "kv", open: kvApp.open, workload: () => recorder };
    const voters = opts.voters ?? 3;
    const pinned: Partial<SimSettings> = {
      voters, spares: opts.spares ?? 0, preVote: true, checkQuorum: true, electionTicks: 10, heartbeatTicks: 1, tickMs: TICK_MS,
      msgEntriesMax: 512, inflightMessagesMax: 256, snapshotEntries: opts.snapshotEvery ?? 1_000_000_000,
      trailingEntries: opts.trailingEntries ?? 0, storeChunkBytes: 1 << 20, streamChunkBytes: 1 << 20, clockDrift: 0, clockSkewMs: 0,
      diskWriteMs: 0, diskSyncMs: 0, diskStallChance: 0, faults: false, membershipChanges: false, lateMessageTimeouts: 1,
      ...opts.raft,
    };
    this.c = new SimCluster({ seed: opts.seed ?? 1, steps: 0, app: "kv", pinned }, app, { load: false, faults: false });
    this.recorder = recorder;
    this.ids = [...this.c.nodes.keys()];
    this.voterIds = this.c.voterIds;
    this.electionTicks = this.c.settings.electionTicks;
    this.c.net.intercept = (m) => {
      this.sentByType.set(m.type, (this.sentByType.get(m.type) ?? 0) + 1);
      for (const w of this.watchers) w(m);
      const out = this.rewrite === undefined ? m : this.rewrite(m);
      return this.dropIf?.(out) === true ? undefined : out;
    };
  }

  /** Builds the cluster and starts every node (spares too: they wait, knowing no configuration). */
  static async create(opts: ScenarioOptions = {}): Promise<ScenarioCluster> {
    const s = new ScenarioCluster(opts);
    for (const id of s.ids) s.c.restart(id);
    await s.runUntil(() => s.ids.every((id) => s.node(id).state === "up"), 10, "every node to start");
    return s;
  }

  /** Messages matching this are lost on send (a targeted fault). */
  dropIf: ((m: Message) => boolean) | undefined;
  /** Replaces a message on send, before dropIf. */
  rewrite: ((m: Message) => Message) | undefined;

  /** Ticks run so far. */
  get now(): number {
    return this.c.steps;
  }

  /** The run's checker (history, leaders). */
  get checker(): SimCluster["checker"] {
    return this.c.checker;
  }

  /** valueAt[i]: the value the history holds at index i. */
  get valueAt(): readonly (AppliedValue | undefined)[] {
    return this.recorder.valueAt;
  }

  // ------------------------------------------------------------ time

  /** One tick. */
  async step(): Promise<void> {
    await this.c.step();
  }

  /** Runs `ticks` ticks. */
  async run(ticks: number): Promise<void> {
    for (let i = 0; i < ticks; i++) await this.step();
  }

  /** Ticks until `pred` holds (checked before each tick too); returns the ticks it took. */
  async runUntil(pred: () => boolean, maxTicks: number, what: string): Promise<number> {
    for (let t = 0; t <= maxTicks; t++) {
      if (pred()) return t;
      if (t < maxTicks) await this.step();
    }
    throw new Error(`timed out after ${maxTicks} ticks waiting for ${what} (tick ${this.now}; ${this.describe()})`);
  }

  /** Runs time until `p` settles (bounded), then returns its outcome. */
  async until<T>(p: Promise<T>, maxTicks = 50 * this.electionTicks): Promise<T> {
    return this.c.untilSettled(p, maxTicks);
  }

  // ------------------------------------------------------------ looking

  node(id: NodeId): SimNode {
    const n = this.c.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** The core of an up node, as of now. */
  core(id: NodeId): CoreView {
    const n = this.node(id);
    const st = n.status();
    if (st === undefined) throw new Error(`${id} is down`);
    return {
      term: st.term, role: st.role, leader: st.leader, vote: st.vote, conf: st.conf, status: () => st,
      log: { committed: st.commit, lastIndex: () => st.lastIndex, term: (i) => n.logTerm(i) },
    };
  }

  /** Up nodes that believe they lead. */
  leaders(among: readonly NodeId[] = this.ids): NodeId[] {
    return among.filter((id) => this.node(id).raft?.isLeader() === true);
  }

  /** The up leader with the highest term, if any. */
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

  /** Waits until one node of `among` (default: up members) leads and every other up one follows it in its term. */
  async waitLeader(among?: readonly NodeId[], maxTicks = 30 * this.electionTicks): Promise<NodeId> {
    let found: NodeId | undefined;
    await this.runUntil(() => {
      const live = (among ?? this.liveMembers()).filter((id) => this.node(id).state === "up");
      const ls = this.leaders(live);
      if (ls.length !== 1) return false;
      const l = ls[0]!;
      const term = this.core(l).term;
      if (!live.every((id) => this.core(id).leader === l && this.core(id).term === term)) return false;
      found = l;
      return true;
    }, maxTicks, `one leader among ${(among ?? this.liveMembers()).join(",")}`);
    return found!;
  }

  liveIds(): NodeId[] {
    return this.ids.filter((id) => this.node(id).state === "up");
  }

  /** Up nodes whose own configuration includes them. */
  liveMembers(): NodeId[] {
    return this.liveIds().filter((id) => {
      const conf = this.core(id).conf;
      return conf.voters.includes(id) || conf.learners.includes(id);
    });
  }

  /** Applied index of an up node's application (0 when down). */
  applied(id: NodeId): number {
    return this.node(id).sm?.appliedIndex() ?? 0;
  }

  /** The value the history holds at `index`, and how many up nodes applied that far. */
  nCommitted(index: number): { count: number; value: AppliedValue | undefined } {
    const count = this.ids.filter((id) => this.applied(id) >= index).length;
    return { count, value: this.recorder.valueAt[index] };
  }

  /** The Raft storage of up node `id` (log bounds, snapshot, hard state as written). */
  storage(id: NodeId): LevelStorage {
    const st = this.node(id).storage;
    if (st === undefined) throw new Error(`${id} is down`);
    return st;
  }

  /** What `id`'s disk holds durably. */
  durableHardState(id: NodeId): HardState {
    return this.node(id).durable.hardState();
  }

  /** Snapshots `id` installed from a leader, over its incarnations so far. */
  snapshotsInstalled(id: NodeId): number {
    return this.node(id).snapshotsInstalled;
  }

  /** Linearizable reads `id` served. */
  readsServed(id: NodeId): number {
    return this.reads.get(id) ?? 0;
  }

  describe(): string {
    return this.ids.map((id) => {
      const s = this.node(id).status();
      return s ? `${id}:${s.role}/t${s.term}/c${s.commit}/a${s.applied}/l${s.lastIndex}` : `${id}:down`;
    }).join(" ");
  }

  // ------------------------------------------------------------ acting

  /** Cut `id` off from every other node. */
  isolate(id: NodeId): void {
    this.c.net.partition([id], this.ids.filter((x) => x !== id));
  }

  /** Replaces any partition with these groups (nodes in no group are isolated). */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    this.c.net.heal();
    for (const id of this.ids) if (!groups.some((g) => g.includes(id))) this.isolate(id);
    for (let i = 0; i < groups.length; i++) for (let j = i + 1; j < groups.length; j++) this.c.net.partition(groups[i]!, groups[j]!);
  }

  heal(): void {
    this.c.net.heal();
  }

  /** Messages are lost, duplicated and delayed by up to `delayTicks` ticks; `reliable()` ends it. */
  unreliable(dropRate: number, duplicateRate: number, delayTicks: number): void {
    this.c.net.faults = { dropRate, duplicateRate, delayMs: delayTicks * TICK_MS, longDelayChance: 0, longDelayMs: 0 };
  }

  reliable(): void {
    this.c.net.faults = { dropRate: 0, duplicateRate: 0, delayMs: 2, longDelayChance: 0, longDelayMs: 0 };
  }

  /** The process dies (its disk keeps what the OS had). */
  crash(id: NodeId): void {
    this.c.crash(id, "process");
  }

  /** Starts `id` again and waits until it is up. */
  async restart(id: NodeId): Promise<void> {
    if (this.node(id).state !== "down") return;
    this.c.restart(id);
    await this.runUntil(() => this.node(id).state === "up", 10, `${id} to restart`);
  }

  /**
   * Proposes `value` on `via` (default: the leader). Returns where its entry
   * landed, or undefined when refused. Its acknowledgement is recorded.
   */
  async propose(value: number, via: NodeId | undefined = this.leader()): Promise<{ index: number; term: number } | undefined> {
    const raft = via === undefined ? undefined : this.node(via).raft;
    if (via === undefined || raft === undefined) return undefined;
    const p = raft.propose(encodeKv({ key: KEY, value: String(value) }));
    const refused = await refusal(p);
    if (refused !== undefined) return undefined;
    p.then((a) => this.acked.push({ value, index: a.index, term: a.term }), () => {});
    await this.c.time.runFor(0); // the driver's next turn appends it
    const st = this.core(via);
    return st.role === "leader" ? { index: st.log.lastIndex(), term: st.term } : undefined;
  }

  /** Proposes `value` on `via` and says only whether it was accepted (and if not, why). */
  async tryPropose(value: number, via: NodeId): Promise<Outcome> {
    const raft = this.node(via).raft;
    if (raft === undefined) throw new Error(`${via} is down`);
    const p = raft.propose(encodeKv({ key: KEY, value: String(value) }));
    p.catch(() => {});
    const early = await refusal(p);
    if (early !== undefined) return early;
    await this.c.time.runFor(0); // the core decides in the driver's next turn (e.g. during a transfer)
    return (await refusal(p)) ?? { ok: true };
  }

  /**
   * The classic `one(cmd, expectedServers)`: keeps proposing `value` to
   * whoever leads until `servers` nodes applied it at some index; returns it.
   */
  async proposeAndWait(value: number, servers = this.voterIds.length, maxTicks = 50 * this.electionTicks): Promise<number> {
    const deadline = this.now + maxTicks;
    while (this.now < deadline) {
      const at = await this.propose(value);
      if (at === undefined) {
        await this.step();
        continue;
      }
      const waitUntil = Math.min(deadline, this.now + 4 * this.electionTicks);
      while (this.now < waitUntil) {
        const { count, value: v } = this.nCommitted(at.index);
        if (v !== undefined && v !== value) break; // overwritten by another leader: propose again
        if (count >= servers) return at.index;
        await this.step();
      }
    }
    throw new Error(`value ${value} not applied by ${servers} nodes within ${maxTicks} ticks (${this.describe()})`);
  }

  /** Asks `from` to hand leadership to `to`; the outcome of the request (not of the transfer). */
  async transferLeader(from: NodeId, to: NodeId): Promise<Outcome> {
    const raft = this.node(from).raft;
    if (raft === undefined) throw new Error(`${from} is down`);
    return (await refusal(raft.transferLeader(to))) ?? { ok: true };
  }

  /** Proposes a membership change on `via`; the outcome of the request. The change's promise resolves once applied there. */
  async proposeConfChange(via: NodeId, change: ConfChange): Promise<{ outcome: Outcome; applied: Promise<void> }> {
    const raft = this.node(via).raft;
    if (raft === undefined) throw new Error(`${via} is down`);
    const applied = raft.proposeConfChange(change);
    applied.catch(() => {});
    return { outcome: (await refusal(applied)) ?? { ok: true }, applied };
  }

  /** Starts a linearizable read on `id`; counted in readsServed once served. */
  read(id: NodeId): void {
    const raft = this.node(id).raft;
    if (raft === undefined) throw new Error(`${id} is down`);
    raft.readIndex().then(() => this.reads.set(id, (this.reads.get(id) ?? 0) + 1), () => {});
  }

  /** Delivers a hand-built message to its target right now. */
  async inject(m: Message): Promise<void> {
    const t = this.c.net.endpoint(m.to);
    if (t === undefined) throw new Error(`inject into ${m.to}, which is down`);
    this.c.net.monitor.delivered(m);
    t.receive(m);
    await this.c.time.runFor(0);
  }

  /**
   * Makes `id` campaign now, as if its election timer fired first: a
   * TimeoutNow at the highest term any up node has seen. It skips pre-vote
   * and leases, so only votes (and log up-to-dateness, §5.4.1) decide.
   */
  async forceCampaign(id: NodeId): Promise<void> {
    const max = Math.max(...this.liveIds().map((x) => this.core(x).term));
    const me = this.core(id);
    // A (pre-)candidate ignores a TimeoutNow of its own term: lift it to a follower first.
    const term = me.role !== "follower" && me.term === max ? max + 1 : max;
    const from = this.ids.find((x) => x !== id)!;
    await this.inject({ type: "timeoutNow", from, to: id, term });
  }

  /** Runs `f` on each of `xs` in turn (time passes in each). */
  async each<T, R>(xs: readonly T[], f: (x: T) => Promise<R>): Promise<R[]> {
    const out: R[] = [];
    for (const x of xs) out.push(await f(x));
    return out;
  }

  /** Calls `w` for every message sent until the returned function is called. */
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

  /** Waits until a leader leads and every up member of its configuration holds and applied its whole log. */
  async settle(maxTicks = 60 * this.electionTicks): Promise<NodeId> {
    let found: NodeId | undefined;
    await this.runUntil(() => {
      const l = this.leader();
      if (l === undefined) return false;
      const lc = this.core(l);
      if (lc.log.committed !== lc.log.lastIndex()) return false;
      for (const id of [...lc.conf.voters, ...lc.conf.learners]) {
        if (this.node(id).state !== "up") continue;
        if (this.applied(id) !== lc.log.committed || this.core(id).log.lastIndex() !== lc.log.lastIndex()) return false;
      }
      found = l;
      return true;
    }, maxTicks, "the cluster to settle");
    return found!;
  }

  /** Digest of `id`'s application state and the index it describes. */
  digest(id: NodeId): Promise<{ index: number; digest: string }> {
    const sm = this.node(id).sm;
    if (sm === undefined) throw new Error(`${id} is down`);
    return this.until(sm.digestNow());
  }

  /**
   * End-of-scenario checks: every acknowledged value is in the one history
   * at the index it was acknowledged at, and every up member of the
   * leader's configuration holds the same state.
   */
  async assertConverged(): Promise<void> {
    for (const a of this.acked) {
      if (this.checker.historyTerm[a.index] !== a.term || this.recorder.valueAt[a.index] !== a.value) {
        throw new SafetyViolation("durability", `acknowledged value ${a.value} at ${a.index}/${a.term} missing from history`);
      }
    }
    const l = await this.settle();
    const want = await this.digest(l);
    const lc = this.core(l);
    for (const id of [...lc.conf.voters, ...lc.conf.learners]) {
      if (this.node(id).state !== "up") continue;
      const d = await this.digest(id);
      if (d.digest !== want.digest || d.index !== want.index) throw new SafetyViolation("convergence", `${id} state differs from leader ${l}`);
    }
  }
}

/** The refusal `p` rejects with at once (the driver refuses synchronously), or undefined while it is pending or resolved. */
async function refusal(p: Promise<unknown>): Promise<Outcome | undefined> {
  let out: Outcome | undefined;
  p.catch((e: unknown) => {
    const err = e as { code?: string; leaderHint?: NodeId | null };
    out = { ok: false, code: err.code ?? "ERROR", leader: err.leaderHint ?? null };
  });
  for (let i = 0; i < 5; i++) await null;
  return out;
}

export type { Applied };
