/**
 * The Raft core: a pure state machine in the shape of etcd-io/raft. Time
 * arrives as tick(), input as step(message) and propose(), and everything the
 * outside world must do comes out of ready(): entries and hard state to
 * persist, messages to send, committed entries to apply. No I/O, no clock,
 * no ambient randomness (enforced by eslint.config.js).
 *
 * Section references (§) are to the Raft paper; "thesis" is Ongaro's
 * dissertation.
 */
import { assert } from "./assert.ts";
import type { RaftConfig } from "./config.ts";
import { resolveConfig } from "./config.ts";
import { RaftLog } from "./log.ts";
import { applyConfChange, checkConfChange, decodeConfEntry, encodeConfEntry, isMember } from "./membership.ts";
import { Progress } from "./progress.ts";
import { committedIndex, majority, tallyVotes } from "./quorum.ts";
import type { Rand } from "./rand.ts";
import { ReadOnlyQueue } from "./read-only.ts";
import type { Storage } from "./storage.ts";
import { entrySize } from "./storage.ts";
import type {
  AppendMessage, AppendResponseMessage, ConfChange, ConfState, Entry, EntryType, HardState,
  HeartbeatMessage, HeartbeatResponseMessage, Message, NodeId, NotMemberMessage, ReadState, Ready, Role,
  SnapshotMessage, SoftState, VoteMessage, VoteResponseMessage,
} from "./types.ts";

/** Why the core refused a request. Expected failures are values, not exceptions. */
export type RefusalCode = "NOT_LEADER" | "PROPOSAL_DROPPED" | "INVALID_CONF_CHANGE";

/** A refused request, with the leader to try instead when known. */
export interface Refusal {
  readonly ok: false;
  readonly code: RefusalCode;
  readonly leader: NodeId | null;
  readonly reason: string;
}

/** Where accepted proposals landed: entries firstIndex.. in `term`. */
export type ProposeResult = { readonly ok: true; readonly firstIndex: number; readonly term: number } | Refusal;

/** Outcome of a request that has no result beyond acceptance. */
export type Accepted = { readonly ok: true } | Refusal;

/** A peer as the leader sees it (for status pages). */
export interface PeerStatus {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: Progress["state"];
  readonly recentActive: boolean;
  readonly isLearner: boolean;
}

/** A snapshot of the core's state for status pages and tests. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly commit: number;
  /** Term of the entry at the commit index (0 before anything is committed). */
  readonly commitTerm: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly conf: ConfState;
  readonly transferee: NodeId | null;
  /** Leader only: replication progress of every member. */
  readonly peers: readonly PeerStatus[];
  /** False when this node is not in its configuration or a leader said it was removed (see `removal`). */
  readonly member: boolean;
  /** What the leader that told this node it is not a member said, until a leader replicates to it again. */
  readonly removal: Removal | null;
}

/** A leader's word that this node is not a member (a NotMemberMessage received). */
export interface Removal {
  /** The leader that said so, in `term`. */
  readonly by: NodeId;
  readonly term: number;
  /** The committed configuration in force as of `confIndex`, which excludes this node. */
  readonly confIndex: number;
  readonly conf: ConfState;
}

type CampaignKind = "pre" | "real" | "transfer";

/** Conf entries still in the log (not covered by the snapshot), oldest first. */
interface ConfMark {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

/** The Raft state machine of one node. */
export class RaftCore {
  readonly id: NodeId;
  readonly log: RaftLog;
  private readonly cfg: RaftConfig;
  private readonly rand: Rand;

  term = 0;
  vote: NodeId | null = null;
  role: Role = "follower";
  leader: NodeId | null = null;

  /** Configuration from the latest snapshot; `confMarks` override it. */
  private baseConf: ConfState;
  private confMarks: ConfMark[] = [];
  /** Effective configuration: the latest one in the log, committed or not (thesis §4.1). */
  conf: ConfState;
  /**
   * Set when the leader of a term ≥ ours said our committed configuration
   * excludes us; cleared when a leader replicates to us again (only members
   * get appends, heartbeats and snapshots). While set we never campaign.
   */
  private removal: Removal | null = null;

