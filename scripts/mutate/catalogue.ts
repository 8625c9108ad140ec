/**
 * The mutation catalogue: realistic single bugs of the kind Raft
 * implementations and replicated state machines have shipped (etcd,
 * hashicorp/raft, LogCabin, TigerBeetle's and Jepsen's reports), each as a
 * source patch. `pnpm mutate` applies them one at a time to a copy of the
 * repository and checks that the simulator's sweep or the fast
 * tests catch every one. A patch whose text no longer matches the source
 * fails loudly ("stale"): update it with the code it mutates (a default
 * test, packages/raft/test/sim/mutate-catalogue.test.ts, checks that).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** One exact text replacement in one file (the text must occur exactly once). */
export interface Patch {
  readonly file: string;
  readonly find: string;
  readonly replace: string;
}

/** One bug. */
export interface Mutant {
  readonly id: string;
  /** What goes wrong, in one line. */
  readonly bug: string;
  readonly patches: readonly Patch[];
}

const RAFT = "packages/raft/src/core/raft.ts";
const LOG = "packages/raft/src/core/log.ts";
const DRIVER = "packages/raft/src/node/raft-node.ts";

/** The catalogue, in the order the report prints it. */
export const CATALOGUE: readonly Mutant[] = [
  // ---- the eight the first simulator missed (issue 11)
  {
    id: "vote-not-synced",
    bug: "a vote is written without fsync when only the vote changes",
    patches: [{ file: RAFT, find: "hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,", replace: "hard.term !== this.prevHard.term," }],
  },
  {
    id: "figure-8",
    bug: "a leader commits an entry of an older term by counting its replicas (§5.4.2)",
    patches: [{ file: RAFT, find: "    if (this.log.term(mci) !== this.term && this.cfg.unsafeFaults?.commitOldTermEntries !== true) return false;\n", replace: "" }],
  },
  {
    id: "leader-counts-itself-early",
    bug: "a leader counts its own new entries before its fsync",
    patches: [{ file: RAFT, find: "    this.log.append(entries);\n    for (const e of entries) {", replace: "    this.log.append(entries);\n    if (this.role === \"leader\") this.progress.get(this.id)?.maybeUpdate(index);\n    for (const e of entries) {" }],
  },
  {
    id: "acks-before-write",
    bug: "the driver sends votes and acknowledgements before storage.write",
    patches: [{ file: "packages/raft/src/node/message-order.ts", find: "new Set([\"app\", \"heartbeat\", \"snap\", \"timeoutNow\", \"notMember\"])", replace: "new Set([\"app\", \"heartbeat\", \"snap\", \"timeoutNow\", \"notMember\", \"appResp\", \"voteResp\"])" }],
  },
  {
    id: "prevote-bumps-term",
    bug: "a pre-vote request raises the receiver's term",
    patches: [{ file: RAFT, find: "    if (m.type === \"preVote\") return true; // a pre-vote never changes our term\n", replace: "" }],
  },
  {
    id: "readindex-without-quorum",
    bug: "ReadIndex is served without a heartbeat round to a quorum",
    patches: [{ file: RAFT, find: "    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {", replace: "    if (this.conf.voters.includes(this.id)) {" }],
  },
  {
    id: "snapshot-fast-forward-commits-log",
    bug: "a snapshot fast-forward commits the follower's whole log instead of the snapshot index",
    patches: [{ file: RAFT, find: "        this.log.commitTo(s.index); // we already have the entries: fast-forward", replace: "        this.log.commitTo(this.log.lastIndex());" }],
  },
  {
    id: "two-conf-changes-in-flight",
    bug: "a membership change is accepted while the previous one is uncommitted",
    patches: [{ file: RAFT, find: "    if (latest !== undefined && latest.index > this.log.committed) {", replace: "    if (latest !== undefined && latest.index > this.log.lastIndex()) {" }],
  },
  // ---- more Raft bugs
  {
    id: "learners-in-quorum",
    bug: "learners are counted in the commit quorum",
    patches: [{ file: RAFT, find: ": committedIndex(this.conf.voters, ", replace: ": committedIndex([...this.conf.voters, ...this.conf.learners], " }],
  },
  {
    id: "conflict-suffix-kept-on-disk",
    bug: "storage does not delete the conflicting suffix beyond newly appended entries",
    patches: [{ file: "packages/raft/src/storage/level-plan.ts", find: "  checkSnapshotKept(shape.snap, first.index, newLast, entries);\n  deleteRange(ops, newLast + 1, shape.last);", replace: "  checkSnapshotKept(shape.snap, first.index, newLast, entries);" }],
  },
  {
    id: "apply-beyond-commit",
    bug: "entries are handed to the application before they are committed",
    patches: [
      // The whole bug: every commit-index bound of the apply path moved to the last index. (Moving only
      // some of them makes hasReady() and ready() disagree — a livelock, which the driver now fails loudly.)
      {
        file: LOG, find: "    if (lo > this.committed) return [];\n    return this.slice(lo, this.committed + 1, maxBytes);",
        replace: "    if (lo > this.lastIndex()) return [];\n    return this.slice(lo, this.lastIndex() + 1, maxBytes);",
      },
      { file: LOG, find: "    return !this.unstable.snapshot && this.committed > this.applied;", replace: "    return !this.unstable.snapshot && this.lastIndex() > this.applied;" },
      { file: LOG, find: "    assert(index <= this.committed && index >= this.applied,", replace: "    assert(index >= this.applied," },
    ],
  },
  {
    id: "heartbeat-commit-uncapped",
    bug: "heartbeats carry the leader's commit index even to followers that lack those entries",
    patches: [{ file: RAFT, find: "      const commit = Math.min(pr.match, this.log.committed);", replace: "      const commit = this.log.committed;" }],
  },
  {
    id: "append-ignores-prev-term",
    bug: "a follower appends after prevIndex without checking prevTerm (Log Matching)",
    patches: [{ file: LOG, find: "    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;", replace: "    if (this.term(prevIndex) === undefined) return undefined;" }],
  },
  {
    id: "vote-ignores-log",
    bug: "votes are granted without the candidate's log being up to date (§5.4.1)",
    patches: [{ file: RAFT, find: "    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {", replace: "    if (canVote) {" }],
  },
  {
    id: "read-before-term-commit",
    bug: "a new leader serves ReadIndex before it committed an entry of its term",
    patches: [{ file: RAFT, find: "    if (!this.committedInTerm()) {\n      if (this.pendingReads.length", replace: "    if (!this.committedInTerm() && this.readStates.length < 0) {\n      if (this.pendingReads.length" }],
  },
  {
    id: "election-timeout-not-randomized",
    bug: "every node times out after exactly electionTicks (split votes forever)",
    patches: [{ file: RAFT, find: "    this.randomizedElectionTimeout = this.cfg.electionTicks + this.rand.int(this.cfg.electionTicks);", replace: "    this.randomizedElectionTimeout = this.cfg.electionTicks;" }],
  },
  {
    id: "conf-change-before-term-commit",
    bug: "a new leader changes membership before committing an entry of its term (the single-server bug)",
    patches: [{ file: RAFT, find: "    if (!this.committedInTerm()) {\n      return this.refuse(\"PROPOSAL_DROPPED\", \"leader has not committed", replace: "    if (this.readStates.length < 0) {\n      return this.refuse(\"PROPOSAL_DROPPED\", \"leader has not committed" }],
  },
  {
    id: "storage-never-syncs",
    bug: "the Raft log's batches are never fsync'd",
    patches: [{ file: "packages/raft/src/storage/level-storage.ts", find: "await this.db.batch(ops, batchOptions(sync));", replace: "await this.db.batch(ops, batchOptions(false));" }],
  },
  {
    id: "crc-not-checked",
    bug: "records read back from disk are not verified against their checksum",
    patches: [{ file: "packages/raft/src/storage/level-codec.ts", find: "  if (actual !== expected) {", replace: "  if (actual !== expected && payload.length < 0) {" }],
  },
  // ---- driver bugs
  {
    id: "ack-overwritten-proposal",
    bug: "the driver resolves a proposal whose entry was overwritten by another leader's",
    patches: [{ file: DRIVER, find: "      if (p.term === e.term) this.settle(p.waiter, undefined, results[i] as R);", replace: "      if (p.term >= 0) this.settle(p.waiter, undefined, results[i] as R);" }],
  },
  {
    id: "read-before-apply",
    bug: "a confirmed read is served before the application applied up to its read index",
    patches: [{ file: DRIVER, find: "    const applied = this.o.stateMachine.appliedIndex();\n    const still", replace: "    const applied = Number.MAX_SAFE_INTEGER;\n    const still" }],
  },
  // ---- broker bugs
  {
    id: "broker-snapshot-not-pinned",
    // (Dropping the explicit snapshot alone is an equivalent mutant: a LevelDB
    // iterator reads from an implicit snapshot taken when it is created.)
    bug: "the broker's snapshot is pinned when the stream is first read, not when snapshot() is called (later applies leak in)",
    patches: [{
      file: "packages/broker/src/store/store.ts",
      find: "    const snapshot = db.snapshot();\n    // Local records (the format marker) describe this copy, not the replicated state.\n    const iterator = db.iterator({ snapshot, gte: REPLICATED_KEYS_FROM });\n    return (async function* chunks(): AsyncGenerator<Uint8Array> {\n",
      replace: "    return (async function* chunks(): AsyncGenerator<Uint8Array> {\n    const snapshot = db.snapshot();\n    const iterator = db.iterator({ snapshot, gte: REPLICATED_KEYS_FROM });\n",
    }],
  },
  {
    id: "broker-snapshot-drops-tail",
    bug: "the broker's snapshot leaves out the last, partly filled batch of pairs",
    patches: [{ file: "packages/broker/src/store/store.ts", find: "        if (pairs.length > 0) yield encoder.pairsRecord(pairs);\n", replace: "" }],
  },
  {
    id: "broker-reads-local-clock",
    bug: "the broker's apply reads the replica's clock instead of the entry's time",
    patches: [{ file: "packages/broker/src/state/apply.ts", find: "state.meta.logNow = Math.max(state.meta.logNow, command.now);", replace: "state.meta.logNow = Math.max(state.meta.logNow, Date.now());" }],
  },
];

/**
 * The patches of `mutants` whose text to replace does not occur exactly
 * once in its file under `root` (the code moved on: update the catalogue).
 */
export async function stalePatches(root: string, mutants: readonly Mutant[]): Promise<string[]> {
  const stale: string[] = [];
  for (const m of mutants) {
    for (const p of m.patches) {
      const text = await readFile(join(root, p.file), "utf8");
      const n = text.split(p.find).length - 1;
      if (n !== 1) stale.push(`${m.id}: ${p.file}: the text to replace occurs ${n} times`);
    }
  }
  return stale;
}
