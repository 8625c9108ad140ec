/**
 * When a learner may get a vote: the join (join.ts) and `cluster
 * replace-node` both ask. Kept apart from join.ts, which loads the SDK's
 * socket, so the CLI's start-up stays light.
 */
import type { ClusterStatusResponse } from "@raftbus/client";

/** A learner within this many entries of the leader's commit index counts as caught up. */
export const JOIN_CAUGHT_UP_ENTRIES = 64;

/** True when the leader's view of `id` is within JOIN_CAUGHT_UP_ENTRIES of its commit index. */
export function caughtUp(status: ClusterStatusResponse, id: string): boolean {
  const row = status.nodes.find((n) => n.id === id);
  if (row === undefined || row.matchIndex === null || status.leaderId === null) return false;
  return row.matchIndex + JOIN_CAUGHT_UP_ENTRIES >= status.commitIndex;
}