  private readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private transferee: NodeId | null = null;

  private msgs: Message[] = [];
  private readonly readOnly: ReadOnlyQueue;
  private readStates: ReadState[] = [];
  /** Reads that arrived before the leader committed an entry of its term. */
  private pendingReads: number[] = [];
  /** Sizes of this leader's uncommitted entries, oldest first (flow control for proposals). */
  private uncommitted: { index: number; bytes: number }[] = [];
  private uncommittedBytes = 0;

  private prevSoft: SoftState;
  private prevHard: HardState;
  private stepRole: (m: Message) => void = (m) => this.stepFollower(m);
  private tickRole: () => void = () => this.tickElection();

  constructor(config: Partial<RaftConfig> & { id: NodeId }, storage: Storage, rand: Rand) {
    this.cfg = resolveConfig(config);
    this.id = this.cfg.id;
    this.rand = rand;
    this.readOnly = new ReadOnlyQueue(this.cfg.readQueueMax);
    this.log = new RaftLog(storage, this.cfg.applied);
    const init = storage.initialState();
    this.baseConf = init.confState;
    this.conf = this.baseConf;
    this.loadConfMarks(storage);
    this.becomeFollower(init.hardState.term, null);
    this.vote = init.hardState.vote;
    this.prevHard = this.hardState();
    this.prevSoft = this.softState();
  }

  /** Rebuild membership from conf entries after the snapshot (a restart). */
  private loadConfMarks(storage: Storage): void {
    const lo = Math.max(storage.snapshot().index + 1, storage.firstIndex());
    const hi = storage.lastIndex() + 1;
    if (lo < hi) this.recordConfEntries(storage.entries(lo, hi, Number.MAX_SAFE_INTEGER));
  }

  // ---------------------------------------------------------------- input

  /** Advance logical time by one tick. */
  tick(): void {
    this.tickRole();
  }

  /** Handle a message from a peer. */
  step(m: Message): void {
    assert(m.to === this.id, () => `message for ${m.to} stepped into ${this.id}`);
    if (m.from === this.id) return;
    if (this.role === "leader" && !isMember(this.conf, m.from)) {
      // A non-member's messages count for nothing here (its votes, acks and terms
      // included); tell it that it is not a member so it stops campaigning.
      this.maybeTellNotMember(m.from);
      return;
    }
    if (m.term > this.term) {
      if (!this.acceptHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.answerStaleTerm(m);
      return;
    }
    if (m.type === "vote" || m.type === "preVote") {
      this.handleVoteRequest(m);
      return;
    }
    // The current term's leader replicates to us: we are a member (again).
    if (m.type === "app" || m.type === "heartbeat" || m.type === "snap") this.removal = null;
    this.stepRole(m);
  }

  /** Returns false when the message must be ignored. */
  private acceptHigherTerm(m: Message): boolean {
    if (m.type === "vote" || m.type === "preVote") {
      // A node that hears from a live leader ignores campaigns (thesis §4.2.3),
      // unless the leader itself asked for the campaign (transfer).
      const inLease = this.cfg.checkQuorum && this.leader !== null && this.electionElapsed < this.cfg.electionTicks;
      if (inLease && !m.transfer) return false;
    }
    if (m.type === "preVote") return true; // a pre-vote never changes our term
    if (m.type === "preVoteResp" && !m.reject) return true; // grant for the term we will campaign in
    const fromLeader = m.type === "app" || m.type === "heartbeat" || m.type === "snap" || m.type === "notMember";
    this.becomeFollower(m.term, fromLeader ? m.from : null);
    return true;
  }

  private answerStaleTerm(m: Message): void {
    if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === "app" || m.type === "heartbeat")) {
      // Tell a deposed leader about the newer term so it steps down; with
      // pre-vote it would otherwise never learn of it.
      this.send<AppendResponseMessage>({ type: "appResp", to: m.from, term: this.term, reject: false, index: 0, hintIndex: 0, hintTerm: 0 });
    } else if (m.type === "preVote") {
      this.send<VoteResponseMessage>({ type: "preVoteResp", to: m.from, term: this.term, reject: true });
    }
  }

