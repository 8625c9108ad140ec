/** Requests that must run on the leader fail fast elsewhere, with where to go. */
import { RaftbusError } from "@raftbus/client/protocol";
import type { HandlerContext } from "../node-server.ts";

/** Throw NOT_LEADER (with the leader's client address) or NO_LEADER unless this node leads. */
export function requireLeader(ctx: HandlerContext): void {
  if (ctx.raft.isLeader()) return;
  const id = ctx.raft.leaderId();
  const address = ctx.server.leaderAddress(id);
  if (address === undefined) throw new RaftbusError("NO_LEADER", "no leader is known right now (election in progress); retry shortly");
  throw new RaftbusError("NOT_LEADER", `not the leader; the leader is ${id} at ${address}`, { leaderHint: address });
}
