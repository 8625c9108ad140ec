/**
 * The promises the simulator checks, each at the step that would break it,
 * named after the promise (a violation message starts with that name):
 *
 * - election safety: at most one leader per term (§5.2);
 * - one vote per term, term monotonic: what a node persists (§5.1);
 * - vote backed by disk: a vote request or grant leaves only once the vote is durable;
 * - ack backed by disk: an append acknowledgement leaves only once the
 *   acknowledged prefix is durable;
 * - leader term backed by disk: a leader speaks only in a term it persisted;
 * - commit durable on a quorum: a leader's commit index covers only entries
 *   durable on a majority of the configuration it commits with (incl. its
 *   own disk: a leader counts itself only after its fsync);
 * - no term inflation: a term exists only once a candidate persisted it (to
 *   campaign in it), and with pre-vote a candidate campaigns only after a majority granted
 *   its pre-vote (or its leader handed over with TimeoutNow);
 * - log matching: an (index, term) pair names one entry with one predecessor (§5.3);
 * - leader completeness: a new leader holds every committed entry (§5.4);
 * - state machine safety: every node applies the same entry at an index, and
 *   only committed ones (§5.4.3);
 * - one membership change at a time: a leader appends a change only after
 *   the previous one and an entry of its own term committed;
 * - snapshot integrity and identical replicas: states at equal applied index are identical.
 *
 * Linearizable reads, acknowledged-write durability and liveness are checked
 * by the cluster, which knows the clients and the faults.
 */
import { majority } from "../../src/core/quorum.ts";
import type { Entry, HardState, Message, NodeId } from "../../src/core/types.ts";
import type { DurableRaftView } from "./durable-view.ts";

/** A broken promise found by the simulator. */
export class SafetyViolation extends Error {
  override readonly name = "SafetyViolation";
  constructor(readonly invariant: string, detail: string) {
    super(`${invariant}: ${detail}`);
  }
}

/** FNV-1a over an entry's type and data: its identity for log-matching checks. */
export function entryDigest(e: Entry): number {
  let h = 0x811c9dc5 ^ (e.type === "normal" ? 1 : e.type === "noop" ? 2 : 3);
  for (let i = 0; i < e.data.length; i++) h = Math.imul(h ^ e.data[i]!, 0x01000193);
  return h >>> 0;
}

/** What the checker may ask about a node. */
export interface CheckedNode {
  readonly id: NodeId;
  /** Its durable Raft state (fsync'd), independent of the driver. */
  readonly durable: DurableRaftView;
}

/** Cluster-wide facts and checks over them. */
export class Checker {
  checks = 0;
  /** term → its leader. */
  private readonly leaders = new Map<number, NodeId>();
  /** node → term → the candidate its vote went to (granted, or asked for itself). */
  private readonly votes = new Map<NodeId, Map<number, NodeId>>();
  /** "index:term" → digest and predecessor term, over every entry ever persisted. */
  private readonly logEntries = new Map<string, { digest: number; prevTerm: number | undefined }>();
  /** The applied history: term and digest of the entry at each index. */
  readonly historyTerm: number[] = [0];
  private readonly historyDigest: number[] = [0];
  /** Highest commit index verified durable on a quorum, and the term of its entry. */
  committed = 0;
  private readonly committedTerms = new Map<number, number>();
  /** Terms some candidate opened: persisted as a candidate (it may crash before asking for votes). */
  private readonly campaignTerms = new Set<number>();
  /** node → term → peers that granted its pre-vote for that term (delivered). */
  private readonly preVoteGrants = new Map<NodeId, Map<number, Set<NodeId>>>();
  /** node → the term of the last TimeoutNow delivered to it (a transfer campaign needs no pre-vote). */
  private readonly timeoutNowTerm = new Map<NodeId, number>();
  /** leader term → index of its no-op and its conf entries seen so far. */
  private readonly leaderEntries = new Map<number, { noop: number | undefined; confs: number[] }>();
  /** Applied index → state digest seen there (identical replicas). */
  private readonly digests = new Map<number, { node: NodeId; digest: string }>();

