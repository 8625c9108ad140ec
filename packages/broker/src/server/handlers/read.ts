/**
 * Read consistency for the read kinds (topic.list, topic.info,
 * subscription.list, dlq.list, stats): linearizable by default, stale on
 * request. A linearizable read runs on the leader after a ReadIndex round
 * (thesis §6.4): the leader confirms with a majority that it still leads
 * and waits until it has applied everything committed when the read
 * arrived, so the answer includes every write acknowledged before it. A
 * stale read is answered by whichever node received it, from its applied
 * state. Both answers say which node read and at which applied index.
 */
import type { Consistency, ReadAt } from "@raftbus/client/protocol";
import type { HandlerContext } from "../node-server.ts";
import { requireLeader } from "./leader.ts";

/** How long a ReadIndex round may take before the read fails with TIMEOUT. */
const READ_INDEX_TIMEOUT_MS = 5000;

/**
 * Waits until this node may answer a read of `consistency` (default
 * linearizable) and returns the `readAt` to put in the answer.
 * @throws RaftbusError NOT_LEADER / NO_LEADER for a linearizable read on a
 *   follower; RaftError TIMEOUT, NOT_LEADER when leadership is lost meanwhile.
 */
export async function readBarrier(ctx: HandlerContext, consistency: Consistency | undefined): Promise<ReadAt> {
  if (consistency === "stale") {
    return { nodeId: ctx.config.id, appliedIndex: ctx.broker.appliedIndex(), consistency: "stale" };
  }
  requireLeader(ctx);
  const index = await ctx.raft.readIndex(READ_INDEX_TIMEOUT_MS);
  const applied = ctx.broker.appliedIndex();
  return { nodeId: ctx.config.id, appliedIndex: Math.max(index, applied), consistency: "linearizable" };
}
