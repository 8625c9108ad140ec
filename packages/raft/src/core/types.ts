/**
 * The vocabulary of the Raft core: log entries, persistent state, cluster
 * configuration, snapshots, messages between peers and the Ready batch the
 * core hands to its driver. Everything here is plain data: it crosses the
 * wire (msgpackr) and the disk (LevelDB) as is.
 */

/** A node's identity: stable across restarts, unique in the cluster. */
export type NodeId = string;

/** `noop` is the empty entry a new leader appends at the start of its term (§8). */
export type EntryType = "normal" | "noop" | "conf";

/** One log entry. Invariant: index ≥ 1, term ≥ 1. */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** Application bytes for `normal`; an encoded ConfEntry for `conf`; empty for `noop`. */
  readonly data: Uint8Array;
}

/** State that must be on disk before the node answers a vote or acks an append (§5.1, Figure 2). */
export interface HardState {
  readonly term: number;
  /** Who this node voted for in `term`; null if nobody. */
  readonly vote: NodeId | null;
  readonly commit: number;
}

/** Cluster membership. Voters count for elections and commit; learners only receive the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** One membership change (single-server changes, one at a time; see README). */
export type ConfChange =
  | { readonly kind: "addVoter"; readonly node: NodeId; readonly context?: string }
  | { readonly kind: "addLearner"; readonly node: NodeId; readonly context?: string }
  | { readonly kind: "removeNode"; readonly node: NodeId; readonly context?: string };
// `context` is opaque to the core (etcd's ConfChange.Context): the node
// server puts the new member's peer address there.

/** What a `conf` entry carries: the change and the configuration it produces. */
export interface ConfEntry {
  readonly change: ConfChange;
  readonly conf: ConfState;
}

/** Metadata of a snapshot: the state after applying every entry up to `index`. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

/** A node's role. `preCandidate` is the pre-vote phase (§9.6 of Ongaro's thesis). */
export type Role = "follower" | "preCandidate" | "candidate" | "leader";

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** AppendEntries (§5.3). `commit` lets the follower advance its commit index. */
export interface AppendMessage extends MessageBase {
  readonly type: "app";
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Reply to AppendEntries or InstallSnapshot. On success `index` is the last
 * index now known to match. On reject, `index` is the rejected prevIndex and
 * (`hintIndex`, `hintTerm`) let the leader skip a whole conflicting term.
 */
export interface AppendResponseMessage extends MessageBase {
  readonly type: "appResp";
  readonly reject: boolean;
  readonly index: number;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** RequestVote or its pre-vote probe. `transfer` marks a campaign forced by TimeoutNow. */
export interface VoteMessage extends MessageBase {
  readonly type: "vote" | "preVote";
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly transfer: boolean;
}

/** Reply to a (pre-)vote. */
export interface VoteResponseMessage extends MessageBase {
  readonly type: "voteResp" | "preVoteResp";
  readonly reject: boolean;
}

/** Leader heartbeat. `readSeq` is echoed back to confirm leadership for ReadIndex (§6.4). */
export interface HeartbeatMessage extends MessageBase {
  readonly type: "heartbeat";
  readonly commit: number;
  readonly readSeq: number;
}

/** Reply to a heartbeat. */
export interface HeartbeatResponseMessage extends MessageBase {
  readonly type: "heartbeatResp";
  readonly readSeq: number;
}

/**
 * InstallSnapshot (§7). The core sends only the metadata; the transport
 * streams the snapshot data in chunks and delivers this message to the
 * receiving core once all data is stored locally.
 */
export interface SnapshotMessage extends MessageBase {
  readonly type: "snap";
  readonly snapshot: SnapshotMeta;
}

/** Leader transfer: the target campaigns at once, bypassing pre-vote and leases (§3.10). */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: "timeoutNow";
}

/**
 * The leader of `term` tells a node that is not a member of its committed
 * configuration so: the configuration in force as of index `confIndex`
 * (committed: an entry never undone) is `conf`, and it excludes `to`.
 * Sent in answer to any message from a non-member, so a removed node that
 * missed the entry removing it (the leader stops replicating to it as soon
 * as the entry is appended) stops campaigning instead of pre-voting forever.
 */
export interface NotMemberMessage extends MessageBase {
  readonly type: "notMember";
  readonly confIndex: number;
  readonly conf: ConfState;
}

/** Every message peers exchange. */
export type Message =
  | AppendMessage
  | AppendResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | SnapshotMessage
  | TimeoutNowMessage
  | NotMemberMessage;

/** The message kinds, for validation of what comes off the wire. */
export const MESSAGE_TYPES: ReadonlySet<Message["type"]> = new Set([
  "app", "appResp", "vote", "preVote", "voteResp", "preVoteResp",
  "heartbeat", "heartbeatResp", "snap", "timeoutNow", "notMember",
]);

/** A confirmed linearizable read: once `index` is applied, reads for `ctx` may be served. */
export interface ReadState {
  readonly ctx: number;
  readonly index: number;
}

/** Volatile state worth telling the driver about when it changes. */
export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: number;
  /**
   * False while this node is not in its configuration or a leader told it
   * that its committed configuration excludes it (a removed node): it then
   * never campaigns, and its server sends clients elsewhere.
   */
  readonly member: boolean;
}

/**
 * Everything the driver must do after a batch of tick/step/propose calls, in
 * this order: persist (snapshot, entries, hardState — synced when `mustSync`),
 * then send `messages`, then apply `committedEntries`, then call `advance()`.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  /** An incoming snapshot to install (storage + application) before the entries. */
  readonly snapshot?: SnapshotMeta;
  /** Entries to append to stable storage; they may overwrite a conflicting suffix. */
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** True when entries or term/vote changed: the write must be fsync'd before sending. */
  readonly mustSync: boolean;
}