  constructor(private readonly nodes: (id: NodeId) => CheckedNode | undefined, private readonly preVote: boolean) {}

  // ------------------------------------------------------------ messages

  /** A node hands `m` to its transport: whatever `m` vouches for must already hold. */
  sent(m: Message): void {
    this.checks++;
    switch (m.type) {
      case "vote":
        this.campaignTerms.add(m.term);
        this.requireDurableVote(m.from, m.term, m.from, "vote backed by disk", "asks for votes");
        this.voteCast(m.from, m.term, m.from);
        return;
      case "voteResp":
        if (m.reject) return;
        this.requireDurableVote(m.from, m.term, m.to, "vote backed by disk", `grants its vote to ${m.to}`);
        this.voteCast(m.from, m.term, m.to);
        return;
      case "appResp":
        if (!m.reject && m.index > 0) this.requireDurablePrefix(m.from, m.index);
        return;
      case "app":
        this.leaderSpeaks(m.from, m.term);
        this.appendedByLeader(m.term, m.commit, m.entries);
        return;
      case "heartbeat":
      case "snap":
      case "timeoutNow":
        this.leaderSpeaks(m.from, m.term);
        return;
      default:
        return;
    }
  }

  /** `m` reached its target's driver. */
  delivered(m: Message): void {
    if (m.type === "preVoteResp" && !m.reject) {
      let byTerm = this.preVoteGrants.get(m.to);
      if (byTerm === undefined) this.preVoteGrants.set(m.to, (byTerm = new Map()));
      let granted = byTerm.get(m.term);
      if (granted === undefined) byTerm.set(m.term, (granted = new Set()));
      granted.add(m.from);
    } else if (m.type === "timeoutNow") {
      this.timeoutNowTerm.set(m.to, m.term);
    }
  }

  /** One vote per term (§5.2), across crashes: a node that forgot its vote would grant a second one. */
  private voteCast(node: NodeId, term: number, candidate: NodeId): void {
    let byTerm = this.votes.get(node);
    if (byTerm === undefined) this.votes.set(node, (byTerm = new Map()));
    const prev = byTerm.get(term);
    if (prev === undefined) byTerm.set(term, candidate);
    else if (prev !== candidate) throw new SafetyViolation("one vote per term", `${node} voted for ${prev} and then for ${candidate} in term ${term}`);
  }

  private requireDurableVote(node: NodeId, term: number, vote: NodeId, invariant: string, what: string): void {
    const n = this.nodes(node);
    if (n === undefined) return;
    const hs = n.durable.hardState();
    if (hs.term > term || (hs.term === term && hs.vote === vote)) return;
    throw new SafetyViolation(invariant, `${node} ${what} in term ${term} but its disk holds term ${hs.term} vote ${String(hs.vote)}`);
  }

  private requireDurablePrefix(node: NodeId, index: number): void {
    const n = this.nodes(node);
    if (n === undefined) return;
    const d = n.durable;
    if (d.snapshotIndex() >= index || d.termAt(index) !== undefined) return;
    throw new SafetyViolation("ack backed by disk", `${node} acknowledges entries up to ${index} but its disk holds neither entry ${index} nor a snapshot covering it`);
  }

  /** Election safety, and a leader speaks only in a term it persisted. */
  private leaderSpeaks(id: NodeId, term: number): void {
    const prev = this.leaders.get(term);
    if (prev === undefined) this.leaders.set(term, id);
    else if (prev !== id) throw new SafetyViolation("election safety", `term ${term} has two leaders: ${prev} and ${id}`);
    const n = this.nodes(id);
    if (n !== undefined && n.durable.hardState().term < term) {
      throw new SafetyViolation("leader term backed by disk", `${id} leads term ${term} but its disk holds term ${n.durable.hardState().term}`);
    }
  }

