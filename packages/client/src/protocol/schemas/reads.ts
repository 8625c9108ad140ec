/**
 * Read consistency, shared by every read kind (topic.list, topic.info,
 * subscription.list, dlq.list, stats). By default a read is linearizable:
 * the leader confirms it still leads and waits until its state includes
 * every write acknowledged before the read (Raft's ReadIndex, thesis §6.4),
 * so a follower answers NOT_LEADER. With `consistency: "stale"` any node
 * answers from its own applied state at once, which may lag the leader.
 * Either way the answer's `readAt` names the node and its applied index.
 */
import { nat, nonEmptyStr, oneOf, opt, shape } from "./wire.ts";

/** The read consistencies. */
export const CONSISTENCIES = ["linearizable", "stale"] as const;
/** One read consistency. */
export type Consistency = (typeof CONSISTENCIES)[number];

/** A read request's `consistency` field. */
export const ConsistencyField = oneOf(CONSISTENCIES, "linearizable (default): the leader answers after a ReadIndex round; stale: any node answers from its applied state, which may lag");

/** Where and as of what a read was answered. */
export const ReadAt = shape("ReadAt", {
  nodeId: nonEmptyStr("the node that answered"),
  appliedIndex: nat("its applied Raft index when it read: the answer reflects every entry up to at least this one"),
  consistency: oneOf(CONSISTENCIES, "how the read was served"),
});

/** Fields every read request has. */
export const readRequestFields = { consistency: opt(ConsistencyField) };

/** Fields every read response has (optional on the wire: servers before read consistency did not send it). */
export const readResponseFields = { readAt: opt(ReadAt) };
