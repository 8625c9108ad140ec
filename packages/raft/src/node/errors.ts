/**
 * Expected failures of a Raft node, as values with stable codes (STYLE.md
 * practice 4). The node server maps them onto the client protocol's codes.
 */
import type { NodeId } from "../core/types.ts";

/** Stable codes of RaftNode failures. */
export type RaftErrorCode =
  | "NOT_LEADER"          // ask `leaderHint` (a node id) instead
  | "PROPOSAL_DROPPED"    // lost to a leader change or flow control; retry (idempotently)
  | "TIMEOUT"             // no outcome within the deadline; the entry may still commit
  | "INVALID_CONF_CHANGE" // the membership change makes no sense for the current configuration
  | "SHUTTING_DOWN";      // the node is stopping

/** A failed RaftNode request. */
export class RaftError extends Error {
  override readonly name = "RaftError";

  constructor(
    readonly code: RaftErrorCode,
    message: string,
    /** With NOT_LEADER: the leader's node id when known. */
    readonly leaderHint: NodeId | null = null,
  ) {
    super(message);
  }
}