  /** One membership change at a time, and none before the leader committed an entry of its term. */
  private appendedByLeader(term: number, commit: number, entries: readonly Entry[]): void {
    let seen = this.leaderEntries.get(term);
    for (const e of entries) {
      if (e.term !== term) continue;
      if (seen === undefined) this.leaderEntries.set(term, (seen = { noop: undefined, confs: [] }));
      if (e.type === "noop" && seen.noop === undefined) seen.noop = e.index;
      if (e.type !== "conf" || seen.confs.includes(e.index)) continue;
      if (seen.noop === undefined || commit < seen.noop) {
        throw new SafetyViolation("one membership change at a time", `the leader of term ${term} appended a change at ${e.index} before committing its own no-op (commit ${commit})`);
      }
      const pending = seen.confs.find((i) => i > commit && i < e.index);
      if (pending !== undefined) {
        throw new SafetyViolation("one membership change at a time", `the leader of term ${term} appended a change at ${e.index} while the change at ${pending} was uncommitted (commit ${commit})`);
      }
      seen.confs.push(e.index);
    }
  }

  // ------------------------------------------------------------ persistence

  /**
   * A node writes `hs` (its Ready's hard state) on top of `prev` (what it
   * wrote last, or recovered at start): terms never go back, a vote is
   * never replaced within its term, and a new term must be justified (no
   * term inflation). A node that votes for itself in a new term campaigned
   * in it (its role may have moved on while the write waited for the disk).
   * `voters` is its configuration as it writes.
   */
  hardStateWritten(id: NodeId, hs: HardState, prev: HardState, voters: readonly NodeId[]): void {
    this.checks++;
    if (hs.term < prev.term) throw new SafetyViolation("term monotonic", `${id} term ${prev.term} → ${hs.term}`);
    if (hs.term === prev.term && prev.vote !== null && hs.vote !== prev.vote) {
      throw new SafetyViolation("one vote per term", `${id} replaced its vote for ${prev.vote} with ${String(hs.vote)} in term ${hs.term}`);
    }
    if (hs.term > prev.term) this.termRaised(id, hs.term, hs.vote === id, voters);
  }

  private termRaised(id: NodeId, term: number, candidate: boolean, voters: readonly NodeId[]): void {
    if (!candidate) {
      if (this.campaignTerms.has(term)) return;
      throw new SafetyViolation("no term inflation", `${id} moved to term ${term}, which no candidate opened`);
    }
    this.campaignTerms.add(term);
    if (!this.preVote || this.timeoutNowTerm.get(id) === term - 1) return;
    const granted = this.preVoteGrants.get(id)?.get(term)?.size ?? 0;
    const others = voters.filter((v) => v !== id).length;
    const need = majority(voters.length) - (voters.includes(id) ? 1 : 0);
    if (granted >= need && others > 0) return;
    if (others === 0 && voters.includes(id)) return; // a single voter wins its pre-vote alone
    throw new SafetyViolation("no term inflation", `${id} campaigned in term ${term} with ${granted} pre-vote grants (needs ${need} of ${voters.length} voters)`);
  }

  /** A node persisted `entries` after `prevTerm` (Log Matching). */
  entriesWritten(entries: readonly Entry[], prevTerm: number | undefined): void {
    let prev = prevTerm;
    for (const e of entries) {
      this.checks++;
      const key = `${e.index}:${e.term}`;
      const digest = entryDigest(e);
      const seen = this.logEntries.get(key);
      if (seen === undefined) this.logEntries.set(key, { digest, prevTerm: prev });
      else {
        if (seen.digest !== digest) throw new SafetyViolation("log matching", `two different entries at index ${e.index} term ${e.term}`);
        if (seen.prevTerm !== undefined && prev !== undefined && seen.prevTerm !== prev) {
          throw new SafetyViolation("log matching", `entry ${e.index}/${e.term} follows terms ${seen.prevTerm} and ${prev}`);
        }
      }
      prev = e.term;
    }
  }

