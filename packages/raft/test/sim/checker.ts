/**
 * Safety invariants checked after every simulation step. A violation throws
 * SafetyViolation naming the invariant; the runner prints the seed.
 */
import type { Entry, NodeId } from "../../src/core/types.ts";

/** More messages in flight than this means a message storm. */
const IN_FLIGHT_MESSAGES_MAX = 50_000;

/** A broken Raft invariant found by the simulator. */
export class SafetyViolation extends Error {
  override readonly name = "SafetyViolation";
  constructor(readonly invariant: string, detail: string) {
    super(`${invariant}: ${detail}`);
  }
}

/** Digest of an entry's identity for log-matching checks. */
export function entryDigest(e: Entry): number {
  let h = 0x811c9dc5 ^ (e.type === "normal" ? 1 : e.type === "noop" ? 2 : 3);
  for (let i = 0; i < e.data.length; i++) h = Math.imul(h ^ e.data[i]!, 0x01000193);
  return h >>> 0;
}

/** Hash chain over applied entries: state after applying `e` on top of `prev`. */
export function chainHash(prev: number, e: Entry): number {
  let h = Math.imul(prev ^ e.index, 0x9e3779b1);
  h = Math.imul(h ^ e.term, 0x85ebca6b);
  h = Math.imul(h ^ entryDigest(e), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The history every node must agree on, and the checks against it. */
export class Checker {
  /** term → the node that led it. */
  private readonly leaders = new Map<number, NodeId>();
  /** "index:term" → digest and term of the previous entry, over every log ever persisted. */
  private readonly logEntries = new Map<string, { digest: number; prevTerm: number | undefined }>();
  /** The one applied history: hash of the state after each index, and the term there. */
  readonly historyHash: number[] = [0];
  readonly historyTerm: number[] = [0];
  /** node → last persisted (term, vote). */
  private readonly votes = new Map<NodeId, { term: number; vote: NodeId | null }>();
  checks = 0;

  /** At most one leader per term (§5.2 Election Safety). */
  leaderSeen(id: NodeId, term: number): void {
    this.checks++;
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== id) {
      throw new SafetyViolation("election safety", `term ${term} has two leaders: ${prev} and ${id}`);
    }
    this.leaders.set(term, id);
  }

  leaderCount(): number {
    return this.leaders.size;
  }

  /** A node never votes twice in one term, and its term never goes back (§5.1, §5.2). */
  hardStatePersisted(id: NodeId, term: number, vote: NodeId | null): void {
    this.checks++;
    const prev = this.votes.get(id);
    if (prev !== undefined) {
      if (term < prev.term) throw new SafetyViolation("term monotonic", `${id} term ${prev.term} → ${term}`);
      if (term === prev.term && prev.vote !== null && vote !== prev.vote) {
        throw new SafetyViolation("one vote per term", `${id} voted ${prev.vote} then ${vote} in term ${term}`);
      }
    }
    this.votes.set(id, { term, vote });
  }

  /**
   * Log Matching (§5.3): an (index, term) pair identifies one entry and one
   * predecessor term everywhere, which by induction makes the logs identical
   * up to it.
   */
  entryPersisted(e: Entry, prevTerm: number | undefined): void {
    this.checks++;
    const key = `${e.index}:${e.term}`;
    const digest = entryDigest(e);
    const seen = this.logEntries.get(key);
    if (seen === undefined) {
      this.logEntries.set(key, { digest, prevTerm });
      return;
    }
    if (seen.digest !== digest) throw new SafetyViolation("log matching", `two different entries at index ${e.index} term ${e.term}`);
    if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
      throw new SafetyViolation("log matching", `entry ${e.index}/${e.term} follows terms ${seen.prevTerm} and ${prevTerm}`);
    }
  }

  /**
   * State Machine Safety (§5.4.3): every node applies the same entry at each
   * index, so every applied sequence is a prefix of one history. Returns the
   * new state hash.
   */
  applied(id: NodeId, prevHash: number, e: Entry): number {
    this.checks++;
    const h = chainHash(prevHash, e);
    const known = this.historyHash[e.index];
    if (known === undefined) {
      if (e.index !== this.historyHash.length) {
        throw new SafetyViolation("applied prefix", `${id} applied ${e.index} but history ends at ${this.historyHash.length - 1}`);
      }
      this.historyHash.push(h);
      this.historyTerm.push(e.term);
    } else if (known !== h) {
      throw new SafetyViolation("state machine safety", `${id} applied a different entry at index ${e.index} (term ${e.term}, history has term ${this.historyTerm[e.index]})`);
    }
    return h;
  }

  /** A snapshot holds exactly the history's state at its index. */
  snapshotRestored(id: NodeId, index: number, hash: number): void {
    this.checks++;
    if (this.historyHash[index] !== hash) {
      throw new SafetyViolation("snapshot integrity", `${id} restored a snapshot at ${index} that differs from the history`);
    }
  }

  /** Leader Completeness (§5.4): a new leader holds every entry applied anywhere. */
  leaderLog(id: NodeId, term: number, termAt: (i: number) => number | undefined, firstIndex: number, snapshotIndex: number): void {
    this.checks++;
    for (let i = 1; i < this.historyTerm.length; i++) {
      if (i < firstIndex) {
        if (snapshotIndex < i && termAt(i) === undefined) {
          throw new SafetyViolation("leader completeness", `leader ${id} of term ${term} lacks committed index ${i}`);
        }
        continue;
      }
      const t = termAt(i);
      if (t !== this.historyTerm[i]) {
        throw new SafetyViolation("leader completeness", `leader ${id} of term ${term} has term ${t} at committed index ${i}, history has ${this.historyTerm[i]}`);
      }
    }
  }

  /** Every live node keeps applied ≤ committed ≤ last, and the network stays bounded (no message storms). */
  stepInvariants(cores: Iterable<{ id: NodeId; applied: number; committed: number; last: number }>, inFlight: number): void {
    this.checks++;
    for (const c of cores) {
      if (!(c.applied <= c.committed && c.committed <= c.last)) {
        throw new SafetyViolation("index order", `${c.id}: applied ${c.applied} commit ${c.committed} last ${c.last}`);
      }
    }
    if (inFlight > IN_FLIGHT_MESSAGES_MAX) throw new SafetyViolation("bounded messages", `${inFlight} messages in flight`);
  }

  /** Highest index applied anywhere. */
  historyLength(): number {
    return this.historyHash.length - 1;
  }
}