  /** Propose application entries; only a leader accepts them. */
  propose(data: readonly Uint8Array[]): ProposeResult {
    const refusal = this.refuseWrite();
    if (refusal) return refusal;
    const bytes = data.reduce((s, d) => s + d.byteLength + 24, 0);
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.cfg.uncommittedBytesMax) {
      return this.refuse("PROPOSAL_DROPPED", "too many uncommitted bytes; retry later");
    }
    const first = this.log.lastIndex() + 1;
    this.appendEntries(data.map((d) => ({ type: "normal" as const, data: d })));
    return { ok: true, firstIndex: first, term: this.term };
  }

  /** Propose one membership change (one at a time, see membership.ts). */
  proposeConfChange(change: ConfChange): ProposeResult {
    const refusal = this.refuseWrite();
    if (refusal) return refusal;
    if (!this.committedInTerm()) {
      return this.refuse("PROPOSAL_DROPPED", "leader has not committed an entry in its term yet; retry");
    }
    const latest = this.confMarks[this.confMarks.length - 1];
    if (latest !== undefined && latest.index > this.log.committed) {
      return this.refuse("PROPOSAL_DROPPED", "another membership change is in progress; retry");
    }
    const problem = checkConfChange(this.conf, change);
    if (problem !== undefined) return this.refuse("INVALID_CONF_CHANGE", problem);
    const conf = applyConfChange(this.conf, change);
    const first = this.log.lastIndex() + 1;
    this.appendEntries([{ type: "conf", data: encodeConfEntry({ change, conf }) }]);
    return { ok: true, firstIndex: first, term: this.term };
  }

  /**
   * Request a linearizable read (thesis §6.4). When confirmed, a ReadState
   * with `ctx` comes out of ready(); serve the read once that index is applied.
   */
  readIndex(ctx: number): Accepted {
    if (this.role !== "leader") return this.refuse("NOT_LEADER", "not the leader");
    if (!this.committedInTerm()) {
      if (this.pendingReads.length >= this.cfg.readQueueMax) return this.refuse("PROPOSAL_DROPPED", "read queue full");
      this.pendingReads.push(ctx);
      return { ok: true };
    }
    return this.issueRead(ctx);
  }

  /** Hand leadership to `to` (thesis §3.10): catch it up, then tell it to campaign at once. */
  transferLeader(to: NodeId): Accepted {
    if (this.role !== "leader") return this.refuse("NOT_LEADER", "not the leader");
    if (to === this.id || to === this.transferee) return { ok: true };
    if (!this.conf.voters.includes(to)) return this.refuse("INVALID_CONF_CHANGE", `${to} is not a voter`);
    this.transferee = to;
    this.electionElapsed = 0; // the transfer must finish within one election timeout
    const pr = this.progress.get(to);
    assert(pr !== undefined, () => `no progress for voter ${to}`);
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
    return { ok: true };
  }

  /**
   * Stop leading without changing the term (always safe: a follower of the
   * same term can at most vote again for nobody new). Used by the driver when
   * its storage stalls, so clients go to a leader that can make progress.
   */
  stepDown(): void {
    if (this.role === "leader") this.becomeFollower(this.term, null);
  }

  /** The transport finished (or gave up) sending a snapshot to `to`. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    const pr = this.progress.get(to);
    if (this.role !== "leader" || pr === undefined || pr.state !== "snapshot") return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the follower's answer (or a heartbeat response) before probing again.
    pr.probeSent = true;
  }

  /** The transport could not reach `to`: stop pipelining until it answers again. */
  reportUnreachable(to: NodeId): void {
    const pr = this.progress.get(to);
    if (this.role === "leader" && pr !== undefined && pr.state === "replicate") pr.becomeProbe();
  }

  // ---------------------------------------------------------------- roles

  private reset(term: number): void {
    if (term !== this.term) {
      assert(term > this.term, () => `term going back ${this.term} → ${term}`);
      this.term = term;
      this.vote = null;
    }
    this.leader = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.rand.int(this.cfg.electionTicks);
    this.votes.clear();
    this.transferee = null;
    this.readOnly.reset();
    this.pendingReads = [];
    this.progress.clear();
    this.uncommitted = [];
    this.uncommittedBytes = 0;
  }

  private becomeFollower(term: number, leader: NodeId | null): void {
    this.reset(term);
    this.role = "follower";
    this.leader = leader;
    this.stepRole = (m) => this.stepFollower(m);
    this.tickRole = () => this.tickElection();
  }

  private becomePreCandidate(): void {
    assert(this.role !== "leader", "leader cannot become pre-candidate");
    // Term and vote stay: a pre-vote changes nothing until it succeeds.
    this.votes.clear();
    this.leader = null;
    this.role = "preCandidate";
    this.stepRole = (m) => this.stepCandidate(m);
    this.tickRole = () => this.tickElection();
  }

  private becomeCandidate(): void {
    assert(this.role !== "leader", "leader cannot become candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
    this.stepRole = (m) => this.stepCandidate(m);
    this.tickRole = () => this.tickElection();
  }

  private becomeLeader(): void {
    assert(this.role === "candidate", () => `${this.role} cannot become leader`);
    this.reset(this.term);
    this.role = "leader";
    this.leader = this.id;
    this.stepRole = (m) => this.stepLeader(m);
    this.tickRole = () => this.tickHeartbeat();
    const next = this.log.lastIndex() + 1;
    for (const id of [...this.conf.voters, ...this.conf.learners]) {
      const pr = this.newProgress(id, next);
      if (id === this.id) pr.maybeUpdate(this.log.stableLastIndex());
    }
    // §8: a no-op entry lets the leader learn which entries are committed.
    this.appendEntries([{ type: "noop", data: new Uint8Array(0) }]);
  }

  private newProgress(id: NodeId, next: number): Progress {
    const pr = new Progress(next, this.cfg.inflightMessagesMax, this.cfg.inflightBytesMax, this.conf.learners.includes(id));
    pr.recentActive = true; // give every member one election timeout to answer
    this.progress.set(id, pr);
    return pr;
  }

  // ---------------------------------------------------------------- ticks

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign(this.cfg.preVote ? "pre" : "real");
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, null);
        return;
      }
      this.transferee = null; // a transfer that did not finish in time is abandoned
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** Check-quorum: did a majority of voters answer since the last check? Resets the marks. */
  private quorumActive(): boolean {
    let active = 0;
    for (const v of this.conf.voters) {
      if (v === this.id || this.progress.get(v)?.recentActive) active++;
    }
    for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
    return active >= majority(this.conf.voters.length);
  }

  private promotable(): boolean {
    return this.conf.voters.includes(this.id) && this.removal === null && this.log.unstableSnapshot() === undefined;
  }

  // ---------------------------------------------------------------- elections

  private campaign(kind: CampaignKind): void {
    if (!this.promotable()) return;
    let type: "preVote" | "vote";
    let term: number;
    if (kind === "pre") {
      this.becomePreCandidate();
      type = "preVote";
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      type = "vote";
      term = this.term;
    }
    if (this.recordVote(this.id, true)) return;
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const v of this.conf.voters) {
      if (v === this.id) continue;
      this.send<VoteMessage>({ type, to: v, term, lastIndex, lastTerm, transfer: kind === "transfer" });
    }
  }

  /** Record a vote; returns true when the election ended (won or lost). */
  private recordVote(from: NodeId, granted: boolean): boolean {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    const result = tallyVotes(this.conf.voters, this.votes);
    if (result === "won") {
      if (this.role === "preCandidate") this.campaign("real");
      else this.becomeLeader();
      return true;
    }
    if (result === "lost") {
      this.becomeFollower(this.term, null);
      return true;
    }
    return false;
  }

  private handleVoteRequest(m: VoteMessage): void {
    const respType = m.type === "vote" ? "voteResp" : "preVoteResp";
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.leader === null) ||
      (m.type === "preVote" && m.term > this.term) ||
      this.cfg.unsafeFaults?.voteTwice === true;
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      // A pre-vote grant carries the term the candidate will campaign in.
      this.send<VoteResponseMessage>({ type: respType, to: m.from, term: m.term, reject: false });
      if (m.type === "vote") {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send<VoteResponseMessage>({ type: respType, to: m.from, term: this.term, reject: true });
    }
  }

  // ---------------------------------------------------------------- per-role step

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "app":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleHeartbeat(m);
        return;
      case "snap":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleSnapshot(m);
        return;
      case "timeoutNow":
        this.campaign("transfer");
        return;
      case "notMember":
        this.handleNotMember(m);
        return;
      default:
        return; // stale responses from an earlier role
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "app":
        this.becomeFollower(this.term, m.from);
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.becomeFollower(this.term, m.from);
        this.handleHeartbeat(m);
        return;
      case "snap":
        this.becomeFollower(this.term, m.from);
        this.handleSnapshot(m);
        return;
      case "preVoteResp":
        // Only grants for the term this pre-campaign asks for count.
        if (this.role === "preCandidate" && (m.reject || m.term === this.term + 1)) this.recordVote(m.from, !m.reject);
        return;
      case "voteResp":
        if (this.role === "candidate") this.recordVote(m.from, !m.reject);
        return;
      case "notMember":
        this.becomeFollower(this.term, m.from);
        this.handleNotMember(m);
        return;
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "appResp":
        this.handleAppendResponse(m);
        return;
      case "heartbeatResp":
        this.handleHeartbeatResponse(m);
        return;
      default:
        return; // at most one leader per term: no app/heartbeat/snap can come in ours
    }
  }

  // ---------------------------------------------------------------- follower handlers

  private handleAppend(m: AppendMessage): void {
    if (m.prevIndex < this.log.committed) {
      this.send<AppendResponseMessage>({ type: "appResp", to: m.from, term: this.term, reject: false, index: this.log.committed, hintIndex: 0, hintTerm: 0 });
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.syncConf(m.entries);
      this.send<AppendResponseMessage>({ type: "appResp", to: m.from, term: this.term, reject: false, index: lastNew, hintIndex: 0, hintTerm: 0 });
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    this.send<AppendResponseMessage>({ type: "appResp", to: m.from, term: this.term, reject: true, index: m.prevIndex, hintIndex: hint.index, hintTerm: hint.term });
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit);
    this.send<HeartbeatResponseMessage>({ type: "heartbeatResp", to: m.from, term: this.term, readSeq: m.readSeq });
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const s = m.snapshot;
    let index = this.log.committed;
    if (s.index > this.log.committed) {
      if (this.log.matchTerm(s.index, s.term)) {
        this.log.commitTo(s.index); // we already have the entries: fast-forward
        index = this.log.committed;
      } else {
        this.log.restore(s);
        this.baseConf = s.conf;
        this.confMarks = [];
        this.setConf(s.conf);
        index = this.log.lastIndex();
      }
    }
    this.send<AppendResponseMessage>({ type: "appResp", to: m.from, term: this.term, reject: false, index, hintIndex: 0, hintTerm: 0 });
  }

  /**
   * The leader of our term says its committed configuration excludes us.
   * Only a leader of a term ≥ ours gets here (step() drops older terms), and
   * a committed configuration is never undone, so this is not stale news:
   * stop campaigning until a leader replicates to us again (re-added).
   */
  private handleNotMember(m: NotMemberMessage): void {
    if (isMember(m.conf, this.id)) return; // nothing to learn
    this.leader = m.from;
    this.removal = { by: m.from, term: m.term, confIndex: m.confIndex, conf: m.conf };
  }

  // ---------------------------------------------------------------- leader handlers

  private handleAppendResponse(m: AppendResponseMessage): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      let nextProbe = m.hintIndex;
      if (m.hintTerm > 0) nextProbe = this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === "probe") {
      pr.becomeReplicate();
    } else if (pr.state === "snapshot") {
      if (pr.match + 1 >= this.log.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      }
    } else {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else if (wasPaused) {
      this.sendAppend(m.from);
    }
    while (this.role === "leader" && this.maybeSendAppend(m.from, false)) { /* pipeline until paused */ }
    if (m.from === this.transferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResponse(m: HeartbeatResponseMessage): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // Appends in a full window may have been lost: free one slot so the next
    // append goes out and a gap is answered with a rejection (then a probe).
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    if (m.readSeq > 0 && this.conf.voters.includes(m.from)) {
      this.readStates.push(...this.readOnly.ack(m.from, m.readSeq, this.conf.voters));
    }
  }

  // ---------------------------------------------------------------- replication

  private appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): void {
    let index = this.log.lastIndex();
    const entries: Entry[] = items.map((it) => ({ index: ++index, term: this.term, type: it.type, data: it.data }));
    this.log.append(entries);
    for (const e of entries) {
      const bytes = entrySize(e);
      this.uncommitted.push({ index: e.index, bytes });
      this.uncommittedBytes += bytes;
    }
    this.syncConf(entries);
    this.bcastAppend();
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Send the next batch of entries to `to` if its progress allows; true if sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    assert(prevIndex <= this.log.lastIndex(), () => `progress of ${to} beyond the log: next ${pr.next}`);
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined || pr.next < this.log.firstIndex()) return this.sendSnapshot(to, pr);
    const entries = pr.next <= this.log.lastIndex()
      ? this.log.entriesFrom(pr.next, this.cfg.msgBytesMax, this.cfg.msgEntriesMax)
      : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send<AppendMessage>({ type: "app", to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed });
    pr.sentEntries(prevIndex + entries.length, entries.length, entries.reduce((s, e) => s + entrySize(e), 0));
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false; // don't ship a snapshot to a node that may be down
    const snapshot = this.log.snapshot();
    assert(snapshot.index > 0, () => `need a snapshot for ${to} but none exists`);
    pr.becomeSnapshot(snapshot.index);
    this.send<SnapshotMessage>({ type: "snap", to, term: this.term, snapshot });
    return true;
  }

  private bcastHeartbeat(): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      // Never tell a follower to commit beyond what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send<HeartbeatMessage>({ type: "heartbeat", to: id, term: this.term, commit, readSeq: this.readOnly.seq });
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: "timeoutNow", to, term: this.term });
  }

  /**
   * Advance the commit index to what a majority of voters holds, but only by
   * counting replicas of an entry of the current term (§5.4.2, Figure 8).
   */
  private maybeCommit(): boolean {
    const mci = this.cfg.unsafeFaults?.commitAlone === true
      ? (this.progress.get(this.id)?.match ?? 0)
      : committedIndex(this.conf.voters, (id) => this.progress.get(id)?.match ?? 0);
    if (mci <= this.log.committed) return false;
    if (this.log.term(mci) !== this.term && this.cfg.unsafeFaults?.commitOldTermEntries !== true) return false;
    this.log.commitTo(mci);
    this.afterLeaderCommit();
    return true;
  }

  private afterLeaderCommit(): void {
    while (this.uncommitted.length > 0 && this.uncommitted[0]!.index <= this.log.committed) {
      this.uncommittedBytes -= this.uncommitted.shift()!.bytes;
    }
    if (this.pendingReads.length > 0 && this.committedInTerm()) {
      const reads = this.pendingReads;
      this.pendingReads = [];
      for (const ctx of reads) this.issueRead(ctx);
    }
    this.maybeStepDownAfterRemoval();
  }

  /** A leader that removed itself leads until that change commits, then hands over (thesis §4.2.2). */
  private maybeStepDownAfterRemoval(): void {
    if (this.conf.voters.includes(this.id)) return;
    const latest = this.confMarks[this.confMarks.length - 1];
    if (latest !== undefined && latest.index > this.log.committed) return;
    this.bcastAppend(); // let followers learn the final commit index
    let best: NodeId | undefined;
    for (const v of this.conf.voters) {
      const m = this.progress.get(v)?.match ?? 0;
      if (best === undefined || m > (this.progress.get(best)?.match ?? 0)) best = v;
    }
    if (best !== undefined && this.progress.get(best)?.match === this.log.lastIndex()) this.sendTimeoutNow(best);
    this.becomeFollower(this.term, null);
  }

  /** Tell `to` it is not a member, once our latest configuration is committed (before that it may still be undone). */
  private maybeTellNotMember(to: NodeId): void {
    const confIndex = this.confMarks[this.confMarks.length - 1]?.index ?? this.log.snapshot().index;
    if (confIndex > this.log.committed) return;
    this.send<NotMemberMessage>({ type: "notMember", to, term: this.term, confIndex, conf: this.conf });
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private issueRead(ctx: number): Accepted {
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.readStates.push({ ctx, index: this.log.committed });
      return { ok: true };
    }
    const seq = this.readOnly.add(ctx, this.log.committed, this.id);
    if (seq === undefined) return this.refuse("PROPOSAL_DROPPED", "read queue full");
    this.bcastHeartbeat();
    return { ok: true };
  }

  // ---------------------------------------------------------------- membership

  /** Track conf entries among `entries` (just appended) and drop truncated ones. */
  private syncConf(entries: readonly Entry[]): void {
    const before = this.confMarks.length;
    this.confMarks = this.confMarks.filter((c) => {
      const t = this.log.term(c.index);
      return t === undefined ? c.index < this.log.firstIndex() : t === c.term;
    });
    const added = this.recordConfEntries(entries);
    if (added || this.confMarks.length !== before) {
      this.setConf(this.confMarks[this.confMarks.length - 1]?.conf ?? this.baseConf);
    }
  }

  /** Remember conf entries; returns true if any was new. */
  private recordConfEntries(entries: readonly Entry[]): boolean {
    let added = false;
    for (const e of entries) {
      if (e.type !== "conf" || this.confMarks.some((c) => c.index === e.index)) continue;
      this.confMarks.push({ index: e.index, term: e.term, conf: decodeConfEntry(e.data).conf });
      added = true;
    }
    if (added) {
      this.confMarks.sort((a, b) => a.index - b.index);
      this.conf = this.confMarks[this.confMarks.length - 1]!.conf;
    }
    // Marks at or below the commit index can never be truncated: keep only the newest of them.
    while (this.confMarks.length > 1 && this.confMarks[1]!.index <= this.log.committed) this.confMarks.shift();
    return added;
  }

  private setConf(conf: ConfState): void {
    this.conf = conf;
    if (this.role !== "leader") return;
    const next = this.log.lastIndex() + 1;
    for (const id of [...conf.voters, ...conf.learners]) {
      const pr = this.progress.get(id);
      if (pr === undefined) this.newProgress(id, next);
      else pr.isLearner = conf.learners.includes(id);
    }
    for (const id of [...this.progress.keys()]) {
      if (!isMember(conf, id)) {
        this.progress.delete(id);
        if (this.transferee === id) this.transferee = null;
      }
    }
    // Fewer voters can mean a majority already holds more entries.
    if (this.maybeCommit()) this.bcastAppend();
  }

  // ---------------------------------------------------------------- ready / advance

  private softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term, member: this.isMember() };
  }

  /** In our configuration, and no leader said otherwise (see `removal`). */
  private isMember(): boolean {
    return isMember(this.conf, this.id) && this.removal === null;
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** True when ready() would return anything to do. */
  hasReady(): boolean {
    // Field by field rather than through softState()/hardState(): the driver asks after every step.
    const ps = this.prevSoft;
    const ph = this.prevHard;
    return this.msgs.length > 0 || this.readStates.length > 0 ||
      this.log.unstableEntries().length > 0 || this.log.unstableSnapshot() !== undefined || this.log.hasNextCommitted() ||
      ps.role !== this.role || ps.leader !== this.leader || ps.term !== this.term || ps.member !== this.isMember() ||
      ph.term !== this.term || ph.vote !== this.vote || ph.commit !== this.log.committed;
  }

  /**
   * Everything the driver must do now: persist, then send, then apply, then
   * call advance(ready). Call again only after advance().
   */
  ready(): Ready {
    const soft = this.softState();
    const hard = this.hardState();
    const snapshot = this.log.unstableSnapshot();
    const entries = this.log.unstableEntries().slice();
    // Built by assignment, not by spreading optional parts: this runs once per turn of every node.
    const rd: { -readonly [K in keyof Ready]: Ready[K] } = {
      entries,
      committedEntries: this.log.nextCommitted(this.cfg.applyBytesMax),
      messages: this.msgs,
      readStates: this.readStates,
      mustSync: entries.length > 0 || snapshot !== undefined ||
        hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
    };
    if (!sameSoft(soft, this.prevSoft)) rd.softState = soft;
    if (!sameHard(hard, this.prevHard)) rd.hardState = hard;
    if (snapshot) rd.snapshot = snapshot;
    this.msgs = [];
    this.readStates = [];
    return rd;
  }

  /**
   * Takes the heartbeats and heartbeat responses queued since the last
   * ready() out of the next one, for a driver whose turn is still busy (a
   * long apply): they may leave at once. Neither vouches for this node's
   * log or disk (a heartbeat carries min(match, commit), a response only
   * acknowledges the leader's term), and only those of a term this node
   * had already written are taken: a term change waits for its write.
   * Without this, an apply longer than the election timeout held the
   * leader's heartbeats back and the followers elected another leader.
   */
  takeHeartbeats(): Message[] {
    if (this.term !== this.prevHard.term) return [];
    const out: Message[] = [];
    const keep: Message[] = [];
    for (const m of this.msgs) ((m.type === "heartbeat" || m.type === "heartbeatResp") && m.term === this.prevHard.term ? out : keep).push(m);
    if (out.length > 0) this.msgs = keep;
    return out;
  }

  /** The driver did everything `rd` asked: mark it persisted and applied. */
  advance(rd: Ready): void {
    if (rd.softState) this.prevSoft = rd.softState;
    if (rd.hardState) this.prevHard = rd.hardState;
    if (rd.snapshot) this.log.stableSnapTo(rd.snapshot.index);
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) {
      this.log.stableTo(last.index, last.term);
      // The leader counts its own copy only once it is on disk.
      if (this.role === "leader" && this.log.term(last.index) === last.term) {
        this.progress.get(this.id)?.maybeUpdate(last.index);
        if (this.maybeCommit()) this.bcastAppend();
      }
    }
    const applied = rd.committedEntries[rd.committedEntries.length - 1];
    if (applied !== undefined) this.log.appliedTo(applied.index);
  }

  // ---------------------------------------------------------------- helpers

  /** Queues `m` (a fresh literal from the caller) from this node; stamped in place rather than copied. */
  private send<M extends Message>(m: Omit<M, "from">): void {
    (m as { from?: NodeId }).from = this.id;
    this.msgs.push(m as unknown as Message);
  }

  private refuseWrite(): Refusal | undefined {
    if (this.role !== "leader") return this.refuse("NOT_LEADER", "not the leader");
    if (this.transferee !== null) return this.refuse("PROPOSAL_DROPPED", "leadership transfer in progress");
    return undefined;
  }

  private refuse(code: RefusalCode, reason: string): Refusal {
    return { ok: false, code, leader: this.leader === this.id ? null : this.leader, reason };
  }

  /** A read-only picture of the core for status pages and tests. */
  status(): RaftStatus {
    const peers: PeerStatus[] = [];
    if (this.role === "leader") {
      for (const [id, pr] of this.progress) {
        peers.push({ id, match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive, isLearner: pr.isLearner });
      }
    }
    return {
      id: this.id, role: this.role, term: this.term, vote: this.vote, leader: this.leader,
      commit: this.log.committed, commitTerm: this.log.term(this.log.committed) ?? 0,
      applied: this.log.applied, firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(), conf: this.conf, transferee: this.transferee, peers,
      member: this.isMember(), removal: this.removal,
    };
  }
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term && a.member === b.member;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