  // ------------------------------------------------------------ commit and apply

  /**
   * A node's core reports commit index `commit` whose entry has term
   * `commitTerm`, with `voters` its configuration. A commit beyond every
   * earlier one must be durable on a majority of those voters, and a
   * leader gets there only by counting replicas of an entry of its own
   * term (§5.4.2, Figure 8: older entries commit only underneath one).
   */
  leaderCommit(id: NodeId, term: number, commit: number, commitTerm: number, voters: readonly NodeId[], isLeader: boolean): void {
    this.checks++;
    const known = this.committedTerms.get(commit);
    if (known !== undefined && known !== commitTerm) {
      throw new SafetyViolation("state machine safety", `${id} (term ${term}) commits ${commit}/${commitTerm}, but ${commit}/${known} was committed`);
    }
    if (commit <= this.committed) return;
    if (isLeader && commitTerm !== term) {
      throw new SafetyViolation("commit only entries of the leader's term", `leader ${id} of term ${term} committed ${commit}, an entry of term ${commitTerm}, by counting its replicas`);
    }
    const holders = voters.filter((v) => this.nodes(v)?.durable.holds(commit, commitTerm) === true);
    if (holders.length < majority(voters.length)) {
      throw new SafetyViolation("commit durable on a quorum",
        `${isLeader ? "leader " : ""}${id} of term ${term} commits ${commit}/${commitTerm}, durable only on [${holders.join(",")}] of voters [${voters.join(",")}]`);
    }
    this.committed = commit;
    this.committedTerms.set(commit, commitTerm);
  }

  /** Leader completeness: a new leader's log (term at each index) holds every committed entry. */
  newLeader(id: NodeId, term: number, termAt: (i: number) => number | undefined, snapshotIndex: number): void {
    this.checks++;
    for (const [index, t] of this.committedTerms) {
      if (index <= snapshotIndex) continue;
      const have = termAt(index);
      if (have !== t) {
        throw new SafetyViolation("leader completeness", `leader ${id} of term ${term} has term ${String(have)} at committed index ${index} (committed term ${t})`);
      }
    }
  }

  /** `id` applies `e`: the one history (State Machine Safety), and only committed entries. */
  applied(id: NodeId, e: Entry): void {
    this.checks++;
    if (e.index > this.committed) {
      throw new SafetyViolation("state machine safety", `${id} applies ${e.index}/${e.term} beyond the highest quorum-durable commit ${this.committed}`);
    }
    const digest = entryDigest(e);
    const t = this.historyTerm[e.index];
    if (t === undefined) {
      if (e.index !== this.historyTerm.length) {
        throw new SafetyViolation("state machine safety", `${id} applies ${e.index} but the history ends at ${this.historyTerm.length - 1}`);
      }
      this.historyTerm.push(e.term);
      this.historyDigest.push(digest);
    } else if (t !== e.term || this.historyDigest[e.index] !== digest) {
      throw new SafetyViolation("state machine safety", `${id} applies a different entry at ${e.index} (term ${e.term}; the history has term ${t})`);
    }
  }

  /** Highest index applied anywhere. */
  historyLength(): number {
    return this.historyTerm.length - 1;
  }

  /** A node's state digest at applied index `index`: equal on every replica (and after a snapshot restore). */
  stateDigest(id: NodeId, index: number, digest: string, what: string): void {
    this.checks++;
    const seen = this.digests.get(index);
    if (seen === undefined) this.digests.set(index, { node: id, digest });
    else if (seen.digest !== digest) {
      throw new SafetyViolation("identical replicas", `${id} (${what}) holds a different state at applied index ${index} than ${seen.node}`);
    }
  }

  /** Number of distinct leaders seen. */
  leaderCount(): number {
    return this.leaders.size;
  }
}
